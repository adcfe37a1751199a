"""One benchmark case from build to timing: what every ``bench_*.py`` test calls.

A training case runs, in order and on its device:

1. build the problem and the mode's runner (tracing timed as ``trace_s``);
2. the first call, one step, host copy (``first_call_s``: compilation, graph optimization);
3. the mode check (``benchmarks.checks``; XLA-compiled runners of a workload with dropout are
   checked on its dropout-free twin): a mismatch raises ``ModeMismatchError``, nothing is timed;
4. two warm calls to size the rounds (and, for fused modes, the steps per round);
5. ``benchmark.pedantic`` with warm-up rounds; every round ends with a host copy of the loss.

pytest-benchmark's statistics are then per step: a fused round's time is divided by its steps.

With ``Settings.passes > 1`` the case comes back once per pass (``Timing.pass_index``): steps 1-4
ran in the first pass and are kept in ``Timing.prepared`` (a ``PreparedCase`` per case id), so a
later pass only repeats step 5, as many rounds as the first, and records them as its own entry
(``extra_info`` ``pass``); ``benchmarks.results.schema`` pools a case's passes. A case whose check
failed is skipped in its later passes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NoReturn

import pytest
import tensorflow as tf

from benchmarks.checks import check_case
from benchmarks.devices import Device
from benchmarks.flops import matmul_flops, step_flops
from benchmarks.modes import build_runner
from benchmarks.profiling import Profiler
from benchmarks.results.cases import batch_label, calibration_case_id, case_id
from benchmarks.results.schema import SCHEMA_VERSION
from benchmarks.settings import (
    Settings,
    call_seconds,
    choose_rounds,
    measure_fused_steps,
    warm_round_s,
)
from benchmarks.workloads import Workload, build_problem

__all__ = [
    "ModeMismatchError",
    "PreparedCase",
    "Timing",
    "common_info",
    "per_step_statistics",
    "run_calibration_case",
    "run_training_case",
    "time_rounds",
]


class ModeMismatchError(AssertionError):
    """A mode's step does not compute the eager step: the case is not timed."""


@dataclass
class PreparedCase:
    """What a case's first pass built, for its later passes: the timed call and its record."""

    target: Callable[[], object] | None
    steps: int = 1
    rounds: int = 1
    group: str = ""
    info: dict | None = None
    failure: str | None = None


@dataclass
class Timing:
    """How a case is timed in this session: pytest-benchmark's ``benchmark`` fixture, the settings,
    the pass, and the cases earlier passes built (by case id; the session's ``bench_prepared``)."""

    benchmark: Any
    settings: Settings
    pass_index: int = 0
    prepared: dict[str, PreparedCase] = field(default_factory=dict)
    profiler: Profiler | None = None

    def again(self, case: str) -> bool:
        """Time ``case`` again if an earlier pass built it (skip it if its check failed there).

        Returns ``False`` when ``case`` is new: the caller builds, checks and calls ``first``. The
        last pass lets go of the case, so its models and compiled functions are freed as the run goes.
        """
        last_pass = self.pass_index == self.settings.passes - 1
        prepared = self.prepared.pop(case, None) if last_pass else self.prepared.get(case)
        if prepared is None:
            return False
        if prepared.failure is not None:
            pytest.skip(f"not timed in pass {self.pass_index}: {prepared.failure}")
        self._record(prepared.group, prepared.info)
        time_rounds(self.benchmark, prepared.target, prepared.steps, self.settings, rounds=prepared.rounds)
        return True

    def first(self, case: str, *, group: str, info: dict, target: Callable[[], object], steps: int) -> None:
        """Time a freshly built case (rounds sized from warm calls) and keep it for the later passes."""
        self._record(group, info)
        rounds = time_rounds(self.benchmark, target, steps, self.settings)
        if self.profiler is not None and self.benchmark.enabled and self.profiler.wants(case):
            self.benchmark.extra_info["profile"] = self.profiler.trace(case, target)
        self._keep(case, PreparedCase(target, steps, rounds, group, info))

    def refuse(self, case: str, failure: str, error: AssertionError) -> NoReturn:
        """Raise ``error`` (a failed check) and skip ``case`` in the later passes, saying ``failure``."""
        self._keep(case, PreparedCase(None, failure=f"{case}: {failure}"))
        raise error

    def _keep(self, case: str, prepared: PreparedCase) -> None:
        # Kept only for later passes: a session that holds every model and compiled function to its
        # end frees them all in the teardown of its last test (2-19 s in the smoke pass).
        if self.pass_index < self.settings.passes - 1:
            self.prepared[case] = prepared

    def _record(self, group: str, info: dict) -> None:
        self.benchmark.group = group
        self.benchmark.extra_info.update(info | {"pass": self.pass_index, "passes": self.settings.passes})


