"""The shared callback experiments' own logic (their runs are checked in ``test_callbacks.py``)."""

from __future__ import annotations

from reference.callback_experiments import PlateauRates


def test_the_first_cut_is_the_first_epoch_whose_end_lowered_the_rate():
    used, after = [1e-3, 9e-4, 8.1e-4, 7.29e-4], [1e-3, 9e-4, 4.05e-4, 7.29e-4]
    assert PlateauRates(used=used, after=after, logged=after).first_cut() == 2


def test_a_rate_lowered_by_less_than_the_cut_tolerance_is_not_a_cut():
    used, after = [1e-3, 1e-3], [1e-3 * (1 - 1e-6), 1e-3]
    assert PlateauRates(used=used, after=after, logged=after).first_cut() is None
