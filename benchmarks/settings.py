"""How much a run measures: the full matrix, the quick one, or the smoke pass of plain ``pytest``.

| setting | when | MLP batch sizes | distributed global batches | passes | timed seconds per case and pass | rounds per pass |
|---|---|---|---|---|---|---|
| ``full`` | ``pytest --benchmark-only`` | 32, 256, 2048 | 256, 2048 | 3 | 0.4 | 4-135 |
| ``quick`` | ``--bench-quick`` or ``TFBENCH_QUICK=1`` | 32, 2048 (the knobs and the epochs: basic MLP only) | 2048 | 3 | 0.1 | 3-35 |
| ``smoke`` | plain ``pytest`` (benchmarks disabled) | 32 | 256 | 1 | none: one call | 1 |

Epoch cases (``bench_epoch.py``) run every data set, way and callback setting in the timed settings,
one round being ``1-epoch_max_per_round`` epochs (as many as fit in ``epoch_round_s``), with
``epoch_budget_s`` per case and pass (``epoch_min_rounds``-``epoch_max_rounds`` rounds). The smoke
pass runs the basic data set only, cut to ``epoch_rows`` rows, every way once without callbacks and
``epoch_callback_ways`` with them (the ``Trainer`` with 32 steps per call: Keras's callbacks driven by
a custom loop).

The knobs (every mode outside the original six: ``fit`` with XLA or steps per execution, the
``Trainer``, mixed precision) run on every workload in the full run, and on ``knob_workloads`` (the
basic MLP) in the quick run and the smoke pass (where each new mode runs once). ``mixed_policy`` is ``--bench-precision``'s choice
(``benchmarks.precision``).

Passes: a timed run goes through the whole matrix ``passes`` times and every case is timed once per
pass (``benchmarks.passes``), so its samples come from moments spread over the run rather than
from one window: a shared machine has slow phases lasting seconds, and one window per case put a
whole sample into one of them (on the 2-core development VM, consecutive quick runs then
disagreed by 30-50% on single cases). Only the first pass builds, traces, compiles and checks.

The smoke pass runs every workload x mode x device once, at the smallest batch size only: most of
its time is XLA compilation (a few seconds per case on a 2-core CPU) and every batch size would
triple it; for the same reason an XLA mode of a workload with dropout is built and checked on its
dropout-free twin only (the model its check needs). Timed runs check every batch size's modes
before timing them, and compile the real models too.

Rounds adapt to the case: ``rounds = clip(budget_s / round_seconds, min_rounds, max_rounds)`` per
pass, with the round time estimated from two warm calls (``warm_round_s``). A fused round runs ``n``
steps with ``n`` chosen so a round lasts about ``fused_round_s`` (``measure_fused_steps``).

No TensorFlow here: the sizing only calls what it is given, so ``tfbench-ab``'s worker and the
pytest harness size their rounds the same way.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from benchmarks.results.cases import EPOCH_WAYS

__all__ = [
    "FULL",
    "FUSED_PROBE_MAX_STEPS",
    "QUICK",
    "QUICK_ENV",
    "SMOKE",
    "Settings",
    "call_seconds",
    "choose_epochs_per_round",
    "choose_fused_steps",
    "choose_rounds",
    "env_quick",
    "measure_fused_steps",
    "resolve_settings",
    "round_steps",
    "warm_round_s",
]

QUICK_ENV = "TFBENCH_QUICK"
FUSED_PROBE_MAX_STEPS = 64


@dataclass(frozen=True)
class Settings:
    """One benchmark setting (see the module docstring)."""

    name: str
    batch_sizes: tuple[int, ...]
    calibration_sizes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    budget_s: float = 0.0
    warmup_rounds: int = 0
    min_rounds: int = 1
    max_rounds: int = 1
    fused_round_s: float = 0.0
    fused_min_steps: int = 2
    fused_max_steps: int = 5000
    distributed_batches: tuple[int, ...] = (256,)
    distributed_round_s: float = 0.0
    passes: int = 1
    knob_workloads: tuple[str, ...] | None = None
    mixed_policy: str = "auto"
    epoch_datasets: tuple[str, ...] = ("basic", "advanced", "callbacks")
    epoch_callback_ways: tuple[str, ...] = EPOCH_WAYS
    epoch_rows: int | None = None
    epoch_round_s: float = 0.0
    epoch_max_per_round: int = 5
    epoch_budget_s: float = 0.0
    epoch_min_rounds: int = 1
    epoch_max_rounds: int = 1

    @property
    def timed(self) -> bool:
        return self.name != "smoke"

    def as_dict(self) -> dict:
        return asdict(self)


FULL = Settings(
    "full",
    (32, 256, 2048),
    {"CPU": (256, 512, 1024), "GPU": (1024, 2048, 4096)},
    budget_s=0.4,
    warmup_rounds=2,
    min_rounds=4,
    max_rounds=135,
    fused_round_s=0.03,
    fused_min_steps=4,
    distributed_batches=(256, 2048),
    distributed_round_s=0.1,
    passes=3,
    epoch_round_s=0.25,
    epoch_budget_s=0.8,
    epoch_min_rounds=2,
    epoch_max_rounds=10,
)
QUICK = Settings(
    "quick",
    (32, 2048),
    {"CPU": (512, 1024), "GPU": (2048, 4096)},
    budget_s=0.1,
    warmup_rounds=1,
    min_rounds=3,
    max_rounds=35,
    fused_round_s=0.015,
    fused_min_steps=4,
    distributed_batches=(2048,),
    distributed_round_s=0.05,
    passes=3,
    knob_workloads=("basic",),
    epoch_datasets=("basic",),
    epoch_round_s=0.15,
    epoch_budget_s=0.3,
    epoch_min_rounds=2,
    epoch_max_rounds=4,
)
# One step per fused call: the mode check already compiled ``fused_xla`` for n = 1, and another n
# would compile it again (``benchmarks.modes``).
SMOKE = Settings(
    "smoke",
    (32,),
    {"CPU": (256,), "GPU": (1024,)},
    fused_min_steps=1,
    knob_workloads=("basic",),
    epoch_datasets=("basic",),
    epoch_callback_ways=("trainer_spe32",),
    epoch_rows=128,
)


def env_quick() -> bool:
    """Whether ``TFBENCH_QUICK`` asks for the quick setting (``1``, ``true``, ``yes``, ``on``)."""
    return os.environ.get(QUICK_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def resolve_settings(*, timed: bool, quick: bool) -> Settings:
    """``SMOKE`` when benchmarks are not timed, else ``QUICK`` or ``FULL``."""
    if not timed:
        return SMOKE
    return QUICK if quick else FULL


def choose_rounds(round_s: float, settings: Settings) -> int:
    """``clip(budget_s / round_s, min_rounds, max_rounds)``."""
    if round_s <= 0:
        return settings.max_rounds
    return int(min(settings.max_rounds, max(settings.min_rounds, settings.budget_s // round_s)))


def choose_fused_steps(step_s: float, settings: Settings) -> int:
    """Steps per fused round: ``clip(ceil(fused_round_s / step_s), fused_min_steps, fused_max_steps)``.

    ``step_s`` is the marginal cost of one more step inside the fused loop (the harness measures it
    from a one-step and a many-step call), so a round lasts about ``fused_round_s``.
    """
    if not settings.timed:
        return settings.fused_min_steps
    wanted = -(-settings.fused_round_s // max(step_s, 1e-9))
    return int(min(settings.fused_max_steps, max(settings.fused_min_steps, wanted)))


def choose_epochs_per_round(epoch_s: float, settings: Settings) -> int:
    """Epochs per timed round: ``clip(round(epoch_round_s / epoch_s), 1, epoch_max_per_round)``; 1 untimed."""
    if not settings.timed:
        return 1
    return int(min(settings.epoch_max_per_round, max(1, round(settings.epoch_round_s / max(epoch_s, 1e-9)))))


def call_seconds(call: Callable[[], object]) -> float:
    """Wall-clock seconds of one ``call()`` (``time.perf_counter``)."""
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def warm_round_s(target: Callable[[], object]) -> float:
    """The faster of two calls of ``target`` (seconds): a round's time once compiled and warm."""
    return min(call_seconds(target), call_seconds(target))


