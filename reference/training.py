"""Three ways to train one model, one ``History``: the document's eager loop, ``Trainer``, ``fit``.

- ``train_eager``: the document's basic loop: ``GradientTape`` per batch, no ``tf.function``;
  the epoch loss and accuracy are the unweighted means of the per-batch values, validation
  runs on the whole test split at once.
- ``train_trainer``: the document's ``AdvancedTrainer`` made to work (``reference.trainer``).
- ``train_fit``: ``model.fit`` with the equivalent callbacks; a thin ``GradientNormModel``
  wrapper adds the mean global gradient norm (and the same clipping) to fit's logs.

All three add the model's regularization losses to the loss (as ``fit`` does; the document's
loops never meet a regularized model), drive Keras callbacks at epoch level with the same
``logs`` keys (``EPOCH_KEYS``), and can stop early with ``patience``. ``TRAINING_WAYS`` maps a
name to each entry point.

Bad input is refused before anything is built: every argument is checked (``ValueError`` naming
it), the ``Split`` holds only finite numbers (checked where it is made), and its labels must
suit the output layer: in [0, 1] for one unit (BCE), whole numbers in [0, k) for k units.
Values that become non-finite while training (a learning rate of 1e10, a NaN that a fused
graph-mode relu hides from the loss) are caught at every epoch end by ``BestWeights``: the run
stops with ``stopped_reason = "non_finite"`` and a ``NonFiniteTrainingWarning``, and the model
holds finite weights (``reference.loop``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

from reference.data import DATA_SEED, Split, make_dataset
from reference.loop import (
    EPOCH_KEYS,
    BestWeights,
    History,
    _check_callbacks,
    _check_clip,
    _check_input_dim,
    _check_model,
    build_optimizer,
    clip_gradients,
    objective_for,
    regularization_loss,
    run_epochs,
)
from reference.monitor import current_learning_rate
from reference.trainer import Trainer
from reference.validation import check_array, check_bool, check_instance, check_int, fail

__all__ = ["TRAINING_WAYS", "GradientNormModel", "train_eager", "train_fit", "train_trainer"]


def _check_labels(model: keras.Model, split: Split) -> None:
    """Labels the objective can score: in [0, 1] for one output unit (BCE), classes in [0, k) for k units."""
    units = model.output_shape[-1]
    for name in ("y_train", "y_test"):
        labels = getattr(split, name)
        if units == 1:
            check_array(f"split.{name}", labels, low=0, high=1)
        else:
            check_array(f"split.{name}", labels, integral=True, low=0, high=units, high_open=True)


def _check_run(model, split, epochs, batch_size, optimizer, loss, callbacks, shuffle, seed) -> None:
    """What every way checks before it builds anything."""
    _check_model("model", model)
    check_instance("split", split, Split, "a reference.data.Split")
    check_int("epochs", epochs, low=1)
    check_int("batch_size", batch_size, low=1)
    check_instance(
        "optimizer", optimizer, (keras.optimizers.Optimizer, type(None)), "a keras Optimizer or None"
    )
    if loss is not None and not callable(loss):
        fail("loss", "a keras Loss, a callable or None", loss)
    _check_callbacks(callbacks)
    check_bool("shuffle", shuffle)
    check_int("seed", seed, low=0, optional=True)
    for name in ("x_train", "x_test"):
        if len(getattr(split, name)) == 0:
            fail("split", "a non-empty data set", getattr(split, name).shape, at=f".{name}.shape")
    _check_input_dim(model, split.n_features, "split", ".n_features")
    _check_labels(model, split)


def _optimizer(optimizer: keras.optimizers.Optimizer | None) -> keras.optimizers.Optimizer:
    return optimizer if optimizer is not None else keras.optimizers.Adam(learning_rate=1e-3)


def train_eager(
    model: keras.Model,
    split: Split,
    *,
    epochs: int,
    batch_size: int = 32,
    optimizer: keras.optimizers.Optimizer | None = None,
    loss: keras.losses.Loss | None = None,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    shuffle: bool = True,
    seed: int | None = DATA_SEED,
    patience: int | None = None,
    restore_best: bool = False,
    clip: str | None = None,
    clip_norm: float = 1.0,
    weights_path: str | os.PathLike | None = None,
) -> History:
    """The document's basic training loop, run eagerly.

    Per batch ``b``: ``L_b = loss(y_b, model(x_b)) + sum(model.losses)``, ``theta -= step(dL_b)``;
    the epoch loss is ``mean_b L_b`` (unweighted by batch size), validation is one pass over
    the whole test split. Defaults follow the document (no clipping, no early stopping,
    Adam(1e-3)); the other arguments are those of ``train_fit``.

    Raises:
        ValueError: an argument outside its domain (``epochs`` and ``batch_size`` integers >= 1,
            ``patience`` >= 0 or None, ``clip``, ``clip_norm``, ``weights_path``), an empty split,
            a feature count that does not match the model, or labels the output layer cannot score.
    """
    _check_run(model, split, epochs, batch_size, optimizer, loss, callbacks, shuffle, seed)
    _check_clip(clip, clip_norm)
    guard = BestWeights(patience, restore_best=restore_best, weights_path=weights_path)
    optimizer = _optimizer(optimizer)
    objective = objective_for(model, loss)
    dataset = make_dataset(split.x_train, split.y_train, batch_size, shuffle=shuffle, seed=seed)
    x_test, y_test = tf.constant(split.x_test), tf.constant(split.y_test)

    def run_epoch() -> dict:
        losses, accuracies, norms = [], [], []
        for x, y in dataset:
            with tf.GradientTape() as tape:
                predictions = model(x, training=True)
                batch_loss = objective.loss(y, predictions) + regularization_loss(model)
            gradients = tape.gradient(batch_loss, model.trainable_variables)
            norms.append(tf.linalg.global_norm(gradients))
            gradients = clip_gradients(gradients, clip, clip_norm)
            optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))
            losses.append(batch_loss)
            accuracies.append(tf.reduce_mean(objective.accuracy(y, predictions)))
        predictions = model(x_test, training=False)
        return {
            "loss": float(np.mean(losses)),
            "accuracy": float(np.mean(accuracies)),
            "val_loss": float(objective.loss(y_test, predictions) + regularization_loss(model)),
            "val_accuracy": float(tf.reduce_mean(objective.accuracy(y_test, predictions))),
            "gradient_norm": float(np.mean(norms)),
            "learning_rate": current_learning_rate(optimizer),
        }

    return run_epochs(model, epochs, run_epoch, callbacks, guard, optimizer=optimizer)


def train_trainer(
    model: keras.Model,
    split: Split,
    *,
    epochs: int,
    batch_size: int = 32,
    optimizer: keras.optimizers.Optimizer | None = None,
    loss: keras.losses.Loss | None = None,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    shuffle: bool = True,
    seed: int | None = DATA_SEED,
    patience: int | None = 10,
    restore_best: bool = True,
    clip: str | None = "per_tensor",
    clip_norm: float = 1.0,
    weights_path: str | os.PathLike | None = None,
    fused: bool = False,
) -> History:
    """``Trainer(...).train`` on ``split`` batched as the document batches it (validation batched too).

    Defaults are the document's ``AdvancedTrainer``: per-tensor clipping at 1.0, patience 10,
    best weights restored, one ``tf.function`` call per step (``fused=True``: one per epoch,
    ``Trainer``).

    Raises:
        ValueError: as ``train_eager``, or ``fused`` not a bool.
    """
    _check_run(model, split, epochs, batch_size, optimizer, loss, callbacks, shuffle, seed)
    trainer = Trainer(
        model,
        _optimizer(optimizer),
        loss,
        clip_norm=clip_norm,
        clip=clip,
        patience=patience,
        restore_best=restore_best,
        weights_path=weights_path,
        fused=fused,
    )
    train_dataset = make_dataset(split.x_train, split.y_train, batch_size, shuffle=shuffle, seed=seed)
    val_dataset = make_dataset(split.x_test, split.y_test, batch_size, shuffle=False)
    return trainer.train(train_dataset, val_dataset, epochs, callbacks=callbacks)


class GradientNormModel(keras.Model):
    """Wraps ``inner`` so that ``fit`` logs ``gradient_norm`` and clips like ``Trainer``.

    ``train_step`` is Keras's own (TensorFlow backend: ``compute_loss`` with the regularization
    losses, the loss metric weighted by batch size, ``apply_gradients``, compiled metrics) plus
    ``||g||`` (global norm before clipping) tracked in ``Mean(name="gradient_norm")`` and
    ``clip_gradients``. The loss metric is reached the public way, as Keras's guide to customizing
    ``fit`` does: the metric of ``self.metrics`` named ``loss``. The wrapper owns no weights:
    training it trains ``inner``.
    """

    def __init__(self, inner: keras.Model, *, clip: str | None = None, clip_norm: float = 1.0, **kwargs):
        _check_model("inner", inner)
        _check_clip(clip, clip_norm)
        super().__init__(**kwargs)
        self.inner, self.clip, self.clip_norm = inner, clip, clip_norm
        self.gradient_norm_tracker = keras.metrics.Mean(name="gradient_norm")

    def call(self, inputs, training=None):
        return self.inner(inputs, training=training)

    def train_step(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=True)
        self._loss_metric().update_state(loss, sample_weight=tf.shape(x)[0])
        gradients = tape.gradient(loss, self.trainable_weights)
        self.gradient_norm_tracker.update_state(tf.linalg.global_norm(gradients))
        gradients = clip_gradients(gradients, self.clip, self.clip_norm)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_weights, strict=True))
        return self.compute_metrics(x, y, y_pred, sample_weight=sample_weight)

    def _loss_metric(self) -> keras.metrics.Metric:
        return next(metric for metric in self.metrics if metric.name == "loss")

    def test_step(self, data):
        logs = super().test_step(data)
        logs.pop("gradient_norm", None)
        return logs


class _LearningRateToLogs(keras.callbacks.Callback):
    """Writes the optimizer's rate into fit's epoch logs, before the user's callbacks see them."""

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = current_learning_rate(self.model.optimizer)


