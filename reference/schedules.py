"""The document's learning-rate schedules, and a warmup + cosine schedule correct on Keras 3.

Closed forms (s = step cast to float):

    exponential:  lr0 * rate^(s / decay_steps)          (floor of the exponent when staircase)
    polynomial:   (lr0 - end) * (1 - min(s, decay_steps) / decay_steps)^power + end
    piecewise:    values[0] for s <= b_0; values[i + 1] for b_i < s <= b_{i+1}; values[-1] after
    cosine:       lr0 * ((1 - alpha) * 0.5 * (1 + cos(pi * min(s, decay_steps) / decay_steps)) + alpha)
    warmup_cosine (w = warmup_steps, T = total_steps):
        s < w:    initial * s / w
        s >= w:   min + (initial - min) * 0.5 * (1 + cos(pi * clip((s - w) / (T - w), 0, 1)))

``WarmupCosineDecay`` joins a linear warmup and a clamped cosine at ``warmup_steps`` (as optax's
``warmup_cosine_decay_schedule`` joins two schedules); it fixes the document's D2 (int64 step),
D3 (no clamp after ``total_steps``) and D4 (no ``get_config``).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import keras
import numpy as np
from keras import ops
from matplotlib.figure import Figure

from reference.validation import (
    check_array,
    check_bool,
    check_choice,
    check_float,
    check_instance,
    check_int,
    check_str,
    fail,
)

__all__ = [
    "BUILTIN_SCHEDULE_NAMES",
    "SCHEDULES",
    "SCHEDULE_NAMES",
    "ScheduleEntry",
    "WarmupCosineDecay",
    "make_schedule",
    "plot_schedules",
    "schedule_values",
]

LearningRateSchedule = keras.optimizers.schedules.LearningRateSchedule


def _positive(name: str, value: Any) -> float:
    return check_float(name, value, low=0.0, low_open=True)


@keras.saving.register_keras_serializable(package="reference")
class WarmupCosineDecay(LearningRateSchedule):
    """Linear warmup from 0 to ``initial_learning_rate``, then cosine decay to ``min_learning_rate``.

    With ``w = warmup_steps`` and ``T = total_steps``::

        step < w:   initial * step / w
        step >= w:  min + (initial - min) * 0.5 * (1 + cos(pi * clip((step - w) / (T - w), 0, 1)))

    so the rate is ``min_learning_rate`` from ``total_steps`` on. The step is cast to float32
    first, so an optimizer's int64 ``iterations`` works, in eager mode and inside ``tf.function``.

    Args:
        warmup_steps: steps of linear warmup, an integer >= 0 (``100.0`` is refused: a float step
            count hides a computation upstream).
        total_steps: step at which the decay ends, an integer > ``warmup_steps``.
        initial_learning_rate: peak rate reached at ``warmup_steps``, a finite number > 0.
        min_learning_rate: final rate, in ``[0, initial_learning_rate]`` (a decay never rises).

    Raises:
        ValueError: an argument out of range (the message names it and its value).
    """

    def __init__(
        self,
        warmup_steps: int,
        total_steps: int,
        initial_learning_rate: float,
        min_learning_rate: float = 0.0,
    ):
        super().__init__()
        warmup_steps = check_int("warmup_steps", warmup_steps, low=0)
        total_steps = check_int("total_steps", total_steps, low=1)
        if total_steps <= warmup_steps:
            fail("total_steps", f"> `warmup_steps` ({warmup_steps})", total_steps)
        initial_learning_rate = _positive("initial_learning_rate", initial_learning_rate)
        min_learning_rate = check_float("min_learning_rate", min_learning_rate, low=0.0)
        if min_learning_rate > initial_learning_rate:
            fail(
                "min_learning_rate",
                f"<= `initial_learning_rate` ({initial_learning_rate})",
                min_learning_rate,
            )
        self.warmup_steps = warmup_steps
        self.total_steps = total_steps
        self.initial_learning_rate = initial_learning_rate
        self.min_learning_rate = min_learning_rate

    def _linear_warmup(self, step):
        fraction = ops.clip(step / max(self.warmup_steps, 1), 0.0, 1.0)
        return self.initial_learning_rate * fraction

    def _cosine_decay(self, steps_after_warmup):
        progress = ops.clip(steps_after_warmup / (self.total_steps - self.warmup_steps), 0.0, 1.0)
        cosine = 0.5 * (1.0 + ops.cos(math.pi * progress))
        return self.min_learning_rate + (self.initial_learning_rate - self.min_learning_rate) * cosine

    def __call__(self, step):
        step = ops.cast(step, "float32")
        warming_up = step < self.warmup_steps
        return ops.where(warming_up, self._linear_warmup(step), self._cosine_decay(step - self.warmup_steps))

    def get_config(self) -> dict[str, Any]:
        return {
            "warmup_steps": self.warmup_steps,
            "total_steps": self.total_steps,
            "initial_learning_rate": self.initial_learning_rate,
            "min_learning_rate": self.min_learning_rate,
        }


def _check_boundaries_and_values(boundaries: Any, values: Any) -> None:
    """Keras casts the boundaries to the step's integer type: a boundary of 100.5 would act as 100."""
    bounds = check_array("boundaries", boundaries, ndim=1, low=0, integral=True)
    if bounds.size == 0 or np.any(np.diff(bounds) <= 0):
        fail("boundaries", "a non-empty, strictly increasing sequence of whole numbers >= 0", boundaries)
    rates = check_array("values", values, ndim=1, low=0.0, low_open=True)
    if rates.size != bounds.size + 1:
        fail("values", f"{bounds.size + 1} numbers, one more than `boundaries`", values)


