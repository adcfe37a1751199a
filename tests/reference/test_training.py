"""The three ways of training (eager loop, Trainer, fit): equivalence, early stopping, clipping,
callbacks, non-finite losses, bad input and atomic checkpoints."""

from __future__ import annotations

import functools
import math
from dataclasses import replace
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from reference.data import Split, load_classification, random_binary_split
from reference.loop import (
    EPOCH_KEYS,
    STOP_CALLBACK,
    STOP_EARLY,
    STOP_MAX_EPOCHS,
    STOP_NON_FINITE,
    BestWeights,
    History,
    NonFiniteTrainingWarning,
    clip_gradients,
    objective_for,
    save_weights_atomic,
)
from reference.models import ModelSpec, build_model, document_model
from reference.trainer import Trainer
from reference.training import TRAINING_WAYS, train_eager, train_fit, train_trainer

# The three ways agree to float32 rounding: measured max difference 6e-8 on losses, 1.2e-7 on
# gradient norms, 0 on accuracies (BN + L2 model, 16 steps).
EQUIVALENCE_ATOL = 1e-5
# A restored model's recomputed validation loss vs the logged one (batched mean vs one pass).
RESTORE_ATOL = 1e-5
CLIP_RTOL = 1e-5
BASIC_LOOP_EPOCHS = 5
# Measured 0.845 after 5 epochs of the document's basic loop (0.865 at epoch 10, 0.825 at 100).
BASIC_LOOP_MIN_VAL_ACCURACY = 0.83

WAYS = list(TRAINING_WAYS)
TINY = ModelSpec(20, (8,))
SAME_SETTINGS = {"patience": None, "restore_best": False, "clip": None, "shuffle": False}
PLAIN = {"patience": None, "restore_best": False, "clip": None}
SHUFFLE_SEED = 5


def tiny_split(n_samples: int = 80) -> Split:
    return load_classification("advanced", n_samples=n_samples)


def bce_on_test(model: keras.Model, split: Split) -> float:
    """Keras BCE over the whole test split in inference mode (the model has no regularizer)."""
    predictions = model(split.x_test, training=False)
    return float(keras.ops.mean(keras.losses.binary_crossentropy(split.y_test[:, None], predictions)))


# --- equivalence and the callbacks contract: one run per way ----------------------------------


class Recorder(keras.callbacks.Callback):
    """Records the hooks called and the epoch logs; asks to stop after epoch ``stop_after``."""

    def __init__(self, stop_after: int):
        super().__init__()
        self.stop_after, self.events, self.logs = stop_after, [], []

    def on_train_begin(self, logs=None):
        self.events.append("train_begin")

    def on_epoch_begin(self, epoch, logs=None):
        self.events.append(f"epoch_begin {epoch}")

    def on_epoch_end(self, epoch, logs=None):
        self.events.append(f"epoch_end {epoch}")
        self.logs.append(dict(logs))
        if epoch == self.stop_after:
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        self.events.append("train_end")


SCHEDULE = {"initial_learning_rate": 1e-3, "decay_steps": 8, "decay_rate": 0.5}
STEPS_PER_EPOCH = 4  # 256 training samples in batches of 64
STOP_AFTER = 3  # the Recorder stops the 6-epoch runs after 4 epochs


@pytest.fixture(scope="module")
def equivalent_runs() -> dict[str, tuple[Recorder, History]]:
    """Each way trains the same initial weights on identical unshuffled batches: 4 epochs x 4 steps.

    The basic model without dropout, plus batch norm and L2 so that moving statistics and penalty
    terms are compared too; Adam on a decaying rate, and a ``Recorder`` that stops the run.
    """
    split = load_classification("advanced", n_samples=320)
    spec = replace(document_model("basic").without_dropout(), batch_norm=True, l2=1e-3)
    keras.utils.set_random_seed(7)
    initial = build_model(spec).get_weights()
    runs = {}
    for way, train in TRAINING_WAYS.items():
        model = build_model(spec)
        model.set_weights(initial)
        optimizer = keras.optimizers.Adam(keras.optimizers.schedules.ExponentialDecay(**SCHEDULE))
        recorder = Recorder(stop_after=STOP_AFTER)
        history = train(
            model, split, epochs=6, batch_size=64, optimizer=optimizer, callbacks=[recorder], **SAME_SETTINGS
        )
        runs[way] = recorder, history
    return runs