def measure_fused_steps(runner, settings: Settings, *, reuse_compiled: bool = False) -> int:
    """Steps per fused round for ``runner`` (a fused ``benchmarks.modes.Runner``), from warm calls.

    ``step_s = max((t(p) - t(1)) / (p - 1), t(p) / (2 p))`` with ``t(k)`` the warm time of a
    ``k``-step call and ``p = clip(fused_round_s // t(1) + 1, 2, FUSED_PROBE_MAX_STEPS)``: the cost
    of one more step without the call overhead, at least half the probe's average (noise guard);
    then ``choose_fused_steps(step_s, settings)``. Untimed settings take ``fused_min_steps``.

    ``reuse_compiled``: a count already compiled is kept when its call lasts at least half of
    ``fused_round_s`` (1 step when ``t(1)`` does, else the probe when ``t(p)`` does, within the
    settings' bounds): ``fused_xla`` compiles once per count, 1-25 s each on a 2-core CPU.
    """
    if not settings.timed:
        return choose_fused_steps(0.0, settings)
    one = warm_round_s(runner.timed(1))
    if reuse_compiled and one >= settings.fused_round_s / 2 and settings.fused_min_steps <= 1:
        return 1
    probe = int(min(FUSED_PROBE_MAX_STEPS, max(2, settings.fused_round_s // one + 1)))
    many = warm_round_s(runner.timed(probe))
    if reuse_compiled and many >= settings.fused_round_s / 2 and settings.fused_min_steps <= probe:
        return min(probe, settings.fused_max_steps)
    step_s = max((many - one) / (probe - 1), many / probe / 2)
    return choose_fused_steps(step_s, settings)


def round_steps(runner, settings: Settings, *, reuse_compiled: bool = False) -> int:
    """Steps per timed round of a ``benchmarks.modes.Runner``: ``measure_fused_steps`` for a fused
    mode, else the runner's ``steps_per_call`` (1, or ``k`` for a ``k``-step mode)."""
    if runner.fused:
        return measure_fused_steps(runner, settings, reuse_compiled=reuse_compiled)
    return runner.steps_per_call
