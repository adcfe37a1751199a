"""The benchmark plugin: smoke pass by default, timing on request, reports after a timed run."""

from __future__ import annotations

import json

import pytest

# A stand-in benchmark that records extra_info shaped like the harness's, without TensorFlow work.
FAKE_BENCHMARK = """
import time

def test_fake(benchmark):
    benchmark.extra_info.update({
        "schema": 1, "case": "fake/b8/function/CPU:0", "kind": "training_step", "workload": "fake",
        "mode": "function", "batch_size": 8, "device": "CPU:0", "steps_per_round": 1, "flops_per_step": 100,
    })
    benchmark.pedantic(time.sleep, args=(0.001,), rounds=4)
    print("DISABLED=%s" % benchmark.disabled)
"""


def _run(pytester, *args):
    pytester.makepyfile(test_fake=FAKE_BENCHMARK)
    return pytester.runpytest_inprocess("-p", "benchmarks.plugin", "-s", "-p", "no:cacheprovider", *args)


def test_plain_pytest_runs_benchmarks_once_without_timing_or_reports(pytester):
    reports = pytester.path / "reports"
    result = _run(pytester, "--bench-report-dir", str(reports))
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*DISABLED=True*"])
    assert not reports.exists()


def test_benchmark_only_times_and_writes_json_and_html(pytester):
    reports = pytester.path / "reports"
    result = _run(pytester, "--benchmark-only", "--bench-report-dir", str(reports))
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*DISABLED=False*"])
    written = json.loads((reports / "benchmarks.json").read_text())
    bench = written["benchmarks"][0]
    assert len(bench["stats"]["data"]) == 4
    assert written["tfbench"]["schema"] == 1 and written["tfbench"]["settings"]["name"] == "full"
    assert "tensorflow" in written["machine_info"]["environment"]
    assert (reports / "benchmarks.html").read_text().startswith("<!DOCTYPE html>")


@pytest.mark.parametrize("how", ["option", "environment"])
def test_quick_setting_is_recorded_in_the_result(pytester, monkeypatch, how):
    reports = pytester.path / "reports"
    args = ["--benchmark-only", "--bench-report-dir", str(reports)]
    if how == "option":
        args.append("--bench-quick")
    else:
        monkeypatch.setenv("TFBENCH_QUICK", "1")
    _run(pytester, *args).assert_outcomes(passed=1)
    assert json.loads((reports / "benchmarks.json").read_text())["tfbench"]["settings"]["name"] == "quick"


PASSED_BENCHMARKS = """
import pytest

@pytest.fixture
def bench_pass():
    return 0

@pytest.mark.parametrize("case", ["a", "b"])
def test_case(benchmark, case, bench_pass):
    pass

def test_calibration(benchmark, bench_pass):
    pass

def test_correctness():
    pass
"""


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["--benchmark-only", "--bench-quick"],
            [
                name
                for p in range(3)
                for name in (f"test_case[pass{p}-a]", f"test_case[pass{p}-b]", f"test_calibration[pass{p}]")
            ],
        ),
        ([], ["test_case[a]", "test_case[b]", "test_calibration", "test_correctness"]),
    ],
    ids=["timed-pass-major", "smoke-one-pass"],
)
def test_timed_runs_collect_every_case_once_per_pass_in_pass_major_order(pytester, args, expected):
    pytester.makepyfile(test_passes=PASSED_BENCHMARKS)
    result = pytester.runpytest_inprocess(
        "-p", "benchmarks.plugin", "-p", "no:cacheprovider", "--collect-only", "-q", *args
    )
    collected = [line.split("::")[-1] for line in result.outlines if "::" in line]
    assert collected == expected
