"""The document's ``WarmupCosineDecay`` on TensorFlow 2.21: each defect fails on it, passes on ours.

D2: an optimizer's int64 ``iterations`` breaks ``initial_learning_rate * step``.
D3: no clamp, the cosine climbs back after ``total_steps`` (step 1500 of 1000 equals step 500).
D4: no ``get_config``, so a model whose optimizer uses it cannot be saved.
D17 (found here): during warmup a Python int step gives back a Python float (``tf.cond`` passes
it through), so the document's own plotting loop ``schedule(step).numpy()`` fails at step 0.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

from reference.document import WARMUP_ARGUMENTS, DocumentWarmupCosineDecay
from reference.schedules import WarmupCosineDecay
from tests.common.oracles import schedules as oracle

AGREEMENT_RTOL_FLOAT32 = 1e-5
INT64_STEP_ERRORS = (TypeError, tf.errors.InvalidArgumentError)


def _one_update(optimizer: keras.optimizers.Optimizer) -> tf.Variable:
    x = tf.Variable([0.0, 0.0])
    optimizer.apply_gradients([(tf.constant([1.0, -1.0]), x)])
    return x


def test_d2_an_optimizers_int64_iterations_break_the_documents_schedule_but_not_ours():
    document = DocumentWarmupCosineDecay(**WARMUP_ARGUMENTS)
    assert document(50) == pytest.approx(0.0005)  # a Python int hides the bug
    assert keras.optimizers.SGD(document).iterations.dtype == "int64"
    with pytest.raises(INT64_STEP_ERRORS):
        keras.optimizers.SGD(document).learning_rate
    with pytest.raises(INT64_STEP_ERRORS):
        _one_update(keras.optimizers.SGD(document))

    optimizer = keras.optimizers.SGD(WarmupCosineDecay(**WARMUP_ARGUMENTS))
    x = _one_update(optimizer)  # iterations 0: the warmup starts at rate 0
    np.testing.assert_array_equal(x.numpy(), [0.0, 0.0])
    expected = oracle.warmup_cosine(1, *WARMUP_ARGUMENTS.values())
    assert float(optimizer.learning_rate) == pytest.approx(expected, rel=AGREEMENT_RTOL_FLOAT32)


def test_d2_model_fit_fails_with_the_documents_schedule_and_runs_with_ours():
    x, y = np.ones((8, 2), np.float32), np.zeros((8, 1), np.float32)
    for schedule, fails in (
        (DocumentWarmupCosineDecay(3, 10, 0.1), True),
        (WarmupCosineDecay(3, 10, 0.1), False),
    ):
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        model.compile(optimizer=keras.optimizers.SGD(schedule), loss="mse")
        if fails:
            with pytest.raises(INT64_STEP_ERRORS):
                model.fit(x, y, batch_size=4, verbose=0)
        else:
            model.fit(x, y, batch_size=4, verbose=0)
            assert int(model.optimizer.iterations) == 2


def test_d3_after_total_steps_the_documents_cosine_climbs_back_and_ours_stays_at_the_minimum():
    document, ours = DocumentWarmupCosineDecay(**WARMUP_ARGUMENTS), WarmupCosineDecay(**WARMUP_ARGUMENTS)
    assert float(document(1500)) == pytest.approx(float(document(500)), rel=AGREEMENT_RTOL_FLOAT32)
    assert float(document(1500)) > 5 * WARMUP_ARGUMENTS["min_learning_rate"]
    assert float(ours(1500)) == pytest.approx(
        WARMUP_ARGUMENTS["min_learning_rate"], rel=AGREEMENT_RTOL_FLOAT32
    )
    assert float(ours(500)) == pytest.approx(float(document(500)), rel=AGREEMENT_RTOL_FLOAT32)


@st.composite
def schedule_arguments(draw) -> dict:
    warmup = draw(st.integers(1, 200), label="warmup_steps")
    initial = draw(st.floats(1e-4, 1.0), label="initial_learning_rate")
    return {
        "warmup_steps": warmup,
        "total_steps": warmup + draw(st.integers(2, 500), label="decay_length"),
        "initial_learning_rate": initial,
        "min_learning_rate": initial * draw(st.floats(0.0, 0.5), label="min_fraction"),
    }


@settings(max_examples=15)
@given(arguments=schedule_arguments(), data=st.data())
def test_d3_the_documents_schedule_mirrors_itself_around_total_steps_while_ours_is_clamped(arguments, data):
    """cos(pi (1 + u)) = cos(pi (1 - u)): the document's rate at total + k is its rate at total - k."""
    total, decay_length = arguments["total_steps"], arguments["total_steps"] - arguments["warmup_steps"]
    k = data.draw(st.integers(1, decay_length - 1), label="k")
    document, ours = DocumentWarmupCosineDecay(**arguments), WarmupCosineDecay(**arguments)
    initial, minimum = arguments["initial_learning_rate"], arguments["min_learning_rate"]
    after, before = (float(document(tf.constant(float(s)))) for s in (total + k, total - k))
    assert after == pytest.approx(before, rel=AGREEMENT_RTOL_FLOAT32, abs=1e-6 * initial)
    assert float(ours(total + k)) == pytest.approx(minimum, rel=AGREEMENT_RTOL_FLOAT32, abs=1e-6 * initial)


@settings(max_examples=15)
@given(arguments=schedule_arguments(), data=st.data())
def test_up_to_total_steps_ours_equals_the_documents_formula(arguments, data):
    steps = data.draw(
        st.lists(st.integers(0, arguments["total_steps"]), min_size=1, max_size=20), label="steps"
    )
    document, ours = DocumentWarmupCosineDecay(**arguments), WarmupCosineDecay(**arguments)
    for step in steps:
        expected = float(document(tf.constant(float(step))))
        actual = float(ours(tf.constant(step, tf.int64)))
        assert actual == pytest.approx(
            expected, rel=AGREEMENT_RTOL_FLOAT32, abs=1e-6 * arguments["initial_learning_rate"]
        )


def _model_with(schedule) -> keras.Model:
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss="mse")
    model.optimizer.build(model.trainable_variables)
    return model


def test_d4_a_model_using_the_documents_schedule_cannot_be_saved_and_one_using_ours_can(tmp_path):
    with pytest.raises(NotImplementedError, match="get_config"):
        DocumentWarmupCosineDecay(**WARMUP_ARGUMENTS).get_config()
    with pytest.raises(NotImplementedError, match="get_config"):
        _model_with(DocumentWarmupCosineDecay(**WARMUP_ARGUMENTS)).save(tmp_path / "document.keras")

    _model_with(WarmupCosineDecay(**WARMUP_ARGUMENTS)).save(tmp_path / "ours.keras")
    loaded = keras.saving.load_model(tmp_path / "ours.keras")
    assert loaded.optimizer.get_config()["learning_rate"]["config"] == WARMUP_ARGUMENTS


def test_the_documents_plot_loop_fails_at_step_0_because_warmup_returns_a_python_float():
    document, ours = DocumentWarmupCosineDecay(**WARMUP_ARGUMENTS), WarmupCosineDecay(**WARMUP_ARGUMENTS)
    assert type(document(0)) is float
    with pytest.raises(AttributeError, match="numpy"):
        [document(step).numpy() for step in range(1000)]

    values = np.array([ours(step).numpy() for step in range(0, 1000, 50)])
    expected = oracle.warmup_cosine(np.arange(0, 1000, 50), *WARMUP_ARGUMENTS.values())
    np.testing.assert_allclose(values, expected, rtol=AGREEMENT_RTOL_FLOAT32, atol=1e-9)
