"""Passes: a case is built and checked once, then timed once per pass."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from benchmarks import harness
from benchmarks.devices import Device
from benchmarks.harness import Timing
from benchmarks.settings import FULL, QUICK
from benchmarks.workloads import get_workload

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
        timing = Timing(bench, QUICK, index, prepared)
        harness.run_training_case(timing, get_workload("quadratic"), None, "function", CPU, seed=0)
    assert built == ["function"]
    assert [b.extra_info["pass"] for b in benches] == [0, 1, 2]
    assert {b.extra_info["passes"] for b in benches} == {QUICK.passes}
    assert len({b.calls[0] for b in benches}) == 1 and all(len(b.calls) == 1 for b in benches)
    assert {b.extra_info["case"] for b in benches} == {"quadratic/b-/function/CPU:0"}


def test_a_case_that_failed_its_check_is_skipped_in_later_passes(monkeypatch):
    prepared: dict = {}
    bad = SimpleNamespace(passed=False, message=lambda: "update differs")
    monkeypatch.setattr(harness, "check_case", lambda *args, **kwargs: bad)
    with pytest.raises(harness.ModeMismatchError):
        harness.run_training_case(
            Timing(RecordingBenchmark(), QUICK, 0, prepared),
            get_workload("quadratic"),
            None,
            "xla",
            CPU,
            seed=0,
        )
    later = RecordingBenchmark()
    with pytest.raises(
        pytest.skip.Exception, match="not timed in pass 1: quadratic/b-/xla/CPU:0: mode check failed"
    ):
        harness.run_training_case(
            Timing(later, QUICK, 1, prepared), get_workload("quadratic"), None, "xla", CPU, seed=0
        )
    assert later.calls == []


def test_timed_settings_spread_every_case_over_several_passes():
    assert QUICK.passes >= 3 and FULL.passes >= 3
    # The gate needs five rounds per case in all: the passes together must give them.
    assert QUICK.passes * QUICK.min_rounds >= 5 and FULL.passes * FULL.min_rounds >= 5
