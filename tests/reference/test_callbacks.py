"""The document's callbacks on Keras 3: files they leave, the learning-rate owner (D9), D7, D8."""

from __future__ import annotations

import csv
import importlib.metadata
import logging
import os
import warnings
import zipfile
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given
from hypothesis import strategies as st
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from reference.callback_experiments import (
    PlateauRates,
    SimulatedDiskFullError,
    fit_then_fail_while_saving,
    plateau_rates,
    tiny_classifier,
    tiny_data,
)
from reference.callbacks import (
    CHECKPOINT_NAME,
    CSV_NAME,
    DOCUMENT_DECAY,
    DOCUMENT_INITIAL_LR,
    TENSORBOARD_DIR,
    AtomicModelCheckpoint,
    EpochTimer,
    MultiplicativeDecay,
    ThresholdStopping,
    demonstrate_callbacks,
    make_callbacks,
)
from reference.data import MnistFallbackWarning, load_classification, load_mnist
from reference.document import document_callbacks, document_schedule
from reference.loop import build_optimizer
from reference.models import build_model, document_model
from reference.versions import keras_at_least
from tests.common import SEED

# Learning rates live in a float32 variable: 0.001 * 0.9**e is stored to ~6e-8 relative.
LR_RTOL = 1e-6
# TensorBoard stores epoch scalars as float32 tensors; History holds the same float32 values.
TENSORBOARD_RTOL = 1e-6
# An accuracy is a count over n samples: half a sample apart means equal.
HALF_SAMPLE = 0.5
DEMO_EPOCHS = 3
PLATEAU_EPOCHS = 7
DOCUMENT_PLATEAU_EPOCHS = 12  # room for the document's EarlyStopping(patience=10) to end the run
DOCUMENT_EARLY_STOPPING_PATIENCE = 10
DOCUMENT_PLATEAU_PATIENCE = 5
DOCUMENT_PLATEAU_FACTOR = 0.5
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def cuts_before(epoch: int, patience: int) -> int:
    """Plateau cuts made before epoch e when val_loss never improves after epoch 0.

    Epoch 0 improves on +inf; each later run of ``patience`` stalled epochs ends in a cut.
    """
    return max(0, (epoch - 1) // patience)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """The callbacks demo with our set, offline: no mnist.npz, so the sklearn stand-in (D7)."""
    workdir = tmp_path_factory.mktemp("callbacks_demo")
    with pytest.MonkeyPatch.context() as patch, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        patch.setenv("KERAS_HOME", str(tmp_path_factory.mktemp("empty_keras_home")))
        model, history = demonstrate_callbacks(workdir, epochs=DEMO_EPOCHS, seed=SEED)
        split = load_mnist()
    return workdir, model, history.history, split, caught


@pytest.fixture(scope="module")
def document_plateau_run(tmp_path_factory) -> tuple[Path, PlateauRates]:
    workdir = tmp_path_factory.mktemp("document_callbacks")
    return workdir, plateau_rates(document_callbacks(workdir), epochs=DOCUMENT_PLATEAU_EPOCHS, seed=SEED)


# --- D7, D8: the demo runs offline, TensorBoard is installed and writes events ------------------


def test_callbacks_demo_falls_back_to_the_offline_digits_with_a_warning(demo_run):
    _, model, history, split, caught = demo_run
    assert any(issubclass(w.category, MnistFallbackWarning) for w in caught)
    assert split.source.startswith("sklearn digits")
    assert model.input_shape == (None, split.n_features)
    assert len(history["loss"]) == DEMO_EPOCHS


def test_tensorboard_is_a_declared_dependency_of_the_project():
    requirements = importlib.metadata.requires("tf-training-suite") or []
    assert any(r.split(">")[0].split("=")[0].strip() == "tensorboard" for r in requirements)


@pytest.mark.parametrize(("run", "tag_key"), [("train", "loss"), ("validation", "val_loss")])
def test_tensorboard_event_files_hold_the_history_epoch_losses(demo_run, run, tag_key):
    workdir, _, history, _, _ = demo_run
    events = EventAccumulator(str(workdir / TENSORBOARD_DIR / run), size_guidance={"tensors": 0})
    events.Reload()
    logged = events.Tensors("epoch_loss")
    assert [e.step for e in logged] == list(range(DEMO_EPOCHS))
    values = [float(tf.make_ndarray(e.tensor_proto)) for e in logged]
    np.testing.assert_allclose(values, history[tag_key], rtol=TENSORBOARD_RTOL)


def test_tensorboard_writes_weight_histograms_every_epoch_but_no_op_graph(demo_run):
    workdir = demo_run[0]
    events = EventAccumulator(str(workdir / TENSORBOARD_DIR / "train"), size_guidance={"tensors": 0})
    events.Reload()
    histograms = [tag for tag in events.Tags()["tensors"] if tag.endswith("/histogram")]
    if keras_at_least("3.14"):  # tags from weight.path ("dense/kernel"): one per weight
        assert len(histograms) == 6  # kernel and bias of the 3 Dense layers
        assert all(len(events.Tensors(tag)) == DEMO_EPOCHS for tag in histograms)
    else:  # before 3.14 tags come from weight.name ("kernel"): the 3 layers write into 2 tags
        assert sorted(histograms) == ["bias/histogram", "kernel/histogram"]
    assert events.Tags()["graph"] is False


# --- files: checkpoint and CSV log ---------------------------------------------------------------


def test_checkpoint_is_a_loadable_keras_file_scoring_the_best_validation_accuracy(demo_run):
    workdir, _, history, split, _ = demo_run
    restored = keras.saving.load_model(workdir / CHECKPOINT_NAME)
    _, accuracy = restored.evaluate(split.x_test, split.y_test, verbose=0)
    assert accuracy == pytest.approx(max(history["val_accuracy"]), abs=HALF_SAMPLE / len(split.x_test))


@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")
@pytest.mark.parametrize("name", ["best.keras", "best.weights.h5"])
def test_atomic_checkpoint_holds_the_weights_of_the_best_epoch_not_the_last(tmp_path, name):
    scores = [0.1, 0.9, 0.3]  # best at epoch 1
    model, (x, y), weights_at = tiny_classifier(learning_rate=0.1), tiny_data(SEED), []
    callbacks = [
        keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: logs.update(score=scores[e])),
        AtomicModelCheckpoint(
            str(tmp_path / name),
            monitor="score",
            mode="max",
            save_best_only=True,
            save_weights_only=name.endswith(".weights.h5"),
        ),
        keras.callbacks.LambdaCallback(
            on_epoch_end=lambda epoch, logs: weights_at.append(model.get_weights())
        ),
    ]
    model.fit(x, y, epochs=len(scores), batch_size=8, callbacks=callbacks, verbose=0)
    restored = tiny_classifier()
    if name.endswith(".keras"):
        restored = keras.saving.load_model(tmp_path / name)
    else:
        restored.load_weights(tmp_path / name)
    for saved, expected, last in zip(restored.get_weights(), weights_at[1], weights_at[2], strict=True):
        np.testing.assert_array_equal(saved, expected)
        assert not np.array_equal(saved, last)
    assert sorted(os.listdir(tmp_path)) == [name]


