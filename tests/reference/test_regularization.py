"""The document's regularization claims at a reduced, seeded scale, and the measuring functions.

Scales (``fit``, Adam(1e-3), batch 32, seed 42; runs repeat bitwise on this CPU):
- weights: ``weight_regularization`` data with 400 samples, hidden (32, 16), 20 epochs.
- dropout / batch norm: the document's ``regularization`` data (500 samples), hidden
  (64, 32, 16) instead of (256, 128, 64), 30 epochs instead of 100.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from reference.data import load_classification
from reference.loop import History
from reference.models import ModelSpec
from reference.regularization import (
    RegularizationResult,
    generalization_gap,
    near_zero_fraction,
    plot_loss_curves,
    plot_weight_comparison,
    run_comparison,
    run_configurations,
    weight_norms,
)
from reference.training import train_eager, train_fit

# Measured at the scale above: near-zero (|w| < 1e-3) fraction none 0.002, L1 0.366; first-layer
# L2 norm none 5.72, L2 4.14. Margins are about half the measured differences.
L1_NEAR_ZERO_MARGIN = 0.2
L2_NORM_RATIO = 0.9
# Measured loss gap (mean val_loss - loss over the last 5 epochs): none 0.129, dropout -0.016,
# batch norm 0.093 (both: -0.044).
DROPOUT_GAP_MARGIN = 0.05
NORM_RTOL = 1e-9
FLOAT32_RTOL = 1e-5  # float32 Keras against a float64 oracle (measured 1e-7)


@pytest.fixture(scope="module")
def weight_results() -> dict[str, RegularizationResult]:
    return run_comparison(
        "weight", configurations=("none", "l1", "l2"), n_samples=400, epochs=20, hidden=(32, 16), seed=42
    )


@pytest.fixture(scope="module")
def dropout_bn_results() -> dict[str, RegularizationResult]:
    return run_comparison(
        "dropout_bn",
        configurations=("none", "dropout", "batch_norm"),
        epochs=30,
        hidden=(64, 32, 16),
        seed=42,
    )


# --- the document's claims ---------------------------------------------------------------------


@pytest.mark.slow
def test_l1_leaves_more_near_zero_first_layer_weights_than_no_regularization(weight_results):
    none = near_zero_fraction(weight_results["none"].first_layer_kernel)
    l1 = near_zero_fraction(weight_results["l1"].first_layer_kernel)
    assert l1 > none + L1_NEAR_ZERO_MARGIN


@pytest.mark.slow
def test_l2_gives_a_smaller_first_layer_weight_norm_than_no_regularization(weight_results):
    none = weight_norms(weight_results["none"].first_layer_kernel)[1]
    l2 = weight_norms(weight_results["l2"].first_layer_kernel)[1]
    assert l2 < L2_NORM_RATIO * none


@pytest.mark.slow
def test_dropout_narrows_the_train_validation_loss_gap(dropout_bn_results):
    """Part of the narrowing is how it is measured: the logged training loss has dropout active."""
    none = generalization_gap(dropout_bn_results["none"].history)
    dropout = generalization_gap(dropout_bn_results["dropout"].history)
    assert none > DROPOUT_GAP_MARGIN
    assert dropout < none - DROPOUT_GAP_MARGIN


@pytest.mark.slow
def test_batch_norm_narrows_the_loss_gap_at_this_scale(dropout_bn_results):
    """Measured 0.129 -> 0.093 here, the document's direction, but small and scale-dependent: with
    hidden (32, 16, 8) and 20 epochs batch norm WIDENS the gap (0.039 -> 0.072), and the accuracy
    gap does not narrow here (0.046 -> 0.047). The reproduction report should say "not robust"."""
    none = generalization_gap(dropout_bn_results["none"].history)
    batch_norm = generalization_gap(dropout_bn_results["batch_norm"].history)
    assert batch_norm < none


def test_every_configuration_starts_from_the_same_seed():
    split = load_classification("advanced", n_samples=40)
    spec = ModelSpec(20, (4,))
    results = run_configurations({"a": spec, "b": spec}, split, epochs=1, batch_size=16, train=train_eager)
    assert results["a"].history.loss == results["b"].history.loss
    np.testing.assert_array_equal(results["a"].first_layer_kernel, results["b"].first_layer_kernel)
    assert results["a"].first_layer_kernel.shape == (20, 4)


def test_validation_loss_minus_the_penalty_is_the_validation_cross_entropy():
    """Keras adds l1 * sum|W| + l2 * sum W^2 of the hidden kernels to the logged validation loss."""
    split = load_classification("weight_regularization", n_samples=100)
    models = []

    def train(model, split, **kwargs):
        models.append(model)
        return train_fit(model, split, **kwargs)

    spec = ModelSpec(30, (8,), l1=0.01, l2=0.02)
    result = run_configurations({"l1_l2": spec}, split, epochs=2, train=train)["l1_l2"]
    w1, b1, w2, b2 = (w.astype(np.float64) for w in models[0].get_weights())
    penalty = 0.01 * np.abs(w1).sum() + 0.02 * (w1**2).sum()
    logits = (np.maximum(split.x_test @ w1 + b1, 0.0) @ w2 + b2).ravel()
    p = np.clip(1.0 / (1.0 + np.exp(-logits)), 1e-7, 1 - 1e-7)
    cross_entropy = np.mean(-(split.y_test * np.log(p) + (1 - split.y_test) * np.log(1 - p)))
    assert result.penalty == pytest.approx(penalty, rel=FLOAT32_RTOL)
    assert result.history.val_loss[-1] - result.penalty == pytest.approx(cross_entropy, rel=FLOAT32_RTOL)


# --- the measured quantities -------------------------------------------------------------------


def test_near_zero_fraction_counts_strictly_below_the_threshold():
    assert near_zero_fraction(np.array([0.0, 5e-4, -5e-4, 1e-3, 0.5]), threshold=1e-3) == pytest.approx(3 / 5)


def test_weight_norms_of_a_3_4_kernel_are_7_and_5():
    assert weight_norms(np.array([[3.0, -4.0]])) == pytest.approx((7.0, 5.0))


@settings(max_examples=50)
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2), elements=st.floats(-10, 10)))
def test_weight_norms_satisfy_l2_le_l1_le_sqrt_n_l2(weights):
    l1, l2 = weight_norms(weights)
    assert l2 <= l1 * (1 + NORM_RTOL) + 1e-12
    assert l1 <= np.sqrt(weights.size) * l2 * (1 + NORM_RTOL) + 1e-12


def synthetic_history(loss, val_loss, accuracy=None, val_accuracy=None) -> History:
    n = len(loss)
    return History(
        loss=list(loss),
        val_loss=list(val_loss),
        accuracy=list(accuracy or [0.5] * n),
        val_accuracy=list(val_accuracy or [0.5] * n),
        gradient_norm=[1.0] * n,
        learning_rate=[1e-3] * n,
    )


def test_the_loss_gap_is_validation_minus_training_over_the_last_epochs():
    history = synthetic_history([1.0, 0.5, 0.2, 0.1], [1.0, 0.8, 0.7, 0.6])
    assert generalization_gap(history, last=2) == pytest.approx(0.5)


def test_the_accuracy_gap_is_training_minus_validation():
    history = synthetic_history([1, 1], [1, 1], accuracy=[0.9, 1.0], val_accuracy=[0.8, 0.7])
    assert generalization_gap(history, metric="accuracy", last=2) == pytest.approx(0.2)


# --- figures -----------------------------------------------------------------------------------


def synthetic_results(names) -> dict[str, RegularizationResult]:
    rng = np.random.default_rng(0)
    return {
        name: RegularizationResult(
            synthetic_history(np.linspace(1, 0.1, 6), np.linspace(1, 0.4, 6)),
            rng.normal(size=(5, 3)) * (i + 1),
        )
        for i, name in enumerate(names)
    }


def test_the_loss_curve_figure_has_one_panel_of_two_curves_per_configuration():
    results = synthetic_results(["none", "dropout", "batch_norm", "both"])
    axes = plot_loss_curves(results).axes
    assert [ax.get_title() for ax in axes] == list(results)
    assert all(len(ax.get_lines()) == 2 for ax in axes)
    np.testing.assert_allclose(axes[0].get_lines()[1].get_ydata(), results["none"].history.val_loss)


def test_the_loss_curve_figure_hides_unused_panels():
    axes = plot_loss_curves(synthetic_results(["none", "dropout", "batch_norm"])).axes
    assert [ax.get_visible() for ax in axes] == [True, True, True, False]


def test_the_weight_figure_bars_are_the_first_layer_l1_and_l2_norms():
    results = synthetic_results(["none", "l1", "l2", "l1_l2"])
    train_ax, val_ax, hist_ax, norm_ax = plot_weight_comparison(results).axes
    assert len(train_ax.get_lines()) == len(val_ax.get_lines()) == 4
    assert len(hist_ax.patches) == 4 * 30  # 30 bins per configuration, as the document
    heights = [bar.get_height() for bar in norm_ax.patches]
    kernels = [r.first_layer_kernel for r in results.values()]
    expected = [np.abs(k).sum() for k in kernels] + [np.sqrt((k**2).sum()) for k in kernels]
    np.testing.assert_allclose(heights, expected, rtol=1e-6)
    assert [t.get_text() for t in norm_ax.get_xticklabels()] == list(results)
