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
from reference.validation import (
    check_array,
    check_bool,
    check_choice,
    check_float,
    check_int,
    check_path,
    check_str,
    fail,
)

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

    def __post_init__(self):
        check_int("n_samples", self.n_samples, low=10)
        check_int("n_features", self.n_features, low=1)
        check_float("test_size", self.test_size, low=0, high=1, low_open=True, high_open=True)
        check_int("n_informative", self.n_informative, low=1)
        check_int("n_redundant", self.n_redundant, low=0, high=self.n_features - self.n_informative)
        check_bool("standardize", self.standardize)


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
    """A train/test split as float32 features and float32 (binary) or int (class) labels.

    Checked where the data enters: features are 2-D arrays of finite numbers with the same
    number of columns, labels 1-D (or one column) arrays of finite numbers with one label per
    row. A NaN or infinite value is refused with its place (``Received: x_train[3, 7]=nan``)
    rather than trained on. Empty splits pass here; the training functions refuse them.

    Raises:
        ValueError: an array that is not as above (the message names the field and the element).
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str = "make_classification"

    def __post_init__(self):
        x_train = check_array("x_train", self.x_train, ndim=2)
        x_test = check_array("x_test", self.x_test, ndim=2)
        if x_test.shape[1] != x_train.shape[1]:
            fail(
                "x_test",
                f"an array of the {x_train.shape[1]} columns of `x_train`",
                x_test.shape,
                at=".shape",
            )
        for features, name in ((x_train, "y_train"), (x_test, "y_test")):
            _check_labels_for(name, getattr(self, name), len(features))
        check_str("source", self.source)

    @property
    def n_features(self) -> int:
        return int(self.x_train.shape[1])


def _check_labels_for(name: str, labels, rows: int) -> np.ndarray:
    """One finite label per row: shape ``(rows,)`` or ``(rows, 1)``."""
    labels = check_array(name, labels, ndim=(1, 2))
    if labels.shape[0] != rows or labels.shape[1:] not in ((), (1,)):
        fail(
            name,
            f"one label per row of the features, shape ({rows},) or ({rows}, 1)",
            labels.shape,
            at=".shape",
        )
    return labels


class MnistFallbackWarning(UserWarning):
    """No local ``mnist.npz`` was found; scikit-learn's digits stand in for MNIST."""


def standardize(train: np.ndarray, test: np.ndarray):
    """Standardize both splits with the training statistics: ``(x - mean_train) / std_train``.

    A constant training feature is divided by 1. The document standardizes the test split with
    its own mean and std instead (defect D10, ``reference.document.document_standardize``).

    Raises:
        ValueError: not 2-D arrays of finite numbers, an empty ``train``, or different column counts.
    """
    train, test = check_array("train", train, ndim=2), check_array("test", test, ndim=2)
    if len(train) == 0:
        fail("train", "a non-empty array (its statistics are used)", train.shape, at=".shape")
    if test.shape[1] != train.shape[1]:
        fail("test", f"an array of the {train.shape[1]} columns of `train`", test.shape, at=".shape")
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
        ValueError: unknown name, ``n_samples`` not an integer >= 10, or non-bool flags.
    """
    spec = DOCUMENT_DATASETS[check_choice("name", name, DOCUMENT_DATASETS)]
    if standardized is not None:
        check_bool("standardized", standardized)
    check_bool("leaky", leaky)
    check_int("n_samples", n_samples, low=10, optional=True)
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
    """The custom-callback demo's data: uniform features and random 0/1 labels (nothing to learn).

    Raises:
        ValueError: sizes not integers >= 1, or ``seed`` not an integer >= 0.
    """
    for name, value in (("n_train", n_train), ("n_val", n_val), ("n_features", n_features)):
        check_int(name, value, low=1)
    check_int("seed", seed, low=0)
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
        ValueError: ``batch_size`` not an integer >= 1 (``True`` included), features or labels that
            are not arrays of finite numbers (the message names the first bad element), empty
            data, features and labels of different lengths, or a bad ``shuffle``/``seed``/``buffer_size``.
    """
    check_int("batch_size", batch_size, low=1)
    check_bool("shuffle", shuffle)
    check_int("seed", seed, low=0, optional=True)
    check_int("buffer_size", buffer_size, low=1)
    x = check_array("x", x)
    if x.ndim == 0 or len(x) == 0:
        fail("x", "a non-empty array of finite numbers, one row per sample", x.shape, at=".shape")
    y = check_array("y", y)
    if y.ndim == 0 or len(y) != len(x):
        fail("y", f"one label per row of `x` ({len(x)})", y.shape, at=".shape")
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
        ValueError: ``n_train`` or ``n_test`` not an integer >= 1; a given ``path`` that is not an
            existing file.
    """
    check_int("n_train", n_train, low=1)
    check_int("n_test", n_test, low=1)
    check_path("path", path, exists=True, kind="file", optional=True)
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