def per_step_statistics(benchmark, steps_per_round: int) -> None:
    """Divide the recorded round times by ``steps_per_round`` (before any statistic is computed)."""
    if steps_per_round == 1 or not benchmark.enabled or benchmark.stats is None:
        return
    data = benchmark.stats.stats.data
    data[:] = [seconds / steps_per_round for seconds in data]


def common_info(case: str, kind: str, device: Device, settings: Settings) -> dict:
    """The ``extra_info`` keys every case has (``benchmarks.results.schema``)."""
    return {
        "schema": SCHEMA_VERSION,
        "case": case,
        "kind": kind,
        "device": device.short,
        "device_label": device.label,
        "device_description": device.description,
        "strategy": "none",
        "replicas": 1,
        "settings": settings.name,
        "time_unit": "seconds per step",
    }


def time_rounds(benchmark, target, steps: int, settings: Settings, *, rounds: int | None = None) -> int:
    """``benchmark.pedantic`` over ``rounds`` rounds (sized from two warm calls when not given)."""
    if rounds is None:
        rounds = choose_rounds(warm_round_s(target), settings) if benchmark.enabled else 1
    benchmark.pedantic(target, rounds=rounds, warmup_rounds=settings.warmup_rounds, iterations=1)
    per_step_statistics(benchmark, steps)
    return rounds


def run_training_case(
    timing: Timing,
    workload: Workload,
    batch_size: int | None,
    mode: str,
    device: Device,
    *,
    seed: int,
) -> None:
    """Check, then time, one training step of ``workload`` in ``mode`` on ``device``.

    Raises:
        ModeMismatchError: the mode's first step disagrees with the eager step.
    """
    case = case_id(workload.name, batch_size, mode, device.short)
    with tf.device(device.tf_name):
        if timing.again(case):
            return
        problem = build_problem(workload, batch_size, seed=seed)
        runner = build_runner(mode, problem)
        first_call_s = call_seconds(lambda: runner.run(1).numpy())
        check = check_case(workload, batch_size, mode, problem, runner, device_kind=device.kind, seed=seed)
        if not check.passed:
            timing.refuse(case, "mode check failed", ModeMismatchError(f"{case}: {check.message()}"))
        steps = measure_fused_steps(runner, timing.settings) if runner.fused else 1
        flops = step_flops(workload, batch_size)
        info = common_info(case, "training_step", device, timing.settings) | {
            "workload": workload.name,
            "mode": mode,
            "batch_size": batch_size,
            "samples_per_step": batch_size,
            "steps_per_round": steps,
            "flops_per_step": flops.total,
            "flops_breakdown": {
                "matmul": flops.matmul,
                "elementwise": flops.elementwise,
                "optimizer": flops.optimizer,
            },
            "trace_s": runner.trace_s,
            "first_call_s": first_call_s,
            "jit_compile": runner.jit_compile,
            "check": check.as_dict(),
        }
        group = f"{workload.name} b={batch_label(batch_size)} {device.label}"
        timing.first(case, group=group, info=info, target=runner.timed(steps), steps=steps)


def run_calibration_case(timing: Timing, n: int, device: Device, *, seed: int) -> None:
    """Time an ``n x n`` float32 matmul in a ``tf.function`` on ``device``: the run's peak reference."""
    case = calibration_case_id(n, device.short)
    with tf.device(device.tf_name):
        if timing.again(case):
            return
        generator = tf.random.Generator.from_seed(seed)
        a = generator.normal((n, n))
        b = generator.normal((n, n))

        @tf.function
        def product():
            c = tf.matmul(a, b)
            return c, c[0, 0]

        trace_s = call_seconds(lambda: product.get_concrete_function())
        first_call_s = call_seconds(lambda: product()[1].numpy())
        info = common_info(case, "calibration", device, timing.settings) | {
            "workload": "matmul",
            "mode": "function",
            "batch_size": None,
            "samples_per_step": None,
            "matmul_n": n,
            "steps_per_round": 1,
            "flops_per_step": matmul_flops(n),
            "trace_s": trace_s,
            "first_call_s": first_call_s,
            "jit_compile": False,
        }
        timing.first(
            case,
            group=f"calibration {device.label}",
            info=info,
            target=lambda: float(product()[1].numpy()),
            steps=1,
        )
