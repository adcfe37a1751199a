"""The document's ``AdvancedTrainer`` made to work on Keras 3, and what every training loop shares.

The document's trainer fails twice on TensorFlow 2.21: ``metric.reset_states`` is gone
(D5, it is ``reset_state()``) and ``save_weights('best_model_weights.h5')`` raises
``ValueError`` (D6, weights files end in ``.weights.h5``). ``Trainer`` fixes both, keeps
the best weights in memory unless a ``.weights.h5`` path is given (written atomically),
and drives Keras callbacks like ``fit`` does.

Shared by the three ways of ``reference.training``: the ``History`` they return, gradient
clipping, the ``BestWeights`` callback (early stopping, best-weight restore, non-finite
loss stop) and the epoch loop that drives the callbacks.
"""

from __future__ import annotations

import dataclasses
import math
import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import keras
import tensorflow as tf

from reference.files import atomic_path
from reference.monitor import current_learning_rate

EPOCH_KEYS = ("loss", "accuracy", "val_loss", "val_accuracy", "gradient_norm", "learning_rate")
CLIP_MODES = ("per_tensor", "global")
WEIGHTS_SUFFIX = ".weights.h5"

STOP_MAX_EPOCHS = "max_epochs"
STOP_EARLY = "early_stopping"
STOP_NON_FINITE = "non_finite_loss"
STOP_CALLBACK = "stopped_by_callback"


@dataclass
class History:
    """Per-epoch results of a training run, the same for every way of training.

    ``gradient_norm`` is the mean over the epoch's steps of the global gradient norm before
    clipping; ``learning_rate`` is the optimizer's rate at epoch end. ``stopped_epoch`` is the
    index of the last epoch run, ``best_epoch`` the index of the lowest finite ``val_loss``.
    ``stopped_reason`` is one of ``max_epochs``, ``early_stopping``, ``non_finite_loss`` or
    ``stopped_by_callback``.
    """

    loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    gradient_norm: list[float] = field(default_factory=list)
    learning_rate: list[float] = field(default_factory=list)
    stopped_epoch: int | None = None
    best_epoch: int | None = None
    stopped_reason: str = STOP_MAX_EPOCHS

    def record(self, logs: dict) -> None:
        """Append one epoch's ``logs`` (the keys of ``EPOCH_KEYS``)."""
        for key in EPOCH_KEYS:
            getattr(self, key).append(float(logs[key]))

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def clip_gradients(gradients: Sequence, clip: str | None, clip_norm: float) -> list:
    """Clip gradients by norm.

    ``per_tensor`` (the document's): ``g_i * min(1, c / ||g_i||)`` for each tensor.
    ``global``: every ``g_i * min(1, c / sqrt(sum_j ||g_j||^2))``. ``None``: unchanged.
    """
    if clip is None:
        return list(gradients)
    if clip == "global":
        return tf.clip_by_global_norm(list(gradients), clip_norm)[0]
    return [tf.clip_by_norm(g, clip_norm) for g in gradients]


def check_clip(clip: str | None, clip_norm: float) -> None:
    if clip is not None and clip not in CLIP_MODES:
        raise ValueError(f"Argument `clip` must be one of {CLIP_MODES} or None. Received: clip={clip!r}")
    if not clip_norm > 0:
        raise ValueError(f"Argument `clip_norm` must be > 0. Received: clip_norm={clip_norm}")


def check_positive_int(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"Argument `{name}` must be a positive int. Received: {name}={value!r}")


def check_input_dim(model: keras.Model, n_features: int, argument: str) -> None:
    expected = model.input_shape[-1]
    if expected is not None and expected != n_features:
        raise ValueError(
            f"Argument `{argument}` has {n_features} features but the model expects "
            f"input_dim={expected}. Received: n_features={n_features}"
        )


@dataclass(frozen=True)
class Objective:
    """The loss and accuracy that go with a model's output layer."""

    loss: keras.losses.Loss
    accuracy: Callable  # per-sample accuracy: accuracy(y_true, y_pred) -> tensor
    accuracy_metric: Callable[[], keras.metrics.Metric]