def _check_relations(arguments: Mapping[str, Any]) -> None:
    """A decay never rises: the end, the floor and the warmup target stay on their side of the start."""
    initial = arguments.get("initial_learning_rate")
    end = arguments.get("end_learning_rate")
    if end is not None and end > initial:
        fail("end_learning_rate", f"<= `initial_learning_rate` ({initial}): a decay never rises", end)
    target = arguments.get("warmup_target")
    if target is not None and target < initial:
        fail("warmup_target", f">= `initial_learning_rate` ({initial}): a warmup rises", target)


# Argument -> check, for every constructor argument of the built-in schedules (Keras checks only
# ``decay_steps > 0`` and the number of piecewise values).
_CHECKS: Mapping[str, Callable[[str, Any], Any]] = MappingProxyType(
    {
        "initial_learning_rate": _positive,
        "decay_steps": lambda n, v: check_int(n, v, low=1),
        # ExponentialDecay computes lr0 * rate^(step / decay_steps): a rate > 1 is a growth, not a
        # decay (5 takes 0.1 to 1e6 in 1000 steps of 100), so the domain of a decay is (0, 1].
        "decay_rate": lambda n, v: check_float(n, v, low=0.0, high=1.0, low_open=True),
        "end_learning_rate": lambda n, v: check_float(n, v, low=0.0),
        "power": _positive,
        "alpha": lambda n, v: check_float(n, v, low=0.0, high=1.0),
        "staircase": check_bool,
        "cycle": check_bool,
        "warmup_target": lambda n, v: check_float(n, v, low=0.0, low_open=True, optional=True),
        "warmup_steps": lambda n, v: check_int(n, v, low=0),
        "name": check_str,
    }
)


@dataclass(frozen=True)
class ScheduleEntry:
    """A schedule of the document: its class, the document's arguments, a plot title."""

    factory: type[LearningRateSchedule]
    defaults: Mapping[str, Any] = field(default_factory=dict)
    title: str = ""

    def __post_init__(self):
        if not (isinstance(self.factory, type) and issubclass(self.factory, LearningRateSchedule)):
            fail("factory", "a LearningRateSchedule class", self.factory)
        check_instance("defaults", self.defaults, Mapping, "a mapping of constructor arguments")
        check_instance("title", self.title, str, "a string")


SCHEDULES: Mapping[str, ScheduleEntry] = MappingProxyType(
    {
        "exponential": ScheduleEntry(
            keras.optimizers.schedules.ExponentialDecay,
            {"initial_learning_rate": 0.1, "decay_steps": 100, "decay_rate": 0.96, "staircase": True},
            "Exponential decay",
        ),
        "polynomial": ScheduleEntry(
            keras.optimizers.schedules.PolynomialDecay,
            {
                "initial_learning_rate": 0.1,
                "decay_steps": 1000,
                "end_learning_rate": 0.01,
                "power": 0.5,
            },
            "Polynomial decay",
        ),
        "piecewise": ScheduleEntry(
            keras.optimizers.schedules.PiecewiseConstantDecay,
            {"boundaries": [100, 200, 300], "values": [0.1, 0.05, 0.01, 0.005]},
            "Piecewise constant",
        ),
        "cosine": ScheduleEntry(
            keras.optimizers.schedules.CosineDecay,
            {"initial_learning_rate": 0.1, "decay_steps": 1000},
            "Cosine decay",
        ),
        "warmup_cosine": ScheduleEntry(
            WarmupCosineDecay,
            {
                "warmup_steps": 100,
                "total_steps": 1000,
                "initial_learning_rate": 0.001,
                "min_learning_rate": 0.0001,
            },
            "Warmup + cosine decay",
        ),
    }
)
SCHEDULE_NAMES: tuple[str, ...] = tuple(SCHEDULES)
BUILTIN_SCHEDULE_NAMES: tuple[str, ...] = ("exponential", "polynomial", "piecewise", "cosine")