@pytest.mark.slow
@pytest.mark.parametrize("key", ["loss", "val_loss", "accuracy", "val_accuracy", "gradient_norm"])
@pytest.mark.parametrize("way", ["trainer", "fit"])
def test_trainer_and_fit_follow_the_eager_loops_trajectory(equivalent_runs, way, key):
    _, history = equivalent_runs[way]
    _, eager = equivalent_runs["eager"]
    np.testing.assert_allclose(getattr(history, key), getattr(eager, key), atol=EQUIVALENCE_ATOL)


def bce_with_l2_penalty(weights: list[np.ndarray], l2: float, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per-sample BCE + the L2 penalty of a 1-hidden-layer relu/sigmoid MLP, in float64 NumPy."""
    w1, b1, w2, b2 = (w.astype(np.float64) for w in weights)
    p = 1.0 / (1.0 + np.exp(-(np.maximum(x @ w1 + b1, 0.0) @ w2 + b2).ravel()))
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return -(y * np.log(p) + (1 - y) * np.log(1 - p)) + l2 * np.sum(w1**2)


def test_fit_logs_the_batch_size_weighted_mean_of_the_step_losses_with_the_penalty():
    """SGD(0) keeps the weights, so each step's loss is known: 70 rows in batches of 32, 32, 6."""
    split = load_classification("advanced", n_samples=88)
    model = build_model(replace(TINY, l2=0.01))
    weights = model.get_weights()
    history = train_fit(
        model, split, epochs=1, batch_size=32, optimizer=keras.optimizers.SGD(0.0), shuffle=False
    )
    per_sample = bce_with_l2_penalty(weights, 0.01, split.x_train, split.y_train)
    batch_means = [per_sample[i : i + 32].mean() for i in range(0, len(per_sample), 32)]
    assert len(split.x_train) == 70
    assert abs(np.mean(batch_means) - per_sample.mean()) > 1e-3  # unweighted would be caught
    assert history.loss[0] == pytest.approx(per_sample.mean(), rel=1e-5)


@pytest.mark.slow
def test_equivalent_runs_actually_learn_so_the_comparison_is_not_vacuous(equivalent_runs):
    loss = equivalent_runs["eager"][1].loss
    assert loss[-1] < loss[0] - 0.05


@pytest.mark.slow
def test_trainer_follows_the_eager_loop_with_dropout_and_shuffling_from_the_same_seed():
    """The document's basic model (dropout 0.2), shuffled batches, no clipping, fused epochs: the
    replicates of the reproduction train it with ``Trainer(fused=True)`` (a call per step runs the
    same ``_train_step``). 96 training rows: whole batches, so the unweighted mean of the eager
    loop's batch losses is the Trainer's weighted one."""
    split = load_classification("basic", n_samples=120)
    runs = []
    for train in (train_eager, functools.partial(train_trainer, fused=True)):
        keras.utils.set_random_seed(SHUFFLE_SEED)
        model = build_model(document_model("basic"))
        runs.append(train(model, split, epochs=2, batch_size=32, seed=SHUFFLE_SEED, **PLAIN))
    eager, fused = runs
    assert len(split.x_train) % 32 == 0 and eager.loss[-1] != eager.loss[0]
    for key in ("loss", "val_loss", "accuracy", "val_accuracy"):
        np.testing.assert_allclose(
            getattr(fused, key), getattr(eager, key), atol=EQUIVALENCE_ATOL, err_msg=key
        )


@pytest.mark.slow
@pytest.mark.parametrize("way", WAYS)
def test_callbacks_receive_the_training_hooks_in_fit_order(equivalent_runs, way):
    recorder, _ = equivalent_runs[way]
    epochs = [f"epoch_{hook} {e}" for e in range(STOP_AFTER + 1) for hook in ("begin", "end")]
    assert recorder.events == ["train_begin", *epochs, "train_end"]


@pytest.mark.slow
@pytest.mark.parametrize("way", WAYS)
def test_epoch_logs_hold_exactly_the_contract_keys_as_python_floats(equivalent_runs, way):
    recorder, _ = equivalent_runs[way]
    for logs in recorder.logs:
        assert set(logs) == set(EPOCH_KEYS)
        assert all(type(value) is float for value in logs.values())


@pytest.mark.slow
@pytest.mark.parametrize("way", WAYS)
def test_a_callback_setting_stop_training_ends_the_run_and_is_recorded(equivalent_runs, way):
    _, history = equivalent_runs[way]
    assert (len(history.loss), history.stopped_epoch, history.stopped_reason) == (
        STOP_AFTER + 1,
        STOP_AFTER,
        STOP_CALLBACK,
    )


@pytest.mark.slow
@pytest.mark.parametrize("way", WAYS)
def test_logged_learning_rate_is_the_schedule_at_the_steps_done(equivalent_runs, way):
    _, history = equivalent_runs[way]
    steps = STEPS_PER_EPOCH * (np.arange(len(history.learning_rate)) + 1)
    expected = SCHEDULE["initial_learning_rate"] * SCHEDULE["decay_rate"] ** (steps / SCHEDULE["decay_steps"])
    np.testing.assert_allclose(history.learning_rate, expected, rtol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("way", WAYS)
def test_history_as_dict_carries_every_epoch_key_and_the_stop_fields(equivalent_runs, way):
    _, history = equivalent_runs[way]
    as_dict = history.as_dict()
    assert set(EPOCH_KEYS) | {"stopped_epoch", "best_epoch", "stopped_reason"} == set(as_dict)
    assert all(len(as_dict[key]) == STOP_AFTER + 1 for key in EPOCH_KEYS)


# --- early stopping ----------------------------------------------------------------------------

PATIENCE = 3


def overfitting_run(train, **kwargs):
    """Random labels and a large rate: validation loss bottoms out early, then rises."""
    split = random_binary_split(n_train=128, n_val=64, seed=0)
    model = build_model(ModelSpec(20, (64,)))
    optimizer = keras.optimizers.Adam(1e-2)
    history = train(model, split, epochs=40, batch_size=32, optimizer=optimizer, patience=PATIENCE, **kwargs)
    return model, split, history


@pytest.mark.slow
@pytest.mark.parametrize("where", ["memory", "file"])
def test_trainer_stops_patience_epochs_after_the_best_and_restores_it(tmp_path, where):
    weights_path = tmp_path / "best.weights.h5" if where == "file" else None
    model, split, history = overfitting_run(train_trainer, weights_path=weights_path)
    best = int(np.argmin(history.val_loss))
    assert history.stopped_reason == STOP_EARLY
    assert (history.best_epoch, history.stopped_epoch) == (best, best + PATIENCE)
    predictions = model(split.x_test, training=False)
    restored = float(keras.ops.mean(keras.losses.binary_crossentropy(split.y_test, predictions)))
    assert restored == pytest.approx(min(history.val_loss), abs=RESTORE_ATOL)


@pytest.mark.slow
def test_best_weights_in_fit_stops_where_keras_early_stopping_stops():
    keras_stopper = keras.callbacks.EarlyStopping(monitor="val_loss", patience=PATIENCE)
    _, _, history = overfitting_run(train_fit, callbacks=[keras_stopper])
    assert history.stopped_reason == STOP_EARLY
    assert (history.best_epoch, history.stopped_epoch) == (
        keras_stopper.best_epoch,
        keras_stopper.stopped_epoch,
    )


# --- gradient clipping -------------------------------------------------------------------------


def exploding_batch() -> tuple[tf.Tensor, tf.Tensor]:
    """Features of size 1e4 and labels opposite to the initial predictions: huge gradients."""
    rng = np.random.default_rng(0)
    return tf.constant(rng.normal(size=(32, 20)) * 1e4, tf.float32), tf.constant(
        rng.integers(0, 2, 32), tf.float32
    )


@pytest.fixture
def raw_gradients() -> list[np.ndarray]:
    trainer = Trainer(build_model(TINY), keras.optimizers.SGD(1.0))
    _, _, gradients = trainer.loss_and_gradients(*exploding_batch())
    return [g.numpy().astype(np.float64) for g in gradients]


def test_the_exploding_batch_explodes_every_kernel_gradient(raw_gradients):
    kernels = [g for g in raw_gradients if g.ndim == 2]
    assert min(np.linalg.norm(g) for g in kernels) > 100.0


def test_per_tensor_clipping_bounds_every_gradient_norm_and_keeps_directions(raw_gradients):
    clipped = [g.numpy() for g in clip_gradients([tf.constant(g) for g in raw_gradients], "per_tensor", 1.0)]
    for raw, cut in zip(raw_gradients, clipped, strict=True):
        np.testing.assert_allclose(cut, raw / max(1.0, np.linalg.norm(raw)), rtol=CLIP_RTOL)


def test_global_clipping_scales_all_gradients_by_one_factor(raw_gradients):
    global_norm = math.sqrt(sum(float(np.sum(g**2)) for g in raw_gradients))
    clipped = [g.numpy() for g in clip_gradients([tf.constant(g) for g in raw_gradients], "global", 1.0)]
    for raw, cut in zip(raw_gradients, clipped, strict=True):
        np.testing.assert_allclose(cut, raw / global_norm, rtol=CLIP_RTOL, atol=1e-12)


def test_a_trainer_step_moves_each_variable_by_at_most_the_clip_norm():
    """With SGD(lr=1) the update of each variable is its clipped gradient."""
    model = build_model(TINY)
    trainer = Trainer(model, keras.optimizers.SGD(1.0), clip="per_tensor", clip_norm=0.5)
    before = model.get_weights()
    trainer.train_step(*exploding_batch())
    moves = [np.linalg.norm(a - b) for a, b in zip(model.get_weights(), before, strict=True)]
    assert max(moves) <= 0.5 * (1 + CLIP_RTOL)
    assert max(moves) > 0.4  # the bound is reached: the step was clipped, not small


# --- non-finite training ---------------------------------------------------------------------


class WeightsAtEpochEnd(keras.callbacks.Callback):
    """Keeps a copy of the model's weights at every epoch end, before the guard (last callback) acts."""

    def __init__(self):
        super().__init__()
        self.weights: list[list[np.ndarray]] = []

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append(self.model.get_weights())


class PoisonWeights(keras.callbacks.Callback):
    """Sets the first (``layer=0``) or last (``-1``) kernel to NaN at the start of epoch ``at``.

    The first kernel is the trap: in graph mode (Trainer, fit) the fused matmul + bias + relu of
    this CPU build maps a NaN pre-activation to 0, so the loss stays finite (log 2) while the
    weights are NaN (in eager mode the loss is NaN).
    """

    def __init__(self, at: int, layer: int):
        super().__init__()
        self.at, self.layer = at, layer

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.at:
            kernel = [w for w in self.model.trainable_weights if len(w.shape) == 2][self.layer]
            kernel.assign(tf.fill(kernel.shape, float("nan")))


class ExplodeLearningRate(keras.callbacks.Callback):
    """Sets ``optimizer``'s learning rate to 1e10 at the start of epoch ``at``.

    The optimizer is given, not read from ``self.model``: the custom loops' model has none.
    """

    def __init__(self, optimizer: keras.optimizers.Optimizer, at: int):
        super().__init__()
        self.optimizer, self.at = optimizer, at

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.at:
            self.optimizer.learning_rate.assign(1e10)


def assert_weights_equal(actual: list[np.ndarray], expected: list[np.ndarray]) -> None:
    assert len(actual) == len(expected)
    for a, b in zip(actual, expected, strict=True):
        np.testing.assert_array_equal(a, b)
        assert np.all(np.isfinite(a))


def non_finite_run(way: str, fault, **kwargs):
    """Six epochs at most of the tiny model with SGD(0.05) and ``fault(optimizer)`` as the first callback.

    Returns the model, its history, the weights at every epoch end and the warning's message.
    """
    keras.utils.set_random_seed(3)
    model, recorder, optimizer = build_model(TINY), WeightsAtEpochEnd(), keras.optimizers.SGD(0.05)
    settings = {"restore_best": False, "clip": None} | kwargs
    with pytest.warns(NonFiniteTrainingWarning) as warned:
        history = TRAINING_WAYS[way](
            model,
            tiny_split(),
            epochs=6,
            batch_size=16,
            optimizer=optimizer,
            callbacks=[fault(optimizer), recorder],
            **settings,
        )
    return model, history, recorder.weights, str(warned[-1].message)


@pytest.fixture(scope="module")
def poisoned_runs() -> dict:
    """Per way: the first kernel set to NaN at the start of epoch 2 (see ``PoisonWeights``)."""
    return {way: non_finite_run(way, lambda _: PoisonWeights(at=2, layer=0)) for way in WAYS}


@pytest.mark.slow
@pytest.mark.parametrize("way", WAYS)
def test_a_nan_weight_the_fused_relu_hides_from_the_loss_stops_training_with_the_last_finite_weights(
    poisoned_runs, way
):
    model, history, epoch_weights, message = poisoned_runs[way]
    assert (history.stopped_reason, history.stopped_epoch) == (STOP_NON_FINITE, 2)
    assert "at epoch 2" in message and "weights" in message
    assert_weights_equal(model.get_weights(), epoch_weights[1])


@pytest.mark.slow
@pytest.mark.parametrize("way", ["trainer", "fit"])
def test_in_graph_mode_the_poisoned_epoch_reports_a_finite_loss_so_the_loss_alone_cannot_catch_it(
    poisoned_runs, way
):
    _, history, _, _ = poisoned_runs[way]
    assert math.isfinite(history.loss[2]) and math.isfinite(history.val_loss[2])


@pytest.mark.slow
@pytest.mark.parametrize("way", WAYS)
def test_an_exploding_learning_rate_stops_training_with_the_last_finite_weights(way):
    model, history, epoch_weights, message = non_finite_run(
        way, lambda optimizer: ExplodeLearningRate(optimizer, at=1)
    )
    assert (history.stopped_reason, history.stopped_epoch) == (STOP_NON_FINITE, 1)
    assert "at epoch 1" in message
    assert_weights_equal(model.get_weights(), epoch_weights[0])


@pytest.mark.slow
@pytest.mark.parametrize("way", WAYS)
def test_with_restore_best_a_non_finite_stop_leaves_the_best_finite_weights(way):
    model, history, epoch_weights, message = non_finite_run(
        way, lambda _: PoisonWeights(at=2, layer=-1), restore_best=True
    )
    best = int(np.argmin(history.val_loss[:2]))
    assert (history.stopped_reason, history.best_epoch) == (STOP_NON_FINITE, best)
    assert f"the best weights, from epoch {best}" in message
    assert_weights_equal(model.get_weights(), epoch_weights[best])


def nan_feature_dataset() -> tf.data.Dataset:
    """The issue's data: one NaN feature in the first batch (a ``Split`` refuses it, a dataset does not)."""
    split = tiny_split()
    x = split.x_train.copy()
    x[3, 7] = np.nan
    return tf.data.Dataset.from_tensor_slices((x, split.y_train)).batch(16)


def test_trainer_on_a_dataset_with_a_nan_feature_stops_at_once_with_the_initial_weights():
    keras.utils.set_random_seed(3)
    model = build_model(TINY)
    initial = model.get_weights()
    trainer = Trainer(model, keras.optimizers.Adam(), clip=None, restore_best=False)
    with pytest.warns(NonFiniteTrainingWarning, match="at epoch 0"):
        history = trainer.train(nan_feature_dataset(), nan_feature_dataset(), epochs=3)
    assert (history.stopped_reason, len(history.loss)) == (STOP_NON_FINITE, 1)
    assert_weights_equal(model.get_weights(), initial)


def test_best_weights_in_keras_fit_stops_on_nan_weights_behind_a_finite_loss():
    """Keras's own fit with the guard alone (no gradient norm logged): the weights give it away."""
    keras.utils.set_random_seed(3)
    model = build_model(TINY)
    model.compile(keras.optimizers.Adam(), "binary_crossentropy")
    initial = model.get_weights()
    with pytest.warns(NonFiniteTrainingWarning, match=r"Non-finite weights at epoch 0"):
        model.fit(
            nan_feature_dataset(),
            validation_data=nan_feature_dataset(),
            epochs=3,
            shuffle=False,
            verbose=0,
            callbacks=[BestWeights(restore_best=False)],
        )
    assert_weights_equal(model.get_weights(), initial)


@pytest.mark.parametrize("way", WAYS)
def test_numpy_integer_epochs_and_batch_size_train_in_every_way(way):
    history = TRAINING_WAYS[way](build_model(TINY), tiny_split(), epochs=np.int64(2), batch_size=np.int32(32))
    assert (len(history.loss), history.stopped_reason) == (2, STOP_MAX_EPOCHS)


# --- the document's basic loop on the document's data ------------------------------------------


@pytest.mark.slow
def test_the_basic_eager_loop_reaches_the_stated_validation_accuracy():
    """The document's basic demo: 1000 x 20, unstandardized, 20-64-32-1 with dropout 0.2, Adam(1e-3)."""
    split = load_classification("basic")
    history = TRAINING_WAYS["eager"](
        build_model(document_model("basic")), split, epochs=BASIC_LOOP_EPOCHS, batch_size=32
    )
    assert history.val_accuracy[-1] >= BASIC_LOOP_MIN_VAL_ACCURACY


# --- loss and accuracy from the output layer ---------------------------------------------------


def test_a_softmax_model_gets_sparse_categorical_cross_entropy_and_argmax_accuracy():
    objective = objective_for(build_model(document_model("callbacks")))
    probabilities = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]], np.float32)
    labels = np.array([0, 1])
    expected_loss = -(np.log(0.7) + np.log(0.3)) / 2
    assert isinstance(objective.loss, keras.losses.SparseCategoricalCrossentropy)
    assert float(objective.loss(labels, probabilities)) == pytest.approx(expected_loss, rel=1e-5)
    assert keras.ops.convert_to_numpy(objective.accuracy(labels, probabilities)).tolist() == [1.0, 0.0]


