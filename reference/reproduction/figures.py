"""The document's figures that ``reference`` does not draw itself; each returns a ``Figure``.

The document draws: a 1x3 training figure (loss, accuracy, train - validation loss gap) for its
basic loop; the reproduction also draws the loss values of its loss examples, the focal-loss
curves against the cross-entropy, the probability vs logits cross-entropy, the learning-rate
curves of its callback sets and the custom callback's epochs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from reference.loop import History

__all__ = [
    "plot_custom_callback",
    "plot_focal_curves",
    "plot_learning_rates",
    "plot_logits_stability",
    "plot_loss_values",
    "plot_training_curves",
    "plot_validation_comparison",
]


def _decorate(ax, title: str, xlabel: str, ylabel: str, *, legend: bool = True) -> None:
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    if legend:
        ax.legend()


def plot_loss_values(classification: Mapping[str, float], regression: Mapping[str, float]) -> Figure:
    """Bar charts of the document's printed loss values (classification and regression examples)."""
    figure = Figure(figsize=(14, 5), layout="constrained")
    for ax, (title, values) in zip(
        figure.subplots(1, 2),
        (("Classification losses", classification), ("Regression losses", regression)),
        strict=True,
    ):
        names = list(values)
        bars = ax.bar(np.arange(len(names)), [values[n] for n in names], color="tab:blue", alpha=0.8)
        ax.bar_label(bars, fmt="%.4g", fontsize=8)
        ax.set_xticks(np.arange(len(names)), names, rotation=30, ha="right")
        _decorate(ax, title, "", "mean loss", legend=False)
    return figure


def plot_logits_stability(logits: np.ndarray, on_probabilities: np.ndarray, on_logits: np.ndarray) -> Figure:
    """BCE of a label 1 against a logit z: via sigmoid probabilities (clipped) and from the logit."""
    figure = Figure(figsize=(9, 5), layout="constrained")
    ax = figure.add_subplot()
    ax.plot(logits, on_logits, linewidth=2, label="from_logits=True (exact)")
    ax.plot(logits, on_probabilities, linewidth=2, linestyle="--", label="on sigmoid(z) (clipped at 1e-7)")
    _decorate(ax, "Binary cross-entropy of label 1 against logit z", "logit z", "loss")
    return figure


def plot_focal_curves(p_t: np.ndarray, curves: Mapping[str, np.ndarray]) -> Figure:
    """Loss against the probability of the true class, one curve per (gamma) setting (Lin et al. fig. 1)."""
    figure = Figure(figsize=(9, 5), layout="constrained")
    ax = figure.add_subplot()
    for label, values in curves.items():
        ax.plot(p_t, values, linewidth=2, label=label)
    ax.axvspan(0.6, 1.0, color="green", alpha=0.07, label="well-classified (easy) examples")
    _decorate(ax, "Focal loss vs cross-entropy", "probability of the true class p_t", "loss")
    return figure


def plot_training_curves(history: History, title: str, *, best_epoch: int | None = None) -> Figure:
    """The document's 1x3 figure: loss, accuracy, and the train - validation loss gap."""
    figure = Figure(figsize=(15, 5), layout="constrained")
    loss_ax, acc_ax, gap_ax = figure.subplots(1, 3)
    loss_ax.plot(history.loss, linewidth=2, label="train loss")
    loss_ax.plot(history.val_loss, linewidth=2, label="validation loss")
    acc_ax.plot(history.accuracy, linewidth=2, label="train accuracy")
    acc_ax.plot(history.val_accuracy, linewidth=2, label="validation accuracy")
    gap_ax.plot(np.asarray(history.loss) - np.asarray(history.val_loss), linewidth=2, color="red")
    if best_epoch is not None:
        for ax in (loss_ax, acc_ax, gap_ax):
            ax.axvline(best_epoch, color="gray", linestyle=":", label=f"best epoch {best_epoch}")
    _decorate(loss_ax, f"{title}: loss", "Epoch", "loss")
    _decorate(acc_ax, f"{title}: accuracy", "Epoch", "accuracy")
    _decorate(
        gap_ax, "Overfitting monitor (train loss - validation loss)", "Epoch", "loss difference", legend=False
    )
    return figure


def plot_validation_comparison(histories: Mapping[str, History], title: str) -> Figure:
    """Validation loss and accuracy of several runs, side by side."""
    figure = Figure(figsize=(12, 5), layout="constrained")
    loss_ax, acc_ax = figure.subplots(1, 2)
    for name, history in histories.items():
        loss_ax.plot(history.val_loss, linewidth=2, label=name)
        acc_ax.plot(history.val_accuracy, linewidth=2, label=name)
    _decorate(loss_ax, f"{title}: validation loss", "Epoch", "loss")
    _decorate(acc_ax, f"{title}: validation accuracy", "Epoch", "accuracy")
    return figure


def plot_learning_rates(
    demo: Mapping[str, Sequence[float]], plateau: Mapping[str, Sequence[float]]
) -> Figure:
    """Learning rate per epoch: in the callbacks demo (left) and on a controlled plateau (right)."""
    figure = Figure(figsize=(14, 5), layout="constrained")
    demo_ax, plateau_ax = figure.subplots(1, 2)
    for ax, series, title in (
        (demo_ax, demo, "Callbacks demo"),
        (plateau_ax, plateau, "Constant val_loss (plateau)"),
    ):
        longest = max((len(v) for v in series.values()), default=0)
        epochs = np.arange(longest)
        ax.plot(epochs, 0.001 * 0.9**epochs, color="gray", linestyle=":", label="0.001 * 0.9**epoch")
        for label, values in series.items():
            ax.plot(np.arange(len(values)), values, marker="o", markersize=3, linewidth=2, label=label)
        ax.set_yscale("log")
        _decorate(ax, f"{title}: learning rate used per epoch", "Epoch", "learning rate")
    return figure


def plot_custom_callback(
    epoch_times: Sequence[float], val_accuracy: Mapping[str, Sequence[float]], threshold: float
) -> Figure:
    """The custom callback: seconds per epoch, and validation accuracy against the stop threshold."""
    figure = Figure(figsize=(12, 5), layout="constrained")
    time_ax, acc_ax = figure.subplots(1, 2)
    time_ax.bar(np.arange(len(epoch_times)), epoch_times, color="tab:blue", alpha=0.8)
    _decorate(time_ax, "Seconds per epoch (document's random data)", "Epoch", "seconds", legend=False)
    for label, values in val_accuracy.items():
        acc_ax.plot(values, marker="o", markersize=3, linewidth=2, label=label)
    acc_ax.axhline(threshold, color="red", linestyle="--", label=f"stop threshold {threshold}")
    _decorate(acc_ax, "Validation accuracy and the 95% stop", "Epoch", "validation accuracy")
    return figure
