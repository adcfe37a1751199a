"""The report's numbers: speedups with bootstrap intervals, scaling efficiency, and the findings."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.results.analysis import bootstrap_speedup, findings, scaling
from benchmarks.results.schema import parse_results
from tests.common.synthetic_runs import MEDIANS, result_document

# Step medians of the report's run: fused fastest, xla 2x slower than function, fit 1.5x.
LADDER = {"eager": 20e-3, "function": 1e-3, "xla": 2e-3, "fit": 1.5e-3, "fused": 0.25e-3}
# Distributed steps against no strategy: mirrored x2 is 1.6x faster, multiworker x2 2x slower.
SCALING = {"mirrored": 1 / 1.6, "multiworker": 2.0}
BATCH = 256


def _ladder():
    return parse_results(result_document(medians=LADDER, batches=(32, 256), quantiles=True))


def _distributed():
    return parse_results(
        result_document(
            batches=(BATCH,), modes=(), strategies=("none", *SCALING), slow=SCALING, quantiles=True
        )
    )


def test_speedup_is_the_ratio_of_medians_inside_its_interval():
    rng = np.random.default_rng(3)
    eager = 10.0 + rng.random(40)
    fast = 2.0 + rng.random(30)
    speedup = bootstrap_speedup(eager, fast)
    assert speedup.ratio == pytest.approx(np.median(eager) / np.median(fast))
    assert speedup.low <= speedup.ratio <= speedup.high


def test_speedup_interval_is_narrow_for_tight_samples_and_wide_for_noisy_ones():
    rng = np.random.default_rng(4)
    tight = bootstrap_speedup(1 + 0.001 * rng.random(50), 0.5 + 0.001 * rng.random(50))
    noisy = bootstrap_speedup(1 + 0.5 * rng.random(50), 0.5 + 0.25 * rng.random(50))
    assert tight.high - tight.low < noisy.high - noisy.low


def test_findings_name_the_fastest_mode_and_where_xla_and_fit_lose():
    lines = findings(_ladder())
    text = "\n".join(lines)
    assert "basic on CPU:0: fastest batch 32: fused" in text
    xla_ratio = LADDER["xla"] / LADDER["function"]
    assert any(
        line.startswith("xla is slower than function on basic (CPU:0) at batch 32: ")
        and f"{xla_ratio:.2f}x" in line
        for line in lines
    )
    assert any(line.startswith("fit is slower than function on basic (CPU:0) at batch 32") for line in lines)
    assert not any(line.startswith("fused is slower") for line in lines)


def test_scaling_efficiency_is_the_speedup_over_one_replica_divided_by_the_replicas():
    found = {item.case.strategy: item for item in scaling(_distributed())}
    assert found["none"].efficiency == pytest.approx(1.0)
    assert found["mirrored"].speedup == pytest.approx(1.6)
    assert found["mirrored"].efficiency == pytest.approx(1.6 / 2)
    assert found["multiworker"].efficiency == pytest.approx(0.5 / 2)
    mirrored_median = MEDIANS["function"] * BATCH / 32 * SCALING["mirrored"]
    assert found["mirrored"].per_replica_samples_per_s == pytest.approx(BATCH / mirrored_median / 2)


def test_findings_say_where_scaling_pays_and_where_communication_eats_it():
    lines = findings(_distributed())
    assert any(
        f"Scaling pays for basic at global batch {BATCH} with mirrored x2: 1.60x" in line for line in lines
    )
    assert any(
        f"eat the gain for basic at global batch {BATCH} with multiworker x2: 0.50x" in line for line in lines
    )
