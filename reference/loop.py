"""What the three ways of training share: the ``History`` they return, clipping, early stopping, the epoch loop.

- ``History``: per-epoch results (``EPOCH_KEYS``) and why the run stopped (``STOP_*``).
- ``clip_gradients``: per-tensor (the document's) or global norm clipping.
- ``objective_for``: the loss and accuracy that go with a model's output layer;
  ``regularization_loss`` the sum of its penalties.
- ``BestWeights``: early stopping on ``val_loss``, best weights kept (in memory or in an atomic
  ``.weights.h5`` file, D6) and restored, and a stop on a non-finite loss.
- ``run_epochs``: the custom loops' epoch loop, driving Keras callbacks as ``fit`` does;
  ``build_optimizer`` spares ``fit`` a second trace of its step.

``reference.training`` builds the eager loop and ``fit`` from these, ``reference.trainer`` the
``Trainer``.
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

__all__ = [
    "CLIP_MODES",
    "EPOCH_KEYS",
    "STOP_CALLBACK",
    "STOP_EARLY",
    "STOP_MAX_EPOCHS",
    "STOP_NON_FINITE",
    "WEIGHTS_SUFFIX",
    "BestWeights",
    "History",
    "Objective",
    "build_optimizer",
    "clip_gradients",
    "objective_for",
    "regularization_loss",
    "run_epochs",
    "save_weights_atomic",
]

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
    ``stopped_reason`` is one of ``max_epochs``, ``early_stopping``,
    ``non_finite_loss`` or ``stopped_by_callback``.
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

    def finish(self, *, epochs: int, best_epoch: int | None, stopped_reason: str | None) -> History:
        """Fill in the stop fields after a run of at most ``epochs`` epochs; returns ``self``.

        ``stopped_reason`` is the early-stopping guard's (None when it did not stop the run): a run
        shorter than ``epochs`` without one was stopped by a callback.
        """
        self.stopped_epoch = len(self.loss) - 1
        self.best_epoch = best_epoch
        if stopped_reason is not None:
            self.stopped_reason = stopped_reason
        elif len(self.loss) < epochs:
            self.stopped_reason = STOP_CALLBACK
        return self

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


def _check_clip(clip: str | None, clip_norm: float) -> None:
    if clip is not None and clip not in CLIP_MODES:
        raise ValueError(f"Argument `clip` must be one of {CLIP_MODES} or None. Received: clip={clip!r}")
    if not clip_norm > 0:
        raise ValueError(f"Argument `clip_norm` must be > 0. Received: clip_norm={clip_norm}")


def _check_positive_int(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"Argument `{name}` must be a positive int. Received: {name}={value!r}")


def _check_input_dim(model: keras.Model, n_features: int, argument: str) -> None:
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


def build_optimizer(model: keras.Model) -> None:
    """Create a compiled model's optimizer variables now, before ``fit``.

    Keras 3 on TensorFlow without a distribution strategy creates them while tracing the first
    train step, and variables created during a trace make TensorFlow trace the step again: built
    beforehand, ``fit`` traces it once (same values; 0.73 s -> 0.50 s for a short ``train_fit``).
    """
    if model.optimizer is not None and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)


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
    return history.finish(epochs=epochs, best_epoch=guard.best_epoch, stopped_reason=guard.stopped_reason)
