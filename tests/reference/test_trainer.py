"""``Trainer`` with steps per execution, and Keras's learning-rate callbacks driving the custom loops."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from reference.callbacks import make_callbacks
from reference.data import Split, load_classification, make_dataset
from reference.models import ModelSpec, build_model
from reference.trainer import Trainer
from reference.training import train_eager
from tests.common import SEED

# k steps inside one tf.function against one call per step, same batches: measured identical weights
# (max difference 0.0) and logs on CPU; 1e-6 leaves room for another kernel order.
SAME_TRAJECTORY_ATOL = 1e-6
TINY = ModelSpec(20, (8,), dropout=(0.2,))
BATCH = 8
# 10 batches of 8: with 4 steps per call the calls run 4, 4 and 2 steps, the last one partial.
ROWS = 80


def tiny_split() -> Split:
    split = load_classification("advanced", n_samples=2 * ROWS)
    return Split(split.x_train[:ROWS], split.y_train[:ROWS], split.x_test[:24], split.y_test[:24])


def trained(steps_per_execution: int, epochs: int = 2, *, unknown_size: bool = False):
    keras.utils.set_random_seed(SEED)
    model = build_model(TINY)
    split = tiny_split()
    trainer = Trainer(
        model,
        keras.optimizers.Adam(1e-2),
        clip=None,
        patience=None,
        restore_best=False,
        steps_per_execution=steps_per_execution,
    )
    train = make_dataset(split.x_train, split.y_train, BATCH, seed=SEED)
    if unknown_size:  # a filter hides the number of batches from tf.data (cardinality -2)
        train = train.filter(lambda x, y: True)
    history = trainer.train(train, make_dataset(split.x_test, split.y_test, BATCH, shuffle=False), epochs)
    return model, history, trainer


@pytest.fixture(scope="module")
def one_and_four():
    return trained(1), trained(4)


def test_on_data_of_unknown_size_four_steps_per_call_train_the_same_weights_as_one(one_and_four):
    (one, _, _), _ = one_and_four
    four, _, trainer = trained(4, unknown_size=True)
    assert trainer.train_steps_until_end.experimental_get_tracing_count() == 1
    for a, b in zip(one.get_weights(), four.get_weights(), strict=True):
        np.testing.assert_allclose(b, a, atol=SAME_TRAJECTORY_ATOL, rtol=0)


def test_four_steps_per_call_train_the_same_weights_as_one(one_and_four):
    (one, _, _), (four, _, _) = one_and_four
    for a, b in zip(one.get_weights(), four.get_weights(), strict=True):
        np.testing.assert_allclose(b, a, atol=SAME_TRAJECTORY_ATOL, rtol=0)


def test_four_steps_per_call_log_the_same_epochs_as_one(one_and_four):
    (_, one, _), (_, four, _) = one_and_four
    for key in ("loss", "accuracy", "val_loss", "val_accuracy", "gradient_norm"):
        np.testing.assert_allclose(getattr(four, key), getattr(one, key), atol=SAME_TRAJECTORY_ATOL, rtol=0)


def test_every_batch_is_trained_once_per_epoch_including_the_partial_last_call(one_and_four):
    _, (_, _, trainer) = one_and_four
    assert int(trainer.optimizer.iterations) == 2 * ROWS // BATCH


def test_on_data_of_unknown_size_a_call_stops_at_the_end_and_says_how_many_steps_it_ran():
    keras.utils.set_random_seed(SEED)
    model, optimizer = build_model(TINY), keras.optimizers.SGD()
    optimizer.build(model.trainable_variables)
    trainer = Trainer(model, optimizer, clip=None, steps_per_execution=4)
    x = np.ones((6 * BATCH, 20), np.float32)
    y = np.ones((6 * BATCH,), np.float32)
    iterator = iter(tf.data.Dataset.from_tensor_slices((x, y)).batch(BATCH))
    assert [int(trainer.train_steps_until_end(iterator)[0]) for _ in range(3)] == [4, 2, 0]


def test_a_second_train_call_on_the_same_data_does_not_trace_again():
    _, _, trainer = trained(4, epochs=1)
    split = tiny_split()
    traced = trainer.train_steps.experimental_get_tracing_count()
    trainer.train(
        make_dataset(split.x_train, split.y_train, BATCH, seed=SEED),
        make_dataset(split.x_test, split.y_test, BATCH, shuffle=False),
        1,
    )
    assert trainer.train_steps.experimental_get_tracing_count() == traced == 1


RATE = 0.01


class RateRecorder(keras.callbacks.Callback):
    """The optimizer's rate during each epoch (read at its end, before the plateau rule may cut it)."""

    def __init__(self, optimizer):
        super().__init__()
        self.optimizer, self.rates = optimizer, []

    def on_epoch_end(self, epoch, logs=None):
        self.rates.append(float(keras.ops.convert_to_numpy(self.optimizer.learning_rate)))


def test_the_documents_callbacks_drive_the_rate_of_a_trainers_uncompiled_model(tmp_path):
    keras.utils.set_random_seed(SEED)
    model, split, optimizer = build_model(TINY), tiny_split(), keras.optimizers.Adam(RATE)
    recorder = RateRecorder(optimizer)
    callbacks = [*make_callbacks(tmp_path, lr_decay=0.5, histogram_freq=0), recorder]
    Trainer(model, optimizer, clip=None, patience=None).train(
        make_dataset(split.x_train, split.y_train, BATCH, seed=SEED),
        make_dataset(split.x_test, split.y_test, BATCH, shuffle=False),
        3,
        callbacks,
    )
    # MultiplicativeDecay: lr_e = RATE * 0.5**e (no plateau cut in 3 epochs: patience 5).
    np.testing.assert_allclose(recorder.rates, [RATE, RATE / 2, RATE / 4], rtol=1e-6)
    assert (tmp_path / "best_model.keras").is_file()
    assert not hasattr(model, "optimizer")


def test_the_eager_loop_lends_its_optimizer_to_the_model_only_while_it_trains():
    keras.utils.set_random_seed(SEED)
    model, optimizer = build_model(TINY), keras.optimizers.SGD(RATE)
    seen = []
    callback = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(model.optimizer))
    train_eager(
        model, tiny_split(), epochs=1, batch_size=4 * BATCH, optimizer=optimizer, callbacks=[callback]
    )
    assert seen == [optimizer] and not hasattr(model, "optimizer")
