"""TrainingMonitor: gradient norm, schedule-aware learning rate (D13), gap, smoothing, figure."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from matplotlib.figure import Figure

from reference.document import document_current_lr
from reference.monitor import DOCUMENT_WINDOW, TrainingMonitor, current_learning_rate

# Gradients are float32: the analytic float64 norm agrees to a few float32 ulps.
GRAD_RTOL = 1e-5
# Learning rates are float32 tensors.
LR_RTOL = 1e-6
# Moving averages in float64 by two different summation orders.
SMOOTH_RTOL = 1e-9
SMOOTH_ATOL = 1e-9
N_FEATURES = 3
BATCH = 4
BATCHES_PER_EPOCH = 3


def known_data(seed: int = 7):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(BATCH * BATCHES_PER_EPOCH, N_FEATURES)).astype(np.float32)
    y = rng.normal(size=(BATCH * BATCHES_PER_EPOCH, 1)).astype(np.float32)
    return x, y


def linear_model() -> keras.Model:
    return keras.Sequential([keras.Input((N_FEATURES,)), keras.layers.Dense(1)])


def mse_gradient_norm(x: np.ndarray, y: np.ndarray, w: np.ndarray, b: np.ndarray) -> float:
    """Oracle: ||(dL/dw, dL/db)|| for L = mean((x w + b - y)^2), in float64.

    dL/dw = 2/n x^T r, dL/db = 2/n sum(r), r = x w + b - y.
    """
    x, y, w, b = (np.asarray(a, dtype=np.float64) for a in (x, y, w, b))
    residual = x @ w + b - y
    grad_w = 2.0 / len(x) * x.T @ residual
    grad_b = 2.0 / len(x) * residual.sum(axis=0)
    return math.sqrt(np.sum(grad_w**2) + np.sum(grad_b**2))


def moving_average(values: list[float], window: int) -> list[float]:
    """Oracle: mean of each run of ``window`` consecutive values."""
    return [math.fsum(values[i : i + window]) / window for i in range(len(values) - window + 1)]


def run_custom_loop(monitor: TrainingMonitor, epochs: int):
    """A minimal loop driving the monitor through ``CallbackList``; SGD with rate 0 keeps the
    weights fixed, so every batch's gradient is the one of the initial weights."""
    model, (x, y) = linear_model(), known_data()
    optimizer, loss_fn = keras.optimizers.SGD(learning_rate=0.0), keras.losses.MeanSquaredError()
    callbacks = keras.callbacks.CallbackList([monitor], model=model)
    model.optimizer = optimizer
    tape_norms = []
    callbacks.on_train_begin()
    for epoch in range(epochs):
        callbacks.on_epoch_begin(epoch)
        for start in range(0, len(x), BATCH):
            xb, yb = x[start : start + BATCH], y[start : start + BATCH]
            with tf.GradientTape() as tape:
                loss = loss_fn(yb, model(xb, training=True))
            gradients = tape.gradient(loss, model.trainable_variables)
            monitor.observe_gradients(gradients)
            tape_norms.append(float(tf.linalg.global_norm(gradients)))
            optimizer.apply(gradients, model.trainable_variables)
        callbacks.on_epoch_end(epoch, {"loss": float(loss)})
    callbacks.on_train_end()
    return model, (x, y), tape_norms


# --- gradient norm --------------------------------------------------------------------------------


def test_gradient_norm_is_the_epoch_mean_of_the_batch_global_norms():
    monitor = TrainingMonitor()
    model, (x, y), tape_norms = run_custom_loop(monitor, epochs=2)
    w, b = (v.numpy() for v in model.trainable_variables)
    batch_norms = [
        mse_gradient_norm(x[s : s + BATCH], y[s : s + BATCH], w, b) for s in range(0, len(x), BATCH)
    ]
    expected = np.mean(batch_norms)
    np.testing.assert_allclose(monitor.metrics["gradient_norm"], [expected] * 2, rtol=GRAD_RTOL)
    np.testing.assert_allclose(tape_norms, batch_norms * 2, rtol=GRAD_RTOL)