def test_atomic_checkpoint_formats_an_epoch_template_in_the_name_like_keras(tmp_path):
    model, (x, y) = tiny_classifier(learning_rate=0.1), tiny_data(SEED)
    checkpoint = AtomicModelCheckpoint(str(tmp_path / "model-{epoch:02d}.weights.h5"), save_weights_only=True)
    model.fit(x, y, epochs=2, batch_size=8, callbacks=[checkpoint], verbose=0)
    assert sorted(os.listdir(tmp_path)) == ["model-01.weights.h5", "model-02.weights.h5"]


def test_csv_log_has_one_row_per_epoch_with_the_history_columns(demo_run):
    workdir, _, history, _, _ = demo_run
    with open(workdir / CSV_NAME, newline="") as f:
        rows = list(csv.DictReader(f))
    expected_columns = {"epoch", "loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"}
    assert set(rows[0]) == expected_columns
    assert [int(row["epoch"]) for row in rows] == list(range(DEMO_EPOCHS))
    for column in expected_columns - {"epoch"}:
        assert [float(row[column]) for row in rows] == pytest.approx(history[column], rel=1e-12)


# --- atomic checkpoints ---------------------------------------------------------------------------


def test_keras_model_checkpoint_leaves_a_truncated_file_when_saving_fails(tmp_path):
    path = tmp_path / "model.keras"
    failed = fit_then_fail_while_saving(keras.callbacks.ModelCheckpoint(str(path)), seed=SEED)
    assert isinstance(failed.error, SimulatedDiskFullError)
    assert "model.weights.h5" not in zipfile.ZipFile(path).namelist()
    with pytest.raises(ValueError, match=r"model\.weights"):
        keras.saving.load_model(path)


