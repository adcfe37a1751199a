"""One benchmark case from build to timing: what every ``bench_*.py`` test calls.

A training case runs, in order and on its device:

0. a ``_mixed`` mode takes the dtype policy of ``--bench-precision`` for its device
   (``benchmarks.precision``), or is skipped with the reason the device cannot run it;
1. build the problem and the mode's runner (tracing timed as ``trace_s``);
2. the first call, host copy (``first_call_s``: compilation, graph optimization, and the call's
   steps: one, or ``k`` for a ``k``-step mode);
3. the mode check (``benchmarks.checks``; XLA-compiled runners of a workload with dropout are
   checked on its dropout-free twin): a mismatch raises ``ModeMismatchError``, nothing is timed;
4. two warm calls to size the rounds (and, for fused modes, the steps per round);
5. ``benchmark.pedantic`` with warm-up rounds; every round ends with a host copy of the loss.

pytest-benchmark's statistics are then per step: a round's time is divided by its steps (a fused
round's ``n``, a ``k``-step mode's ``k``).

With ``Settings.passes > 1`` the case comes back once per pass (``Timing.pass_index``): steps 1-4
ran in the first pass and are kept in ``Timing.prepared`` (a ``PreparedCase`` per case id), so a
later pass only repeats step 5, as many rounds as the first, and records them as its own entry
(``extra_info`` ``pass``); ``benchmarks.results.schema`` pools a case's passes. A case whose check
failed is skipped in its later passes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import pytest
import tensorflow as tf

from benchmarks.checks import check_case
from benchmarks.devices import Device
from benchmarks.epochs import build_epoch_runner, check_epoch, eager_first_epoch, epoch_data
from benchmarks.flops import matmul_flops, step_flops
from benchmarks.modes import build_runner
from benchmarks.precision import case_policy
from benchmarks.profiling import Profiler
from benchmarks.results.cases import MODE_SPECS, batch_label, calibration_case_id, case_id, epoch_case_id
from benchmarks.results.schema import SCHEMA_VERSION
from benchmarks.settings import (
    Settings,
    call_seconds,
    choose_epochs_per_round,
    choose_rounds,
    round_steps,
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
    "run_epoch_case",
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
    warmup_rounds: int | None = None


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
        time_rounds(
            self.benchmark,
            prepared.target,
            prepared.steps,
            self.settings,
            rounds=prepared.rounds,
            warmup_rounds=prepared.warmup_rounds,
        )
        return True

    def first(
        self,
        case: str,
        *,
        group: str,
        info: dict,
        target: Callable[[], object],
        steps: int,
        rounds: int | None = None,
        warmup_rounds: int | None = None,
    ) -> None:
        """Time a freshly built case (``rounds``, or sized from warm calls; ``warmup_rounds``, or the
        settings') and keep it for the later passes."""
        self._record(group, info)
        rounds = time_rounds(
            self.benchmark, target, steps, self.settings, rounds=rounds, warmup_rounds=warmup_rounds
        )
        if self.profiler is not None and self.benchmark.enabled and self.profiler.wants(case):
            self.benchmark.extra_info["profile"] = self.profiler.trace(case, target)
        self._keep(case, PreparedCase(target, steps, rounds, group, info, warmup_rounds=warmup_rounds))

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


def time_rounds(
    benchmark,
    target,
    steps: int,
    settings: Settings,
    *,
    rounds: int | None = None,
    warmup_rounds: int | None = None,
) -> int:
    """``benchmark.pedantic`` over ``rounds`` rounds (sized from two warm calls when not given), after
    ``warmup_rounds`` (default the settings')."""
    if rounds is None:
        rounds = choose_rounds(warm_round_s(target), settings) if benchmark.enabled else 1
    warmup = settings.warmup_rounds if warmup_rounds is None else warmup_rounds
    benchmark.pedantic(target, rounds=rounds, warmup_rounds=warmup, iterations=1)
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
    references: dict | None = None,
) -> None:
    """Check, then time, one training step of ``workload`` in ``mode`` on ``device``.

    ``references``: the session's memo of eager reference steps (``benchmarks.checks``). In the
    smoke pass an XLA mode of a workload with dropout is built on the dropout-free twin only, the
    model its check needs: XLA compilation is most of the smoke pass's time, and the timed runs
    compile both.

    Raises:
        ModeMismatchError: the mode's first call disagrees with the eager steps.
    """
    case = case_id(workload.name, batch_size, mode, device.short)
    policy, unsupported = case_policy(
        MODE_SPECS[mode].mixed,
        timing.settings.mixed_policy,
        device.kind,
        compute_capability=device.compute_capability,
    )
    if unsupported:
        pytest.skip(f"{case}: {unsupported}")
    with tf.device(device.tf_name):
        if timing.again(case):
            return
        twin_only = not timing.settings.timed and MODE_SPECS[mode].jit and workload.has_dropout
        problem = build_problem(workload, batch_size, seed=seed, dtype_policy=policy, dropout=not twin_only)
        runner = build_runner(mode, problem)
        first_call_s = call_seconds(lambda: runner.run().numpy())
        check = check_case(
            workload,
            batch_size,
            mode,
            problem,
            runner,
            device_kind=device.kind,
            seed=seed,
            references=references,
        )
        if not check.passed:
            timing.refuse(case, "mode check failed", ModeMismatchError(f"{case}: {check.message()}"))
        steps = round_steps(runner, timing.settings)
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
            "steps_per_call": runner.steps_per_call,
            "dtype_policy": policy,
            "check": check.as_dict(),
        }
        group = f"{workload.name} b={batch_label(batch_size)} {device.label}"
        timing.first(case, group=group, info=info, target=runner.timed(steps), steps=steps)