def make_schedule(name: str, **overrides: Any) -> LearningRateSchedule:
    """A schedule of the document with its parameters, unless overridden.

    Args:
        name: one of ``SCHEDULE_NAMES``: the four built-ins of the document's 2x2 figure
            (``exponential``, ``polynomial``, ``piecewise``, ``cosine``) and ``warmup_cosine``.
        **overrides: constructor arguments of that schedule replacing the document's.

    Every argument is checked here (Keras checks only ``decay_steps > 0``): rates are finite and
    > 0, ``end_learning_rate`` in [0, initial], ``decay_rate`` in (0, 1] (above 1 the exponential
    grows), ``power`` > 0, ``alpha`` in [0, 1], ``warmup_target`` >= initial, step counts integers,
    piecewise ``boundaries`` strictly increasing whole numbers with one more value than boundaries.

    Returns:
        A new ``LearningRateSchedule``.

    Raises:
        ValueError: unknown ``name`` or argument, or an argument out of range.
    """
    check_choice("name", name, SCHEDULE_NAMES)
    entry = SCHEDULES[name]
    accepted = set(inspect.signature(entry.factory).parameters) - {"self"}
    for key, value in overrides.items():
        if key not in accepted:
            fail(key, f"an argument of the {name!r} schedule ({', '.join(sorted(accepted))})", value)
    arguments = {**entry.defaults, **overrides}
    if name == "piecewise":
        _check_boundaries_and_values(arguments["boundaries"], arguments["values"])
    checked = {key: _CHECKS[key](key, value) if key in _CHECKS else value for key, value in arguments.items()}
    _check_relations(checked)
    return entry.factory(**checked)


def schedule_values(schedule: LearningRateSchedule, steps: Sequence[int] | np.ndarray) -> np.ndarray:
    """The schedule at each step, evaluated in one call on an int64 vector (as float32).

    Raises:
        ValueError: ``schedule`` is not a ``LearningRateSchedule``, or ``steps`` are not whole
            numbers >= 0.
    """
    check_instance("schedule", schedule, LearningRateSchedule, "a LearningRateSchedule")
    steps = check_array("steps", steps, low=0, integral=True)
    values = schedule(ops.convert_to_tensor(steps.astype(np.int64)))
    return np.broadcast_to(ops.convert_to_numpy(values), np.shape(steps)).astype(np.float32)


def plot_schedules(builtin_steps: int = 500, warmup_steps_shown: int = 1000) -> Figure:
    """The document's 2x2 figure of the built-in schedules, plus its warmup + cosine curve below.

    Args:
        builtin_steps: steps drawn for the four built-ins (the document's 500).
        warmup_steps_shown: steps drawn for the warmup + cosine schedule (the document's 1000).

    Returns:
        A ``Figure`` with five ``Axes``: the four built-ins, then ``warmup_cosine`` spanning the
        bottom row; one line each, titled ``"<title> schedule"``.
    """
    builtin_steps = check_int("builtin_steps", builtin_steps, low=1)
    warmup_steps_shown = check_int("warmup_steps_shown", warmup_steps_shown, low=1)
    figure = Figure(figsize=(15, 14), layout="constrained")
    grid = figure.add_gridspec(3, 2)
    cells = [grid[0, 0], grid[0, 1], grid[1, 0], grid[1, 1], grid[2, :]]
    shown = [(name, builtin_steps) for name in BUILTIN_SCHEDULE_NAMES]
    shown.append(("warmup_cosine", warmup_steps_shown))
    for cell, (name, count) in zip(cells, shown, strict=True):
        axes = figure.add_subplot(cell)
        steps = np.arange(count)
        axes.plot(steps, schedule_values(make_schedule(name), steps), linewidth=2)
        axes.set_title(f"{SCHEDULES[name].title} schedule")
        axes.set_xlabel("Step")
        axes.set_ylabel("Learning rate")
        axes.grid(True, alpha=0.3)
    return figure
