"""The document's two regularization comparisons, as configurations run through one loop.

- Dropout and batch normalization: none / dropout / batch norm / both, on the
  ``regularization`` data (500 x 50, 30 % test), 100 epochs of ``fit``.
- Weight regularization: none / L1 / L2 / L1+L2 (all 0.01), on the ``weight_regularization``
  data (800 x 30, 20 % test), 150 epochs. The document standardizes that test split with its
  own statistics (D10); ``reference.data`` uses the training statistics.

Experiments are data (name -> ``ModelSpec``); ``run_configurations`` trains each from the same
seed and returns its ``History`` and first-layer kernel. ``run_comparison`` runs one of the
document's two comparisons (``COMPARISONS``) at its scale or a smaller one: the tests and the
reproduction report run the same experiment, and measure it with the same functions (near-zero
fraction, L1/L2 norms, train/validation gap).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import keras
import numpy as np
from matplotlib.figure import Figure

from reference.data import DATA_SEED, DOCUMENT_DATASETS, Split, load_classification
from reference.loop import History, regularization_loss
from reference.models import DOCUMENT_MODELS, ModelSpec, build_model
from reference.training import train_fit
from reference.validation import (
    check_array,
    check_choice,
    check_float,
    check_instance,
    check_int,
    check_mapping,
    fail,
)

__all__ = [
    "COMPARISONS",
    "DROPOUT_BN_CONFIGS",
    "GAP_EPOCHS",
    "NEAR_ZERO_THRESHOLD",
    "WEIGHT_CONFIGS",
    "Comparison",
    "RegularizationResult",
    "generalization_gap",
    "near_zero_fraction",
    "plot_loss_curves",
    "plot_weight_comparison",
    "run_comparison",
    "run_configurations",
    "weight_norms",
]

DROPOUT_BN_CONFIGS: dict[str, ModelSpec] = {
    "none": DOCUMENT_MODELS["reg_none"],
    "dropout": DOCUMENT_MODELS["reg_dropout"],
    "batch_norm": DOCUMENT_MODELS["reg_batchnorm"],
    "both": DOCUMENT_MODELS["reg_both"],
}
WEIGHT_CONFIGS: dict[str, ModelSpec] = {
    "none": DOCUMENT_MODELS["weight_none"],
    "l1": DOCUMENT_MODELS["weight_l1"],
    "l2": DOCUMENT_MODELS["weight_l2"],
    "l1_l2": DOCUMENT_MODELS["weight_l1_l2"],
}


def _check_configs(configs) -> None:
    check_mapping("configs", configs, ModelSpec, "a non-empty mapping of name -> ModelSpec")


def _check_train(train) -> None:
    if not callable(train):
        fail("train", "one of reference.training.TRAINING_WAYS (callable)", train)


def _check_results(results) -> None:
    check_mapping(
        "results", results, RegularizationResult, "a non-empty mapping of name -> RegularizationResult"
    )


@dataclass(frozen=True)
class Comparison:
    """One of the document's comparisons: its data set, its configurations and its epochs.

    ``data`` is a key of ``reference.data.DOCUMENT_DATASETS``.
    """

    data: str
    configs: Mapping[str, ModelSpec]
    epochs: int

    def __post_init__(self):
        check_choice("data", self.data, DOCUMENT_DATASETS)
        _check_configs(self.configs)
        check_int("epochs", self.epochs, low=1)


COMPARISONS: dict[str, Comparison] = {
    "dropout_bn": Comparison("regularization", DROPOUT_BN_CONFIGS, 100),
    "weight": Comparison("weight_regularization", WEIGHT_CONFIGS, 150),
}

NEAR_ZERO_THRESHOLD = 1e-3
GAP_EPOCHS = 5


@dataclass(frozen=True)
class RegularizationResult:
    """One configuration's training history, its first ``Dense`` kernel after training, and its
    weight penalty after training, ``sum(model.losses)`` (``l1 * sum|W| + l2 * sum W^2`` over the
    regularized kernels; 0 without regularizers).

    Keras adds the penalty to the logged losses, validation included: the validation
    cross-entropy of the trained model is ``history.val_loss[-1] - penalty``.
    """

    history: History
    first_layer_kernel: np.ndarray
    penalty: float = 0.0

    def __post_init__(self):
        check_instance("history", self.history, History, "a reference.loop.History")
        check_array("first_layer_kernel", self.first_layer_kernel, ndim=2)
        check_float("penalty", self.penalty, low=0.0)


def _first_dense_kernel(model: keras.Model) -> np.ndarray:
    """The kernel of the model's first ``Dense`` layer, as a NumPy array."""
    dense = next(layer for layer in model.layers if isinstance(layer, keras.layers.Dense))
    return keras.ops.convert_to_numpy(dense.kernel)