def test_gradient_norm_in_the_logs_takes_precedence_over_observed_batches():
    monitor = TrainingMonitor()
    monitor.observe_gradient_norm(10.0)
    monitor.record({"loss": 1.0, "gradient_norm": 2.5})
    monitor.observe_gradient_norm(4.0)
    monitor.observe_gradient_norm(6.0)
    monitor.record({"loss": 1.0})
    assert monitor.metrics["gradient_norm"] == [2.5, 5.0]


def test_gradient_norm_is_nan_when_nothing_provides_it():
    monitor = TrainingMonitor()
    monitor.record({"loss": 1.0})
    assert math.isnan(monitor.metrics["gradient_norm"][0])


# --- learning rate (D13) --------------------------------------------------------------------------


def test_document_optimizer_lr_attribute_is_gone():
    with pytest.raises(AttributeError):
        keras.optimizers.Adam(1e-3).lr


def test_schedule_learning_rate_is_symbolic_inside_tf_function_so_numpy_fails():
    optimizer = keras.optimizers.Adam(keras.optimizers.schedules.ExponentialDecay(0.1, 2, 0.5))
    errors = []

    @tf.function
    def read():
        try:
            document_current_lr(optimizer)
        except AttributeError as error:
            errors.append(error)
        with pytest.raises(RuntimeError, match="eagerly"):
            current_learning_rate(optimizer)
        return optimizer.learning_rate

    assert float(read()) == pytest.approx(0.1, rel=LR_RTOL)
    assert len(errors) == 1


def test_monitor_learning_rate_is_the_schedule_value_at_the_current_iteration():
    initial, decay_steps, rate, epochs = 0.1, 2, 0.5, 3
    schedule = keras.optimizers.schedules.ExponentialDecay(initial, decay_steps, rate)
    model, (x, y), monitor = linear_model(), known_data(), TrainingMonitor()
    model.compile(keras.optimizers.SGD(schedule), "mse", run_eagerly=True)
    model.fit(x, y, batch_size=BATCH, epochs=epochs, callbacks=[monitor], verbose=0)
    iterations = [BATCHES_PER_EPOCH * (e + 1) for e in range(epochs)]
    expected = [initial * rate ** (step / decay_steps) for step in iterations]
    np.testing.assert_allclose(monitor.metrics["learning_rate"], expected, rtol=LR_RTOL)


def test_learning_rate_in_the_logs_takes_precedence_over_the_optimizer():
    monitor = TrainingMonitor()
    model = linear_model()
    model.compile(keras.optimizers.SGD(0.5), "mse")
    monitor.set_model(model)
    monitor.on_epoch_end(0, {"loss": 1.0, "learning_rate": 0.125})
    monitor.on_epoch_end(1, {"loss": 1.0})
    assert monitor.metrics["learning_rate"] == [0.125, 0.5]


# --- derived series -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fitted():
    keras.utils.set_random_seed(42)
    model, (x, y), monitor = linear_model(), known_data(), TrainingMonitor()
    model.compile(keras.optimizers.SGD(0.05), "mse", metrics=["mae"], run_eagerly=True)
    history = model.fit(
        x, y, batch_size=BATCH, epochs=4, validation_data=(x[:4], y[:4]), callbacks=[monitor], verbose=0
    )
    return monitor, history.history


def test_monitor_records_the_history_losses_of_fit(fitted):
    monitor, history = fitted
    assert monitor.metrics["loss"] == history["loss"]
    assert monitor.metrics["val_loss"] == history["val_loss"]


def test_overfitting_gap_is_val_loss_minus_loss(fitted):
    monitor, history = fitted
    expected = [v - t for v, t in zip(history["val_loss"], history["loss"], strict=True)]
    np.testing.assert_array_equal(monitor.overfitting_gap, expected)


def test_missing_metrics_are_nan_so_every_series_has_one_entry_per_epoch(fitted):
    monitor, _ = fitted
    assert all(len(values) == len(monitor) for values in monitor.metrics.values())
    assert all(math.isnan(v) for v in monitor.metrics["accuracy"])


