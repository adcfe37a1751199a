"""The document's optimizers against NumPy oracles of the Keras 3 update rules.

Trajectories (25 steps) are compared with ``assert_allclose(rtol=TOL, atol=TOL)``, i.e.
``|tf - oracle| <= TOL * (1 + |oracle|)``, against a float64 oracle. Measured worst
``|tf - oracle| / (1 + |oracle|)`` over 200 Hypothesis examples per variant:

    variant            float32 (kept / 200)     float64
    sgd-plain          1.1e-6  (200)            3.5e-16
    sgd-momentum       8.0e-7  (200)            2.7e-16
    sgd-nesterov       5.4e-7  (200)            3.9e-16
    adam               1.1e-5  (200)            3.0e-15
    adam-amsgrad       7.1e-6  (200)            4.3e-15
    rmsprop-plain      5.3e-6  (155)            1.4e-12
    rmsprop-momentum   9.3e-6  (154)            7.1e-12
    rmsprop-centered   4.1e-6  (182)            3.6e-13
    adagrad            1.1e-6  (200)            5.2e-16

The float32 test keeps the examples that are not chaotic at float32 precision (see
``float32_sensitivity``); without that filter RMSprop reaches 1.7e-2 (plain), 2.3e-3 (momentum)
and 5.4e-2 (centered): its step ``lr g / sqrt(v + eps)`` amplifies float32 rounding once ``v``
decays near the minimum. The float64 run follows the oracle on every example.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import keras
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import Phase, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from reference import optimizers as ref
from tests.common.oracles import optimizers as oracle

# Measured worst |tf - oracle| / (1 + |oracle|): see the module docstring.
TRAJECTORY_TOL_FLOAT32 = 5e-5
TRAJECTORY_TOL_FLOAT64 = 1e-9
# An example whose float64 oracle moves by more than this when its iterates, state and gradients
# are rounded to float32 is chaotic at float32 precision: no float32 run can track it.
FLOAT32_SENSITIVITY_LIMIT = 1e-6
CLOSED_FORM_TOL_FLOAT32 = 1e-6  # measured 1.2e-7
ADAM_FIRST_STEP_RTOL = 2e-5  # measured 7.7e-6, mostly 1 - float32(0.999) in the bias correction
TRAJECTORY_STEPS = 25
TRAJECTORY_EXAMPLES = 6
# Every example traces a tf.function: shrinking a failure would take minutes, so report it as found.
NO_SHRINK = (Phase.explicit, Phase.reuse, Phase.generate)

ORACLES = {"sgd": oracle.sgd, "adam": oracle.adam, "rmsprop": oracle.rmsprop, "adagrad": oracle.adagrad}
FAMILY = {"sgd": "sgd", "sgd_momentum": "sgd", "adam": "adam", "rmsprop": "rmsprop", "adagrad": "adagrad"}


# Hyperparameters are float32 numbers: Keras casts some of them to float32 (the learning rate
# variable, beta^t, SGD's momentum) and uses others as Python floats; float32-exact values
# make both readings the same number.
def f32(value: float) -> float:
    return float(np.float32(value))


def floats32(low: float, high: float) -> st.SearchStrategy[float]:
    return st.floats(f32(low), f32(high), width=32)


learning_rates = floats32(1e-3, 0.5)
epsilons = st.sampled_from([1e-7, 1e-5, 1e-3]).map(f32)
momenta = floats32(0.0, 0.95)
# beta_2 <= 0.999: Keras computes 1 - beta_2^t in float32, which loses ~1e-4 of its value
# to cancellation at beta_2 = 0.9999.
adam_betas = {"beta_1": floats32(0.5, 0.99), "beta_2": floats32(0.9, 0.999)}


@dataclass(frozen=True)
class Variant:
    """One update rule under test: a registry name, fixed flags and drawn hyperparameters."""

    name: str
    fixed: dict = field(default_factory=dict)
    drawn: dict = field(default_factory=dict)
    scale_free: bool = False  # adaptive steps ~ learning rate, whatever the gradient's scale


VARIANTS = [
    Variant("sgd", {"momentum": 0.0}),
    Variant("sgd_momentum", {"nesterov": False}, {"momentum": momenta}),
    Variant("sgd_momentum", {"nesterov": True}, {"momentum": momenta}),
    Variant("adam", {"amsgrad": False}, {**adam_betas, "epsilon": epsilons}, scale_free=True),
    Variant("adam", {"amsgrad": True}, {**adam_betas, "epsilon": epsilons}, scale_free=True),
    Variant("rmsprop", {}, {"rho": floats32(0.5, 0.99), "epsilon": epsilons}, scale_free=True),
    Variant(
        "rmsprop",
        {},
        {"rho": floats32(0.5, 0.99), "momentum": momenta, "epsilon": epsilons},
        scale_free=True,
    ),
    # Centered: v - g_bar^2 cancels in float32 once the gradient barely changes; rho >= 0.8
    # keeps the variance estimate above float32 resolution over the compared steps.
    Variant(
        "rmsprop",
        {"centered": True},
        {"rho": floats32(0.8, 0.99), "momentum": momenta, "epsilon": epsilons},
        scale_free=True,
    ),
    Variant(
        "adagrad",
        {},
        {"initial_accumulator_value": floats32(0.01, 1.0), "epsilon": epsilons},
        scale_free=True,
    ),
]
VARIANT_IDS = [
    "sgd-plain",
    "sgd-momentum",
    "sgd-nesterov",
    "adam",
    "adam-amsgrad",
    "rmsprop-plain",
    "rmsprop-momentum",
    "rmsprop-centered",
    "adagrad-initial-accumulator",
]


@dataclass(frozen=True)
class Problem:
    """A test problem in TensorFlow and in NumPy, its largest curvature and a start."""

    tf_objective: Callable[[tf.Tensor], tf.Tensor]
    np_problem: oracle.Problem
    max_curvature: float
    initial: np.ndarray


@st.composite
def problems(draw, scale_free: bool) -> Problem:
    kinds = ["quadratic", "ill_conditioned", "rosenbrock"] if scale_free else ["quadratic", "ill_conditioned"]
    kind = draw(st.sampled_from(kinds), label="problem")
    dim = draw(st.integers(2 if kind == "rosenbrock" else 1, 6), label="dim")
    bound = 1.5 if kind == "rosenbrock" else 5.0
    elements = st.floats(-bound, bound, width=32)
    initial = draw(hnp.arrays(np.float32, dim, elements=elements), label="initial")
    if kind == "quadratic":
        return Problem(ref.quadratic, oracle.quadratic, 1.0, initial)
    if kind == "rosenbrock":
        return Problem(ref.rosenbrock, oracle.rosenbrock, math.inf, initial)
    condition = draw(floats32(1.0, 10.0), label="condition_number")
    tf_objective = functools.partial(ref.ill_conditioned_quadratic, condition_number=condition)
    return Problem(tf_objective, oracle.ill_conditioned_quadratic(condition), condition, initial)


def draw_case(data, variant: Variant):
    """(problem, learning rate, Keras kwargs) for one example of ``variant``."""
    problem = data.draw(problems(variant.scale_free))
    learning_rate = data.draw(learning_rates, label="learning_rate")
    if not variant.scale_free:
        # Gradient descent on h (x - 2)^2 is stable for learning_rate < 1 / h.
        learning_rate = f32(0.9 * learning_rate / problem.max_curvature)
    elif problem.max_curvature == math.inf:
        learning_rate = f32(learning_rate / 10.0)
    kwargs = dict(variant.fixed)
    kwargs.update({key: data.draw(s, label=key) for key, s in variant.drawn.items()})
    return problem, learning_rate, kwargs


def deviation(actual: np.ndarray, expected: np.ndarray) -> float:
    """``max |actual - expected| / (1 + |expected|)``: the smallest ``rtol = atol`` that passes."""
    return float(np.max(np.abs(actual - expected) / (1.0 + np.abs(expected))))


def run_tf(variant: Variant, problem: Problem, learning_rate: float, kwargs: dict, dtype: str):
    optimizer = ref.make_optimizer(variant.name, learning_rate, **kwargs)
    return ref.minimize(problem.tf_objective, optimizer, problem.initial, TRAJECTORY_STEPS, dtype=dtype)


def run_oracle(variant, problem, learning_rate, kwargs, storage=np.float64):
    rule = ORACLES[FAMILY[variant.name]](learning_rate, **kwargs)
    return oracle.run(rule, problem.np_problem, problem.initial, TRAJECTORY_STEPS, storage=storage)


def float32_sensitivity(variant, problem, learning_rate, kwargs) -> float:
    """How far float32 rounding alone moves the oracle's trajectory (no TensorFlow involved)."""
    _, exact = run_oracle(variant, problem, learning_rate, kwargs)
    _, rounded = run_oracle(variant, problem, learning_rate, kwargs, storage=np.float32)
    return deviation(rounded, exact)