def test_atomic_checkpoint_keeps_the_previous_file_whole_when_saving_fails(tmp_path):
    path = tmp_path / "model.keras"
    failed = fit_then_fail_while_saving(AtomicModelCheckpoint(str(path)), seed=SEED)
    assert isinstance(failed.error, SimulatedDiskFullError)
    restored = keras.saving.load_model(path)
    for restored_weight, saved_weight in zip(restored.get_weights(), failed.saved_weights, strict=True):
        np.testing.assert_array_equal(restored_weight, saved_weight)
    assert os.listdir(tmp_path) == ["model.keras"]


def test_document_callbacks_stop_a_plateau_after_patience_epochs(document_plateau_run):
    """The validation loss of the frozen model never improves after epoch 0: EarlyStopping(patience=10)
    stops at the end of epoch 10, and the rate still follows the scheduler up to there."""
    _, rates = document_plateau_run
    assert len(rates.used) == DOCUMENT_EARLY_STOPPING_PATIENCE + 1 < DOCUMENT_PLATEAU_EPOCHS


def test_document_tensorboard_writes_each_non_scalar_weight_as_an_image_every_epoch(document_plateau_run):
    """write_images=True: Keras 3 squeezes each weight and skips a scalar (the 1-unit output bias)."""
    workdir, rates = document_plateau_run
    events = EventAccumulator(str(workdir / "logs" / "train"), size_guidance={"tensors": 0})
    events.Reload()
    tags = events.Tags()["tensors"]
    histograms = {tag.removesuffix("/histogram") for tag in tags if tag.endswith("/histogram")}
    images = {tag.removesuffix("/image") for tag in tags if tag.endswith("/image")}
    if not keras_at_least("3.14"):
        # Before Keras 3.14 the tags are the weights' names, not their paths: the layers' tags collide.
        assert histograms == images == {"kernel", "bias"}
        return
    assert len(histograms) == 4  # kernel and bias of the 8-4-1 classifier's two Dense layers
    (skipped,) = histograms - images
    assert images < histograms and skipped.endswith("/bias")
    assert all(len(events.Tensors(f"{tag}/image")) == len(rates.used) for tag in images)


# --- D9: one owner of the learning rate ----------------------------------------------------------


def test_document_scheduler_undoes_the_plateau_cut_at_the_next_epoch(document_plateau_run):
    _, rates = document_plateau_run
    cut = DOCUMENT_PLATEAU_PATIENCE  # val_loss stalls from epoch 1: first cut at the end of epoch 5
    assert rates.after[cut] == pytest.approx(DOCUMENT_PLATEAU_FACTOR * rates.used[cut], rel=LR_RTOL)
    expected = [DOCUMENT_INITIAL_LR * DOCUMENT_DECAY**e for e in range(len(rates.used))]
    np.testing.assert_allclose(rates.used, expected, rtol=LR_RTOL)


def test_document_order_logs_the_cut_rate_for_the_epoch_that_still_ran_at_the_old_one(
    document_plateau_run,
):
    _, rates = document_plateau_run
    cut = DOCUMENT_PLATEAU_PATIENCE
    assert rates.logged[cut] == pytest.approx(rates.after[cut], rel=LR_RTOL)
    assert rates.logged[cut] != pytest.approx(rates.used[cut], rel=LR_RTOL)


def test_document_checkpoint_name_h5_still_writes_a_loadable_legacy_hdf5_model(document_plateau_run):
    workdir, _ = document_plateau_run
    path = workdir / "best_model.h5"
    assert path.read_bytes()[:8] == HDF5_SIGNATURE
    assert keras.saving.load_model(path).input_shape == (None, 8)


def test_our_callbacks_keep_every_plateau_cut_and_the_per_epoch_decay(tmp_path):
    rates = plateau_rates(make_callbacks(tmp_path, histogram_freq=0), epochs=PLATEAU_EPOCHS, seed=SEED)
    expected = [
        DOCUMENT_INITIAL_LR
        * DOCUMENT_DECAY**e
        * DOCUMENT_PLATEAU_FACTOR ** cuts_before(e, DOCUMENT_PLATEAU_PATIENCE)
        for e in range(PLATEAU_EPOCHS)
    ]
    assert cuts_before(PLATEAU_EPOCHS - 1, DOCUMENT_PLATEAU_PATIENCE) == 1
    np.testing.assert_allclose(rates.used, expected, rtol=LR_RTOL)