def run_epoch_case(
    timing: Timing,
    dataset: str,
    way: str,
    callbacks: bool,
    device: Device,
    *,
    seed: int,
    workdir: Path,
    references: dict,
) -> None:
    """Check, then time, epochs of ``way`` on the document's data set ``dataset`` (``benchmarks.epochs``).

    The first call trains one epoch (``first_call_s``: tracing and compilation included) and is the
    check against the eager loop's first epoch (``references`` caches it per data set and rows); a
    second epoch sizes the rounds (``choose_epochs_per_round``). A round is one call of ``E`` epochs;
    the statistics are per epoch.

    Raises:
        ModeMismatchError: the way's first epoch does not train the eager loop's.
    """
    settings = timing.settings
    data = epoch_data(dataset, rows=settings.epoch_rows)
    case = epoch_case_id(dataset, data.batch_size, way, callbacks, device.short)
    with tf.device(device.tf_name):
        if timing.again(case):
            return
        runner = build_epoch_runner(way, data, callbacks=callbacks, workdir=workdir, seed=seed)
        initial = runner.weights()
        first_call_s = call_seconds(lambda: runner.train(1))
        key = (dataset, settings.epoch_rows, seed, device.short)
        if way == "eager" and not callbacks:
            references[key] = runner.weights()
        elif key not in references:
            references[key] = eager_first_epoch(data, seed=seed)
        check = check_epoch(way, initial, runner.weights(), references[key])
        if not check.passed:
            timing.refuse(case, "epoch check failed", ModeMismatchError(f"{case}: {check.message()}"))
        epochs, rounds = 1, 1
        if timing.benchmark.enabled:
            epoch_s = call_seconds(lambda: runner.train(1))
            epochs = choose_epochs_per_round(epoch_s, settings)
            per_round = settings.epoch_budget_s // (epoch_s * epochs)
            rounds = int(min(settings.epoch_max_rounds, max(settings.epoch_min_rounds, per_round)))
        info = common_info(case, "epoch", device, settings) | {
            "workload": dataset,
            "mode": way,
            "batch_size": data.batch_size,
            "samples_per_step": data.train_rows,
            "steps_per_round": epochs,
            "flops_per_step": 0,
            "trace_s": None,
            "first_call_s": first_call_s,
            "jit_compile": False,
            "callbacks": callbacks,
            "steps_per_epoch": data.steps_per_epoch,
            "train_rows": data.train_rows,
            "data_source": data.split.source,
            "check": check.as_dict(),
            "time_unit": "seconds per epoch",
        }
        timing.first(
            case,
            group=f"epochs {dataset} b={data.batch_size} {device.label}",
            info=info,
            target=lambda: runner.train(epochs),
            steps=epochs,
            rounds=rounds,
            warmup_rounds=0,  # the sizing epoch warmed the case; an epoch is long enough to start cold
        )


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
