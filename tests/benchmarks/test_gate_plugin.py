"""The gate's pytest options: history saving, gating a timed run, exit status, usage errors."""

from __future__ import annotations

import json

import pytest

from tests.common.synthetic_runs import result_document, write_result

USAGE_ERROR = 4
# Two stand-in cases (no TensorFlow work), timed with FAKE_CLOCK: every round of either lasts exactly one
# millisecond whatever the machine's load, so the speedup is exactly 1 in every run.
FAKE_BENCHMARKS = """
import pytest

@pytest.mark.parametrize("mode", ["eager", "function"])
def test_fake(benchmark, mode):
    benchmark.extra_info.update({
        "schema": 1, "case": f"fake/b8/{mode}/CPU:0", "kind": "training_step", "workload": "fake",
        "mode": mode, "batch_size": 8, "device": "CPU:0", "steps_per_round": 1, "flops_per_step": 100,
    })
    benchmark.pedantic(lambda: None, rounds=6)
"""
FAKE_CLOCK = """
import itertools

_READINGS = itertools.count()


def clock():
    return next(_READINGS) * 0.001
"""


def _run(pytester, *args):
    pytester.makepyfile(test_fake=FAKE_BENCHMARKS, tfsuite_fake_clock=FAKE_CLOCK)
    pytester.syspathinsert()
    reports = pytester.path / "reports"
    result = pytester.runpytest_inprocess(
        "-p", "benchmarks.plugin", "-p", "benchmarks.gate_plugin", "-p", "no:cacheprovider",
        "--benchmark-timer=tfsuite_fake_clock.clock",
        "--bench-report-dir", str(reports), *args,
    )  # fmt: skip
    return result, reports


def test_timed_runs_are_saved_and_the_next_run_gates_against_the_last_one(pytester):
    first, reports = _run(pytester, "--benchmark-only", "--bench-history-name=first")
    assert first.ret == 0
    saved = list((reports / "history").glob("*.json"))
    assert len(saved) == 1 and saved[0].name.endswith("_first.json")
    assert "Saved runs: 1 in" in (reports / "index.html").read_text()
    second, _ = _run(
        pytester,
        "--benchmark-only",
        "--bench-gate=last",
        "--bench-no-history",
    )
    assert second.ret == 0
    second.stdout.fnmatch_lines(
        ["*tfbench regression gate*", "*fake/b8/function/CPU:0*speedup*pass*", "gate pass*"]
    )
    assert list((reports / "history").glob("*.json")) == saved
    assert json.loads((reports / "gate.json").read_text())["baseline"] == str(saved[0])
    index = (reports / "index.html").read_text()
    assert all(f'href="{name}"' in index for name in ("gate.txt", "gate.md", "gate.json", "benchmarks.html"))


def test_a_regression_against_the_baseline_makes_the_session_exit_with_1(pytester):
    claims_10x = write_result(
        pytester.path / "baseline.json",
        result_document(workload="fake", batches=(8,), modes=("eager", "function")),
    )
    result, reports = _run(pytester, "--benchmark-only", f"--bench-gate={claims_10x}")
    result.assert_outcomes(passed=2)
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*fake/b8/function/CPU:0*speedup*REGRESSION*", "gate FAIL*"])
    assert json.loads((reports / "gate.json").read_text())["exit_code"] == 1
    assert "**REGRESSION**" in (reports / "gate.md").read_text()


def test_a_missing_baseline_can_be_skipped_for_a_first_run(pytester):
    result, reports = _run(
        pytester, "--benchmark-only", "--bench-gate=last:main", "--bench-gate-missing=skip"
    )
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*no saved run matches 'last:main': gate skipped*"])
    assert not (reports / "gate.json").exists()
    assert len(list((reports / "history").glob("*.json"))) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--bench-gate=last"], "*--bench-gate needs a timed run*"),
        (["--benchmark-only", "--bench-gate=last"], "*--bench-gate: no saved run matches 'last'*"),
        (
            ["--benchmark-only", "--bench-gate-threshold=1.5"],
            "*Argument `threshold` must be a finite number in (0, 1)*",
        ),
        (["--benchmark-only", "--bench-history-name=a/b"], "*Argument `name` must be*"),
        (["--benchmark-only", "--bench-gate-threshold=nan"], "*Received: threshold=nan*"),
        (
            ["--benchmark-only", "--bench-gate-noise-runs=-1"],
            "*Argument `noise_runs` must be an integer >= 0*",
        ),
        (
            ["--benchmark-only", "--bench-history-dir=test_fake.py"],
            "*Argument `bench_history_dir` must be a folder*",
        ),
    ],
    ids=[
        "not-timed",
        "missing-baseline",
        "threshold",
        "name",
        "threshold-nan",
        "noise-runs",
        "history-a-file",
    ],
)
def test_bad_gate_options_stop_the_session_before_any_test_with_a_usage_error(pytester, args, message):
    result, reports = _run(pytester, *args)
    assert result.ret == USAGE_ERROR
    result.stderr.fnmatch_lines([message])
    assert not reports.exists()


def test_a_baseline_that_the_session_would_replace_is_refused_before_any_test(pytester):
    reports = pytester.path / "reports"
    write_result(
        reports / "benchmarks.json", result_document(workload="fake", batches=(8,), modes=("eager",))
    )
    before = (reports / "benchmarks.json").read_bytes()
    result, _ = _run(pytester, "--benchmark-only", f"--bench-gate={reports / 'benchmarks.json'}")
    assert result.ret == USAGE_ERROR
    result.stderr.fnmatch_lines(["*--bench-gate: *benchmarks.json is a file this session replaces*"])
    assert (reports / "benchmarks.json").read_bytes() == before
