"""Every loss of the document against its NumPy oracle, plus the identities the formulas imply."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

from reference import losses
from tests.common import strategies
from tests.common.oracles import losses as oracle

# float32 TensorFlow against float64 NumPy: a few ulps of log/exp, summed over <= 10 classes.
RTOL_FLOAT32 = 2e-5
ATOL_FLOAT32 = 2e-6
# Regression losses of values up to 1e4 square to 1e8: float32 rounding of the mean dominates.
RTOL_REGRESSION = 1e-5
EXAMPLES = 40

ORACLES = {
    "binary_crossentropy": oracle.binary_crossentropy,
    "binary_crossentropy_from_logits": oracle.binary_crossentropy_from_logits,
    "sparse_categorical_crossentropy": oracle.sparse_categorical_crossentropy,
    "sparse_categorical_crossentropy_from_logits": oracle.sparse_categorical_crossentropy_from_logits,
    "categorical_crossentropy": oracle.categorical_crossentropy,
    "categorical_crossentropy_from_logits": oracle.categorical_crossentropy_from_logits,
    "mean_squared_error": oracle.mean_squared_error,
    "mean_absolute_error": oracle.mean_absolute_error,
    "huber": oracle.huber,
    "mean_squared_logarithmic_error": oracle.mean_squared_logarithmic_error,
    "focal_loss": oracle.focal_loss,
    "focal_loss_from_logits": lambda y, z: oracle.focal_loss(y, z, from_logits=True),
}


def test_every_registered_loss_has_an_oracle():
    assert set(ORACLES) == set(losses.LOSSES)


def _value(fn, y_true, y_pred, **kwargs) -> np.ndarray:
    return fn(tf.constant(y_true), tf.constant(y_pred), **kwargs).numpy()


@pytest.mark.parametrize("name", sorted(losses.LOSSES))
@settings(max_examples=EXAMPLES, deadline=None)
@given(data=st.data())
def test_loss_equals_its_numpy_oracle(name, data):
    entry = losses.LOSSES[name]
    y_true, y_pred = data.draw(strategies.inputs_for(entry.target, entry.prediction), label="inputs")
    got = _value(entry.fn, y_true, y_pred)
    expected = ORACLES[name](y_true, y_pred)
    rtol = RTOL_REGRESSION if entry.target == "regression" else RTOL_FLOAT32
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=ATOL_FLOAT32)
    assert got.shape == (y_pred.shape[0],), "one value per sample"


@pytest.mark.parametrize("name", sorted(losses.LOSSES))
@settings(max_examples=EXAMPLES, deadline=None)
@given(data=st.data())
def test_every_loss_is_nonnegative(name, data):
    entry = losses.LOSSES[name]
    y_true, y_pred = data.draw(strategies.inputs_for(entry.target, entry.prediction), label="inputs")
    assert np.all(_value(entry.fn, y_true, y_pred) >= 0.0)


@settings(max_examples=EXAMPLES, deadline=None)
@given(data=st.data(), delta=st.floats(0.01, 100.0))
def test_huber_equals_its_oracle_for_any_delta(data, delta):
    y_true, y_pred = data.draw(strategies.regression_inputs(), label="inputs")
    np.testing.assert_allclose(
        _value(losses.huber, y_true, y_pred, delta=delta),
        oracle.huber(y_true, y_pred, delta),
        rtol=RTOL_REGRESSION,
        atol=ATOL_FLOAT32,
    )


@settings(max_examples=EXAMPLES, deadline=None)
@given(
    data=st.data(),
    alpha=st.floats(0.0, 1.0),
    gamma=st.floats(0.0, 5.0),
    from_logits=st.booleans(),
)
def test_focal_loss_equals_its_oracle_for_any_alpha_and_gamma(data, alpha, gamma, from_logits):
    y_true, y_pred = data.draw(
        strategies.binary_inputs("logits" if from_logits else "probabilities"), label="inputs"
    )
    np.testing.assert_allclose(
        _value(losses.focal_loss, y_true, y_pred, alpha=alpha, gamma=gamma, from_logits=from_logits),
        oracle.focal_loss(y_true, y_pred, alpha, gamma, from_logits),
        rtol=RTOL_FLOAT32,
        atol=ATOL_FLOAT32,
    )


# Identities ---------------------------------------------------------------------------------

# Where sigmoid(z) stays inside [1e-7, 1 - 1e-7] and 1 - p keeps float32 precision (|z| <= 8).
UNCLIPPED_LOGITS = st.floats(-8.0, 8.0, width=32)
RTOL_PROBABILITY_PATH = 2e-4


@settings(max_examples=EXAMPLES, deadline=None)
@given(data=st.data())
def test_bce_on_logits_equals_bce_on_their_sigmoid_where_no_clipping_applies(data):
    shape = (data.draw(strategies.batch_sizes), data.draw(strategies.class_counts))
    y_true = data.draw(strategies.arrays(shape, strategies.labels_01))
    z = data.draw(strategies.arrays(shape, UNCLIPPED_LOGITS))
    # Copy to NumPy: a Keras sigmoid output carries its logits and BCE would silently use them.
    probabilities = tf.math.sigmoid(z).numpy()
    np.testing.assert_allclose(
        _value(losses.binary_crossentropy, y_true, probabilities),
        _value(losses.binary_crossentropy_from_logits, y_true, z),
        rtol=RTOL_PROBABILITY_PATH,
        atol=1e-5,
    )


@pytest.mark.parametrize("prediction", ["logits", "probabilities"])
@settings(max_examples=EXAMPLES, deadline=None)
@given(data=st.data())
def test_categorical_ce_on_one_hot_labels_equals_sparse_ce(prediction, data):
    labels, y_pred = data.draw(strategies.sparse_inputs(prediction), label="inputs")
    if prediction == "probabilities":
        # Keras's two probability paths agree on distributions inside the clip range (see below).
        y_pred = np.clip(y_pred, 1e-3, None)
        y_pred = (y_pred / y_pred.sum(axis=1, keepdims=True)).astype(np.float32)
    one_hot = np.eye(y_pred.shape[1], dtype=np.float32)[labels]
    sparse_fn, dense_fn = (
        (
            losses.sparse_categorical_crossentropy_from_logits,
            losses.categorical_crossentropy_from_logits,
        )
        if prediction == "logits"
        else (losses.sparse_categorical_crossentropy, losses.categorical_crossentropy)
    )
    np.testing.assert_allclose(
        _value(sparse_fn, labels, y_pred),
        _value(dense_fn, one_hot, y_pred),
        rtol=RTOL_FLOAT32,
        atol=ATOL_FLOAT32,
    )


def test_sparse_and_categorical_ce_on_probabilities_differ_on_unnormalized_rows():
    """Keras clips then normalizes in the sparse path and normalizes then clips in the dense one.

    On the row [0.001, 0] with label 0: sparse gives -log(0.001 / 0.0010001) = 1.0e-4, categorical
    gives -log(1 - 1.19e-7) = 1.2e-7. Found while writing the oracles; not a claim of the document.
    """
    labels = np.array([0])
    y_pred = np.array([[0.001, 0.0]], np.float32)
    sparse = _value(losses.sparse_categorical_crossentropy, labels, y_pred)[0]
    dense = _value(losses.categorical_crossentropy, np.eye(2, dtype=np.float32)[labels], y_pred)[0]
    assert sparse == pytest.approx(-np.log(0.001 / (0.001 + 1e-7)), rel=1e-3)
    assert dense == pytest.approx(-np.log(np.float32(1 - 1e-7)), rel=1e-3)


@settings(max_examples=EXAMPLES, deadline=None)
@given(error=st.floats(-1e3, 1e3, width=32), delta=st.floats(0.0625, 16.0, width=32))
def test_huber_is_quadratic_inside_delta_and_linear_outside(error, delta):
    y_true = np.zeros((1, 1), np.float32)
    y_pred = np.full((1, 1), error, np.float32)
    value = float(_value(losses.huber, y_true, y_pred, delta=float(delta))[0])
    e, d = abs(float(error)), float(delta)
    expected = 0.5 * e**2 if e <= d else d * e - 0.5 * d**2
    assert value == pytest.approx(expected, rel=RTOL_REGRESSION, abs=ATOL_FLOAT32)


@pytest.mark.parametrize("from_logits", [False, True], ids=["probabilities", "logits"])
@settings(max_examples=EXAMPLES, deadline=None)
@given(data=st.data())
def test_focal_loss_with_gamma_0_and_alpha_half_is_half_the_bce(from_logits, data):
    y_true, y_pred = data.draw(strategies.binary_inputs("logits" if from_logits else "probabilities"))
    bce = losses.binary_crossentropy_from_logits if from_logits else losses.binary_crossentropy
    np.testing.assert_allclose(
        _value(losses.focal_loss, y_true, y_pred, alpha=0.5, gamma=0.0, from_logits=from_logits),
        0.5 * _value(bce, y_true, y_pred),
        rtol=RTOL_FLOAT32,
        atol=ATOL_FLOAT32,
    )


@pytest.mark.parametrize("from_logits", [False, True], ids=["probabilities", "logits"])
@settings(max_examples=EXAMPLES, deadline=None)
@given(data=st.data(), alpha=st.floats(0.0, 1.0), gamma=st.floats(0.0, 5.0))
def test_focal_loss_never_exceeds_the_alpha_weighted_bce(from_logits, data, alpha, gamma):
    y_true, y_pred = data.draw(strategies.binary_inputs("logits" if from_logits else "probabilities"))
    alpha_t = y_true * alpha + (1.0 - y_true) * (1.0 - alpha)
    if from_logits:
        ce = oracle.bce_logits_elementwise(y_true, y_pred)
    else:
        ce = oracle.bce_elementwise(y_true, y_pred)
    bound = (alpha_t * ce).mean(axis=-1)
    got = _value(losses.focal_loss, y_true, y_pred, alpha=alpha, gamma=gamma, from_logits=from_logits)
    assert np.all(got <= bound * (1 + RTOL_FLOAT32) + ATOL_FLOAT32)


LOGIT_LOSSES = [name for name, entry in losses.LOSSES.items() if entry.prediction == "logits"]


@pytest.mark.parametrize("name", LOGIT_LOSSES)
@pytest.mark.parametrize("magnitude", [-100.0, 100.0])
def test_gradients_stay_finite_at_logits_of_plus_minus_100(name, magnitude):
    entry = losses.LOSSES[name]
    z = tf.Variable(np.full((3, 4), magnitude, np.float32) * np.array([1, -1, 1, -1], np.float32))
    if entry.target == "sparse":
        y_true = tf.constant([0, 1, 3])
    else:
        y_true = tf.constant(np.array([[1, 0, 0, 1], [0, 1, 1, 0], [1, 1, 0, 0]], np.float32))
        if entry.target == "categorical":
            y_true = y_true / tf.reduce_sum(y_true, axis=1, keepdims=True)
    with tf.GradientTape() as tape:
        value = tf.reduce_sum(entry.fn(y_true, z))
    gradient = tape.gradient(value, z).numpy()
    assert np.isfinite(value.numpy())
    assert np.all(np.isfinite(gradient))


@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0])
def test_focal_loss_gradient_is_finite_for_fractional_gamma_at_extreme_logits(gamma):
    z = tf.Variable([[100.0, -100.0, 60.0, -60.0]])
    y_true = tf.constant([[1.0, 0.0, 0.0, 1.0]])
    with tf.GradientTape() as tape:
        value = tf.reduce_sum(losses.focal_loss(y_true, z, gamma=gamma, from_logits=True))
    assert np.all(np.isfinite(tape.gradient(value, z).numpy()))


# The Keras Loss class ------------------------------------------------------------------------


def test_focal_loss_class_round_trips_through_its_config():
    loss = losses.FocalLoss(alpha=0.4, gamma=1.5, from_logits=True)
    restored = keras.losses.deserialize(keras.losses.serialize(loss))
    assert isinstance(restored, losses.FocalLoss)
    assert (restored.alpha, restored.gamma, restored.from_logits) == (0.4, 1.5, True)


def test_focal_loss_class_survives_a_saved_keras_model(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss=losses.FocalLoss(alpha=0.3, gamma=1.0, from_logits=True))
    path = tmp_path / "model.keras"
    model.save(path)
    restored = keras.models.load_model(path)
    assert isinstance(restored.loss, losses.FocalLoss)
    assert (restored.loss.alpha, restored.loss.gamma) == (0.3, 1.0)


def test_focal_loss_class_reduces_to_the_mean_of_the_per_sample_values():
    y_true = np.array([[0.0], [1.0], [1.0]], np.float32)
    y_pred = np.array([[0.3], [0.6], [0.95]], np.float32)
    expected = oracle.focal_loss(y_true, y_pred).mean()
    assert float(losses.FocalLoss()(y_true, y_pred)) == pytest.approx(expected, rel=RTOL_FLOAT32)


def test_focal_loss_trains_a_model_inside_fit():
    x = np.random.default_rng(0).normal(size=(64, 4)).astype(np.float32)
    y = (x[:, :1] > 0).astype(np.float32)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss=losses.FocalLoss(from_logits=True))
    history = model.fit(x, y, epochs=5, batch_size=64, verbose=0).history["loss"]
    assert history[-1] < history[0]