@pytest.mark.parametrize("variant", VARIANTS, ids=VARIANT_IDS)
@settings(max_examples=TRAJECTORY_EXAMPLES, deadline=None, phases=NO_SHRINK)
@given(data=st.data())
def test_float32_trajectory_equals_the_numpy_oracle_of_the_keras_update_rule(variant, data):
    problem, learning_rate, kwargs = draw_case(data, variant)
    sensitivity = float32_sensitivity(variant, problem, learning_rate, kwargs)
    assume(sensitivity <= FLOAT32_SENSITIVITY_LIMIT)  # chaotic at float32 precision
    history = run_tf(variant, problem, learning_rate, kwargs, "float32")
    np_losses, np_params = run_oracle(variant, problem, learning_rate, kwargs)
    tol = TRAJECTORY_TOL_FLOAT32
    np.testing.assert_allclose(history.params, np_params, rtol=tol, atol=tol)
    np.testing.assert_allclose(history.losses, np_losses, rtol=tol, atol=tol)


@pytest.mark.parametrize("variant", VARIANTS, ids=VARIANT_IDS)
@settings(max_examples=TRAJECTORY_EXAMPLES, deadline=None, phases=NO_SHRINK)
@given(data=st.data())
def test_float64_trajectory_equals_the_numpy_oracle_even_where_float32_is_chaotic(variant, data):
    problem, learning_rate, kwargs = draw_case(data, variant)
    history = run_tf(variant, problem, learning_rate, kwargs, "float64")
    np_losses, np_params = run_oracle(variant, problem, learning_rate, kwargs)
    tol = TRAJECTORY_TOL_FLOAT64
    np.testing.assert_allclose(history.params, np_params, rtol=tol, atol=tol)
    np.testing.assert_allclose(history.losses, np_losses, rtol=tol, atol=tol)


