"""The document's five optimizers, a compiled minimization loop and its test problems.

Update rules as Keras 3 computes them (t = iterations + 1, eta = learning rate, eps = 1e-7):

    SGD:      v <- mu v - eta g;  theta <- theta + v        (mu = 0: theta <- theta - eta g)
              nesterov: theta <- theta + mu v - eta g       (with the updated v)
    Adam:     m <- m + (g - m)(1 - b1);  v <- v + (g^2 - v)(1 - b2)
              alpha = eta sqrt(1 - b2^t) / (1 - b1^t);  theta <- theta - alpha m / (sqrt(v) + eps)
              amsgrad: v_hat <- max(v_hat, v) replaces v in the denominator
    RMSprop:  v <- rho v + (1 - rho) g^2;  d = eta g / sqrt(v + eps);  theta <- theta - d
              centered: g_bar <- rho g_bar + (1 - rho) g;  d = eta g / sqrt(v - g_bar^2 + eps)
              momentum: s <- mu s + d;  theta <- theta - s
    Adagrad:  a_0 = 0.1;  a <- a + g^2;  theta <- theta - eta g / sqrt(a + eps)

The document compares them on ``sum((x - 2)^2)`` from ``[0, 0]`` with learning rate 0.1 for
50 steps and plots the losses on a log scale. References: Kingma & Ba 2014 (Adam), Reddi et
al. 2018 (AMSGrad), Hinton 2012 (RMSprop), Duchi et al. 2011 (Adagrad).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, NamedTuple

import keras
import numpy as np
import tensorflow as tf
from matplotlib.figure import Figure

__all__ = [
    "DOCUMENT_INITIAL",
    "DOCUMENT_LEARNING_RATE",
    "DOCUMENT_STEPS",
    "MINIMIZE_DTYPES",
    "OPTIMIZERS",
    "OPTIMIZER_NAMES",
    "ObjectiveFn",
    "OptimizationHistory",
    "OptimizerEntry",
    "compare_optimizers",
    "ill_conditioned_quadratic",
    "make_optimizer",
    "minimize",
    "plot_optimizer_comparison",
    "quadratic",
    "rosenbrock",
]

DOCUMENT_LEARNING_RATE = 0.1
DOCUMENT_STEPS = 50
DOCUMENT_INITIAL = (0.0, 0.0)
MINIMIZE_DTYPES = ("float32", "float64")

ObjectiveFn = Callable[[tf.Tensor], tf.Tensor]


@dataclass(frozen=True)
class OptimizerEntry:
    """One optimizer of the document: its Keras class, the document's settings, its legend label."""

    factory: type[keras.optimizers.Optimizer]
    defaults: Mapping[str, Any] = field(default_factory=dict)
    label: str = ""


OPTIMIZERS: Mapping[str, OptimizerEntry] = MappingProxyType(
    {
        "sgd": OptimizerEntry(keras.optimizers.SGD, {}, "SGD"),
        "sgd_momentum": OptimizerEntry(keras.optimizers.SGD, {"momentum": 0.9}, "SGD+Momentum"),
        "adam": OptimizerEntry(keras.optimizers.Adam, {}, "Adam"),
        "rmsprop": OptimizerEntry(keras.optimizers.RMSprop, {}, "RMSprop"),
        "adagrad": OptimizerEntry(keras.optimizers.Adagrad, {}, "AdaGrad"),
    }
)
OPTIMIZER_NAMES: tuple[str, ...] = tuple(OPTIMIZERS)

# Hyperparameter -> half-open range [low, high); checked before Keras sees them.
_HYPERPARAMETER_RANGES: Mapping[str, tuple[float, float]] = MappingProxyType(
    {
        "momentum": (0.0, 1.0),
        "beta_1": (0.0, 1.0),
        "beta_2": (0.0, 1.0),
        "rho": (0.0, 1.0),
        "epsilon": (0.0, math.inf),
        "initial_accumulator_value": (0.0, math.inf),
    }
)
_FLOAT_HYPERPARAMETERS = frozenset(_HYPERPARAMETER_RANGES)
_BOOLEAN_HYPERPARAMETERS = frozenset({"nesterov", "amsgrad", "centered"})


class OptimizationHistory(NamedTuple):
    """What ``minimize`` records: ``losses[t] = f(params[t])``; ``params[0]`` is the start."""

    losses: np.ndarray
    params: np.ndarray


def _check_learning_rate(learning_rate: Any) -> None:
    if isinstance(learning_rate, keras.optimizers.schedules.LearningRateSchedule):
        return
    is_number = isinstance(learning_rate, (int, float, np.floating, np.integer))
    if isinstance(learning_rate, bool) or not is_number or not 0 < learning_rate < math.inf:
        raise ValueError(
            "Argument `learning_rate` must be a finite number > 0 or a LearningRateSchedule. "
            f"Received: learning_rate={learning_rate!r}"
        )


