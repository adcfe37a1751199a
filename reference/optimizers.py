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

import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, NamedTuple

import keras
import numpy as np
import tensorflow as tf
from matplotlib.figure import Figure

from reference.validation import (
    check_array,
    check_bool,
    check_choice,
    check_float,
    check_instance,
    check_int,
    check_mapping,
    check_str,
    fail,
)

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

    def __post_init__(self):
        if not (isinstance(self.factory, type) and issubclass(self.factory, keras.optimizers.Optimizer)):
            fail("factory", "a keras Optimizer class", self.factory)
        check_instance("defaults", self.defaults, Mapping, "a mapping of keyword arguments")
        check_instance("label", self.label, str, "a string")


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


def _unit_interval(name: str, value: Any) -> float:
    return check_float(name, value, low=0.0, high=1.0, high_open=True)


def _positive_or_none(name: str, value: Any) -> float | None:
    return check_float(name, value, low=0.0, low_open=True, optional=True)


# Keyword -> check, for every keyword argument of the document's four Keras classes. Keras itself
# checks only SGD's momentum (in [0, 1]), gradient_accumulation_steps (>= 2), ema_momentum and one
# clipping argument at most; the rest reach the update rule unchecked (see ``make_optimizer``).
# The checks return Python floats: Keras's SGD refuses an int momentum.
_KEYWORD_CHECKS: Mapping[str, Callable[[str, Any], Any]] = MappingProxyType(
    {
        "momentum": _unit_interval,
        "beta_1": _unit_interval,
        "beta_2": _unit_interval,
        "rho": _unit_interval,
        "epsilon": lambda n, v: check_float(n, v, low=0.0, low_open=True),
        "initial_accumulator_value": lambda n, v: check_float(n, v, low=0.0),
        "nesterov": check_bool,
        "amsgrad": check_bool,
        "centered": check_bool,
        "use_ema": check_bool,
        "weight_decay": lambda n, v: check_float(n, v, low=0.0, optional=True),
        "clipnorm": _positive_or_none,
        "clipvalue": _positive_or_none,
        "global_clipnorm": _positive_or_none,
        "ema_momentum": lambda n, v: check_float(n, v, low=0.0, high=1.0),
        "ema_overwrite_frequency": lambda n, v: check_int(n, v, low=1, optional=True),
        "loss_scale_factor": _positive_or_none,
        "gradient_accumulation_steps": lambda n, v: check_int(n, v, low=2, optional=True),
        "name": lambda n, v: check_str(n, v, optional=True),
    }
)
_CLIPPING = ("clipnorm", "clipvalue", "global_clipnorm")


class OptimizationHistory(NamedTuple):
    """What ``minimize`` records: ``losses[t] = f(params[t])``; ``params[0]`` is the start."""

    losses: np.ndarray
    params: np.ndarray


def _check_learning_rate(learning_rate: Any) -> Any:
    if isinstance(learning_rate, keras.optimizers.schedules.LearningRateSchedule):
        return learning_rate
    try:
        return check_float("learning_rate", learning_rate, low=0.0, low_open=True)
    except ValueError:
        pass  # the message names the schedule too
    fail("learning_rate", "a finite number > 0 or a LearningRateSchedule", learning_rate)


def _check_keywords(name: str, settings: Mapping[str, Any]) -> dict[str, Any]:
    # A keyword of a later Keras without a check here is refused rather than passed unchecked.
    accepted = set(inspect.signature(OPTIMIZERS[name].factory).parameters) & set(_KEYWORD_CHECKS)
    checked = {}
    for key, value in settings.items():
        if key not in accepted:
            fail(key, f"an argument of the {name!r} optimizer ({', '.join(sorted(accepted))})", value)
        checked[key] = _KEYWORD_CHECKS[key](key, value)
    clipping = [key for key in _CLIPPING if checked.get(key) is not None]
    if len(clipping) > 1:
        fail(
            clipping[1],
            f"None when `{clipping[0]}` is set (one clipping argument at most)",
            checked[clipping[1]],
        )
    return checked


def make_optimizer(
    name: str, learning_rate: float | Any = DOCUMENT_LEARNING_RATE, **kwargs: Any
) -> keras.optimizers.Optimizer:
    """A fresh Keras optimizer of the document, with its settings unless overridden.

    Every keyword is checked here, because Keras checks few of them and a value outside its domain
    otherwise trains silently wrong:

    - ``momentum``, ``beta_1``, ``beta_2``, ``rho`` in [0, 1): a moving average with weight 1 never
      takes in a gradient (``beta_1 = 1`` keeps m = 0 and divides by ``1 - 1^t = 0``);
    - ``epsilon`` > 0: Adam divides by ``sqrt(v) + eps``, RMSprop by ``sqrt(v + eps)``; with
      ``eps = 0`` a coordinate whose gradients were all 0 gets 0 / 0 = NaN;
    - ``initial_accumulator_value`` >= 0 (Adagrad takes its square root);
    - ``clipnorm``, ``clipvalue``, ``global_clipnorm`` > 0 or None: Keras silently ignores a value
      <= 0 (``if self.clipnorm and self.clipnorm > 0``), so ``clipnorm=0`` would train unclipped;
      one of them at most;
    - ``weight_decay`` >= 0 or None (a negative decay grows the weights);
    - ``loss_scale_factor`` > 0 or None, ``gradient_accumulation_steps`` an integer >= 2 or None,
      ``ema_momentum`` in [0, 1], ``ema_overwrite_frequency`` an integer >= 1 or None;
    - ``nesterov``, ``amsgrad``, ``centered``, ``use_ema``: ``True`` or ``False``.

    Args:
        name: one of ``OPTIMIZER_NAMES`` (``sgd``, ``sgd_momentum``, ``adam``, ``rmsprop``, ``adagrad``).
        learning_rate: a finite number > 0 (the document's 0.1 by default) or a ``LearningRateSchedule``.
        **kwargs: further keyword arguments of that Keras class (above); they override the
            document's settings.

    Returns:
        A new, unbuilt ``keras.optimizers.Optimizer``.

    Raises:
        ValueError: unknown ``name`` (the message lists the valid ones), a learning rate that is
            not > 0, a keyword the class does not take, or a value outside its domain.
    """
    check_choice("name", name, OPTIMIZER_NAMES)
    learning_rate = _check_learning_rate(learning_rate)
    settings = _check_keywords(name, {**OPTIMIZERS[name].defaults, **kwargs})
    return OPTIMIZERS[name].factory(learning_rate=learning_rate, **settings)