# The document's comparison (50 steps, learning rate 0.1, from [0, 0]); last recorded loss
# f(x_49), TensorFlow float32 / NumPy float64 oracle:
#   SGD 2.541e-09 / 2.546e-09, SGD+Momentum 0.02831 / 0.02831, Adam 0.01714 / 0.01713,
#   RMSprop 0 (x hits 2 exactly at step 49) / 6.1e-16, AdaGrad 1.687 / 1.687.
DOCUMENT_RULES = {
    "sgd": oracle.sgd(0.1),
    "sgd_momentum": oracle.sgd(0.1, momentum=0.9),
    "adam": oracle.adam(0.1),
    "rmsprop": oracle.rmsprop(0.1),
    "adagrad": oracle.adagrad(0.1),
}


def test_compare_optimizers_reproduces_the_documents_five_runs_against_the_oracles():
    """Measured worst deviation: Adam 1.3e-5 (float32 bias correction), the others <= 5.2e-7."""
    histories = ref.compare_optimizers()
    assert list(histories) == list(ref.OPTIMIZER_NAMES)
    for name, history in histories.items():
        np_losses, np_params = oracle.run(DOCUMENT_RULES[name], oracle.quadratic, np.zeros(2), 50)
        assert history.losses.shape == (50,) and history.params.shape == (51, 2)
        tol = TRAJECTORY_TOL_FLOAT32
        np.testing.assert_allclose(history.params, np_params, rtol=tol, atol=tol, err_msg=name)
        np.testing.assert_allclose(history.losses, np_losses, rtol=tol, atol=tol, err_msg=name)