def objective_for(model: keras.Model, loss: keras.losses.Loss | None = None) -> Objective:
    """BCE and binary accuracy at 0.5 for one sigmoid unit; sparse CE and accuracy for softmax.

    A linear output is taken as logits (``from_logits=True``, binary threshold 0).
    """
    activation = getattr(getattr(model.layers[-1], "activation", None), "__name__", "linear")
    if model.output_shape[-1] == 1:
        logits = activation != "sigmoid"
        threshold = 0.0 if logits else 0.5
        return Objective(
            loss or keras.losses.BinaryCrossentropy(from_logits=logits),
            lambda y, p: keras.metrics.binary_accuracy(y, p, threshold=threshold),
            lambda: keras.metrics.BinaryAccuracy(name="accuracy", threshold=threshold),
        )
    return Objective(
        loss or keras.losses.SparseCategoricalCrossentropy(from_logits=activation != "softmax"),
        keras.metrics.sparse_categorical_accuracy,
        lambda: keras.metrics.SparseCategoricalAccuracy(name="accuracy"),
    )


def regularization_loss(model: keras.Model):
    """The sum of the model's added losses (kernel regularizers), 0 when there are none."""
    return tf.add_n(model.losses) if model.losses else tf.constant(0.0)


def save_weights_atomic(model: keras.Model, path: str | os.PathLike) -> None:
    """``model.save_weights(path)`` written whole or not at all (temporary file, then os.replace)."""
    with atomic_path(path, keep_suffix=WEIGHTS_SUFFIX) as temporary:
        model.save_weights(temporary, overwrite=True)


class BestWeights(keras.callbacks.Callback):
    """Early stopping on ``val_loss`` with the best weights kept, and a stop on a non-finite loss.

    An epoch improves when ``val_loss < best``. Training stops when ``patience`` epochs in a row
    have not improved (at epoch ``best_epoch + patience``, as the document's counter and Keras's
    ``EarlyStopping``); ``patience=None`` never stops early. A NaN or infinite ``loss`` or
    ``val_loss`` stops training at once with a ``RuntimeWarning`` and restores the best weights so
    far (the initial ones if no epoch was finite). Best weights live in memory, or in
    ``weights_path`` (a ``.weights.h5`` file, written atomically).
    """

    def __init__(
        self,
        patience: int | None = None,
        *,
        restore_best: bool = True,
        weights_path: str | os.PathLike | None = None,
    ):
        super().__init__()
        if patience is not None and (
            isinstance(patience, bool) or not isinstance(patience, int) or patience < 0
        ):
            raise ValueError(
                f"Argument `patience` must be an int >= 0 or None. Received: patience={patience!r}"
            )
        if weights_path is not None and not str(weights_path).endswith(WEIGHTS_SUFFIX):
            raise ValueError(
                f"Argument `weights_path` must end in `{WEIGHTS_SUFFIX}` (Keras 3, defect D6). "
                f"Received: weights_path={str(weights_path)!r}"
            )
        self.patience = patience
        self.restore_best = restore_best
        self.weights_path = None if weights_path is None else Path(weights_path)
        self._reset()

    def _reset(self) -> None:
        self.best = math.inf
        self.best_epoch: int | None = None
        self.wait = 0
        self.stopped_reason: str | None = None
        self._best_weights: list | None = None

    def _keep(self) -> None:
        if self.weights_path is None:
            self._best_weights = self.model.get_weights()
        else:
            save_weights_atomic(self.model, self.weights_path)

    def _restore(self) -> None:
        if self.weights_path is None:
            self.model.set_weights(self._best_weights)
        else:
            self.model.load_weights(self.weights_path)

    def on_train_begin(self, logs=None):
        self._reset()
        self._keep()

    def on_epoch_end(self, epoch, logs=None):
        loss, current = (logs or {}).get("loss", math.nan), (logs or {}).get("val_loss", math.nan)
        if not (math.isfinite(loss) and math.isfinite(current)):
            self.stopped_reason = STOP_NON_FINITE
            self.model.stop_training = True
            self._restore()
            warnings.warn(
                f"Non-finite loss at epoch {epoch}: loss={loss}, val_loss={current}. Training "
                f"stopped; weights restored from epoch {self.best_epoch} (None: the initial weights).",
                RuntimeWarning,
                stacklevel=2,
            )
            return
        self.wait += 1
        if current < self.best:
            self.best, self.best_epoch, self.wait = current, epoch, 0
            self._keep()
        elif self.patience is not None and self.wait >= self.patience:
            self.stopped_reason = STOP_EARLY
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.restore_best and self.stopped_reason != STOP_NON_FINITE:
            self._restore()


