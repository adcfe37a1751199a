"""What the three ways of training share: the ``History`` they return, clipping, early stopping, the epoch loop.

- ``History``: per-epoch results (``EPOCH_KEYS``) and why the run stopped (``STOP_*``).
- ``clip_gradients``: per-tensor (the document's) or global norm clipping.
- ``objective_for``: the loss and accuracy that go with a model's output layer;
  ``regularization_loss`` the sum of its penalties.
- ``BestWeights``: early stopping on ``val_loss``, best weights kept (in memory or in an atomic
  ``.weights.h5`` file, D6) and restored, and the guard against non-finite training: a NaN or
  infinite loss, gradient norm or weight stops the run with a ``NonFiniteTrainingWarning`` and
  leaves the last finite weights in the model.
- ``run_epochs``: the custom loops' epoch loop, driving Keras callbacks as ``fit`` does;
  ``build_optimizer`` spares ``fit`` a second trace of its step.

``reference.training`` builds the eager loop and ``fit`` from these, ``reference.trainer`` the
``Trainer``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from reference.files import atomic_path
from reference.validation import (
    check_bool,
    check_choice,
    check_float,
    check_instance,
    check_int,
    check_path,
    fail,
)

__all__ = [
    "CLIP_MODES",
    "EPOCH_KEYS",
    "STOP_CALLBACK",
    "STOP_EARLY",
    "STOP_MAX_EPOCHS",
    "STOP_NON_FINITE",
    "STOP_REASONS",
    "WEIGHTS_SUFFIX",
    "BestWeights",
    "History",
    "NonFiniteTrainingWarning",
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
STOP_NON_FINITE = "non_finite"
STOP_CALLBACK = "stopped_by_callback"
STOP_REASONS = (STOP_MAX_EPOCHS, STOP_EARLY, STOP_NON_FINITE, STOP_CALLBACK)
# What the guard checks at every epoch end, in the order the warning names them.
_GUARDED_LOGS = ("loss", "val_loss", "gradient_norm")


class NonFiniteTrainingWarning(RuntimeWarning):
    """A training run met a NaN or infinite loss, gradient norm or weight and was stopped.

    The message names the epoch and the quantities, and the epoch whose weights were restored.
    """


@dataclass
class History:
    """Per-epoch results of a training run, the same for every way of training.

    ``gradient_norm`` is the mean over the epoch's steps of the global gradient norm before
    clipping; ``learning_rate`` is the optimizer's rate at epoch end. ``stopped_epoch`` is the
    index of the last epoch run, ``best_epoch`` the index of the lowest ``val_loss`` among the
    epochs whose values and weights were all finite. ``stopped_reason`` is one of
    ``STOP_REASONS``: ``max_epochs``, ``early_stopping``, ``non_finite`` (a NaN or infinite loss,
    gradient norm or weight; ``STOP_NON_FINITE``) or ``stopped_by_callback``.
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

    def __post_init__(self):
        check_choice("stopped_reason", self.stopped_reason, STOP_REASONS)

    def record(self, logs: dict) -> None:
        """Append one epoch's ``logs`` (the keys of ``EPOCH_KEYS``)."""
        check_instance("logs", logs, Mapping, "a mapping with the keys of EPOCH_KEYS")
        missing = [key for key in EPOCH_KEYS if key not in logs]
        if missing:
            fail("logs", f"a mapping with every key of EPOCH_KEYS (missing {missing})", sorted(logs))
        for key in EPOCH_KEYS:
            getattr(self, key).append(float(logs[key]))

    def finish(self, *, epochs: int, best_epoch: int | None, stopped_reason: str | None) -> History:
        """Fill in the stop fields after a run of at most ``epochs`` epochs; returns ``self``.

        ``stopped_reason`` is the early-stopping guard's (None when it did not stop the run): a run
        shorter than ``epochs`` without one was stopped by a callback.
        """
        check_int("epochs", epochs, low=1)
        check_int("best_epoch", best_epoch, low=0, optional=True)
        if stopped_reason is not None:
            check_choice("stopped_reason", stopped_reason, STOP_REASONS)
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
    The arguments are checked in Python, so inside a ``tf.function`` only while tracing.

    Raises:
        ValueError: ``clip`` not one of ``CLIP_MODES`` or None, ``clip_norm`` not a finite number > 0.
    """
    _check_clip(clip, clip_norm)
    if clip is None:
        return list(gradients)
    if clip == "global":
        return tf.clip_by_global_norm(list(gradients), clip_norm)[0]
    return [tf.clip_by_norm(g, clip_norm) for g in gradients]


def _check_clip(clip: str | None, clip_norm: float) -> None:
    check_choice("clip", clip, (*CLIP_MODES, None))
    check_float("clip_norm", clip_norm, low=0.0, low_open=True)


def _check_model(name: str, model) -> keras.Model:
    return check_instance(name, model, keras.Model, "a keras.Model")


def _check_callbacks(callbacks) -> None:
    requirement = "a sequence of keras.callbacks.Callback"
    if not isinstance(callbacks, Sequence) or isinstance(callbacks, str):
        fail("callbacks", requirement, callbacks)
    for callback in callbacks:
        check_instance("callbacks", callback, keras.callbacks.Callback, requirement)


def _check_input_dim(model: keras.Model, n_features: int, argument: str, at: str) -> None:
    expected = model.input_shape[-1]
    if expected is not None and expected != n_features:
        fail(argument, f"data with the model's {expected} input features", n_features, at=at)


def _check_weights_path(weights_path) -> Path | None:
    path = check_path("weights_path", weights_path, optional=True)
    if path is not None and not str(path).endswith(WEIGHTS_SUFFIX):
        fail("weights_path", f"a path ending in `{WEIGHTS_SUFFIX}` (Keras 3, defect D6) or None", str(path))
    return path


@dataclass(frozen=True)
class Objective:
    """The loss and accuracy that go with a model's output layer."""

    loss: keras.losses.Loss
    accuracy: Callable  # per-sample accuracy: accuracy(y_true, y_pred) -> tensor
    accuracy_metric: Callable[[], keras.metrics.Metric]

    def __post_init__(self):
        for name in ("loss", "accuracy", "accuracy_metric"):
            if not callable(getattr(self, name)):
                fail(name, "callable", getattr(self, name))


