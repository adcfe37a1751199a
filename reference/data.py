"""The document's data sets, generated offline.

Every classification demo of the document draws its data from scikit-learn's
``make_classification`` with ``random_state=42`` and splits it with
``train_test_split(..., random_state=42)``. Standardization uses the TRAINING
split's mean and standard deviation for both splits (the fix of defect D10);
``leaky=True`` standardizes as the document does, the test split with its own statistics
(``reference.document.document_standardize``).

The callbacks demo loads MNIST with a download (defect D7). ``load_mnist`` never
downloads: it reads a local ``mnist.npz`` when one exists and otherwise falls back
to scikit-learn's bundled 8x8 digits, with a ``MnistFallbackWarning`` saying so.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf
from sklearn.datasets import load_digits, make_classification
from sklearn.model_selection import train_test_split

from reference.document import document_standardize

__all__ = [
    "DATA_SEED",
    "DOCUMENT_DATASETS",
    "ClassificationSpec",
    "MnistFallbackWarning",
    "Split",
    "load_classification",
    "load_mnist",
    "make_dataset",
    "random_binary_split",
    "standardize",
]

DATA_SEED = 42


@dataclass(frozen=True)
class ClassificationSpec:
    """Arguments of one of the document's ``make_classification`` calls."""

    n_samples: int
    n_features: int
    test_size: float
    n_informative: int = 2
    n_redundant: int = 2
    standardize: bool = True


# The document's own parameters, per demo. The basic loop does not standardize.
DOCUMENT_DATASETS: dict[str, ClassificationSpec] = {
    "basic": ClassificationSpec(1000, 20, 0.2, standardize=False),
    "advanced": ClassificationSpec(2000, 20, 0.2),
    "regularization": ClassificationSpec(500, 50, 0.3, n_informative=10, n_redundant=40),
    "weight_regularization": ClassificationSpec(800, 30, 0.2, n_informative=5, n_redundant=25),
    "monitored": ClassificationSpec(2000, 20, 0.2),
}


@dataclass(frozen=True)
class Split:
    """A train/test split as float32 features and float32 (binary) or int (class) labels."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str = "make_classification"

    @property
    def n_features(self) -> int:
        return int(self.x_train.shape[1])


class MnistFallbackWarning(UserWarning):
    """No local ``mnist.npz`` was found; scikit-learn's digits stand in for MNIST."""


def standardize(train: np.ndarray, test: np.ndarray):
    """Standardize both splits with the training statistics: ``(x - mean_train) / std_train``.

    A constant training feature is divided by 1. The document standardizes the test split with
    its own mean and std instead (defect D10, ``reference.document.document_standardize``).
    """
    mean, std = train.mean(axis=0), train.std(axis=0)
    std = np.where(std == 0, 1.0, std)
    return (train - mean) / std, (test - mean) / std


def load_classification(
    name: str,
    *,
    standardized: bool | None = None,
    leaky: bool = False,
    n_samples: int | None = None,
) -> Split:
    """One of the document's ``make_classification`` data sets, split as the document splits it.

    Args:
        name: a key of ``DOCUMENT_DATASETS``.
        standardized: override the document's choice of standardizing.
        leaky: standardize the test split with its own statistics (defect D10).
        n_samples: a smaller sample count for quick runs (default: the document's).

    Raises:
        ValueError: unknown name or a non-positive ``n_samples``.
    """
    if name not in DOCUMENT_DATASETS:
        raise ValueError(f"Unknown data set name={name!r}; valid names: {sorted(DOCUMENT_DATASETS)}")
    spec = DOCUMENT_DATASETS[name]
    if n_samples is not None and n_samples < 10:
        raise ValueError(f"Argument `n_samples` must be >= 10. Received: n_samples={n_samples}")
    x, y = make_classification(
        n_samples=n_samples or spec.n_samples,
        n_features=spec.n_features,
        n_informative=spec.n_informative,
        n_redundant=spec.n_redundant,
        n_classes=2,
        random_state=DATA_SEED,
    )
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=spec.test_size, random_state=DATA_SEED
    )
    if spec.standardize if standardized is None else standardized:
        x_train, x_test = (document_standardize if leaky else standardize)(x_train, x_test)
    return Split(
        x_train.astype(np.float32),
        y_train.astype(np.float32),
        x_test.astype(np.float32),
        y_test.astype(np.float32),
    )


