"""The regression gate: metrics robust to machine speed, the threshold-and-significance rule, exit codes."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.results.cli import EXIT_BAD_INPUT, EXIT_OK, EXIT_REGRESSION
from benchmarks.results.gate import format_markdown, format_text, gate, main
from benchmarks.results.gate_statistics import (
    BOOTSTRAP,
    IMPROVEMENT,
    INSUFFICIENT,
    MANN_WHITNEY,
    METRICS,
    MIN_AGGREGATE_ROWS,
    NOISE,
    PASS,
    REGRESSION,
    WILCOXON,
)
from benchmarks.results.history import read_run
from tests.common.synthetic_runs import MEDIANS, result_document, write_result

SLOWDOWN = 1.3
# A 30% longer step is a 1/1.3 - 1 = -23.1% change of throughput or speedup.
EXPECTED_CHANGE = 1 / SLOWDOWN - 1
CHANGE_ATOL = 1e-9
NOISE_SEEDS = range(8)
MODES_BUT_EAGER = [m for m in MEDIANS if m != "eager"]
TIGHT = {"rounds": 21, "spread": 0.02, "quantiles": True}
LOOSE = {"rounds": 5, "spread": 1.0, "quantiles": True}


def _run(tmp_path, name: str, **kwargs):
    return read_run(write_result(tmp_path / f"{name}.json", result_document(**kwargs)))


def _verdicts(result, metric: str | None = None) -> dict[str, str]:
    return {r.benchmark: r.verdict for r in result.rows if metric is None or r.metric == metric}


def test_a_run_gated_against_itself_passes_every_row_with_zero_change(tmp_path):
    run = _run(tmp_path, "same")
    result = gate(run, run, metrics=METRICS)
    assert result.exit_code == EXIT_OK
    assert {r.verdict for r in result.rows} == {PASS}
    assert all(r.change == 0 for r in result.rows)


def test_one_mode_slowed_by_30_percent_is_a_speedup_regression_of_that_mode_only(tmp_path):
    baseline = _run(tmp_path, "base", **TIGHT)
    current = _run(tmp_path, "slow", slow={"xla": SLOWDOWN}, **TIGHT)
    result = gate(baseline, current, metrics=("speedup",))
    assert result.exit_code == EXIT_REGRESSION
    for key, word in _verdicts(result).items():
        assert word == (REGRESSION if "/xla/" in key else PASS), key
    for row in result.rows:
        if row.verdict == REGRESSION:
            assert row.change == pytest.approx(EXPECTED_CHANGE, abs=CHANGE_ATOL)
            assert row.test == BOOTSTRAP and row.interval[1] < 1


def test_a_slower_distributed_step_is_a_speedup_regression_against_no_strategy_in_the_same_run(tmp_path):
    strategies = ("none", "mirrored", "multiworker")
    baseline = _run(tmp_path, "base", strategies=strategies, **TIGHT)
    current = _run(tmp_path, "slow", strategies=strategies, slow={"mirrored": SLOWDOWN}, **TIGHT)
    rows = [r for r in gate(baseline, current, metrics=("speedup",)).rows if "x2/" in r.benchmark]
    assert {r.benchmark: r.verdict for r in rows} == {
        f"basic/b{b}/{s}x2/CPU:0": REGRESSION if s == "mirrored" else PASS
        for b in (32, 2048)
        for s in strategies[1:]
    }


def test_a_uniformly_slower_machine_passes_speedup_and_normalized_but_fails_raw(tmp_path):
    baseline = _run(tmp_path, "base", **TIGHT)
    current = _run(tmp_path, "slow", slow={"*": SLOWDOWN}, calibration_slow=SLOWDOWN, **TIGHT)
    robust = gate(baseline, current, metrics=("speedup", "normalized"))
    raw = gate(baseline, current, metrics=("raw",))
    assert robust.exit_code == EXIT_OK and {r.verdict for r in robust.rows} == {PASS}
    assert raw.exit_code == EXIT_REGRESSION and {r.verdict for r in raw.rows} == {REGRESSION}
    assert {r.test for r in raw.rows} == {MANN_WHITNEY}
    assert all(r.change == pytest.approx(EXPECTED_CHANGE, abs=CHANGE_ATOL) for r in raw.rows)


def test_training_slowed_against_an_unchanged_calibration_is_a_normalized_regression(tmp_path):
    baseline = _run(tmp_path, "base", **TIGHT)
    current = _run(tmp_path, "slow", slow={"*": SLOWDOWN}, **TIGHT)
    result = gate(baseline, current, metrics=("normalized",))
    assert result.exit_code == EXIT_REGRESSION
    assert {r.verdict for r in result.rows} == {REGRESSION}
    assert {r.test for r in result.rows} == {BOOTSTRAP}
    assert len(result.rows) == len(MEDIANS) * 2


def test_a_shifted_but_uncertain_calibration_peak_makes_normalized_rows_noise_not_regressions(tmp_path):
    baseline = _run(tmp_path, "base", **TIGHT)
    current = _run(tmp_path, "peak", calibration_slow=1 / SLOWDOWN, calibration_spread=1.0, **TIGHT)
    result = gate(baseline, current, metrics=("normalized",))
    assert all(r.change == pytest.approx(EXPECTED_CHANGE, abs=CHANGE_ATOL) for r in result.rows)
    assert {r.verdict for r in result.rows} == {NOISE}


def test_a_faster_mode_is_an_improvement_not_a_failure(tmp_path):
    baseline = _run(tmp_path, "base", **TIGHT)
    current = _run(tmp_path, "fast", slow={"fused": 1 / SLOWDOWN}, **TIGHT)
    result = gate(baseline, current, metrics=("speedup",))
    assert result.exit_code == EXIT_OK
    assert {w for k, w in _verdicts(result).items() if "/fused/" in k} == {IMPROVEMENT}


@pytest.mark.parametrize("seed", NOISE_SEEDS)
def test_two_runs_drawn_from_the_same_distribution_never_fail(tmp_path, seed):
    baseline = _run(tmp_path, "a", seed=2 * seed, spread=0.05)
    current = _run(tmp_path, "b", seed=2 * seed + 1, spread=0.05)
    result = gate(baseline, current, metrics=METRICS)
    assert result.exit_code == EXIT_OK, format_text(result)


@pytest.mark.parametrize("metric", ["speedup", "normalized", "raw"])
def test_the_same_change_fails_with_tight_samples_and_is_noise_with_loose_ones(tmp_path, metric):
    slowed = {"slow": {"xla": SLOWDOWN}}
    tight = gate(_run(tmp_path, "tb", **TIGHT), _run(tmp_path, "tc", **TIGHT, **slowed), metrics=(metric,))
    loose = gate(_run(tmp_path, "lb", **LOOSE), _run(tmp_path, "lc", **LOOSE, **slowed), metrics=(metric,))
    for result, expected in ((tight, REGRESSION), (loose, NOISE)):
        rows = [r for r in result.rows if "/xla/" in r.benchmark]
        assert rows and all(r.change == pytest.approx(EXPECTED_CHANGE, abs=CHANGE_ATOL) for r in rows)
        assert {r.verdict for r in rows} == {expected}
    assert tight.exit_code == EXIT_REGRESSION and loose.exit_code == EXIT_OK


def test_fewer_than_five_rounds_are_not_tested_and_never_fail(tmp_path):
    few = {"rounds": 4, "spread": 0.02, "quantiles": True}
    result = gate(
        _run(tmp_path, "b", **few), _run(tmp_path, "c", slow={"*": SLOWDOWN}, **few), metrics=METRICS
    )
    assert result.exit_code == EXIT_OK
    assert {r.verdict for r in result.rows} == {INSUFFICIENT}
    assert all(r.p_value is None for r in result.rows)


@settings(max_examples=15, deadline=None)
@given(factor=st.floats(0.2, 5.0), seed=st.integers(0, 2**16))
def test_speedup_and_normalized_rows_do_not_change_when_every_time_is_scaled(tmp_path_factory, factor, seed):
    folder = tmp_path_factory.mktemp("scaled")
    baseline = _run(folder, "b", seed=seed)
    current = _run(folder, "c", seed=seed, slow={"*": factor}, calibration_slow=factor)
    result = gate(baseline, current, metrics=("speedup", "normalized"))
    assert np.allclose([r.change for r in result.rows], 0.0, atol=CHANGE_ATOL)


def test_text_table_names_the_test_the_p_value_and_the_verdict_of_each_row(tmp_path):
    result = gate(
        _run(tmp_path, "b", **TIGHT), _run(tmp_path, "c", slow={"xla": SLOWDOWN}, **TIGHT), metrics=METRICS
    )
    lines = format_text(result).splitlines()
    assert lines[0].split() == [
        "benchmark",
        "metric",
        "baseline",
        "current",
        "change",
        "limit",
        "p-value",
        "/",
        "CI",
        "test",
        "verdict",
    ]
    assert lines[2].startswith("ALL (") and "Wilcoxon signed-rank" in lines[2]
    first = next(line for line in lines if line.startswith("basic/b"))
    assert first.startswith("basic/b") and "/xla/" in first and first.rstrip().endswith("REGRESSION")
    assert "-23.1%" in first and "p=" in first
    assert any("gate FAIL" in line for line in lines)
    assert f"| {REGRESSION.upper()}" not in format_markdown(
        result
    ) and f"**{REGRESSION.upper()}**" in format_markdown(result)


def _files(tmp_path, baseline: dict, current: dict):
    return write_result(tmp_path / "base.json", baseline), write_result(tmp_path / "current.json", current)


@pytest.mark.parametrize(
    ("slow", "code"), [(None, EXIT_OK), ({"xla": SLOWDOWN}, EXIT_REGRESSION)], ids=["equal", "slowed"]
)
def test_command_exit_status_and_json_output_follow_the_verdicts(tmp_path, capsys, slow, code):
    base, current = _files(tmp_path, result_document(**TIGHT), result_document(slow=slow, **TIGHT))
    out_json = tmp_path / "gate.json"
    assert (
        main([str(base), str(current), "--json", str(out_json), "--markdown", str(tmp_path / "gate.md")])
        == code
    )
    written = json.loads(out_json.read_text())
    assert written["exit_code"] == code
    assert written["counts"][REGRESSION] == (4 if slow else 0)  # xla at 2 batches x 2 metrics
    assert "benchmark | metric" in (tmp_path / "gate.md").read_text()
    assert "basic/b32/xla/CPU:0" in capsys.readouterr().out


def test_the_command_refreshes_the_index_of_the_folder_of_its_tables(tmp_path):
    base, current = _files(tmp_path, result_document(**TIGHT), result_document(**TIGHT))
    reports = tmp_path / "reports"
    main(
        [
            str(base),
            str(current),
            "--json",
            str(reports / "gate.json"),
            "--markdown",
            str(reports / "gate.md"),
        ]
    )
    index = (reports / "index.html").read_text(encoding="utf-8")
    assert 'href="gate.md"' in index and 'href="gate.json"' in index


def _corrupt(path):
    path.write_text("{not json", encoding="utf-8")


BAD_INPUTS = {
    "missing": lambda p: None,
    "empty": lambda p: p.write_text("", encoding="utf-8"),
    "corrupt": _corrupt,
    "not-a-result": lambda p: write_result(p, [1, 2, 3]),
    "other-schema": lambda p: write_result(p, {**result_document(), "tfbench": {"schema": 2}}),
    "tfbench-not-an-object": lambda p: write_result(p, {**result_document(), "tfbench": [1]}),
    "no-schema": lambda p: write_result(p, {k: v for k, v in result_document().items() if k != "tfbench"}),
    "no-shared-benchmark": lambda p: write_result(p, result_document(workload="advanced", calibration=False)),
}


@pytest.mark.parametrize("make", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_bad_current_file_exits_2_with_one_line_and_writes_nothing(tmp_path, capsys, make):
    base = write_result(tmp_path / "base.json", result_document())
    current = tmp_path / "current.json"
    make(current)
    outputs = [tmp_path / "gate.json", tmp_path / "gate.md"]
    code = main([str(base), str(current), "--json", str(outputs[0]), "--markdown", str(outputs[1])])
    captured = capsys.readouterr()
    assert code == EXIT_BAD_INPUT
    assert (
        captured.out == ""
        and captured.err.count("\n") == 1
        and captured.err.startswith("tfbench-gate: error:")
    )
    assert not any(p.exists() for p in outputs)
    assert not list(tmp_path.glob(".*.tmp"))


@pytest.mark.parametrize(
    "argument",
    [["--threshold", "0"], ["--alpha", "0.7"], ["--metric", "latency"]],
    ids=["threshold", "alpha", "metric"],
)
def test_invalid_gate_argument_exits_2_naming_the_argument(tmp_path, capsys, argument):
    base, current = _files(tmp_path, result_document(), result_document())
    assert main([str(base), str(current), *argument]) == EXIT_BAD_INPUT
    assert f"Argument `{argument[0].lstrip('-')}" in capsys.readouterr().err


# Noise floor from earlier runs, aggregate rows ---------------------------------------------------

BATCHES = (32, 64, 128, 256, 512, 1024, 2048)  # 21 speedup rows: enough for the signed-rank test
DRIFT = 0.1  # each case's run-to-run drift (log scale), as a shared VM shows between runs
LAST = 5  # the drift seed of the newest earlier run


def _drifting(tmp_path, name: str, seed: int, **kwargs):
    return _run(tmp_path, name, batches=BATCHES, jitter=DRIFT, jitter_seed=seed, **TIGHT, **kwargs)


def _drifting_history(tmp_path):
    return [_drifting(tmp_path, f"h{i}", seed=i) for i in range(LAST + 1)]


def test_a_drop_the_machine_already_showed_between_earlier_runs_cannot_fail_a_row(tmp_path):
    """Earlier runs drift each case by ~10%: a 20% drop of xla alone fails without them, passes with them."""
    history = _drifting_history(tmp_path)
    current = _drifting(tmp_path, "c", seed=LAST, slow={"xla": 1.25})  # the newest run's drift, xla slower
    without = gate(history[-1], current, metrics=("speedup",))
    with_floor = gate(history[-1], current, metrics=("speedup",), history=history)
    xla = [key for key in _verdicts(without) if "/xla/" in key]
    assert {round(r.change, 9) for r in without.rows if r.benchmark in xla} == {round(1 / 1.25 - 1, 9)}
    assert {_verdicts(without)[k] for k in xla} == {REGRESSION}
    assert {_verdicts(with_floor)[k] for k in xla} == {PASS}
    assert all(row.limit > 0.2 for row in with_floor.rows)
    assert any("noise floor of speedup" in note for note in with_floor.notes)
    assert with_floor.exit_code == EXIT_OK


def test_a_change_far_beyond_the_noise_floor_still_fails_its_row(tmp_path):
    history = _drifting_history(tmp_path)
    current = _drifting(tmp_path, "c", seed=LAST, slow={"xla": 20.0})
    result = gate(history[-1], current, metrics=("speedup",), history=history)
    assert {v for k, v in _verdicts(result).items() if "/xla/" in k} == {REGRESSION}
    assert result.exit_code == EXIT_REGRESSION


@pytest.mark.parametrize("seed", range(LAST + 1, LAST + 5))
def test_drifting_runs_of_unchanged_code_pass_rows_and_aggregate_with_the_noise_floor(tmp_path, seed):
    history = _drifting_history(tmp_path)
    result = gate(history[-1], _drifting(tmp_path, "c", seed=seed), metrics=("speedup",), history=history)
    assert result.exit_code == EXIT_OK


def test_a_slowdown_shared_by_every_mode_fails_the_aggregate_while_each_row_is_within_its_floor(tmp_path):
    """Every mode 25% slower (speedup -20% on all 21 rows): within the rows' floor, beyond the aggregate's,
    whose noise is the drift of a mean over 21 rows."""
    history = _drifting_history(tmp_path)
    current = _drifting(tmp_path, "c", seed=LAST, slow={m: 1.25 for m in MODES_BUT_EAGER})
    result = gate(history[-1], current, metrics=("speedup",), history=history)
    assert set(_verdicts(result).values()) == {PASS}
    (aggregate,) = result.aggregates
    assert aggregate.change == pytest.approx(1 / 1.25 - 1, abs=CHANGE_ATOL)
    assert aggregate.verdict == REGRESSION and aggregate.test == WILCOXON
    assert aggregate.limit < 0.2 < min(row.limit for row in result.rows)
    assert result.exit_code == EXIT_REGRESSION


def test_the_aggregate_is_the_geometric_mean_and_is_not_tested_below_seven_benchmarks(tmp_path):
    baseline = _run(tmp_path, "b", batches=BATCHES, **TIGHT)
    current = _run(tmp_path, "c", batches=BATCHES, slow={"xla": SLOWDOWN}, **TIGHT)
    (aggregate,) = gate(baseline, current, metrics=("speedup",)).aggregates
    # 7 of the 21 rows change by 1/1.3: the geometric mean by (1/1.3)^(7/21).
    assert aggregate.change == pytest.approx((1 / SLOWDOWN) ** (1 / 3) - 1, abs=CHANGE_ATOL)
    assert aggregate.baseline == pytest.approx(
        np.exp(np.mean([np.log(MEDIANS["eager"] / MEDIANS[m]) for m in MODES_BUT_EAGER])), rel=1e-9
    )
    short = gate(
        _run(tmp_path, "b2", **TIGHT), _run(tmp_path, "c2", slow={"*": 2.0}, **TIGHT), metrics=("raw",)
    )
    assert MIN_AGGREGATE_ROWS > 6
    (raw,) = short.aggregates
    assert raw.verdict == REGRESSION  # 9 raw rows (8 cases and the calibration)
    (speedup,) = gate(
        _run(tmp_path, "b3", **TIGHT), _run(tmp_path, "c3", slow={"xla": 4.0}, **TIGHT), metrics=("speedup",)
    ).aggregates
    assert speedup.verdict == INSUFFICIENT and speedup.p_value is None  # 6 speedup rows