def test_reduce_lr_on_plateau_alone_halves_the_rate_after_each_stalled_patience(tmp_path):
    patience = 2
    rates = plateau_rates(
        make_callbacks(tmp_path, lr_decay=None, lr_patience=patience, histogram_freq=0),
        epochs=PLATEAU_EPOCHS,
        seed=SEED,
    )
    expected = [DOCUMENT_INITIAL_LR * 0.5 ** cuts_before(e, patience) for e in range(PLATEAU_EPOCHS)]
    np.testing.assert_allclose(rates.used, expected, rtol=LR_RTOL)
    np.testing.assert_allclose(rates.logged, expected, rtol=LR_RTOL)


def test_document_schedule_ignores_the_rate_it_is_given():
    with pytest.raises(TypeError):
        document_schedule(3, 1e-5)
    assert document_schedule(3) == pytest.approx(DOCUMENT_INITIAL_LR * DOCUMENT_DECAY**3)


@given(
    epoch=st.integers(1, 100),
    lr=st.floats(1e-8, 1.0),
    factor=st.floats(0.01, 1.0),
    min_lr=st.floats(0.0, 1e-3),
)
def test_multiplicative_decay_multiplies_the_current_rate_down_to_min_lr(epoch, lr, factor, min_lr):
    decay = MultiplicativeDecay(factor, min_lr)
    assert decay(epoch, lr) == max(lr * factor, min_lr)
    assert decay(0, lr) == lr


# --- the document's custom callback: EpochTimer + ThresholdStopping ------------------------------


@pytest.fixture(scope="module")
def threshold_run():
    keras.utils.set_random_seed(SEED)
    split = load_classification("monitored", n_samples=400)
    model = build_model(document_model("custom_callback"))
    model.compile(keras.optimizers.Adam(1e-3), "binary_crossentropy", metrics=["accuracy"])
    build_optimizer(model)
    timer, stopper = EpochTimer(), ThresholdStopping(threshold=0.8)
    history = model.fit(
        split.x_train,
        split.y_train,
        epochs=20,
        batch_size=32,
        validation_data=(split.x_test, split.y_test),
        callbacks=[timer, stopper],
        verbose=0,
    )
    return history.history["val_accuracy"], timer, stopper


def test_threshold_stopping_ends_training_at_the_first_epoch_past_the_threshold(threshold_run):
    val_accuracy, _, stopper = threshold_run
    assert len(val_accuracy) < 20
    assert val_accuracy[-1] > stopper.threshold
    assert all(v <= stopper.threshold for v in val_accuracy[:-1])
    assert stopper.stopped_epoch == len(val_accuracy) - 1


def test_epoch_timer_records_one_positive_time_per_epoch(threshold_run):
    val_accuracy, timer, _ = threshold_run
    assert len(timer.epoch_times) == len(val_accuracy)
    assert all(t > 0 for t in timer.epoch_times)
    assert timer.mean_epoch_time == pytest.approx(np.mean(timer.epoch_times))


def test_threshold_stopping_needs_strictly_more_than_the_threshold():
    stopper = ThresholdStopping(threshold=0.95)
    stopper.set_model(tiny_classifier())
    stopper.on_epoch_end(0, {"val_accuracy": 0.95})
    assert not stopper.model.stop_training
    stopper.on_epoch_end(1, {"val_accuracy": 0.9501})
    assert stopper.model.stop_training


def test_threshold_stopping_warns_in_the_log_when_its_metric_is_missing(caplog):
    stopper = ThresholdStopping()
    stopper.set_model(tiny_classifier())
    with caplog.at_level(logging.WARNING, logger="reference.callbacks"):
        stopper.on_epoch_end(0, {"accuracy": 1.0})
    assert "val_accuracy" in caplog.text
    assert not stopper.model.stop_training


def test_epoch_timer_reports_through_logging_and_prints_nothing(caplog, capsys):
    timer = EpochTimer()
    with caplog.at_level(logging.INFO, logger="reference.callbacks"):
        timer.on_train_begin()
        timer.on_epoch_begin(0)
        timer.on_epoch_end(0, {"accuracy": 0.5, "val_accuracy": 0.25})
        timer.on_train_end()
    assert "val_accuracy 0.2500" in caplog.text
    assert "Mean epoch time" in caplog.text
    assert capsys.readouterr().out == ""
