"""The document's claims about loss functions, and its focal-loss defect (D1)."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

from reference import losses
from reference.document import FOCAL_Y_PRED, FOCAL_Y_TRUE, document_focal_loss
from tests.common.oracles import losses as oracle

RTOL_FLOAT32 = 2e-5


def test_document_focal_loss_gives_0_00294_where_the_definition_gives_0_00360():
    """D1: on the document's data its focal loss is 0.00294; Lin et al.'s definition gives 0.00360."""
    document = float(document_focal_loss(alpha=0.25, gamma=2.0)(FOCAL_Y_TRUE, FOCAL_Y_PRED))
    definition = float(oracle.focal_loss(FOCAL_Y_TRUE, FOCAL_Y_PRED))
    assert document == pytest.approx(0.00294, abs=5e-6)
    assert definition == pytest.approx(0.00360, abs=5e-6)
    assert float(losses.focal_loss(FOCAL_Y_TRUE, FOCAL_Y_PRED)) == pytest.approx(definition, rel=RTOL_FLOAT32)


def test_document_focal_loss_is_the_mean_modulator_times_the_mean_bce():
    """D1's mechanism: BCE is averaged over the last axis BEFORE the element-wise modulation."""
    alpha_t = FOCAL_Y_TRUE * 0.25 + (1 - FOCAL_Y_TRUE) * 0.75
    p_t = FOCAL_Y_TRUE * FOCAL_Y_PRED + (1 - FOCAL_Y_TRUE) * (1 - FOCAL_Y_PRED)
    modulator = alpha_t * (1 - p_t) ** 2
    expected = modulator.mean() * oracle.binary_crossentropy(FOCAL_Y_TRUE, FOCAL_Y_PRED)
    document = float(document_focal_loss()(FOCAL_Y_TRUE, FOCAL_Y_PRED))
    assert document == pytest.approx(expected, rel=RTOL_FLOAT32)


def _intermediate_shapes(loss_fn, shape) -> set[tuple]:
    spec = tf.TensorSpec(shape, tf.float32)
    graph = tf.function(loss_fn).get_concrete_function(spec, spec).graph
    return {tuple(out.shape.as_list()) for op in graph.get_operations() for out in op.outputs}


def test_document_focal_loss_builds_an_n_by_n_matrix_from_column_inputs():
    """D1: with (N, 1) inputs the per-row BCE (N,) times the (N, 1) modulator broadcasts to (N, N).

    The mean of that outer product equals mean(modulator) x mean(BCE), so the printed value hides
    it; the memory does not (N = 100k rows would need 40 GB). Ours stays (N,).
    """
    n = 7
    assert (n, n) in _intermediate_shapes(document_focal_loss(), (n, 1))
    assert (n, n) not in _intermediate_shapes(losses.focal_loss, (n, 1))
    column = float(document_focal_loss()(FOCAL_Y_TRUE[:, None], FOCAL_Y_PRED[:, None]))
    assert column == pytest.approx(float(document_focal_loss()(FOCAL_Y_TRUE, FOCAL_Y_PRED)), rel=RTOL_FLOAT32)


@settings(max_examples=30, deadline=None)
@given(
    alpha=st.floats(0.0, 1.0),
    gamma=st.floats(0.0, 5.0),
    from_logits=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_our_focal_loss_matches_keras_binary_focal_crossentropy_with_class_balancing(
    alpha, gamma, from_logits, seed
):
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, 2, size=(6, 3)).astype(np.float32)
    y_pred = (rng.normal(0, 4, size=(6, 3)) if from_logits else rng.uniform(0, 1, size=(6, 3))).astype(
        np.float32
    )
    keras_value = keras.losses.binary_focal_crossentropy(
        y_true,
        y_pred,
        apply_class_balancing=True,
        alpha=alpha,
        gamma=gamma,
        from_logits=from_logits,
    )
    ours = losses.focal_loss(y_true, y_pred, alpha=alpha, gamma=gamma, from_logits=from_logits)
    np.testing.assert_allclose(ours.numpy(), keras_value.numpy(), rtol=1e-5, atol=1e-6)


def test_document_focal_loss_differs_from_keras_binary_focal_crossentropy():
    keras_value = float(
        keras.losses.BinaryFocalCrossentropy(apply_class_balancing=True, alpha=0.25, gamma=2.0)(
            FOCAL_Y_TRUE, FOCAL_Y_PRED
        )
    )
    document = float(document_focal_loss()(FOCAL_Y_TRUE, FOCAL_Y_PRED))
    assert abs(document - keras_value) / keras_value > 0.15


