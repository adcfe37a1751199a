"""The document's ``TrainingMonitor``, usable as a Keras callback and from custom loops.

One value per epoch for each series: ``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``,
``learning_rate`` and ``gradient_norm`` (the mean over the epoch's batches of the global norm
||g|| = sqrt(sum_i sum_j g_ij^2) over all trainable variables i). Derived series:

    overfitting_gap_e = val_loss_e - loss_e        (the document's monitor panel)
    smoothed_loss_k   = mean(loss[k : k + window])  (np.convolve "valid", window 5)

The learning rate is read schedule-aware (defect D13): ``optimizer.lr`` no longer exists, and
with a ``LearningRateSchedule`` ``optimizer.learning_rate`` is a fresh tensor computed from
``optimizer.iterations`` (symbolic inside a ``tf.function``), so it is converted to a float
outside graphs. At an epoch end that is the schedule's value at the current iteration count,
i.e. the rate of the NEXT step.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import keras
import numpy as np
import tensorflow as tf
from matplotlib.figure import Figure

from reference.validation import check_instance, check_int, fail

__all__ = ["DOCUMENT_WINDOW", "SERIES", "TrainingMonitor", "current_learning_rate", "global_norm"]

SERIES = ("loss", "accuracy", "val_loss", "val_accuracy", "learning_rate", "gradient_norm")
DOCUMENT_WINDOW = 5


def current_learning_rate(optimizer: keras.optimizers.Optimizer) -> float:
    """The optimizer's learning rate now, as a Python float, for a constant or a schedule (D13).

    float(optimizer.learning_rate); with a schedule this is schedule(optimizer.iterations).
    It goes through ``convert_to_tensor``, not ``convert_to_numpy``: on NumPy 2.4 the latter
    emits a DeprecationWarning (no ``copy`` keyword in ``__array__``).

    Raises:
        ValueError: ``optimizer`` is not a Keras optimizer.
        RuntimeError: called while tracing a ``tf.function`` (the value is symbolic there).
    """
    check_instance("optimizer", optimizer, keras.optimizers.Optimizer, "a keras Optimizer")
    if not tf.executing_eagerly():
        raise RuntimeError(
            "current_learning_rate reads a value and must run eagerly, not inside a tf.function; "
            "return `optimizer.learning_rate` from the graph and convert it outside."
        )
    return float(keras.ops.convert_to_tensor(optimizer.learning_rate))


def global_norm(gradients: Iterable) -> float:
    """sqrt(sum over tensors and entries of g^2), skipping ``None`` gradients (eager values).

    Raises:
        ValueError: ``gradients`` is not an iterable of tensors or arrays (a single tensor, a string).
    """
    if isinstance(gradients, str) or not isinstance(gradients, Iterable) or hasattr(gradients, "shape"):
        fail("gradients", "an iterable of tensors or arrays (one per variable)", gradients)
    squares = [keras.ops.sum(keras.ops.square(g)) for g in gradients if g is not None]
    if not squares:
        return 0.0
    return float(keras.ops.convert_to_numpy(keras.ops.sqrt(keras.ops.sum(keras.ops.stack(squares)))))


def _as_float(value) -> float:
    return math.nan if value is None else float(np.asarray(value))


class TrainingMonitor(keras.callbacks.Callback):
    """Per-epoch training series, their derived views and the document's 2x3 figure.

    As a Keras callback (``model.fit`` or any loop driving ``keras.callbacks.CallbackList``),
    ``on_epoch_end`` records the epoch logs; ``learning_rate`` comes from the logs when present,
    otherwise from ``self.model.optimizer`` (``current_learning_rate``); ``gradient_norm`` comes
    from the logs when present (``model.fit`` alone does not log it: NaN then), otherwise from
    the batch gradients given to ``observe_gradients`` during the epoch. Series restart at
    ``on_train_begin`` (like ``History``). Without Keras, a loop calls ``observe_gradients``
    per batch and ``record`` per epoch.

    A missing metric is recorded as NaN so that every series has one entry per epoch (the
    document skipped it, which misaligns the series).
    """

    def __init__(self):
        super().__init__()
        self.reset()

    def reset(self) -> None:
        """Forget every recorded epoch and every pending batch gradient norm."""
        self.metrics: dict[str, list[float]] = {key: [] for key in SERIES}
        self._batch_norms: list[float] = []

    def observe_gradient_norm(self, norm: float) -> None:
        """Add one batch's global gradient norm to the current epoch's mean."""
        self._batch_norms.append(_as_float(norm))

    def observe_gradients(self, gradients: Iterable) -> float:
        """Add one batch's gradients (eager tensors or arrays); returns their global norm."""
        norm = global_norm(gradients)
        self.observe_gradient_norm(norm)
        return norm

    def record(
        self,
        logs: Mapping[str, float],
        learning_rate: float | None = None,
        gradient_norm: float | None = None,
    ) -> None:
        """Record one epoch.

        Args:
            logs: the epoch's metrics (``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``,
                optionally ``learning_rate`` and ``gradient_norm``); floats, NumPy or tensors.
            learning_rate: overrides ``logs["learning_rate"]``.
            gradient_norm: overrides ``logs["gradient_norm"]`` and the observed batch norms.

        Raises:
            ValueError: ``logs`` is not a mapping.
        """
        check_instance("logs", logs, Mapping, "a mapping of metric name -> value")
        for key in SERIES[:4]:
            self.metrics[key].append(_as_float(logs.get(key)))
        if learning_rate is None:
            learning_rate = logs.get("learning_rate")
        if gradient_norm is None:
            gradient_norm = logs.get("gradient_norm")
        if gradient_norm is None and self._batch_norms:
            gradient_norm = float(np.mean(self._batch_norms))
        self.metrics["learning_rate"].append(_as_float(learning_rate))
        self.metrics["gradient_norm"].append(_as_float(gradient_norm))
        self._batch_norms = []

    def on_train_begin(self, logs=None):
        self.reset()

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        learning_rate = logs.get("learning_rate")
        optimizer = getattr(self.model, "optimizer", None)
        if learning_rate is None and optimizer is not None:
            learning_rate = current_learning_rate(optimizer)
        self.record(logs, learning_rate=learning_rate)

    def __len__(self) -> int:
        return len(self.metrics["loss"])

    @property
    def overfitting_gap(self) -> np.ndarray:
        """val_loss - loss per epoch (the document's basic-loop plot uses loss - val_loss)."""
        return np.asarray(self.metrics["val_loss"]) - np.asarray(self.metrics["loss"])

    def smoothed_loss(self, window: int = DOCUMENT_WINDOW) -> np.ndarray:
        """Moving average of ``loss``: np.convolve(loss, ones(window) / window, "valid").

        Returns len(loss) - window + 1 values (none when fewer than ``window`` epochs).

        Raises:
            ValueError: ``window`` is not an integer >= 1.
        """
        window = check_int("window", window, low=1)
        loss = np.asarray(self.metrics["loss"], dtype=np.float64)
        if len(loss) < window:
            return np.empty(0)
        return np.convolve(loss, np.ones(window) / window, mode="valid")

    def as_dict(self) -> dict[str, list[float]]:
        """A copy of the six recorded series."""
        return {key: list(values) for key, values in self.metrics.items()}

    def plot(self, *, window: int = DOCUMENT_WINDOW) -> Figure:
        """The document's 2x3 figure: loss, accuracy, learning rate, gradient norm,
        overfitting gap (val_loss - loss), training stability (raw and smoothed loss).

        The smoothed curve is drawn at epochs (window - 1) // 2 onwards (the document's
        ``range(2, ...)`` for window 5). The caller saves and closes the figure.
        """
        smoothed = self.smoothed_loss(window)
        figure = Figure(figsize=(18, 12))
        axes = figure.subplots(2, 3)
        _panel(axes[0, 0], "Loss", "loss", [("loss", "train"), ("val_loss", "validation")], self)
        accuracies = [("accuracy", "train"), ("val_accuracy", "validation")]
        _panel(axes[0, 1], "Accuracy", "accuracy", accuracies, self)
        _panel(axes[0, 2], "Learning rate", "learning rate", [("learning_rate", None)], self)
        _panel(axes[1, 0], "Gradient norm", "mean global norm", [("gradient_norm", None)], self)
        gap = axes[1, 1]
        gap.plot(self.overfitting_gap, linewidth=2, color="orange")
        _decorate(gap, "Overfitting (val_loss - loss)", "loss difference", legend=False)
        stability = axes[1, 2]
        stability.plot(self.metrics["loss"], alpha=0.3, linewidth=1, label="raw")
        offset = (window - 1) // 2
        label = f"moving average ({window})"
        x = np.arange(len(smoothed)) + offset
        stability.plot(x, smoothed, linewidth=2, color="blue", label=label)
        _decorate(stability, "Training stability", "loss", legend=True)
        figure.tight_layout()
        return figure


def _panel(ax, title: str, ylabel: str, series: list[tuple[str, str | None]], monitor) -> None:
    for key, label in series:
        ax.plot(monitor.metrics[key], linewidth=2, label=label)
    _decorate(ax, title, ylabel, legend=series[0][1] is not None)


def _decorate(ax, title: str, ylabel: str, *, legend: bool) -> None:
    ax.set_title(title)
    ax.set_xlabel("Epoch")
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    if legend:
        ax.legend()
