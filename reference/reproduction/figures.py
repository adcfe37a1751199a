"""The document's figures that ``reference`` does not draw itself; each returns a ``Figure``.

The document draws: a 1x3 training figure (loss, accuracy, train - validation loss gap) for its
basic loop, the dropout / batch-norm and L1 / L2 figures, the 2x3 monitor; the reproduction also
draws the loss values of its loss examples, the focal-loss curves against the cross-entropy, the
probability vs logits cross-entropy, the learning-rate curves of its callback sets and the custom
callback's epochs. Training curves are drawn over seeds as learning-curve benchmarks draw them
(DeepOBS, Schneider et al. 2019): the mean over the seeds as a line, and a shaded band from the
lowest to the highest seed (``band``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

__all__ = [
    "band",
    "plot_custom_callback",
    "plot_focal_curves",
    "plot_learning_rates",
    "plot_logits_stability",
    "plot_loss_bands",
    "plot_loss_values",
    "plot_monitor_bands",
    "plot_training_bands",
    "plot_validation_bands",
    "plot_weight_bands",
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


def band(ax, curves: Sequence[Sequence[float]], label: str, **style) -> None:
    """Draw the mean of ``curves`` at each epoch and a band from their minimum to their maximum.

    Runs of different lengths (early stopping) count at each epoch only if they reached it. One
    curve draws a line without a band's width.
    """
    longest = max(len(c) for c in curves)
    matrix = np.full((len(curves), longest), np.nan)
    for row, curve in zip(matrix, curves, strict=True):
        row[: len(curve)] = curve
    epochs = np.arange(longest)
    (line,) = ax.plot(epochs, np.nanmean(matrix, axis=0), linewidth=2, label=label, **style)
    ax.fill_between(
        epochs, np.nanmin(matrix, axis=0), np.nanmax(matrix, axis=0), color=line.get_color(), alpha=0.2, lw=0
    )


def _seeds_note(runs: Sequence) -> str:
    return f"mean of {len(runs)} seeds, band min-max" if len(runs) > 1 else "one seed"


def plot_training_bands(runs: Sequence[Mapping], title: str, *, best_epochs: bool = False) -> Figure:
    """The document's 1x3 training figure over seeds: loss, accuracy, and the train - validation
    loss difference; ``runs`` are ``History.as_dict()``-like mappings, one per seed."""
    figure = Figure(figsize=(15, 5), layout="constrained")
    loss_ax, acc_ax, gap_ax = figure.subplots(1, 3)
    band(loss_ax, [r["loss"] for r in runs], "train loss")
    band(loss_ax, [r["val_loss"] for r in runs], "validation loss")
    band(acc_ax, [r["accuracy"] for r in runs], "train accuracy")
    band(acc_ax, [r["val_accuracy"] for r in runs], "validation accuracy")
    band(gap_ax, [np.subtract(r["loss"], r["val_loss"]) for r in runs], "train - validation", color="red")
    if best_epochs:
        for ax in (loss_ax, acc_ax, gap_ax):
            for i, r in enumerate(runs):
                label = "best epoch of each seed" if i == 0 else None
                ax.axvline(r["best_epoch"], color="gray", linestyle=":", linewidth=1, label=label)
    note = _seeds_note(runs)
    _decorate(loss_ax, f"{title}: loss ({note})", "Epoch", "loss")
    _decorate(acc_ax, f"{title}: accuracy", "Epoch", "accuracy")
    _decorate(gap_ax, "Overfitting monitor (train loss - validation loss)", "Epoch", "loss difference")
    return figure


def plot_validation_bands(groups: Mapping[str, Sequence[Mapping]], title: str) -> Figure:
    """Validation loss and accuracy of several arms over seeds, side by side."""
    figure = Figure(figsize=(12, 5), layout="constrained")
    loss_ax, acc_ax = figure.subplots(1, 2)
    for name, runs in groups.items():
        band(loss_ax, [r["val_loss"] for r in runs], f"{name} ({_seeds_note(runs)})")
        band(acc_ax, [r["val_accuracy"] for r in runs], name)
    _decorate(loss_ax, f"{title}: validation loss", "Epoch", "loss")
    _decorate(acc_ax, f"{title}: validation accuracy", "Epoch", "accuracy")
    return figure


def plot_loss_bands(groups: Mapping[str, Sequence[Mapping]]) -> Figure:
    """The dropout / batch-norm figure over seeds: one panel per configuration, train and validation loss."""
    figure = Figure(figsize=(15, 10), layout="constrained")
    axes = figure.subplots(2, 2).ravel()
    for ax, (name, runs) in zip(axes, groups.items(), strict=True):
        band(ax, [r["loss"] for r in runs], "train loss")
        band(ax, [r["val_loss"] for r in runs], "validation loss")
        _decorate(ax, f"{name} ({_seeds_note(runs)})", "Epoch", "loss")
    return figure


def plot_weight_bands(
    groups: Mapping[str, Sequence[Mapping]], kernels: Mapping[str, Sequence[np.ndarray]]
) -> Figure:
    """The weight-regularization figure over seeds: the training loss as Keras logs it (with the
    weight penalty, log scale: the penalty starts near 10 and falls fast), the validation
    cross-entropy (the logged validation loss minus the penalty: what the claims compare), the
    first-layer weights of every seed pooled, and the norms (bar: mean over seeds, whiskers: min-max)."""
    figure = Figure(figsize=(15, 10), layout="constrained")
    (train_ax, val_ax), (hist_ax, norm_ax) = figure.subplots(2, 2)
    for name, runs in groups.items():
        band(train_ax, [r["loss"] for r in runs], name)
        band(val_ax, [r["val_cross_entropy"] for r in runs], name)
        pooled = np.concatenate([np.ravel(k) for k in kernels[name]])
        hist_ax.hist(pooled, bins=30, alpha=0.7, label=name, density=True)
    note = _seeds_note(next(iter(groups.values())))
    train_ax.set_yscale("log")
    _decorate(train_ax, f"Training loss ({note})", "Epoch", "loss with penalty (log scale)")
    _decorate(val_ax, "Validation cross-entropy (logged loss - penalty)", "Epoch", "cross-entropy")
    _decorate(hist_ax, "First-layer weights (all seeds)", "weight", "density")
    names, x = list(groups), np.arange(len(groups))
    for offset, key, label in ((-0.175, "l1_norm", "L1 norm"), (0.175, "l2_norm", "L2 norm")):
        values = [np.array([r[key] for r in groups[n]]) for n in names]
        means = np.array([v.mean() for v in values])
        whiskers = np.array(
            [
                [m - v.min() for m, v in zip(means, values, strict=True)],
                [v.max() - m for m, v in zip(means, values, strict=True)],
            ]
        )
        norm_ax.bar(x + offset, means, 0.35, yerr=whiskers, capsize=3, label=label, alpha=0.7)
    norm_ax.set_xticks(x, names, rotation=45)
    _decorate(norm_ax, "First-layer weight norms", "model", "norm")
    return figure


def plot_monitor_bands(runs: Sequence[Mapping], smoothed: Sequence[Sequence[float]], window: int) -> Figure:
    """The document's 2x3 monitor figure over seeds: loss, accuracy, learning rate, gradient norm,
    the validation - training loss gap, and the raw and smoothed training loss."""
    figure = Figure(figsize=(18, 12), layout="constrained")
    axes = figure.subplots(2, 3)
    band(axes[0, 0], [r["loss"] for r in runs], "train")
    band(axes[0, 0], [r["val_loss"] for r in runs], "validation")
    band(axes[0, 1], [r["accuracy"] for r in runs], "train")
    band(axes[0, 1], [r["val_accuracy"] for r in runs], "validation")
    band(axes[0, 2], [r["learning_rate"] for r in runs], "learning rate", color="green")
    band(axes[1, 0], [r["gradient_norm"] for r in runs], "mean global norm", color="red")
    band(axes[1, 1], [np.subtract(r["val_loss"], r["loss"]) for r in runs], "val_loss - loss", color="orange")
    band(axes[1, 2], [r["loss"] for r in runs], "raw", alpha=0.4)
    offset = (window - 1) // 2
    longest = max((len(s) for s in smoothed), default=0)
    if longest:
        band(
            axes[1, 2],
            [np.concatenate([np.full(offset, np.nan), s]) for s in smoothed],
            f"moving average ({window})",
            color="blue",
        )
    titles = (
        "Loss",
        "Accuracy",
        "Learning rate",
        "Gradient norm",
        "Overfitting (val_loss - loss)",
        "Training stability",
    )
    ylabels = ("loss", "accuracy", "learning rate", "mean global norm", "loss difference", "loss")
    for ax, name, ylabel in zip(axes.ravel(), titles, ylabels, strict=True):
        _decorate(ax, name, "Epoch", ylabel)
    figure.suptitle(f"Training monitor ({_seeds_note(runs)})")
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
    epoch_times: Sequence[Sequence[float]],
    val_accuracy: Mapping[str, Sequence[Sequence[float]]],
    threshold: float,
) -> Figure:
    """The custom callback over seeds: seconds per epoch, and validation accuracy against the stop threshold."""
    figure = Figure(figsize=(12, 5), layout="constrained")
    time_ax, acc_ax = figure.subplots(1, 2)
    band(time_ax, epoch_times, f"document's random data ({_seeds_note(epoch_times)})")
    _decorate(time_ax, "Seconds per epoch", "Epoch", "seconds")
    for label, runs in val_accuracy.items():
        band(acc_ax, runs, label, marker="o", markersize=3)
    acc_ax.axhline(threshold, color="red", linestyle="--", label=f"stop threshold {threshold}")
    _decorate(acc_ax, "Validation accuracy and the 95% stop", "Epoch", "validation accuracy")
    return figure