def _check_hyperparameter(name: str, value: Any) -> None:
    low, high = _HYPERPARAMETER_RANGES[name]
    is_number = isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool)
    if not (is_number and low <= value < high):
        raise ValueError(f"Argument `{name}` must be in [{low}, {high}). Received: {name}={value!r}")


def make_optimizer(
    name: str, learning_rate: float | Any = DOCUMENT_LEARNING_RATE, **kwargs: Any
) -> keras.optimizers.Optimizer:
    """A fresh Keras optimizer of the document, with its settings unless overridden.

    Args:
        name: one of ``OPTIMIZER_NAMES`` (``sgd``, ``sgd_momentum``, ``adam``, ``rmsprop``, ``adagrad``).
        learning_rate: a number > 0 (the document's 0.1 by default) or a ``LearningRateSchedule``.
        **kwargs: further Keras arguments (``momentum``, ``nesterov``, ``beta_1``, ``beta_2``,
            ``amsgrad``, ``rho``, ``centered``, ``epsilon``, ``initial_accumulator_value``...);
            they override the document's settings.

    Returns:
        A new, unbuilt ``keras.optimizers.Optimizer``.

    Raises:
        ValueError: unknown ``name`` (the message lists the valid ones), a learning rate that is
            not > 0, or a hyperparameter out of its range.
    """
    if name not in OPTIMIZERS:
        raise ValueError(f"Argument `name` must be one of {list(OPTIMIZER_NAMES)}. Received: name={name!r}")
    _check_learning_rate(learning_rate)
    entry = OPTIMIZERS[name]
    settings = {**entry.defaults, **kwargs}
    for key, value in settings.items():
        if key in _HYPERPARAMETER_RANGES:
            _check_hyperparameter(key, value)
        if key in _BOOLEAN_HYPERPARAMETERS and not isinstance(value, (bool, np.bool_)):
            raise ValueError(f"Argument `{key}` must be a bool. Received: {key}={value!r}")
    # Keras's SGD insists on a Python float momentum (an int 0 is refused).
    settings = {k: float(v) if k in _FLOAT_HYPERPARAMETERS else v for k, v in settings.items()}
    if isinstance(learning_rate, (int, float, np.floating, np.integer)):
        learning_rate = float(learning_rate)
    return entry.factory(learning_rate=learning_rate, **settings)


def quadratic(x: tf.Tensor) -> tf.Tensor:
    """The document's test function ``f(x) = sum((x - 2)^2)``; minimum 0 at ``x = 2``."""
    return tf.reduce_sum(tf.square(x - 2.0))


def ill_conditioned_quadratic(x: tf.Tensor, condition_number: float = 100.0) -> tf.Tensor:
    """``f(x) = sum_i h_i (x_i - 2)^2`` with ``h_i = condition_number^(i / (n - 1))``.

    The curvatures span ``[1, condition_number]`` geometrically (``h = 1`` when ``n = 1``), so
    ``condition_number = 1`` is the document's quadratic. Minimum 0 at ``x = 2``.

    Raises:
        ValueError: ``condition_number < 1``.
    """
    if not condition_number >= 1:
        raise ValueError(
            f"Argument `condition_number` must be >= 1. Received: condition_number={condition_number}"
        )
    n = int(x.shape[-1])
    exponents = np.arange(n) / max(n - 1, 1)
    curvatures = tf.constant(condition_number**exponents, dtype=x.dtype)
    return tf.reduce_sum(curvatures * tf.square(x - 2.0))


def rosenbrock(x: tf.Tensor, a: float = 1.0, b: float = 100.0) -> tf.Tensor:
    """``f(x) = sum_i b (x_{i+1} - x_i^2)^2 + (a - x_i)^2``; minimum 0 at ``x = (a, a^2, ...)``.

    With the default ``a = 1`` the minimum is at all ones. Needs at least two coordinates.
    """
    if int(x.shape[-1]) < 2:
        raise ValueError(f"Argument `x` must have >= 2 coordinates. Received: x.shape={x.shape}")
    head, tail = x[..., :-1], x[..., 1:]
    return tf.reduce_sum(b * tf.square(tail - tf.square(head)) + tf.square(a - head))


