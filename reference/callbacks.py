"""The document's callbacks on Keras 3, with one owner of the learning rate (defect D9).

The document trains its callbacks demo with six Keras callbacks (``reference.document.document_callbacks``,
verbatim). Two of them write the
learning rate: ``ReduceLROnPlateau`` multiplies it by ``factor`` at the end of an epoch
whose ``val_loss`` stalled, and ``LearningRateScheduler(lambda epoch: 0.001 * 0.9**epoch)``
overwrites it at the start of every epoch. The scheduler's absolute formula ignores the
current rate, so every plateau cut is undone one epoch later (D9):

    lr_e = 0.001 * 0.9**e                        (document: cuts have no effect)
    lr_e = lr0 * 0.9**e * factor**cuts_before(e)  (``make_callbacks``: cuts persist)

``make_callbacks`` keeps both behaviours the document wanted (a per-epoch decay and a
plateau cut) by giving the VALUE of the rate a single owner, the optimizer's own variable:
neither callback holds an absolute copy, both apply a relative change to it
(``MultiplicativeDecay`` reads the ``lr`` argument that ``LearningRateScheduler`` passes as
``schedule(epoch, lr)``). With ``lr_decay=None`` the scheduler is dropped and
``ReduceLROnPlateau`` alone owns the rate. Why not the alternatives: dropping the scheduler
by default loses the document's decay, and an optimizer ``LearningRateSchedule`` cannot be
cut at all (``optimizer.learning_rate = x`` raises ``TypeError`` for a schedule).

The document's order has a second, smaller effect: ``ReduceLROnPlateau`` logs the rate and
then cuts it, and the scheduler after it in the list overwrites ``logs["learning_rate"]``
with the cut value, so ``History`` reports the cut rate for an epoch that ran at the old one.
``make_callbacks`` puts the scheduler first.

Other Keras 3 facts this module builds on (checked on Keras 3.15):
- ``ModelCheckpoint('best_model.h5', save_weights_only=False)`` still works (from Keras 3.8, the
  suite's floor; before, it refuses the name): it writes the legacy HDF5 format with a "legacy"
  warning. ``make_callbacks`` writes ``best_model.keras``.
- ``ModelCheckpoint`` saves with ``open(path, "wb")``: an exception during saving leaves a
  truncated archive (no weights) in place of the previous best model.
  ``AtomicModelCheckpoint`` lets it write into a staging folder next to the target and ``os.replace``-s
  the file.
- ``TensorBoard`` needs the ``tensorboard`` package (D8). ``write_graph=True`` writes the
  model config (the "keras" tag) but no op graph: Keras 3's train function is not a
  ``tf.function`` with a concrete graph. ``write_images=True`` adds ``.../image`` tags.
- ``CSVLogger`` streams one row per epoch (a log, not a checkpoint: it is not atomic).
- ``EarlyStopping`` has no "stop once good enough" mode (its ``baseline`` is the opposite),
  hence ``ThresholdStopping``.
"""

from __future__ import annotations

import logging
import math
import os
import secrets
import shutil
import time

import keras
import numpy as np

from reference.data import load_mnist
from reference.document import document_callbacks
from reference.loop import build_optimizer
from reference.models import build_model, document_model
from reference.validation import check_bool, check_choice, check_float, check_int, check_path, check_str, fail

__all__ = [
    "CHECKPOINT_NAME",
    "CSV_NAME",
    "DOCUMENT_DECAY",
    "DOCUMENT_INITIAL_LR",
    "TENSORBOARD_DIR",
    "AtomicModelCheckpoint",
    "EpochTimer",
    "MultiplicativeDecay",
    "ThresholdStopping",
    "demonstrate_callbacks",
    "make_callbacks",
]

logger = logging.getLogger(__name__)

DOCUMENT_INITIAL_LR = 0.001
DOCUMENT_DECAY = 0.9
CHECKPOINT_NAME = "best_model.keras"
CSV_NAME = "training_log.csv"
TENSORBOARD_DIR = "logs"