def finish_history(history: History, guard: BestWeights, epochs: int) -> History:
    """Fill in the stop fields of ``history`` from the guard and the number of epochs run."""
    history.stopped_epoch = len(history.loss) - 1
    history.best_epoch = guard.best_epoch
    if guard.stopped_reason is not None:
        history.stopped_reason = guard.stopped_reason
    elif len(history.loss) < epochs:
        history.stopped_reason = STOP_CALLBACK
    return history


def run_epochs(
    model: keras.Model,
    epochs: int,
    run_epoch: Callable[[], dict],
    callbacks: Sequence[keras.callbacks.Callback],
    guard: BestWeights,
) -> History:
    """The custom loops' epoch loop: drive callbacks as ``fit`` does, honor ``model.stop_training``.

    ``run_epoch`` trains and validates one epoch and returns its logs (``EPOCH_KEYS``).
    """
    callback_list = keras.callbacks.CallbackList([*callbacks, guard], model=model, epochs=epochs, verbose=0)
    history = History()
    model.stop_training = False
    callback_list.on_train_begin()
    for epoch in range(epochs):
        callback_list.on_epoch_begin(epoch)
        logs = run_epoch()
        callback_list.on_epoch_end(epoch, logs)
        history.record(logs)
        if model.stop_training:
            break
    callback_list.on_train_end()
    return finish_history(history, guard, epochs)