def test_a_linear_single_unit_is_read_as_a_logit_thresholded_at_zero():
    objective = objective_for(build_model(ModelSpec(20, (4,), output_activation="linear")))
    logits = np.array([[-0.1], [0.1], [2.0]], np.float32)
    labels = np.array([0.0, 0.0, 1.0], np.float32)
    expected_loss = np.mean(np.log1p(np.exp(-np.where(labels == 1, 1, -1) * logits.ravel())))
    assert float(objective.loss(labels, logits)) == pytest.approx(expected_loss, rel=1e-5)
    assert keras.ops.convert_to_numpy(objective.accuracy(labels, logits)).ravel().tolist() == [1.0, 0.0, 1.0]


# --- atomic checkpoints ------------------------------------------------------------------------


def test_a_failed_checkpoint_write_leaves_the_previous_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "best.weights.h5"
    model = build_model(TINY)
    save_weights_atomic(model, path)
    before = path.read_bytes()

    def crash_midway(filepath, *args, **kwargs):
        Path(filepath).write_bytes(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(model, "save_weights", crash_midway)
    with pytest.raises(OSError, match="disk full"):
        save_weights_atomic(model, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_a_checkpoint_round_trip_restores_the_weights(tmp_path):
    path = tmp_path / "best.weights.h5"
    model, other = build_model(TINY), build_model(TINY)
    save_weights_atomic(model, path)
    other.load_weights(path)
    for a, b in zip(model.get_weights(), other.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