def objective_for(model: keras.Model, loss: keras.losses.Loss | None = None) -> Objective:
    """BCE and binary accuracy at 0.5 for one sigmoid unit; sparse CE and accuracy for softmax.

    A linear output is taken as logits (``from_logits=True``, binary threshold 0).

    Raises:
        ValueError: ``model`` is not a Keras model, or ``loss`` is neither None nor callable.
    """
    _check_model("model", model)
    if loss is not None and not callable(loss):
        fail("loss", "a keras Loss, a callable or None", loss)
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
    _check_model("model", model)
    return tf.add_n(model.losses) if model.losses else tf.constant(0.0)


def build_optimizer(model: keras.Model) -> None:
    """Create a compiled model's optimizer variables now, before ``fit``.

    Keras 3 on TensorFlow without a distribution strategy creates them while tracing the first
    train step, and variables created during a trace make TensorFlow trace the step again: built
    beforehand, ``fit`` traces it once (same values; 0.73 s -> 0.50 s for a short ``train_fit``).
    """
    _check_model("model", model)
    if model.optimizer is not None and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)


def save_weights_atomic(model: keras.Model, path: str | os.PathLike) -> None:
    """``model.save_weights(path)`` written whole or not at all (temporary file, then os.replace).

    Raises:
        ValueError: ``model`` is not a Keras model, or ``path`` does not end in ``.weights.h5``.
    """
    _check_model("model", model)
    path = check_path("path", path, kind="file")
    if not str(path).endswith(WEIGHTS_SUFFIX):
        fail("path", f"a path ending in `{WEIGHTS_SUFFIX}` (Keras 3, defect D6)", str(path))
    with atomic_path(path, keep_suffix=WEIGHTS_SUFFIX) as temporary:
        model.save_weights(temporary, overwrite=True)


def _non_finite(logs: Mapping, weights: list[np.ndarray]) -> tuple[list[str], dict[str, float]]:
    """The guarded quantities that are NaN or infinite, and the logged values (a missing loss is NaN)."""
    values = {
        "loss": math.nan,
        "val_loss": math.nan,
        **{k: float(logs[k]) for k in _GUARDED_LOGS if k in logs},
    }
    bad = [key for key, value in values.items() if not math.isfinite(value)]
    if not all(np.all(np.isfinite(w)) for w in weights):
        bad.append("weights")
    return bad, values