# "带logits的二元交叉熵(数值更稳定)": BCE on logits is numerically more stable.
# Keras clips float32 probabilities to [float32(1e-7), float32(1 - 1e-7)]: -log of either bound.
SATURATED_BCE = {
    -50.0: -np.log(np.float64(np.float32(1e-7))),
    50.0: -np.log1p(-np.float64(np.float32(1 - 1e-7))),
}


@pytest.mark.parametrize("logit", [-50.0, 50.0])
def test_bce_on_probabilities_saturates_near_16_where_bce_on_logits_is_exact(logit):
    """At a confidently wrong logit of +-50 the true loss is 50; the probability path says 16.1 or 15.9."""
    y_true = np.array([[1.0 if logit < 0 else 0.0]], np.float32)
    z = np.array([[logit]], np.float32)
    probability = tf.math.sigmoid(z).numpy()
    saturated = float(losses.binary_crossentropy(y_true, probability)[0])
    exact = float(losses.binary_crossentropy_from_logits(y_true, z)[0])
    assert saturated == pytest.approx(SATURATED_BCE[logit], rel=1e-4)
    assert 15.5 < saturated < 16.5
    assert exact == pytest.approx(50.0, rel=1e-6)


def test_a_keras_sigmoid_output_silently_takes_the_logits_path():
    """A tensor made by a Keras sigmoid carries its logits, and BCE uses them (notes, 'Exact formulas')."""
    y_true = np.array([[1.0]], np.float32)
    z = tf.constant([[-50.0]])
    via_keras_sigmoid = float(keras.losses.binary_crossentropy(y_true, keras.activations.sigmoid(z))[0])
    via_numpy_copy = float(keras.losses.binary_crossentropy(y_true, keras.activations.sigmoid(z).numpy())[0])
    assert via_keras_sigmoid == pytest.approx(50.0, rel=1e-6)
    assert via_numpy_copy == pytest.approx(SATURATED_BCE[-50.0], rel=1e-4)


# "Huber损失(对异常值更鲁棒)": Huber is more robust to outliers.
@settings(max_examples=30, deadline=None)
@given(error=st.floats(-1e4, 1e4, width=32), delta=st.floats(0.25, 4.0))
def test_huber_gradient_is_bounded_by_delta_while_mse_gradient_grows(error, delta):
    y_true = tf.zeros((1, 1))
    y_pred = tf.Variable([[error]])
    with tf.GradientTape(persistent=True) as tape:
        huber_value = tf.reduce_sum(losses.huber(y_true, y_pred, delta=delta))
        mse_value = tf.reduce_sum(losses.mean_squared_error(y_true, y_pred))
    huber_grad = float(tape.gradient(huber_value, y_pred)[0, 0])
    mse_grad = float(tape.gradient(mse_value, y_pred)[0, 0])
    assert abs(huber_grad) <= delta * (1 + 1e-6)
    assert mse_grad == pytest.approx(2 * float(error), rel=1e-6, abs=1e-6)


def test_one_outlier_moves_mse_far_more_than_huber():
    y_true = np.array([[1.0, 2.0, 3.0, 4.0, 5.0]], np.float32)
    clean = np.array([[1.1, 1.9, 3.2, 3.8, 5.1]], np.float32)
    outlier = clean.copy()
    outlier[0, 4] = 50.0
    mse_growth = float(
        losses.mean_squared_error(y_true, outlier)[0] / losses.mean_squared_error(y_true, clean)[0]
    )
    huber_growth = float(losses.huber(y_true, outlier)[0] / losses.huber(y_true, clean)[0])
    assert mse_growth > 10 * huber_growth


def test_document_regression_example_values_match_the_formulas():
    """The document prints MSE, MAE, Huber and MSLE of five predictions; each equals its formula."""
    y_true = np.array([1.0, 2.0, 3.0, 4.0, 5.0], np.float32)
    y_pred = np.array([1.1, 1.9, 3.2, 3.8, 5.1], np.float32)
    assert float(losses.mean_squared_error(y_true, y_pred)) == pytest.approx(0.022, rel=1e-4)
    assert float(losses.mean_absolute_error(y_true, y_pred)) == pytest.approx(0.14, rel=1e-4)
    assert float(losses.huber(y_true, y_pred)) == pytest.approx(0.011, rel=1e-4)
    expected_msle = oracle.mean_squared_logarithmic_error(y_true, y_pred)
    assert float(losses.mean_squared_logarithmic_error(y_true, y_pred)) == pytest.approx(
        expected_msle, rel=1e-5
    )