class MultiplicativeDecay:
    """A ``LearningRateScheduler`` function that decays the CURRENT rate (keeps plateau cuts).

    schedule(0, lr) = lr;  schedule(e, lr) = max(lr * factor, min_lr) for e > 0.

    Args:
        factor: decay per epoch, in (0, 1].
        min_lr: floor of the rate, >= 0 (use ``ReduceLROnPlateau``'s ``min_lr``).

    Raises:
        ValueError: ``factor`` outside (0, 1] or negative ``min_lr``.
    """

    def __init__(self, factor: float = DOCUMENT_DECAY, min_lr: float = 0.0):
        self.factor = check_float("factor", factor, low=0.0, high=1.0, low_open=True)
        self.min_lr = check_float("min_lr", min_lr, low=0.0)

    def __call__(self, epoch: int, lr: float) -> float:
        if epoch == 0:
            return float(lr)
        return max(float(lr) * self.factor, self.min_lr)


class AtomicModelCheckpoint(keras.callbacks.ModelCheckpoint):
    """``keras.callbacks.ModelCheckpoint`` whose files are written whole or not at all.

    Keras's ``ModelCheckpoint`` saves into a hidden staging folder next to the target
    (``.checkpoint-staging-<random>``); after each hook that may save (``on_epoch_end``,
    ``on_train_batch_end``) the file it wrote is moved over the target with ``os.replace`` (atomic
    on POSIX and Windows for one file system). If saving raises, the staging folder is removed and
    the previous checkpoint is left untouched. Same arguments as ``ModelCheckpoint``; local paths
    only. Only public Keras API is used (the constructor, ``filepath`` and the callback hooks; the
    private ``_should_save_model`` exists only from Keras 3.10); a test simulates a failing save.

    Raises:
        ValueError: ``filepath`` not a path or with a ``{...}`` template in its folder part,
            ``mode`` not ``auto``/``min``/``max`` (Keras only warns and falls back to ``auto``),
            or what Keras refuses (a suffix that does not match ``save_weights_only``, a bad
            ``save_freq``).
    """

    def __init__(
        self,
        filepath,
        monitor="val_loss",
        verbose=0,
        save_best_only=False,
        save_weights_only=False,
        mode="auto",
        save_freq="epoch",
        initial_value_threshold=None,
    ):
        check_path("filepath", filepath)
        check_str("monitor", monitor)
        check_bool("save_best_only", save_best_only)
        check_bool("save_weights_only", save_weights_only)
        check_choice("mode", mode, ("auto", "min", "max"))
        check_float("initial_value_threshold", initial_value_threshold, optional=True)
        folder, name = os.path.split(os.fspath(filepath))
        if "{" in folder:
            fail("filepath", "a path whose folder part has no {...} template", filepath)
        self.target_folder = folder or os.curdir
        # No braces in it: Keras formats the whole path with the epoch and the logs.
        self.staging_folder = os.path.join(self.target_folder, f".checkpoint-staging-{secrets.token_hex(6)}")
        super().__init__(
            filepath,
            monitor,
            verbose,
            save_best_only,
            save_weights_only,
            mode,
            save_freq,
            initial_value_threshold,
        )
        self.filepath = os.path.join(self.staging_folder, name)  # what Keras formats and saves to

    def on_epoch_end(self, epoch, logs=None):
        self._publish(super().on_epoch_end, epoch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self._publish(super().on_train_batch_end, batch, logs)

    def _publish(self, hook, step, logs):
        shutil.rmtree(self.staging_folder, ignore_errors=True)
        try:
            hook(step, logs)
            if os.path.isdir(self.staging_folder):
                for name in os.listdir(self.staging_folder):
                    os.replace(
                        os.path.join(self.staging_folder, name), os.path.join(self.target_folder, name)
                    )
                    logger.info("saved model to %s", os.path.join(self.target_folder, name))
        finally:
            shutil.rmtree(self.staging_folder, ignore_errors=True)


class EpochTimer(keras.callbacks.Callback):
    """Wall-clock seconds of every epoch, measured with ``time.perf_counter``.

    The timing half of the document's ``CustomCallback`` (which used ``tf.timestamp`` and
    ``print``). ``epoch_times`` restarts at every ``on_train_begin``, like ``History``.
    Progress goes to the ``reference.callbacks`` logger at INFO.
    """

    def __init__(self):
        super().__init__()
        self.epoch_times: list[float] = []
        self._start: float | None = None

    def on_train_begin(self, logs=None):
        self.epoch_times = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if self._start is None:
            return
        elapsed = time.perf_counter() - self._start
        self.epoch_times.append(elapsed)
        self._start = None
        logs = logs or {}
        logger.info(
            "Epoch %d took %.3f s; accuracy %.4f, val_accuracy %.4f",
            epoch + 1,
            elapsed,
            logs.get("accuracy", math.nan),
            logs.get("val_accuracy", math.nan),
        )

    def on_train_end(self, logs=None):
        logger.info("Mean epoch time: %.3f s", self.mean_epoch_time)

    @property
    def mean_epoch_time(self) -> float:
        """Mean of ``epoch_times`` in seconds (NaN before the first epoch)."""
        return float(np.mean(self.epoch_times)) if self.epoch_times else math.nan


class ThresholdStopping(keras.callbacks.Callback):
    """Stop training once an accuracy-like metric exceeds a threshold.

    The stopping half of the document's ``CustomCallback``: ``model.stop_training`` is set at
    the end of the first epoch with ``logs[monitor] > threshold``. A missing ``monitor`` key
    is logged as a warning (the document's ``logs.get('val_accuracy', 0)`` silently never stops).

    Args:
        threshold: in [0, 1]; the document uses 0.95.
        monitor: key of the epoch logs, default ``"val_accuracy"``.

    Raises:
        ValueError: ``threshold`` outside [0, 1] or an empty ``monitor``.
    """

    def __init__(self, threshold: float = 0.95, monitor: str = "val_accuracy"):
        super().__init__()
        self.threshold = check_float("threshold", threshold, low=0.0, high=1.0)
        self.monitor = check_str("monitor", monitor)
        self.stopped_epoch: int | None = None

    def on_train_begin(self, logs=None):
        self.stopped_epoch = None

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None:
            logger.warning("ThresholdStopping: `%s` is not in the epoch logs", self.monitor)
            return
        if float(value) > self.threshold:
            self.stopped_epoch = epoch
            self.model.stop_training = True
            logger.info("Epoch %d: %s=%.4f > %.4f, stopping", epoch + 1, self.monitor, value, self.threshold)


def _direction(monitor: str) -> str:
    """``max`` for accuracies and AUCs, ``min`` otherwise: Keras's ``mode="auto"`` decides from the model's
    compiled metrics and refuses an uncompiled model (the eager loop's, the ``Trainer``'s): ``ValueError``."""
    return "max" if "acc" in monitor or "auc" in monitor else "min"


def make_callbacks(
    workdir: str | os.PathLike,
    *,
    patience: int = 10,
    lr_factor: float = 0.5,
    lr_patience: int = 5,
    min_lr: float = 1e-7,
    lr_decay: float | None = DOCUMENT_DECAY,
    checkpoint_monitor: str = "val_accuracy",
    histogram_freq: int = 1,
) -> list:
    """The document's callback set with one owner of the learning rate and atomic checkpoints.

    Order: ``LearningRateScheduler(MultiplicativeDecay)`` (if ``lr_decay``), ``EarlyStopping``,
    ``ReduceLROnPlateau``, ``AtomicModelCheckpoint`` (``workdir/best_model.keras``),
    ``TensorBoard`` (``workdir/logs``), ``CSVLogger`` (``workdir/training_log.csv``). The
    scheduler comes first so that every logged ``learning_rate`` is the rate used during the
    epoch (``ReduceLROnPlateau`` cuts after logging). Rate at epoch e (cuts from the plateau
    rule): lr_e = max(lr0 * lr_decay**e * lr_factor**cuts_before(e), min_lr).

    Args:
        workdir: folder for every file (created); never the working directory.
        patience: ``EarlyStopping`` patience on ``val_loss``, >= 0.
        lr_factor: ``ReduceLROnPlateau`` factor, in (0, 1).
        lr_patience: ``ReduceLROnPlateau`` patience on ``val_loss``, >= 0.
        min_lr: floor of the rate, >= 0.
        lr_decay: per-epoch decay in (0, 1], or None for no scheduler.
        checkpoint_monitor: metric whose best epoch is checkpointed (max for accuracies and
            AUCs, min otherwise; set here rather than left to Keras's ``mode="auto"``, which needs
            a compiled model and refuses the custom loops' models).
        histogram_freq: ``TensorBoard`` weight histograms every this many epochs, >= 0.

    Raises:
        ValueError: an argument out of range; the message names it.
    """
    workdir = check_path("workdir", workdir, kind="dir")
    patience = check_int("patience", patience, low=0)
    lr_patience = check_int("lr_patience", lr_patience, low=0)
    lr_factor = check_float("lr_factor", lr_factor, low=0.0, high=1.0, low_open=True, high_open=True)
    min_lr = check_float("min_lr", min_lr, low=0.0)
    lr_decay = check_float("lr_decay", lr_decay, low=0.0, high=1.0, low_open=True, optional=True)
    histogram_freq = check_int("histogram_freq", histogram_freq, low=0)
    checkpoint_monitor = check_str("checkpoint_monitor", checkpoint_monitor)
    workdir.mkdir(parents=True, exist_ok=True)
    schedulers = []
    if lr_decay is not None:
        decay = MultiplicativeDecay(lr_decay, min_lr)
        schedulers.append(keras.callbacks.LearningRateScheduler(decay))
    return [
        *schedulers,
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True),
        keras.callbacks.ReduceLROnPlateau(
            monitor="val_loss", factor=lr_factor, patience=lr_patience, min_lr=min_lr
        ),
        AtomicModelCheckpoint(
            filepath=str(workdir / CHECKPOINT_NAME),
            monitor=checkpoint_monitor,
            mode=_direction(checkpoint_monitor),
            save_best_only=True,
        ),
        keras.callbacks.TensorBoard(log_dir=str(workdir / TENSORBOARD_DIR), histogram_freq=histogram_freq),
        keras.callbacks.CSVLogger(str(workdir / CSV_NAME)),
    ]


