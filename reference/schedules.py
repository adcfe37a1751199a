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
import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import keras
import numpy as np
from keras import ops
from matplotlib.figure import Figure

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


def _fail(name: str, condition: str, value: Any) -> None:
    raise ValueError(f"Argument `{name}` must be {condition}. Received: {name}={value!r}")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _check_rate(name: str, value: Any, *, positive: bool) -> None:
    in_range = _is_number(value) and math.isfinite(value) and (value > 0 if positive else value >= 0)
    if not in_range:
        _fail(name, "a finite number > 0" if positive else "a finite number >= 0", value)


def _check_integer(name: str, value: Any, *, minimum: int) -> None:
    if not (_is_number(value) and float(value).is_integer() and value >= minimum):
        _fail(name, f"an integer >= {minimum}", value)


@keras.saving.register_keras_serializable(package="reference")
class WarmupCosineDecay(LearningRateSchedule):
    """Linear warmup from 0 to ``initial_learning_rate``, then cosine decay to ``min_learning_rate``.

    With ``w = warmup_steps`` and ``T = total_steps``::

        step < w:   initial * step / w
        step >= w:  min + (initial - min) * 0.5 * (1 + cos(pi * clip((step - w) / (T - w), 0, 1)))

    so the rate is ``min_learning_rate`` from ``total_steps`` on. The step is cast to float32
    first, so an optimizer's int64 ``iterations`` works, in eager mode and inside ``tf.function``.

    Args:
        warmup_steps: steps of linear warmup, an integer >= 0.
        total_steps: step at which the decay ends, an integer > ``warmup_steps``.
        initial_learning_rate: peak rate reached at ``warmup_steps``, >= 0.
        min_learning_rate: final rate, in ``[0, initial_learning_rate]``.

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
        _check_integer("warmup_steps", warmup_steps, minimum=0)
        _check_integer("total_steps", total_steps, minimum=0)
        if total_steps <= warmup_steps:
            raise ValueError(
                "Argument `total_steps` must be > `warmup_steps`. "
                f"Received: total_steps={total_steps!r}, warmup_steps={warmup_steps!r}"
            )
        _check_rate("initial_learning_rate", initial_learning_rate, positive=False)
        _check_rate("min_learning_rate", min_learning_rate, positive=False)
        if min_learning_rate > initial_learning_rate:
            raise ValueError(
                "Argument `min_learning_rate` must be <= `initial_learning_rate`. "
                f"Received: min_learning_rate={min_learning_rate!r}, "
                f"initial_learning_rate={initial_learning_rate!r}"
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


def _check_boundaries_and_values(arguments: dict[str, Any]) -> None:
    boundaries, values = arguments["boundaries"], arguments["values"]
    if not all(_is_number(b) for b in boundaries) or any(b >= c for b, c in itertools.pairwise(boundaries)):
        _fail("boundaries", "a strictly increasing sequence of numbers", boundaries)
    for value in values:
        if not (_is_number(value) and value > 0 and math.isfinite(value)):
            _fail("values", "finite numbers > 0", values)
    if len(values) != len(boundaries) + 1:
        _fail("values", f"one longer than `boundaries` ({len(boundaries) + 1})", values)


# Argument -> check, for the arguments of the built-in schedules.
_CHECKS: Mapping[str, Callable[[str, Any], None]] = MappingProxyType(
    {
        "initial_learning_rate": lambda n, v: _check_rate(n, v, positive=True),
        "decay_steps": lambda n, v: _check_integer(n, v, minimum=1),
        "decay_rate": lambda n, v: _check_rate(n, v, positive=True),
        "end_learning_rate": lambda n, v: _check_rate(n, v, positive=False),
        "power": lambda n, v: _check_rate(n, v, positive=True),
        "alpha": lambda n, v: None if _is_number(v) and 0 <= v <= 1 else _fail(n, "in [0, 1]", v),
        "staircase": lambda n, v: None if isinstance(v, bool) else _fail(n, "a bool", v),
        "cycle": lambda n, v: None if isinstance(v, bool) else _fail(n, "a bool", v),
    }
)


@dataclass(frozen=True)
class ScheduleEntry:
    """A schedule of the document: its class, the document's arguments, a plot title."""

    factory: type[LearningRateSchedule]
    defaults: Mapping[str, Any] = field(default_factory=dict)
    title: str = ""


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

    Returns:
        A new ``LearningRateSchedule``.

    Raises:
        ValueError: unknown ``name`` or argument, or an argument out of range.
    """
    if name not in SCHEDULES:
        raise ValueError(f"Argument `name` must be one of {list(SCHEDULE_NAMES)}. Received: name={name!r}")
    entry = SCHEDULES[name]
    accepted = set(inspect.signature(entry.factory).parameters) - {"self"}
    unknown = sorted(set(overrides) - accepted)
    if unknown:
        _fail(unknown[0], f"one of {sorted(accepted)} for the {name!r} schedule", overrides[unknown[0]])
    arguments = {**entry.defaults, **overrides}
    for key, value in arguments.items():
        if key in _CHECKS:
            _CHECKS[key](key, value)
    if name == "piecewise":
        _check_boundaries_and_values(arguments)
    return entry.factory(**arguments)


def schedule_values(schedule: LearningRateSchedule, steps: Sequence[int] | np.ndarray) -> np.ndarray:
    """The schedule at each step, evaluated in one call on an int64 vector (as float32)."""
    values = schedule(ops.convert_to_tensor(np.asarray(steps, dtype=np.int64)))
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
    _check_integer("builtin_steps", builtin_steps, minimum=1)
    _check_integer("warmup_steps_shown", warmup_steps_shown, minimum=1)
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
