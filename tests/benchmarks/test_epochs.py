"""The epoch benchmark's data sets, ways and the check of a way's first epoch against the eager loop."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from benchmarks.epochs import (
    EPOCH_BATCH_SIZES,
    EPOCH_UPDATE_RTOL,
    build_epoch_runner,
    check_epoch,
    eager_first_epoch,
    epoch_data,
)
from benchmarks.settings import FULL, QUICK, SMOKE, choose_epochs_per_round
from reference.callbacks import make_callbacks

SEED = 7


def test_the_epoch_check_is_the_relative_norm_of_the_update_difference():
    initial = [np.zeros(2), np.zeros(1)]
    reference = [np.array([3.0, 0.0]), np.array([4.0])]  # update norm 5
    after = [np.array([3.0, 0.3]), np.array([4.4])]  # difference norm 0.5
    check = check_epoch("fit", initial, after, reference)
    assert check.update_rel_err == pytest.approx(0.1) and not check.passed
    assert check_epoch("fit", initial, reference, reference).passed


def test_a_way_with_twice_the_learning_rate_fails_the_epoch_check():
    data = epoch_data("basic", rows=64)
    reference = eager_first_epoch(data, seed=SEED)
    runner = build_epoch_runner("fit", data, callbacks=False, seed=SEED)
    runner.model.optimizer.learning_rate = 2e-3
    initial = runner.weights()
    runner.train(1)
    check = check_epoch("fit", initial, runner.weights(), reference)
    assert (
        check.update_rel_err > EPOCH_UPDATE_RTOL
        and "does not train the eager loop's first epoch" in check.message()
    )


@pytest.mark.parametrize("name", sorted(EPOCH_BATCH_SIZES))
def test_each_data_set_comes_with_the_documents_batch_size_and_can_be_cut(name):
    data = epoch_data(name, rows=50)
    assert data.batch_size == EPOCH_BATCH_SIZES[name] and data.train_rows == 50
    assert data.steps_per_epoch == -(-50 // data.batch_size)


def test_the_basic_data_set_is_the_documents_800_training_rows():
    data = epoch_data("basic")
    assert (data.train_rows, data.split.n_features, data.steps_per_epoch) == (800, 20, 25)


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda: epoch_data("mnist"), "name"),
        (lambda: epoch_data("basic", rows=0), "rows"),
        (lambda: epoch_data("basic", rows=True), "rows"),
        (lambda: build_epoch_runner("turbo", epoch_data("basic", rows=8), callbacks=False, seed=0), "way"),
        (lambda: build_epoch_runner("fit", epoch_data("basic", rows=8), callbacks=True, seed=0), "workdir"),
    ],
    ids=["unknown-data-set", "zero-rows", "bool-rows", "unknown-way", "callbacks-without-folder"],
)
def test_bad_arguments_raise_value_error_naming_the_argument(call, argument):
    with pytest.raises(ValueError, match=f"Argument `{argument}`"):
        call()


@given(epoch_s=st.floats(0, 100, allow_nan=False), settings=st.sampled_from([FULL, QUICK, SMOKE]))
def test_epochs_per_round_stay_between_one_and_the_settings_bound(epoch_s, settings):
    assert 1 <= choose_epochs_per_round(epoch_s, settings) <= settings.epoch_max_per_round


def test_a_round_is_too_short_for_the_plateau_rule_to_cut_the_rate_inside_it():
    # ReduceLROnPlateau cuts after `lr_patience` stalled epochs; the first epoch of a call always improves on +inf.
    patience = inspect.signature(make_callbacks).parameters["lr_patience"].default
    assert max(s.epoch_max_per_round for s in (FULL, QUICK, SMOKE)) <= patience