@given(
    losses=hnp.arrays(np.float64, st.integers(0, 30), elements=st.floats(-1e3, 1e3)),
    window=st.integers(1, 8),
)
def test_smoothed_loss_equals_an_independent_moving_average(losses, window):
    monitor = TrainingMonitor()
    for loss in losses:
        monitor.record({"loss": loss})
    expected = moving_average(list(losses), window)
    np.testing.assert_allclose(monitor.smoothed_loss(window), expected, rtol=SMOOTH_RTOL, atol=SMOOTH_ATOL)


def test_smoothed_loss_uses_the_documents_window_of_five_by_default():
    monitor = TrainingMonitor()
    for loss in [5.0, 4.0, 3.0, 2.0, 1.0, 0.0]:
        monitor.record({"loss": loss})
    assert DOCUMENT_WINDOW == 5
    np.testing.assert_allclose(monitor.smoothed_loss(), [3.0, 2.0])


def test_on_train_begin_restarts_every_series():
    monitor = TrainingMonitor()
    monitor.record({"loss": 1.0, "learning_rate": 0.1, "gradient_norm": 1.0})
    monitor.observe_gradient_norm(3.0)
    monitor.on_train_begin()
    monitor.record({"loss": 2.0})
    assert monitor.as_dict()["loss"] == [2.0]
    assert math.isnan(monitor.as_dict()["gradient_norm"][0])


# --- figure ---------------------------------------------------------------------------------------


def test_plot_draws_the_documents_six_panels_from_the_recorded_series():
    monitor = TrainingMonitor()
    losses = [1.0 / (e + 1) for e in range(12)]
    for e, loss in enumerate(losses):
        monitor.record(
            {"loss": loss, "val_loss": loss + 0.1 * e, "accuracy": 0.5, "val_accuracy": 0.4},
            learning_rate=0.1 * 0.9**e,
            gradient_norm=2.0,
        )
    figure = monitor.plot()
    assert isinstance(figure, Figure)
    axes = figure.axes
    assert [ax.get_title() for ax in axes] == [
        "Loss",
        "Accuracy",
        "Learning rate",
        "Gradient norm",
        "Overfitting (val_loss - loss)",
        "Training stability",
    ]
    np.testing.assert_allclose(axes[4].lines[0].get_ydata(), [0.1 * e for e in range(12)])
    raw, smoothed = axes[5].lines
    np.testing.assert_allclose(raw.get_ydata(), losses)
    assert list(smoothed.get_xdata()) == list(range(2, 2 + len(losses) - 4))
    np.testing.assert_allclose(smoothed.get_ydata(), moving_average(losses, 5))


# --- with the project's own loops (reference.training) --------------------------------------------


@pytest.mark.parametrize("way", ["eager", "trainer", "fit"])
def test_monitor_in_the_project_loops_gets_the_global_norm_of_the_known_batch(way):
    from reference.data import Split
    from reference.models import ModelSpec, build_model
    from reference.training import TRAINING_WAYS

    rng = np.random.default_rng(3)
    x = rng.normal(size=(16, N_FEATURES)).astype(np.float32)
    y = rng.integers(0, 2, size=(16, 1)).astype(np.float32)
    model = build_model(ModelSpec(N_FEATURES, (4,)))
    with tf.GradientTape() as tape:
        loss = keras.losses.BinaryCrossentropy()(y, model(x, training=True))
    expected = float(tf.linalg.global_norm(tape.gradient(loss, model.trainable_variables)))
    monitor = TrainingMonitor()
    TRAINING_WAYS[way](
        model,
        Split(x, y, x, y),
        epochs=2,
        batch_size=len(x),  # one known batch per epoch
        optimizer=keras.optimizers.SGD(learning_rate=0.0),  # the weights never move
        callbacks=[monitor],
    )
    np.testing.assert_allclose(monitor.metrics["gradient_norm"], [expected] * 2, rtol=GRAD_RTOL)
    assert monitor.metrics["learning_rate"] == [0.0, 0.0]
    np.testing.assert_allclose(monitor.metrics["loss"], [float(loss)] * 2, rtol=GRAD_RTOL)
