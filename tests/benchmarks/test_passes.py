"""Passes: a case is built and checked once, timed once per pass, and read back as one case."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from benchmarks import harness
from benchmarks.analysis import ReportInputError, parse_results
from benchmarks.devices import Device
from benchmarks.results import calibration_peaks
from benchmarks.settings import FULL, QUICK
from benchmarks.workloads import get_workload
from tests.common.synthetic_runs import result_document

CPU = Device("CPU", 0, "cpu")


class RecordingBenchmark(SimpleNamespace):
    """The parts of pytest-benchmark's fixture the harness uses, recording each ``pedantic`` call."""

    def __init__(self):
        super().__init__(enabled=True, extra_info={}, group=None, stats=None, calls=[])

    def pedantic(self, target, *, rounds, warmup_rounds, iterations):
        self.calls.append(rounds)
        for _ in range(warmup_rounds + rounds):
            target()


def test_later_passes_reuse_the_first_pass_build_and_time_the_same_rounds(monkeypatch):
    built = []
    original = harness.build_runner
    monkeypatch.setattr(
        harness, "build_runner", lambda mode, problem: built.append(mode) or original(mode, problem)
    )
    prepared: dict = {}
    benches = [RecordingBenchmark() for _ in range(3)]
    for index, bench in enumerate(benches):
        harness.run_training_case(
            bench,
            get_workload("quadratic"),
            None,
            "function",
            CPU,
            QUICK,
            seed=0,
            pass_index=index,
            prepared=prepared,
        )
    assert built == ["function"]
    assert [b.extra_info["pass"] for b in benches] == [0, 1, 2]
    assert {b.extra_info["passes"] for b in benches} == {QUICK.passes}
    assert len({b.calls[0] for b in benches}) == 1 and all(len(b.calls) == 1 for b in benches)
    assert {b.extra_info["case"] for b in benches} == {"quadratic/b-/function/CPU:0"}


def test_a_case_that_failed_its_check_is_skipped_in_later_passes(monkeypatch):
    prepared: dict = {}
    bad = SimpleNamespace(passed=False, message=lambda: "update differs")
    monkeypatch.setattr(harness, "_check", lambda *args: bad)
    with pytest.raises(harness.ModeMismatchError):
        harness.run_training_case(
            RecordingBenchmark(),
            get_workload("quadratic"),
            None,
            "xla",
            CPU,
            QUICK,
            seed=0,
            prepared=prepared,
        )
    later = RecordingBenchmark()
    with pytest.raises(
        pytest.skip.Exception, match="not timed in pass 1: quadratic/b-/xla/CPU:0: mode check failed"
    ):
        harness.run_training_case(
            later, get_workload("quadratic"), None, "xla", CPU, QUICK, seed=0, pass_index=1, prepared=prepared
        )
    assert later.calls == []


def _split_into_passes(document: dict, passes: int) -> dict:
    """Each case's samples dealt into ``passes`` entries, as a run with passes writes them."""
    entries = []
    for entry in document["benchmarks"]:
        data = entry["stats"]["data"]
        for index, chunk in enumerate(np.array_split(np.asarray(data), passes)):
            split = json.loads(json.dumps(entry))
            split["extra_info"] |= {"pass": index, "passes": passes}
            split["stats"] = {"median": float(np.median(chunk)), "data": chunk.tolist()}
            entries.append(split)
    return document | {"benchmarks": entries[::-1]}  # any order: the reader sorts by pass


def test_a_case_timed_in_three_passes_reads_back_as_one_case_with_its_samples_in_pass_order():
    whole = result_document(rounds=21, seed=3)
    cases = parse_results(_split_into_passes(json.loads(json.dumps(whole)), 3)).cases
    expected = {e["extra_info"]["case"]: e["stats"]["data"] for e in whole["benchmarks"]}
    assert {c.case: c.samples.tolist() for c in cases} == expected


def test_the_same_pass_of_a_case_twice_is_refused_with_the_case_named():
    document = _split_into_passes(result_document(rounds=9), 3)
    document["benchmarks"][1]["extra_info"]["pass"] = document["benchmarks"][0]["extra_info"]["pass"]
    case = document["benchmarks"][0]["extra_info"]["case"]
    with pytest.raises(ReportInputError, match=f"case {case} appears 3 times"):
        parse_results(document)


def test_the_calibration_peak_uses_the_median_of_all_passes():
    entry = {"extra_info": {"kind": "calibration", "case": "calibration/matmul8/CPU:0", "device": "CPU:0"}}
    entry["extra_info"]["flops_per_step"] = 1000.0
    passes = [[1.0, 1.0, 1.0], [4.0, 4.0, 4.0], [2.0, 2.0, 2.0]]
    entries = [{**entry, "stats": {"data": data}} for data in passes]
    # The median of the nine pooled samples is 2.0: the peak is 1000 / 2.0, not any one pass's.
    assert calibration_peaks(entries)["CPU:0"]["peak_flops"] == pytest.approx(500.0)


def test_timed_settings_spread_every_case_over_several_passes():
    assert QUICK.passes >= 3 and FULL.passes >= 3
    # The gate needs five rounds per case in all: the passes together must give them.
    assert QUICK.passes * QUICK.min_rounds >= 5 and FULL.passes * FULL.min_rounds >= 5