def _check_minimize_arguments(objective, optimizer, initial, steps, dtype) -> np.ndarray:
    if not callable(objective):
        raise ValueError(f"Argument `objective` must be callable. Received: objective={objective!r}")
    if not isinstance(optimizer, keras.optimizers.Optimizer):
        raise ValueError(f"Argument `optimizer` must be a keras Optimizer. Received: optimizer={optimizer!r}")
    if optimizer.built:
        raise ValueError(
            "Argument `optimizer` must be fresh (not yet built on other variables). "
            f"Received: optimizer={optimizer.name} with iterations={int(optimizer.iterations)}"
        )
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"Argument `steps` must be an integer >= 1. Received: steps={steps!r}")
    if dtype not in MINIMIZE_DTYPES:
        raise ValueError(f"Argument `dtype` must be one of {MINIMIZE_DTYPES}. Received: dtype={dtype!r}")
    start = np.asarray(initial, dtype=dtype)
    if start.ndim != 1 or start.size == 0 or not np.all(np.isfinite(start)):
        raise ValueError(
            f"Argument `initial` must be a non-empty 1-D array of finite numbers. Received: initial={initial!r}"
        )
    return start


def minimize(
    objective: ObjectiveFn,
    optimizer: keras.optimizers.Optimizer,
    initial: Iterable[float],
    steps: int,
    *,
    dtype: str = "float32",
) -> OptimizationHistory:
    """Minimize ``objective`` from ``initial`` with ``steps`` updates compiled in one ``tf.function``.

    Each step records ``f(x_t)`` and then applies ``x_{t+1} = update(x_t, grad f(x_t))``; the
    step is traced once per call (once per optimizer).

    Args:
        objective: maps a float32 vector to a scalar loss (TensorFlow ops).
        optimizer: a fresh optimizer (for example from ``make_optimizer``); it is built here.
        initial: the starting point, a 1-D sequence of numbers (cast to float32).
        steps: number of updates, >= 1.
        dtype: ``"float32"`` (the document's) or ``"float64"`` for the parameters and the
            optimizer's slots. Keras keeps the learning rate in a float32 variable either way.

    Returns:
        ``OptimizationHistory(losses, params)``: arrays of ``dtype`` with shapes ``(steps,)`` and
        ``(steps + 1, dim)``.

    Raises:
        ValueError: a non-callable objective, a built optimizer, a bad ``initial``, ``steps`` or
            ``dtype``.
    """
    start = _check_minimize_arguments(objective, optimizer, initial, steps, dtype)
    x = tf.Variable(start, dtype=dtype, name="x")
    optimizer.build([x])

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss = objective(x)
        optimizer.apply_gradients([(tape.gradient(loss, x), x)])
        return loss, x.read_value()

    losses = np.empty(steps, dtype=dtype)
    params = np.empty((steps + 1, start.size), dtype=dtype)
    params[0] = start
    for t in range(steps):
        loss, params_after = step()
        losses[t], params[t + 1] = loss.numpy(), params_after.numpy()
    return OptimizationHistory(losses, params)


def compare_optimizers(
    objective: ObjectiveFn = quadratic,
    *,
    names: Iterable[str] = OPTIMIZER_NAMES,
    learning_rate: float = DOCUMENT_LEARNING_RATE,
    initial: Iterable[float] = DOCUMENT_INITIAL,
    steps: int = DOCUMENT_STEPS,
) -> dict[str, OptimizationHistory]:
    """The document's comparison: each optimizer minimizes ``objective`` from the same start.

    Args:
        objective: the function to minimize (the document's ``quadratic`` by default).
        names: optimizers to compare, keys of ``OPTIMIZERS`` (all five by default).
        learning_rate: shared learning rate (the document's 0.1).
        initial: shared starting point (the document's ``[0, 0]``).
        steps: number of updates (the document's 50).

    Returns:
        ``{name: OptimizationHistory}`` in the order of ``names``.
    """
    start = tuple(initial)
    return {name: minimize(objective, make_optimizer(name, learning_rate), start, steps) for name in names}


def plot_optimizer_comparison(histories: Mapping[str, OptimizationHistory]) -> Figure:
    """The document's figure: one loss curve per optimizer, log-scale loss axis.

    Args:
        histories: ``{name: OptimizationHistory}`` as returned by ``compare_optimizers``.

    Returns:
        A ``matplotlib.figure.Figure`` with one ``Axes`` and one line per history, labelled with
        the document's legend names.
    """
    figure = Figure(figsize=(12, 8))
    axes = figure.add_subplot()
    for name, history in histories.items():
        label = OPTIMIZERS[name].label if name in OPTIMIZERS else name
        axes.plot(np.arange(len(history.losses)), history.losses, label=label, linewidth=2)
    axes.set_xlabel("Iteration")
    axes.set_ylabel("Loss")
    axes.set_title("Convergence of different optimizers")
    axes.set_yscale("log")
    axes.grid(True, alpha=0.3)
    axes.legend()
    return figure
