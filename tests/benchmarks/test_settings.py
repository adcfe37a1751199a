"""Sizing fused rounds from warm calls (``benchmarks.settings``), with a stand-in runner that sleeps."""

from __future__ import annotations

import time
from dataclasses import replace

from benchmarks.settings import QUICK, measure_fused_steps

SETTINGS = replace(QUICK, fused_round_s=0.006, fused_min_steps=1)


class SleepingRunner:
    """``timed(k)`` sleeps ``k * step_s``; ``asked`` lists the counts requested (each a compile under XLA)."""

    def __init__(self, step_s: float):
        self.step_s, self.asked = step_s, []

    def timed(self, steps: int):
        self.asked.append(steps)
        return lambda: time.sleep(steps * self.step_s)


def test_a_step_that_fills_half_a_round_is_kept_as_one_step_without_a_probe():
    runner = SleepingRunner(0.004)
    assert measure_fused_steps(runner, SETTINGS, reuse_compiled=True) == 1
    assert set(runner.asked) == {1}


def test_a_probe_that_fills_half_a_round_is_kept_as_the_count():
    runner = SleepingRunner(0.001)
    steps = measure_fused_steps(runner, SETTINGS, reuse_compiled=True)
    assert steps > 1 and steps == runner.asked[-1]