def random_binary_split(
    n_train: int = 1000, n_val: int = 200, n_features: int = 20, *, seed: int = DATA_SEED
) -> Split:
    """The custom-callback demo's data: uniform features and random 0/1 labels (nothing to learn)."""
    rng = np.random.default_rng(seed)
    return Split(
        rng.random((n_train, n_features), dtype=np.float32),
        rng.integers(0, 2, size=(n_train, 1)).astype(np.float32),
        rng.random((n_val, n_features), dtype=np.float32),
        rng.integers(0, 2, size=(n_val, 1)).astype(np.float32),
        source="uniform random",
    )


def make_dataset(
    x: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    *,
    shuffle: bool = True,
    seed: int | None = DATA_SEED,
    buffer_size: int = 1000,
) -> tf.data.Dataset:
    """A ``tf.data`` pipeline as the document builds it: shuffle, batch, prefetch.

    Raises:
        ValueError: non-positive ``batch_size``, empty data, or features and labels of
            different lengths.
    """
    if not isinstance(batch_size, int | np.integer) or batch_size <= 0:
        raise ValueError(f"Argument `batch_size` must be a positive int. Received: batch_size={batch_size!r}")
    if len(x) == 0:
        raise ValueError(f"Argument `x` is an empty data set. Received: x.shape={np.shape(x)}")
    if len(x) != len(y):
        raise ValueError(
            f"Arguments `x` and `y` must have the same length. Received: len(x)={len(x)}, len(y)={len(y)}"
        )
    dataset = tf.data.Dataset.from_tensor_slices((x, y))
    if shuffle:
        dataset = dataset.shuffle(buffer_size, seed=seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def _mnist_candidates(path: str | os.PathLike | None) -> list[Path]:
    if path is not None:
        return [Path(path)]
    keras_home = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras"))
    return [keras_home / "datasets" / "mnist.npz"]


def load_mnist(path: str | os.PathLike | None = None, *, n_train: int = 5000, n_test: int = 1000) -> Split:
    """The callbacks demo's data: MNIST flattened to 784 floats in [0, 1], first n_train/n_test rows.

    Reads ``path`` or ``$KERAS_HOME/datasets/mnist.npz`` (Keras's cache). When neither
    exists, warns with ``MnistFallbackWarning`` and returns scikit-learn's digits
    (1797 8x8 images, 64 features scaled to [0, 1], the same 10 classes) split 80/20,
    capped at ``n_train``/``n_test``. ``Split.source`` says which one was used.

    Raises:
        ValueError: non-positive ``n_train`` or ``n_test``; a given ``path`` that does not exist.
    """
    for arg, value in (("n_train", n_train), ("n_test", n_test)):
        if value <= 0:
            raise ValueError(f"Argument `{arg}` must be > 0. Received: {arg}={value}")
    if path is not None and not Path(path).is_file():
        raise ValueError(f"Argument `path` is not a file. Received: path={str(path)!r}")
    for candidate in _mnist_candidates(path):
        if candidate.is_file():
            with np.load(candidate) as f:
                x_train, y_train = f["x_train"][:n_train], f["y_train"][:n_train]
                x_test, y_test = f["x_test"][:n_test], f["y_test"][:n_test]
            return Split(
                (x_train.reshape(-1, 784) / 255.0).astype(np.float32),
                y_train.astype(np.int64),
                (x_test.reshape(-1, 784) / 255.0).astype(np.float32),
                y_test.astype(np.int64),
                source=f"mnist.npz ({candidate})",
            )
    warnings.warn(
        "No local mnist.npz found (looked in "
        + ", ".join(str(c) for c in _mnist_candidates(path))
        + "); using scikit-learn's 8x8 digits (1797 images, 64 features) instead. Nothing is downloaded.",
        MnistFallbackWarning,
        stacklevel=2,
    )
    digits = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(
        digits.data / 16.0, digits.target, test_size=0.2, random_state=DATA_SEED
    )
    return Split(
        x_train[:n_train].astype(np.float32),
        y_train[:n_train].astype(np.int64),
        x_test[:n_test].astype(np.float32),
        y_test[:n_test].astype(np.int64),
        source="sklearn digits (MNIST stand-in)",
    )
