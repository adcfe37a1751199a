"""pytest-benchmark's own options under the suite (``benchmarks.options``) and the pooled terminal table
(``benchmarks.terminal``): each option honoured, mapped or refused with one line."""

from __future__ import annotations

import json
import statistics
from types import SimpleNamespace

import pytest

from benchmarks.options import (
    CALIBRATION_OPTIONS,
    TIMED_ONLY_OPTIONS,
    apply_to_settings,
    given_options,
    refusal,
)
from benchmarks.settings import FULL, QUICK
from benchmarks.terminal import pooled_rows, without_pass

USAGE_ERROR = 4


def test_options_count_as_given_from_the_command_line_the_environment_and_the_ini_file():
    given = given_options(
        ["--benchmark-json=x.json", "-k", "basic", "--benchmark-min-rounds", "3"],
        addopts_env="--benchmark-disable",
        ini_addopts=["--benchmark-max-time=2"],
    )
    assert given == {
        "--benchmark-json",
        "--benchmark-min-rounds",
        "--benchmark-disable",
        "--benchmark-max-time",
    }
    assert given_options(["--benchmark-sort=mean", "--bench-quick"], addopts_env="") == frozenset()


@pytest.mark.parametrize("option", TIMED_ONLY_OPTIONS)
def test_an_option_that_needs_timing_is_refused_in_the_smoke_pass_and_accepted_in_a_timed_run(option):
    message = refusal(frozenset({option}), timed=False, histogram_available=True)
    assert message.startswith(f"{option} needs a timed run") and "--benchmark-only" in message
    assert refusal(frozenset({option}), timed=True, histogram_available=True) is None


@pytest.mark.parametrize("option", CALIBRATION_OPTIONS)
@pytest.mark.parametrize("timed", [True, False])
def test_calibration_options_are_refused_with_what_to_use_instead(option, timed):
    message = refusal(frozenset({option}), timed=timed, histogram_available=True)
    assert message.startswith(f"{option} is not supported") and "--benchmark-min-rounds" in message


def test_contradicting_and_unavailable_options_are_refused():
    both = frozenset({"--benchmark-disable", "--benchmark-only"})
    assert "contradicts" in refusal(both, timed=True, histogram_available=True)
    assert refusal(frozenset({"--benchmark-disable"}), timed=False, histogram_available=True) is None
    histogram = refusal(frozenset({"--benchmark-histogram"}), timed=True, histogram_available=False)
    assert "pygal" in histogram and "[histogram]" in histogram


def _option(min_rounds=5, max_time=1.0, warmup=False):
    return SimpleNamespace(
        benchmark_min_rounds=min_rounds, benchmark_max_time=max_time, benchmark_warmup=warmup
    )


def test_rounds_time_and_warmup_options_are_mapped_onto_the_settings():
    assert apply_to_settings(QUICK, _option(), frozenset()) is QUICK
    rounds = apply_to_settings(QUICK, _option(min_rounds=50), frozenset({"--benchmark-min-rounds"}))
    assert (rounds.min_rounds, rounds.max_rounds) == (50, 50)
    budget = apply_to_settings(FULL, _option(max_time=2.5), frozenset({"--benchmark-max-time"}))
    assert budget.budget_s == 2.5 and budget.max_rounds >= 1_000_000
    off = apply_to_settings(FULL, _option(warmup=False), frozenset({"--benchmark-warmup"}))
    on = apply_to_settings(FULL, _option(warmup=None), frozenset({"--benchmark-warmup"}))
    assert (off.warmup_rounds, on.warmup_rounds) == (0, FULL.warmup_rounds)


def test_the_pass_is_removed_from_a_test_id_wherever_it_stands():
    assert without_pass("t[basic-b32-fit-CPU:0-pass1]") == "t[basic-b32-fit-CPU:0]"
    assert without_pass("t[pass2-a]") == "t[a]"
    assert without_pass("t[pass0]") == "t"
    assert without_pass("t[a-b]") == "t[a-b]"


def _row(name, case, pass_index, **extra):
    return {"name": name, "fullname": f"f::{name}", "extra_info": {"case": case, "pass": pass_index}} | extra


