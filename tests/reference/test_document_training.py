"""The document's training-section defects on Keras 3, each shown failing and then fixed.

D5: ``metric.reset_states()`` is gone; D6: ``save_weights('x.h5')`` is refused; D10: the
test split standardized with its own statistics; D12: ``tf.random.set_seed`` + ``np.random.seed``
do not make Keras 3 repeatable.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from reference.data import load_classification, make_dataset, standardize
from reference.document import (
    DOCUMENT_WEIGHTS_FILE,
    document_reset_states,
    document_seeding,
    document_standardize,
)
from reference.models import ModelSpec, build_model
from reference.trainer import Trainer

SPEC = ModelSpec(20, (8,))
DROPOUT_SPEC = ModelSpec(20, (64,), dropout=(0.5,))

# --- D5 ----------------------------------------------------------------------------------------


def test_d5_keras3_metrics_have_no_reset_states():
    with pytest.raises(AttributeError, match="reset_states"):
        document_reset_states(keras.metrics.Mean())


def test_d5_reset_state_empties_a_mean_metric():
    metric = keras.metrics.Mean()
    metric.update_state([2.0, 4.0])
    metric.reset_state()
    assert (float(metric.count), float(metric.result())) == (0.0, 0.0)


def test_d5_trainer_metrics_hold_only_the_last_epoch_after_three_epochs():
    """Without a reset the loss metric's count would be three epochs of samples."""
    split = load_classification("advanced", n_samples=80)
    trainer = Trainer(build_model(SPEC), keras.optimizers.Adam(), patience=None)
    history = trainer.train(
        make_dataset(split.x_train, split.y_train, 16), make_dataset(split.x_test, split.y_test, 16), epochs=3
    )
    assert float(trainer.train_loss.count) == len(split.x_train)
    assert float(trainer.train_loss.result()) == pytest.approx(history.loss[-1])


# --- D6 ----------------------------------------------------------------------------------------


def test_d6_saving_weights_to_a_plain_h5_name_raises(tmp_path):
    with pytest.raises(ValueError, match=r"\.weights\.h5"):
        build_model(SPEC).save_weights(tmp_path / DOCUMENT_WEIGHTS_FILE)


def test_d6_a_weights_h5_name_saves_and_loads_the_same_weights(tmp_path):
    model, other = build_model(SPEC), build_model(SPEC)
    model.save_weights(tmp_path / "best_model.weights.h5")
    other.load_weights(tmp_path / "best_model.weights.h5")
    for a, b in zip(model.get_weights(), other.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_d6_the_trainer_refuses_the_documents_file_name_before_training():
    with pytest.raises(ValueError, match=r"`weights_path`.*best_model_weights\.h5"):
        Trainer(build_model(SPEC), keras.optimizers.Adam(), weights_path=DOCUMENT_WEIGHTS_FILE)


# --- D10 ---------------------------------------------------------------------------------------


def test_d10_leaky_standardization_lets_one_test_sample_move_the_others():
    rng = np.random.default_rng(0)
    train, test = rng.normal(size=(50, 3)), rng.normal(size=(10, 3))
    changed = test.copy()
    changed[0] += 100.0
    _, leaky_before = document_standardize(train, test)
    _, leaky_after = document_standardize(train, changed)
    _, fixed_before = standardize(train, test)
    _, fixed_after = standardize(train, changed)
    assert not np.allclose(leaky_before[1:], leaky_after[1:])
    np.testing.assert_array_equal(fixed_before[1:], fixed_after[1:])


def test_d10_on_the_weight_demo_data_the_leaky_test_split_is_exactly_centred_and_ours_is_not():
    """The document's leaky test split has mean 0 and std 1 by construction; with the training
    statistics it keeps its own offset, as unseen data would."""
    leaky = load_classification("weight_regularization", leaky=True)
    fixed = load_classification("weight_regularization")
    np.testing.assert_allclose(leaky.x_test.mean(0), 0.0, atol=1e-5)
    np.testing.assert_allclose(leaky.x_test.std(0), 1.0, atol=1e-5)
    assert np.abs(fixed.x_test.mean(0)).max() > 0.05
    np.testing.assert_array_equal(leaky.x_train, fixed.x_train)


# --- D12 ---------------------------------------------------------------------------------------


def build_and_drop(seed_with) -> tuple[list[np.ndarray], np.ndarray]:
    """Seed, build a dropout model, run one training-mode forward pass (a dropout mask)."""
    seed_with(0)
    model = build_model(DROPOUT_SPEC)
    output = model(np.ones((4, 20), np.float32), training=True)
    return model.get_weights(), keras.ops.convert_to_numpy(output)


def test_d12_tf_and_numpy_seeds_do_not_repeat_a_keras_model_build():
    (weights_a, _), (weights_b, _) = build_and_drop(document_seeding), build_and_drop(document_seeding)
    assert not np.array_equal(weights_a[0], weights_b[0])


def test_d12_keras_set_random_seed_repeats_the_build_and_the_dropout_mask():
    (weights_a, out_a), (weights_b, out_b) = (
        build_and_drop(keras.utils.set_random_seed),
        build_and_drop(keras.utils.set_random_seed),
    )
    for a, b in zip(weights_a, weights_b, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(out_a, out_b)