class BestWeights(keras.callbacks.Callback):
    """Early stopping on ``val_loss`` with the best weights kept, and the guard against non-finite training.

    An epoch improves when ``val_loss < best``. Training stops when ``patience`` epochs in a row
    have not improved (at epoch ``best_epoch + patience``, as the document's counter and Keras's
    ``EarlyStopping``); ``patience=None`` never stops early. Best weights live in memory, or in
    ``weights_path`` (a ``.weights.h5`` file, written atomically).

    The guard: at every epoch end the ``loss``, ``val_loss`` and (when logged) ``gradient_norm``
    and every weight of the model must be finite. A loss alone does not do: in graph mode on CPU
    the fused matmul + bias + relu turns a NaN input into 0, so the loss stays finite while the
    gradients, then the weights, are NaN. Otherwise training stops at once
    (``stopped_reason = STOP_NON_FINITE``) with a ``NonFiniteTrainingWarning`` naming the epoch and
    the quantities, and the model gets finite weights back: the best ones with ``restore_best``
    (only an all-finite epoch can be the best), else the last finite ones, those at the end of the
    previous epoch (the initial weights if it was the first), set bit for bit. The optimizer's
    own state (Adam's moments) is not restored: it may hold NaN; give a new run a new optimizer.
    """

    def __init__(
        self,
        patience: int | None = None,
        *,
        restore_best: bool = True,
        weights_path: str | os.PathLike | None = None,
    ):
        super().__init__()
        self.patience = check_int("patience", patience, low=0, optional=True)
        self.restore_best = check_bool("restore_best", restore_best)
        self.weights_path = _check_weights_path(weights_path)
        self._reset()

    def _reset(self) -> None:
        self.best = math.inf
        self.best_epoch: int | None = None
        self.wait = 0
        self.stopped_reason: str | None = None
        self._best_weights: list | None = None
        self._last_finite: list | None = None
        self._last_finite_epoch: int | None = None

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
        self._last_finite = self.model.get_weights()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        weights = self.model.get_weights()
        bad, values = _non_finite(logs, weights)
        if bad:
            self._stop_non_finite(epoch, bad, values)
            return
        self._last_finite, self._last_finite_epoch = weights, epoch
        current = logs["val_loss"]
        self.wait += 1
        if current < self.best:
            self.best, self.best_epoch, self.wait = current, epoch, 0
            self._keep()
        elif self.patience is not None and self.wait >= self.patience:
            self.stopped_reason = STOP_EARLY
            self.model.stop_training = True

    def _stop_non_finite(self, epoch: int, bad: list[str], values: Mapping[str, float]) -> None:
        self.stopped_reason = STOP_NON_FINITE
        self.model.stop_training = True
        if self.restore_best:
            self._restore()
            restored = f"the best weights, from epoch {self.best_epoch}"
        else:
            self.model.set_weights(self._last_finite)
            restored = f"the last finite weights, from epoch {self._last_finite_epoch}"
        logged = ", ".join(f"{key}={value}" for key, value in values.items())
        warnings.warn(
            f"Non-finite {', '.join(bad)} at epoch {epoch} ({logged}). Training stopped; the model holds "
            f"{restored} (None: the initial weights).",
            NonFiniteTrainingWarning,
            stacklevel=2,
        )

    def on_train_end(self, logs=None):
        if self.restore_best and self.stopped_reason != STOP_NON_FINITE:
            self._restore()


def run_epochs(
    model: keras.Model,
    epochs: int,
    run_epoch: Callable[[], dict],
    callbacks: Sequence[keras.callbacks.Callback],
    guard: BestWeights,
    *,
    optimizer: keras.optimizers.Optimizer | None = None,
) -> History:
    """The custom loops' epoch loop: drive callbacks as ``fit`` does, honor ``model.stop_training``.

    ``run_epoch`` trains and validates one epoch and returns its logs (``EPOCH_KEYS``).
    ``optimizer``, the one that trains, is ``model.optimizer`` while the loop runs, as under ``fit``:
    Keras's ``LearningRateScheduler``, ``ReduceLROnPlateau`` and ``TensorBoard`` read or set the
    rate there, and an uncompiled model has no such attribute (``AttributeError``), a model compiled
    with another optimizer would have its rate changed instead. The model's own is put back after.

    Raises:
        ValueError: a bad ``model``, ``epochs``, ``run_epoch``, ``callbacks``, ``guard`` or ``optimizer``.
    """
    _check_model("model", model)
    check_int("epochs", epochs, low=1)
    if not callable(run_epoch):
        fail("run_epoch", "callable", run_epoch)
    _check_callbacks(callbacks)
    check_instance("guard", guard, BestWeights, "a BestWeights")
    check_instance(
        "optimizer", optimizer, (keras.optimizers.Optimizer, type(None)), "a keras Optimizer or None"
    )
    with _training_optimizer(model, optimizer):
        callback_list = keras.callbacks.CallbackList(
            [*callbacks, guard], model=model, epochs=epochs, verbose=0
        )
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


@contextlib.contextmanager
def _training_optimizer(model: keras.Model, optimizer: keras.optimizers.Optimizer | None):
    """``model.optimizer`` is ``optimizer`` inside the block (unchanged for ``None``), as it was after."""
    if optimizer is None:
        yield
        return
    missing = object()
    previous = getattr(model, "optimizer", missing)
    model.optimizer = optimizer
    try:
        yield
    finally:
        if previous is missing:
            del model.optimizer
        else:
            model.optimizer = previous