def test_the_passes_of_a_case_pool_into_one_row_with_the_statistics_of_all_samples():
    data = {"a0": [3.0, 1.0], "a1": [2.0, 10.0, 4.0], "b0": [5.0]}
    rows = [_row("t[a-pass0]", "a", 0), _row("t[b-pass0]", "b", 0), _row("t[a-pass1]", "a", 1)]
    document = {
        "benchmarks": [
            {"fullname": "f::t[a-pass0]", "stats": {"data": data["a0"]}},
            {"fullname": "f::t[a-pass1]", "stats": {"data": data["a1"]}},
            {"fullname": "f::t[b-pass0]", "stats": {"data": data["b0"]}},
        ]
    }
    pooled = pooled_rows(rows, document)
    assert [row["name"] for row in pooled] == ["t[a]", "t[b]"]
    samples = data["a0"] + data["a1"]
    a = pooled[0]
    assert a["rounds"] == 5 and a["min"] == 1.0 and a["max"] == 10.0
    assert a["mean"] == pytest.approx(sum(samples) / 5)
    assert a["median"] == statistics.median(samples)
    assert a["stddev"] == pytest.approx(statistics.stdev(samples))
    assert a["ops"] == pytest.approx(5 / sum(samples))


def test_rows_compared_with_stored_runs_or_without_samples_stay_as_they_are():
    compared = [_row("t[a-pass0]", "a", 0, source="NOW"), _row("t[a-pass0]", "a", 0, source="0001")]
    assert pooled_rows(compared, {"benchmarks": []}) == compared
    foreign = [{"name": "t_other", "fullname": "f::t_other", "extra_info": {}}]
    assert (
        pooled_rows(foreign, {"benchmarks": [{"fullname": "f::t_other", "stats": {"data": [1.0]}}]})
        == foreign
    )


# A stand-in case whose rounds come from the session's settings, as the harness sizes them, with a
# round time of 0.125 s (exact in binary) and the pass parameter of a timed run.
SIZED_BENCHMARK = """
from benchmarks.settings import choose_rounds

def test_sized(benchmark, bench_settings, bench_pass):
    benchmark.extra_info.update({
        "schema": 1, "case": "fake/b8/function/CPU:0", "kind": "training_step", "workload": "fake",
        "mode": "function", "batch_size": 8, "device": "CPU:0", "steps_per_round": 1, "flops_per_step": 100,
        "pass": bench_pass, "passes": bench_settings.passes,
    })
    rounds = choose_rounds(0.125, bench_settings)
    benchmark.pedantic(lambda: None, rounds=rounds, warmup_rounds=bench_settings.warmup_rounds)
"""
CONFTEST = """
import pytest

@pytest.fixture
def bench_pass():
    return 0
"""


def _run(pytester, *args):
    pytester.makepyfile(test_sized=SIZED_BENCHMARK)
    pytester.makeconftest(CONFTEST)
    reports = pytester.path / "reports"
    result = pytester.runpytest_inprocess(
        "-p", "benchmarks.plugin", "-p", "no:cacheprovider", "--bench-report-dir", str(reports), *args
    )  # fmt: skip
    return result, reports


@pytest.mark.parametrize(
    ("args", "rounds_per_pass"),
    [
        (["--benchmark-max-time=1.0"], 8),  # 1.0 // 0.125, no upper cap
        (["--benchmark-max-time=1.0", "--benchmark-min-rounds=9"], 9),
    ],
)
def test_rounds_options_change_the_rounds_and_are_recorded_in_the_result(pytester, args, rounds_per_pass):
    result, reports = _run(pytester, "--benchmark-only", "--bench-quick", *args)
    result.assert_outcomes(passed=QUICK.passes)
    written = json.loads((reports / "benchmarks.json").read_text())
    assert [len(b["stats"]["data"]) for b in written["benchmarks"]] == [rounds_per_pass] * QUICK.passes
    assert written["tfbench"]["settings"]["budget_s"] == 1.0
    result.stdout.fnmatch_lines([f"*test_sized *{rounds_per_pass * QUICK.passes} *1*"])
    assert not any("test_sized[pass" in line for line in result.outlines)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--benchmark-json=x.json"], "*--benchmark-json needs a timed run*add --benchmark-only*"),
        (["--benchmark-autosave"], "*--benchmark-autosave needs a timed run*"),
        (["--benchmark-only", "--benchmark-min-time=0.1"], "*--benchmark-min-time is not supported*"),
        (["--benchmark-only", "--benchmark-disable"], "*--benchmark-disable contradicts*"),
        (["--bench-profile=basic/*"], "*--bench-profile needs a timed run*"),
    ],
)
def test_options_the_suite_cannot_honour_stop_the_session_with_one_line(pytester, args, message):
    result, reports = _run(pytester, *args)
    assert result.ret == USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: {message}"])
    assert not reports.exists()