class Trainer:
    """The document's ``AdvancedTrainer``: ``tf.function`` steps, clipping, early stopping.

    Each step: ``L = loss(y, model(x)) + sum(model.losses)``, ``g = dL/dtheta``, the global norm
    ``||g||`` is recorded, ``g`` is clipped (``clip_gradients``) and applied. Loss metrics are
    weighted by batch size (as ``fit``), reset every epoch with ``reset_state`` (D5).

    Args:
        model: a built Keras model.
        optimizer: a Keras optimizer.
        loss: a Keras loss; default from the output layer (``objective_for``).
        clip_norm: the norm bound ``c``.
        clip: ``"per_tensor"`` (the document's ``tf.clip_by_norm``), ``"global"`` or ``None``.
        patience: epochs without improvement of ``val_loss`` before stopping; ``None`` never stops.
        restore_best: load the best weights at the end.
        weights_path: keep best weights in this ``.weights.h5`` file instead of memory (D6).

    Raises:
        ValueError: bad ``clip``, ``clip_norm``, ``patience`` or ``weights_path``.
    """

    def __init__(
        self,
        model: keras.Model,
        optimizer: keras.optimizers.Optimizer,
        loss: keras.losses.Loss | None = None,
        *,
        clip_norm: float = 1.0,
        clip: str | None = "per_tensor",
        patience: int | None = 10,
        restore_best: bool = True,
        weights_path: str | os.PathLike | None = None,
    ):
        check_clip(clip, clip_norm)
        self.guard = BestWeights(patience, restore_best=restore_best, weights_path=weights_path)
        self.model, self.optimizer = model, optimizer
        self.clip, self.clip_norm = clip, clip_norm
        self.objective = objective_for(model, loss)
        self.train_loss = keras.metrics.Mean(name="loss")
        self.train_accuracy = self.objective.accuracy_metric()
        self.val_loss = keras.metrics.Mean(name="val_loss")
        self.val_accuracy = self.objective.accuracy_metric()
        self.gradient_norm = keras.metrics.Mean(name="gradient_norm")
        self._metrics = (
            self.train_loss,
            self.train_accuracy,
            self.val_loss,
            self.val_accuracy,
            self.gradient_norm,
        )
        self.train_step = tf.function(self._train_step, reduce_retracing=True)
        self.val_step = tf.function(self._val_step, reduce_retracing=True)

    def loss_and_gradients(self, x, y):
        """``(L, predictions, dL/dtheta)`` on one batch in training mode, before clipping."""
        with tf.GradientTape() as tape:
            predictions = self.model(x, training=True)
            loss = self.objective.loss(y, predictions) + regularization_loss(self.model)
        return loss, predictions, tape.gradient(loss, self.model.trainable_variables)

    def _train_step(self, x, y):
        loss, predictions, gradients = self.loss_and_gradients(x, y)
        self.gradient_norm.update_state(tf.linalg.global_norm(gradients))
        gradients = clip_gradients(gradients, self.clip, self.clip_norm)
        self.optimizer.apply_gradients(zip(gradients, self.model.trainable_variables, strict=True))
        self.train_loss.update_state(loss, sample_weight=tf.shape(x)[0])
        self.train_accuracy.update_state(y, predictions)
        return loss

    def _val_step(self, x, y):
        predictions = self.model(x, training=False)
        loss = self.objective.loss(y, predictions) + regularization_loss(self.model)
        self.val_loss.update_state(loss, sample_weight=tf.shape(x)[0])
        self.val_accuracy.update_state(y, predictions)
        return loss

    def _run_epoch(self, train_dataset: tf.data.Dataset, val_dataset: tf.data.Dataset) -> dict:
        for metric in self._metrics:
            metric.reset_state()
        for x, y in train_dataset:
            self.train_step(x, y)
        if int(self.train_loss.count) == 0:
            raise ValueError("Argument `train_dataset` is empty: an epoch had no batches.")
        for x, y in val_dataset:
            self.val_step(x, y)
        if int(self.val_loss.count) == 0:
            raise ValueError("Argument `val_dataset` is empty: validation had no batches.")
        results = {m.name: float(m.result()) for m in (self.train_loss, self.val_loss, self.gradient_norm)}
        results["accuracy"] = float(self.train_accuracy.result())
        results["val_accuracy"] = float(self.val_accuracy.result())
        results["learning_rate"] = current_learning_rate(self.optimizer)
        return results

    def train(
        self,
        train_dataset: tf.data.Dataset,
        val_dataset: tf.data.Dataset,
        epochs: int,
        callbacks: Sequence[keras.callbacks.Callback] = (),
    ) -> History:
        """Train for at most ``epochs`` epochs; returns the ``History``.

        Raises:
            ValueError: non-positive ``epochs``, empty data sets, or feature counts that do
                not match the model.
        """
        check_positive_int("epochs", epochs)
        for name, dataset in (("train_dataset", train_dataset), ("val_dataset", val_dataset)):
            check_input_dim(self.model, dataset.element_spec[0].shape[-1], name)
            if int(dataset.cardinality()) == 0:
                raise ValueError(f"Argument `{name}` is empty. Received: cardinality=0")
        if not self.optimizer.built:
            self.optimizer.build(self.model.trainable_variables)
        # One trace per step function: the batch dimension of the specs is None.
        self.train_step = tf.function(self._train_step, input_signature=list(train_dataset.element_spec))
        self.val_step = tf.function(self._val_step, input_signature=list(val_dataset.element_spec))
        return run_epochs(
            self.model, epochs, lambda: self._run_epoch(train_dataset, val_dataset), callbacks, self.guard
        )