def run_configurations(
    configs: Mapping[str, ModelSpec],
    split: Split,
    *,
    epochs: int,
    batch_size: int = 32,
    learning_rate: float = 1e-3,
    seed: int = DATA_SEED,
    train: Callable[..., History] = train_fit,
) -> dict[str, RegularizationResult]:
    """Train every configuration on ``split`` with ``Adam(learning_rate)``, each from ``seed``.

    Args:
        configs: name -> model spec; every spec's ``input_dim`` must match ``split``.
        split: the data set (its test split is the validation data).
        epochs, batch_size: passed to ``train`` (``fit``, as the document).
        learning_rate: Adam's rate (the document's ``'adam'``: 1e-3).
        seed: ``keras.utils.set_random_seed(seed)`` before each model is built and trained.
        train: one of ``reference.training.TRAINING_WAYS``.

    Returns:
        name -> ``RegularizationResult``, in the order of ``configs``.

    Raises:
        ValueError: no configurations, a bad ``split``, ``learning_rate``, ``seed`` or ``train``, or a
            bad argument of ``train``.
    """
    _check_configs(configs)
    check_instance("split", split, Split, "a reference.data.Split")
    check_int("epochs", epochs, low=1)
    check_int("batch_size", batch_size, low=1)
    learning_rate = check_float("learning_rate", learning_rate, low=0.0, low_open=True)
    check_int("seed", seed, low=0)
    _check_train(train)
    results = {}
    for name, spec in configs.items():
        keras.utils.set_random_seed(seed)
        model = build_model(spec, name=name)
        history = train(
            model,
            split,
            epochs=epochs,
            batch_size=batch_size,
            optimizer=keras.optimizers.Adam(learning_rate),
            seed=seed,
        )
        penalty = float(regularization_loss(model))
        results[name] = RegularizationResult(history, _first_dense_kernel(model), penalty)
    return results


def run_comparison(
    name: str,
    *,
    configurations: Sequence[str] | None = None,
    n_samples: int | None = None,
    epochs: int | None = None,
    hidden: tuple[int, ...] | None = None,
    batch_size: int = 32,
    seed: int = DATA_SEED,
    train: Callable[..., History] = train_fit,
) -> dict[str, RegularizationResult]:
    """``COMPARISONS[name]`` through ``run_configurations``, at the document's scale unless told smaller.

    Args:
        name: ``dropout_bn`` or ``weight``.
        configurations: the configurations to train, in this order (default: all, the document's order).
        n_samples: rows of the document's data set (default: the document's count).
        epochs: default the document's.
        hidden: hidden-layer widths replacing the document's, for every configuration.
        batch_size, seed, train: as ``run_configurations``.

    Raises:
        ValueError: an unknown comparison or configuration, or a bad ``n_samples``, ``epochs``,
            ``hidden`` or argument of ``train``.
    """
    comparison = COMPARISONS[check_choice("name", name, COMPARISONS)]
    if configurations is None:
        names = list(comparison.configs)
    elif isinstance(configurations, str) or not isinstance(configurations, Sequence) or not configurations:
        fail(
            "configurations", f"a non-empty sequence of names from {list(comparison.configs)}", configurations
        )
    else:
        names = [check_choice("configurations", n, comparison.configs) for n in configurations]
    check_int("epochs", epochs, low=1, optional=True)
    configs = {
        n: comparison.configs[n] if hidden is None else replace(comparison.configs[n], hidden=hidden)
        for n in names
    }
    return run_configurations(
        configs,
        load_classification(comparison.data, n_samples=n_samples),
        epochs=comparison.epochs if epochs is None else epochs,
        batch_size=batch_size,
        seed=seed,
        train=train,
    )


