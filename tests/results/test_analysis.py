"""The scaling numbers and section of the benchmark report, on a synthetic distributed run."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.analysis import findings, parse_results, scaling
from benchmarks.report import render_report

# Median seconds per step of a global batch of 256: mirrored x2 is 1.6x faster, multiworker slower.
MEDIANS = {("none", 1): 10e-3, ("mirrored", 2): 6.25e-3, ("multiworker", 2): 20e-3}


def _document() -> dict:
    benchmarks = []
    for (strategy, replicas), median in MEDIANS.items():
        samples = (median * (1 + 0.01 * np.linspace(-1, 1, 9))).tolist()
        case = f"basic/b256/{strategy}x{replicas}/CPU:0"
        benchmarks.append(
            {
                "name": case,
                "extra_info": {
                    "schema": 1,
                    "case": case,
                    "kind": "distributed_step",
                    "workload": "basic",
                    "mode": "function",
                    "strategy": strategy,
                    "replicas": replicas,
                    "batch_size": 256,
                    "device": "CPU:0",
                    "steps_per_round": 5,
                    "flops_per_step": 1e6,
                    "check": {"update_rel_err": 1e-6},
                },
                "stats": {"median": median, "data": samples},
            }
        )
    return {"benchmarks": benchmarks, "machine_info": {"node": "box"}, "commit_info": {}}


def test_scaling_efficiency_is_the_speedup_over_one_replica_divided_by_the_replicas():
    found = {item.case.strategy: item for item in scaling(parse_results(_document()))}
    assert found["none"].efficiency == pytest.approx(1.0)
    assert found["mirrored"].speedup == pytest.approx(10 / 6.25)
    assert found["mirrored"].efficiency == pytest.approx(10 / 6.25 / 2)
    assert found["multiworker"].efficiency == pytest.approx(0.5 / 2)
    assert found["mirrored"].per_replica_samples_per_s == pytest.approx(256 / 6.25e-3 / 2)


def test_findings_say_where_scaling_pays_and_where_communication_eats_it():
    lines = findings(parse_results(_document()))
    assert any("Scaling pays for basic at global batch 256 with mirrored x2: 1.60x" in line for line in lines)
    assert any(
        "eat the gain for basic at global batch 256 with multiworker x2: 0.50x" in line for line in lines
    )


def test_report_has_a_scaling_section_with_every_strategy():
    html = render_report(parse_results(_document()))
    assert 'id="scaling"' in html
    for strategy in ("none", "mirrored", "multiworker"):
        assert f">{strategy}<" in html
    assert "80%" in html  # mirrored: 1.6x over 2 replicas