def demonstrate_callbacks(
    workdir: str | os.PathLike,
    *,
    document: bool = False,
    epochs: int = 50,
    batch_size: int = 128,
    mnist_path: str | os.PathLike | None = None,
    seed: int | None = None,
) -> tuple[keras.Model, keras.callbacks.History]:
    """The document's callbacks demo: MNIST (or its offline stand-in, D7) -> MLP -> ``fit``.

    Args:
        workdir: folder of the checkpoint, the TensorBoard logs and the CSV log.
        document: the document's callbacks (``reference.document.document_callbacks``) instead of
            ``make_callbacks``.
        epochs, batch_size: the document's 50 and 128 by default.
        mnist_path: a local ``mnist.npz``; see ``reference.data.load_mnist``.
        seed: passed to ``keras.utils.set_random_seed`` when given.

    Returns:
        The trained model and the ``History``.

    Raises:
        ValueError: a bad ``workdir``, ``document``, ``epochs``, ``batch_size``, ``mnist_path`` or ``seed``.
    """
    check_path("workdir", workdir, kind="dir")
    check_bool("document", document)
    check_int("epochs", epochs, low=1)
    check_int("batch_size", batch_size, low=1)
    check_path("mnist_path", mnist_path, exists=True, kind="file", optional=True)
    seed = check_int("seed", seed, low=0, optional=True)
    if seed is not None:
        keras.utils.set_random_seed(seed)
    split = load_mnist(mnist_path)
    model = build_model(document_model("callbacks").with_input_dim(split.n_features))
    model.compile(
        optimizer=keras.optimizers.Adam(DOCUMENT_INITIAL_LR),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    build_optimizer(model)
    callbacks = document_callbacks(workdir) if document else make_callbacks(workdir)
    history = model.fit(
        split.x_train,
        split.y_train,
        epochs=epochs,
        batch_size=batch_size,
        validation_data=(split.x_test, split.y_test),
        callbacks=callbacks,
        verbose=0,
    )
    return model, history