def near_zero_fraction(weights: np.ndarray, threshold: float = NEAR_ZERO_THRESHOLD) -> float:
    """The fraction of weights with ``|w| < threshold``.

    Raises:
        ValueError: ``weights`` not a non-empty array of finite numbers, ``threshold`` not a finite number > 0.
    """
    weights = _check_weights(weights)
    threshold = check_float("threshold", threshold, low=0.0, low_open=True)
    return float(np.mean(np.abs(weights) < threshold))


def _check_weights(weights) -> np.ndarray:
    weights = check_array("weights", weights)
    if weights.size == 0:
        fail("weights", "a non-empty array of finite numbers", weights.shape, at=".shape")
    return weights


def weight_norms(weights: np.ndarray) -> tuple[float, float]:
    """The document's norms of a kernel: ``(sum |w|, sqrt(sum w^2))``.

    Raises:
        ValueError: ``weights`` not a non-empty array of finite numbers.
    """
    w = _check_weights(weights).astype(np.float64)
    return float(np.abs(w).sum()), float(np.sqrt((w**2).sum()))


def generalization_gap(history: History, *, metric: str = "loss", last: int = GAP_EPOCHS) -> float:
    """The train/validation gap over the last ``last`` epochs, positive when overfitting.

    ``loss``: ``mean(val_loss) - mean(loss)``; ``accuracy``: ``mean(accuracy) - mean(val_accuracy)``.
    The training values are those logged during training (dropout active, penalties included).

    Raises:
        ValueError: ``history`` not a ``History`` of at least one epoch, ``metric`` not ``loss`` or
            ``accuracy``, ``last`` not an integer >= 1.
    """
    check_instance("history", history, History, "a reference.loop.History")
    if not history.loss:
        fail("history", "a History of at least one epoch", history.loss, at=".loss")
    check_choice("metric", metric, ("loss", "accuracy"))
    check_int("last", last, low=1)
    train = np.mean(getattr(history, metric)[-last:])
    val = np.mean(getattr(history, f"val_{metric}")[-last:])
    return float(val - train if metric == "loss" else train - val)


def plot_loss_curves(results: Mapping[str, RegularizationResult]) -> Figure:
    """The dropout/batch-norm figure: one panel per configuration, training and validation loss."""
    _check_results(results)
    n_cols = 2
    n_rows = -(-len(results) // n_cols)
    fig = Figure(figsize=(15, 5 * n_rows), layout="tight")
    axes = fig.subplots(n_rows, n_cols, squeeze=False).ravel()
    for ax, (name, result) in zip(axes, results.items(), strict=False):
        ax.plot(result.history.loss, label="train loss", linewidth=2)
        ax.plot(result.history.val_loss, label="validation loss", linewidth=2)
        _decorate(ax, name, "Epoch", "Loss")
    for ax in axes[len(results) :]:
        ax.set_visible(False)
    return fig


def plot_weight_comparison(results: Mapping[str, RegularizationResult]) -> Figure:
    """The weight-regularization figure: train loss, validation loss, first-layer weights, norms."""
    _check_results(results)
    fig = Figure(figsize=(15, 10), layout="tight")
    (train_ax, val_ax), (hist_ax, norm_ax) = fig.subplots(2, 2)
    for name, result in results.items():
        train_ax.plot(result.history.loss, label=name, linewidth=2)
        val_ax.plot(result.history.val_loss, label=name, linewidth=2)
        hist_ax.hist(result.first_layer_kernel.ravel(), bins=30, alpha=0.7, label=name, density=True)
    _decorate(train_ax, "Training loss", "Epoch", "Loss")
    _decorate(val_ax, "Validation loss", "Epoch", "Loss")
    _decorate(hist_ax, "First-layer weights", "Weight", "Density")
    names = list(results)
    norms = np.array([weight_norms(results[name].first_layer_kernel) for name in names])
    x = np.arange(len(names))
    norm_ax.bar(x - 0.175, norms[:, 0], 0.35, label="L1 norm", alpha=0.7)
    norm_ax.bar(x + 0.175, norms[:, 1], 0.35, label="L2 norm", alpha=0.7)
    norm_ax.set_xticks(x, names, rotation=45)
    _decorate(norm_ax, "First-layer weight norms", "Model", "Norm")
    return fig


def _decorate(ax, title: str, xlabel: str, ylabel: str) -> None:
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend()
    ax.grid(True, alpha=0.3)