def _check_point(x: Any) -> None:
    """A float tensor (static checks: they hold while ``minimize`` traces the objective)."""
    if not tf.is_tensor(x) and not isinstance(x, tf.Variable):
        fail("x", "a float tensor (tf.Tensor or tf.Variable)", x)
    if not x.dtype.is_floating:
        fail("x", "a float tensor", np.dtype(x.dtype.as_numpy_dtype), at=".dtype")


def quadratic(x: tf.Tensor) -> tf.Tensor:
    """The document's test function ``f(x) = sum((x - 2)^2)``; minimum 0 at ``x = 2``.

    Raises:
        ValueError: ``x`` is not a float tensor.
    """
    _check_point(x)
    return tf.reduce_sum(tf.square(x - 2.0))


def ill_conditioned_quadratic(x: tf.Tensor, condition_number: float = 100.0) -> tf.Tensor:
    """``f(x) = sum_i h_i (x_i - 2)^2`` with ``h_i = condition_number^(i / (n - 1))``.

    The curvatures span ``[1, condition_number]`` geometrically (``h = 1`` when ``n = 1``), so
    ``condition_number = 1`` is the document's quadratic. Minimum 0 at ``x = 2``.

    Raises:
        ValueError: ``x`` not a float tensor, ``condition_number`` not a finite number >= 1.
    """
    _check_point(x)
    condition_number = check_float("condition_number", condition_number, low=1.0)
    n = int(x.shape[-1])
    exponents = np.arange(n) / max(n - 1, 1)
    curvatures = tf.constant(condition_number**exponents, dtype=x.dtype)
    return tf.reduce_sum(curvatures * tf.square(x - 2.0))


def rosenbrock(x: tf.Tensor, a: float = 1.0, b: float = 100.0) -> tf.Tensor:
    """``f(x) = sum_i b (x_{i+1} - x_i^2)^2 + (a - x_i)^2``; minimum 0 at ``x = (a, a^2, ...)``.

    With the default ``a = 1`` the minimum is at all ones. Needs at least two coordinates.

    Raises:
        ValueError: ``x`` not a float tensor of >= 2 coordinates, or ``a``, ``b`` not finite numbers.
    """
    _check_point(x)
    a, b = check_float("a", a), check_float("b", b)
    if x.shape[-1] is not None and int(x.shape[-1]) < 2:
        fail("x", "a vector of >= 2 coordinates", tuple(x.shape), at=".shape")
    head, tail = x[..., :-1], x[..., 1:]
    return tf.reduce_sum(b * tf.square(tail - tf.square(head)) + tf.square(a - head))


def _check_objective(objective: Any) -> None:
    if not callable(objective):
        fail("objective", "callable", objective)


def _check_minimize_arguments(objective, optimizer, initial, steps, dtype) -> np.ndarray:
    _check_objective(objective)
    check_instance("optimizer", optimizer, keras.optimizers.Optimizer, "a keras Optimizer")
    if optimizer.built:
        fail("optimizer", "fresh (not yet built on other variables)", optimizer)
    check_int("steps", steps, low=1)
    check_choice("dtype", dtype, MINIMIZE_DTYPES)
    start = check_array("initial", initial, ndim=1)
    if start.size == 0:
        fail("initial", "a non-empty 1-D array of finite numbers", initial)
    return start.astype(dtype)


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

    Raises:
        ValueError: an unknown name, or a bad argument of ``make_optimizer`` or ``minimize``.
    """
    _check_objective(objective)
    if isinstance(names, str) or not isinstance(names, Iterable) or not list(names):
        fail("names", f"a non-empty sequence of names from {OPTIMIZER_NAMES}", names)
    names = [check_choice("names", name, OPTIMIZER_NAMES) for name in names]
    learning_rate = _check_learning_rate(learning_rate)
    check_int("steps", steps, low=1)
    start = tuple(check_array("initial", list(initial), ndim=1).tolist())
    return {name: minimize(objective, make_optimizer(name, learning_rate), start, steps) for name in names}


def plot_optimizer_comparison(histories: Mapping[str, OptimizationHistory]) -> Figure:
    """The document's figure: one loss curve per optimizer, log-scale loss axis.

    Args:
        histories: ``{name: OptimizationHistory}`` as returned by ``compare_optimizers``.

    Returns:
        A ``matplotlib.figure.Figure`` with one ``Axes`` and one line per history, labelled with
        the document's legend names.

    Raises:
        ValueError: ``histories`` is not a non-empty mapping of ``OptimizationHistory``.
    """
    check_mapping(
        "histories", histories, OptimizationHistory, "a non-empty mapping of name -> OptimizationHistory"
    )
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