def train_fit(
    model: keras.Model,
    split: Split,
    *,
    epochs: int,
    batch_size: int = 32,
    optimizer: keras.optimizers.Optimizer | None = None,
    loss: keras.losses.Loss | None = None,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    shuffle: bool = True,
    seed: int | None = DATA_SEED,
    patience: int | None = None,
    restore_best: bool = False,
    clip: str | None = None,
    clip_norm: float = 1.0,
    weights_path: str | os.PathLike | None = None,
) -> History:
    """``model.fit`` on ``split`` with ``BestWeights`` as the early-stopping callback.

    The batches are the same ``tf.data`` pipeline as the custom loops (``make_dataset``, same
    ``seed``). Callbacks see a ``GradientNormModel`` wrapping ``model`` (same variables).

    Args:
        model: a built Keras model; its weights are trained in place.
        split: train and test arrays; the test split is the validation data.
        epochs, batch_size: the usual; both must be positive ints.
        optimizer: default ``Adam(1e-3)``.
        loss: default from the output layer (``objective_for``).
        callbacks: Keras callbacks, driven at epoch level.
        shuffle, seed: shuffling of the training batches.
        patience: early stopping on ``val_loss``; ``None`` never stops early.
        restore_best: load the best-``val_loss`` weights at the end.
        clip, clip_norm: ``clip_gradients`` before each update.
        weights_path: keep the best weights in this ``.weights.h5`` file instead of memory.

    Raises:
        ValueError: as ``train_eager``.
    """
    _check_run(model, split, epochs, batch_size, optimizer, loss, callbacks, shuffle, seed)
    guard = BestWeights(patience, restore_best=restore_best, weights_path=weights_path)
    objective = objective_for(model, loss)
    fit_model = GradientNormModel(model, clip=clip, clip_norm=clip_norm)
    fit_model.compile(
        optimizer=_optimizer(optimizer), loss=objective.loss, metrics=[objective.accuracy_metric()]
    )
    build_optimizer(fit_model)
    train_dataset = make_dataset(split.x_train, split.y_train, batch_size, shuffle=shuffle, seed=seed)
    val_dataset = make_dataset(split.x_test, split.y_test, batch_size, shuffle=False)
    keras_history = fit_model.fit(
        train_dataset,
        validation_data=val_dataset,
        epochs=epochs,
        shuffle=False,  # the tf.data pipeline shuffles
        verbose=0,
        callbacks=[_LearningRateToLogs(), *callbacks, guard],
    )
    history = History(**{key: [float(v) for v in keras_history.history[key]] for key in EPOCH_KEYS})
    return history.finish(epochs=epochs, best_epoch=guard.best_epoch, stopped_reason=guard.stopped_reason)


TRAINING_WAYS = {"eager": train_eager, "trainer": train_trainer, "fit": train_fit}
