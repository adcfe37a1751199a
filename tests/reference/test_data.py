"""``reference.data``: the document's parameters, train-statistics standardization, offline MNIST."""

from __future__ import annotations

import math
import socket
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from reference.data import (
    DOCUMENT_DATASETS,
    MnistFallbackWarning,
    load_classification,
    load_mnist,
    make_dataset,
    random_binary_split,
    standardize,
)

STANDARDIZE_ATOL = 1e-5
DIGITS_SAMPLES, DIGITS_FEATURES = 1797, 64


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a connection fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("a network connection was attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def fake_mnist(path, n_train: int = 12, n_test: int = 6):
    rng = np.random.default_rng(0)
    arrays = {
        "x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, n_train, dtype=np.uint8),
        "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    np.savez(path, **arrays)
    return arrays


# --- the document's make_classification data sets ----------------------------------------------


@pytest.mark.parametrize("name", list(DOCUMENT_DATASETS))
def test_each_data_set_has_the_documents_sizes_and_test_fraction(name):
    spec = DOCUMENT_DATASETS[name]
    split = load_classification(name)
    n_test = math.ceil(spec.test_size * spec.n_samples)  # train_test_split rounds the test size up
    assert split.x_train.shape == (spec.n_samples - n_test, spec.n_features)
    assert split.x_test.shape == (n_test, spec.n_features)
    assert split.y_train.shape == (spec.n_samples - n_test,)
    assert split.y_test.shape == (n_test,)


@pytest.mark.parametrize("name", list(DOCUMENT_DATASETS))
def test_labels_are_binary_float32_and_both_classes_occur(name):
    split = load_classification(name)
    assert split.y_train.dtype == np.float32
    assert set(np.unique(split.y_train)) == {0.0, 1.0}


def test_n_samples_overrides_the_documents_sample_count():
    split = load_classification("regularization", n_samples=100)
    assert (len(split.x_train), len(split.x_test), split.n_features) == (70, 30, 50)


@pytest.mark.parametrize("name", [n for n, s in DOCUMENT_DATASETS.items() if s.standardize])
def test_standardized_sets_use_the_training_statistics_for_both_splits(name):
    raw = load_classification(name, standardized=False)
    split = load_classification(name)
    mean, std = raw.x_train.astype(np.float64).mean(0), raw.x_train.astype(np.float64).std(0)
    np.testing.assert_allclose(split.x_train, (raw.x_train - mean) / std, atol=STANDARDIZE_ATOL)
    np.testing.assert_allclose(split.x_test, (raw.x_test - mean) / std, atol=STANDARDIZE_ATOL)


def test_the_basic_demo_data_is_not_standardized_as_in_the_document():
    assert not DOCUMENT_DATASETS["basic"].standardize
    split = load_classification("basic")
    assert np.abs(split.x_train.mean(0)).max() > 0.05


@st.composite
def train_and_test(draw):
    n_features = draw(st.integers(1, 4), label="n_features")
    elements = st.floats(-1e3, 1e3, allow_nan=False, width=64)
    train = draw(
        hnp.arrays(np.float64, (draw(st.integers(2, 20)), n_features), elements=elements), label="train"
    )
    test = draw(
        hnp.arrays(np.float64, (draw(st.integers(1, 20)), n_features), elements=elements), label="test"
    )
    return train, test


@settings(max_examples=50)
@given(train_and_test())
def test_standardize_is_the_affine_map_of_the_training_mean_and_std(arrays):
    train, test = arrays
    std = train.std(0)
    std = np.where(std == 0, 1.0, std)  # a constant column is centred, not divided by zero
    new_train, new_test = standardize(train, test)
    np.testing.assert_allclose(new_train, (train - train.mean(0)) / std, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(new_test, (test - train.mean(0)) / std, rtol=1e-9, atol=1e-9)
    assert np.isfinite(new_test).all()


# --- tf.data pipeline and the random-label data ------------------------------------------------


def test_a_shuffled_epoch_visits_every_sample_exactly_once_in_batches_of_the_size():
    x = np.arange(10, dtype=np.float32)[:, None]
    batches = [bx.numpy().ravel() for bx, _ in make_dataset(x, np.zeros(10, np.float32), 4)]
    assert [len(b) for b in batches] == [4, 4, 2]
    assert sorted(np.concatenate(batches)) == list(range(10))


def test_an_unshuffled_dataset_keeps_the_array_order():
    x = np.arange(10, dtype=np.float32)[:, None]
    batches = [bx.numpy().ravel() for bx, _ in make_dataset(x, np.zeros(10, np.float32), 4, shuffle=False)]
    assert np.concatenate(batches).tolist() == list(range(10))


def test_random_binary_split_has_the_requested_shapes_and_0_1_labels():
    split = random_binary_split(50, 20, 7, seed=1)
    assert (split.x_train.shape, split.x_test.shape, split.y_train.shape) == ((50, 7), (20, 7), (50, 1))
    assert set(np.unique(split.y_train)) <= {0.0, 1.0}
    assert ((split.x_train >= 0) & (split.x_train < 1)).all()


# --- MNIST without downloads -------------------------------------------------------------------


def test_a_given_local_mnist_npz_is_read_flattened_and_scaled(tmp_path, no_network):
    arrays = fake_mnist(tmp_path / "mnist.npz")
    split = load_mnist(tmp_path / "mnist.npz", n_train=10, n_test=4)
    np.testing.assert_allclose(split.x_train, arrays["x_train"][:10].reshape(10, 784) / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(split.y_test, arrays["y_test"][:4])
    assert split.x_test.shape == (4, 784)
    assert "mnist.npz" in split.source


def test_the_keras_cache_is_used_when_no_path_is_given(tmp_path, monkeypatch, no_network):
    (tmp_path / "datasets").mkdir()
    fake_mnist(tmp_path / "datasets" / "mnist.npz")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with warnings.catch_warnings():
        warnings.simplefilter("error", MnistFallbackWarning)
        split = load_mnist(n_train=5, n_test=5)
    assert split.n_features == 784
    assert str(tmp_path) in split.source


def test_without_mnist_the_digits_stand_in_with_a_warning_and_no_download(tmp_path, monkeypatch, no_network):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.warns(MnistFallbackWarning, match="Nothing is downloaded"):
        split = load_mnist()
    n_test = math.ceil(0.2 * DIGITS_SAMPLES)
    assert split.x_train.shape == (DIGITS_SAMPLES - n_test, DIGITS_FEATURES)
    assert split.x_test.shape == (n_test, DIGITS_FEATURES)
    assert set(np.unique(split.y_train)) == set(range(10))
    assert split.x_train.min() >= 0.0
    assert split.x_train.max() <= 1.0
    assert "digits" in split.source