# name -> (steps, loss bound) on the document's quadratic from [0, 0] with its settings.
# Measured: the loss stays below the bound from step SGD 36, SGD+Momentum 104, Adam 101,
# RMSprop 37 and AdaGrad 590 on.
CONVERGENCE = {
    "sgd": (40, 1e-6),
    "sgd_momentum": (120, 1e-4),
    "adam": (120, 1e-4),
    "rmsprop": (40, 1e-6),
    "adagrad": (650, 1e-4),
}


@pytest.mark.parametrize(
    ("name", "steps", "bound"), [(n, *c) for n, c in CONVERGENCE.items()], ids=list(CONVERGENCE)
)
def test_each_document_optimizer_brings_the_quadratic_below_its_stated_loss_within_its_steps(
    name, steps, bound
):
    history = ref.minimize(ref.quadratic, ref.make_optimizer(name), ref.DOCUMENT_INITIAL, steps)
    assert history.losses[-1] <= bound


@settings(max_examples=10, deadline=None)
@given(learning_rate=floats32(1e-3, 0.9), dim=st.integers(1, 4))
def test_plain_sgd_follows_the_closed_form_two_minus_two_times_one_minus_two_lr_to_the_t(learning_rate, dim):
    history = ref.minimize(ref.quadratic, ref.make_optimizer("sgd", learning_rate), np.zeros(dim), 50)
    t = np.arange(51)[:, None]
    expected = np.broadcast_to(2.0 - 2.0 * (1.0 - 2.0 * learning_rate) ** t, (51, dim))
    tol = CLOSED_FORM_TOL_FLOAT32
    np.testing.assert_allclose(history.params, expected, rtol=tol, atol=tol)


def test_momentum_at_0_9_overshoots_the_minimum_so_its_loss_is_not_monotone():
    """Measured: x passes 2 at step 4 and the loss rises at 22 of the 49 transitions."""
    momentum = ref.minimize(ref.quadratic, ref.make_optimizer("sgd_momentum"), ref.DOCUMENT_INITIAL, 50)
    plain = ref.minimize(ref.quadratic, ref.make_optimizer("sgd"), ref.DOCUMENT_INITIAL, 50)
    assert np.max(momentum.params) > 2.0
    assert np.any(np.diff(momentum.losses) > 0)
    assert np.all(np.diff(plain.losses) <= 0) and np.max(plain.params) < 2.0


@settings(max_examples=6, deadline=None)
@given(
    learning_rate=learning_rates,
    condition_number=st.sampled_from([1.0, 1e2, 1e4, 1e6]),
    dim=st.integers(2, 6),
)
def test_adams_first_step_moves_every_coordinate_by_the_learning_rate_whatever_the_gradient_scale(
    learning_rate, condition_number, dim
):
    """From 0 the gradients are -4 h_i, h_i from 1 to condition_number; the first step is
    lr |g| sqrt(1 - b2) / (|g| sqrt(1 - b2) + eps) = lr (1 - <8e-7). Measured in float32:
    within 7.7e-6 of lr, as Keras computes 1 - b2 from float32(0.999) (-6.4e-6 after the root)."""
    objective = functools.partial(ref.ill_conditioned_quadratic, condition_number=condition_number)
    history = ref.minimize(objective, ref.make_optimizer("adam", learning_rate), np.zeros(dim), 1)
    step = history.params[1] - history.params[0]
    np.testing.assert_allclose(step, np.full(dim, learning_rate), rtol=ADAM_FIRST_STEP_RTOL)


PROBLEMS = {
    "quadratic": (ref.quadratic, oracle.quadratic, 1),
    "ill_conditioned": (
        functools.partial(ref.ill_conditioned_quadratic, condition_number=1e3),
        oracle.ill_conditioned_quadratic(1e3),
        1,
    ),
    "rosenbrock": (ref.rosenbrock, oracle.rosenbrock, 2),
}


