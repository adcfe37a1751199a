"""The report generator: sections, escaping, self-containment, numbers, and bad input."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from benchmarks.analysis import bootstrap_speedup, findings, parse_results
from benchmarks.report import EXIT_BAD_INPUT, main, render_report
from reference.files import write_text_atomic

MALICIOUS = "<script>alert('x')</script>"
SECTIONS = (
    "Environment",
    "Findings",
    "Calibration: matmul peak",
    "Throughput by mode and batch size",
    "Speedup over eager",
    "Batch-size scaling",
    "Trace and compile time",
    "Efficiency against the measured peak",
    "Full results",
)
# Median step seconds of the synthetic run: fused fastest, xla 2x slower than function, fit 1.5x.
MEDIANS = {"eager": 20e-3, "function": 1e-3, "xla": 2e-3, "fit": 1.5e-3, "fused": 0.25e-3}
PEAK_FLOPS = 100e9


def _entry(case: str, info: dict, median: float, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    samples = (median * (1 + 0.02 * rng.standard_normal(15))).tolist()
    return {
        "group": "g",
        "name": f"test[{case}]",
        "fullname": f"bench.py::test[{case}]",
        "params": None,
        "extra_info": {"schema": 1, "case": case, "calibration_peak_flops": PEAK_FLOPS, **info},
        "stats": {"median": float(np.median(samples)), "data": samples},
    }


def synthetic_result(device_label: str = "CPU:0", cpu_model: str = "Test CPU") -> dict:
    """A small result file shaped like the plugin's output."""
    benchmarks = [
        _entry(
            "calibration/matmul256/CPU:0",
            {
                "kind": "calibration",
                "workload": "matmul",
                "mode": "function",
                "device": "CPU:0",
                "device_label": device_label,
                "steps_per_round": 1,
                "flops_per_step": 2 * 256**3,
                "matmul_n": 256,
            },
            2 * 256**3 / PEAK_FLOPS,
            0,
        )
    ]
    seed = 1
    for batch in (32, 256):
        for mode, median in MEDIANS.items():
            seed += 1
            info = {
                "kind": "training_step",
                "workload": "basic",
                "mode": mode,
                "batch_size": batch,
                "device": "CPU:0",
                "device_label": device_label,
                "steps_per_round": 10 if mode == "fused" else 1,
                "flops_per_step": 1000 * batch,
                "trace_s": 0.2,
                "first_call_s": 0.5,
                "check": {"loss_rel_err": 0.0, "update_rel_err": 1e-6},
            }
            benchmarks.append(_entry(f"basic/b{batch}/{mode}/CPU:0", info, median * batch / 32, seed))
    return {
        "machine_info": {
            "node": "test-node",
            "environment": {"cpu_model": cpu_model, "tensorflow": "2.21.0"},
        },
        "commit_info": {"id": "abc123", "dirty": False},
        "datetime": "2026-01-01T00:00:00",
        "version": "5.3.1",
        "benchmarks": benchmarks,
        "tfbench": {"schema": 1, "settings": {"name": "quick"}, "duration_s": 12.0, "calibration": {}},
    }


@pytest.fixture(scope="module")
def html() -> str:
    return render_report(parse_results(synthetic_result(device_label=MALICIOUS, cpu_model=MALICIOUS)))


@pytest.mark.parametrize("section", SECTIONS)
def test_report_has_every_section(html, section):
    assert f">{section}</h" in html


def test_report_escapes_strings_from_the_result_file(html):
    assert MALICIOUS not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html


def test_report_references_no_external_url(html):
    assert "http://" not in html and "https://" not in html
    assert all(src.startswith("data:image/png;base64,") for src in re.findall(r'src="([^"]*)"', html))
    assert all(href.startswith("#") for href in re.findall(r'href="([^"]*)"', html))


def test_report_embeds_one_figure_per_section_and_device(html):
    assert len(re.findall(r'<img [^>]*src="data:image/png;base64,', html)) == 5


def _samples(case: str) -> list[float]:
    return next(b for b in synthetic_result()["benchmarks"] if b["extra_info"]["case"] == case)["stats"][
        "data"
    ]


def test_report_table_shows_median_microseconds_per_step(html):
    assert f"{np.median(_samples('basic/b32/xla/CPU:0')) * 1e6:.1f}" in html


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
    lines = findings(parse_results(synthetic_result()))
    text = "\n".join(lines)
    assert "basic on CPU:0: fastest batch 32: fused" in text
    xla_ratio = np.median(_samples("basic/b32/xla/CPU:0")) / np.median(_samples("basic/b32/function/CPU:0"))
    assert any(
        line.startswith("xla is slower than function on basic (CPU:0) at batch 32: ")
        and f"{xla_ratio:.2f}x" in line
        for line in lines
    )
    assert any(line.startswith("fit is slower than function on basic (CPU:0) at batch 32") for line in lines)
    assert not any(line.startswith("fused is slower") for line in lines)


def _run_cli(tmp_path, content: str | None, capsys):
    source = tmp_path / "result.json"
    if content is not None:
        source.write_text(content)
    output = tmp_path / "report.html"
    code = main([str(source), "-o", str(output)])
    return code, capsys.readouterr().err, output


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "no such file"),
        ("", "file is empty"),
        ("   \n", "file is empty"),
        ('{"benchmarks": [', "not valid JSON"),
        ("[1, 2]", "no 'benchmarks' list"),
        ('{"benchmarks": [{"extra_info": {}}]}', "no tfbench benchmark case"),
        ('{"benchmarks": [{"extra_info": {"schema": 1, "case": "c"}}]}', "lacks extra_info keys"),
    ],
    ids=["missing", "empty", "blank", "truncated", "not-an-object", "foreign", "incomplete"],
)
def test_bad_input_prints_one_line_exits_2_and_writes_nothing(tmp_path, capsys, content, problem):
    code, err, output = _run_cli(tmp_path, content, capsys)
    assert code == EXIT_BAD_INPUT
    assert problem in err and err.count("\n") == 1
    assert not output.exists()
    assert [p.name for p in tmp_path.iterdir()] == ([] if content is None else ["result.json"])


def test_cli_writes_the_report_for_a_good_result(tmp_path, capsys):
    code, err, output = _run_cli(tmp_path, json.dumps(synthetic_result()), capsys)
    assert code == 0 and err == ""
    assert output.read_text().startswith("<!DOCTYPE html>")


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "report.html"
    target.write_text("old")
    with pytest.raises(UnicodeEncodeError):
        write_text_atomic(target, "new \ud800 text")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]