@pytest.mark.parametrize("problem", PROBLEMS.values(), ids=list(PROBLEMS))
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_test_problem_loss_and_gradient_equal_their_hand_derived_numpy_forms(problem, data):
    tf_objective, np_problem, min_dim = problem
    x = data.draw(hnp.arrays(np.float64, st.integers(min_dim, 6), elements=st.floats(-3, 3)))
    variable = tf.Variable(x)
    with tf.GradientTape() as tape:
        loss = tf_objective(variable)
    np_loss, np_grad = np_problem(x)
    np.testing.assert_allclose(float(loss), np_loss, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(tape.gradient(loss, variable).numpy(), np_grad, rtol=1e-12, atol=1e-12)


def test_the_ill_conditioned_quadratic_with_condition_one_is_the_documents_quadratic():
    x = tf.constant([0.5, -1.0, 3.0])
    assert float(ref.ill_conditioned_quadratic(x, condition_number=1.0)) == float(ref.quadratic(x))


def test_minimize_records_the_loss_at_each_recorded_point_and_starts_at_the_initial_point():
    history = ref.minimize(ref.rosenbrock, ref.make_optimizer("adam", 0.01), [-1.0, 1.5, 0.5], 20)
    assert history.losses.shape == (20,) and history.params.shape == (21, 3)
    np.testing.assert_array_equal(history.params[0], np.float32([-1.0, 1.5, 0.5]))
    recomputed = [oracle.rosenbrock(p.astype(np.float64))[0] for p in history.params[:-1]]
    np.testing.assert_allclose(history.losses, recomputed, rtol=1e-5)


@pytest.mark.parametrize("name", ref.OPTIMIZER_NAMES)
def test_make_optimizer_builds_the_documents_settings(name):
    optimizer = ref.make_optimizer(name)
    expected_class = {"sgd": "SGD", "sgd_momentum": "SGD", "adam": "Adam", "rmsprop": "RMSprop"}
    assert type(optimizer).__name__ == expected_class.get(name, "Adagrad")
    config = optimizer.get_config()
    assert config["learning_rate"] == pytest.approx(0.1)
    expected = {
        "sgd": {"momentum": 0.0, "nesterov": False},
        "sgd_momentum": {"momentum": 0.9, "nesterov": False},
        "adam": {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7, "amsgrad": False},
        "rmsprop": {"rho": 0.9, "momentum": 0.0, "epsilon": 1e-7, "centered": False},
        "adagrad": {"initial_accumulator_value": 0.1, "epsilon": 1e-7},
    }[name]
    assert {key: config[key] for key in expected} == expected


def test_make_optimizer_accepts_a_learning_rate_schedule():
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)
    optimizer = ref.make_optimizer("adam", schedule)
    assert float(keras.ops.convert_to_numpy(optimizer.learning_rate)) == pytest.approx(0.1)


def test_an_unknown_optimizer_name_is_a_value_error_listing_the_valid_names():
    with pytest.raises(ValueError, match="nadam") as error:
        ref.make_optimizer("nadam")
    assert all(name in str(error.value) for name in ref.OPTIMIZER_NAMES)


def _built_optimizer():
    optimizer = ref.make_optimizer("sgd")
    optimizer.build([tf.Variable([0.0])])
    return optimizer


def test_minimize_refuses_an_optimizer_already_built_on_other_variables():
    with pytest.raises(ValueError, match="`optimizer` must be fresh"):
        ref.minimize(ref.quadratic, _built_optimizer(), [0.0], 3)


def test_the_comparison_figure_has_one_log_scale_axes_with_one_curve_per_history():
    histories = ref.compare_optimizers(steps=5)
    figure = ref.plot_optimizer_comparison(histories)
    (axes,) = figure.axes
    assert axes.get_yscale() == "log"
    lines = axes.get_lines()
    assert [line.get_label() for line in lines] == ["SGD", "SGD+Momentum", "Adam", "RMSprop", "AdaGrad"]
    for line, history in zip(lines, histories.values(), strict=True):
        np.testing.assert_array_equal(line.get_ydata(), history.losses)
