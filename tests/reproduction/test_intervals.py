"""The t interval of a mean over seeds, against the formula written out by hand, and where it lies."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import t as student_t

from reference.reproduction.intervals import ABOVE, BELOW, CONTAINS, Interval, side, t_interval

# Two-sided 95 % quantiles t_{0.975, df} from a printed table (Student's t, 4 decimals there).
T_TABLE = {1: 12.7062, 2: 4.3027, 4: 2.7764, 9: 2.2622}
TABLE_ATOL = 5e-5  # the table's rounding
FLOAT_RTOL = 1e-9


def by_hand(values: list[float], quantile: float) -> tuple[float, float, float]:
    """``(mean, low, high)``: mean +- quantile * s / sqrt(n), s with n - 1 in the denominator."""
    n = len(values)
    mean = math.fsum(values) / n
    s = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))
    return mean, mean - quantile * s / math.sqrt(n), mean + quantile * s / math.sqrt(n)


@pytest.mark.parametrize("df", sorted(T_TABLE))
def test_the_quantile_used_is_the_printed_t_table_value(df):
    interval = t_interval([0.0] * df + [1.0])
    assert interval.df == df
    assert interval.t == pytest.approx(T_TABLE[df], abs=TABLE_ATOL)


def test_five_seeds_of_3_4_5_6_7_give_5_plus_minus_2_7764_sqrt_2_5_over_sqrt_5():
    interval = t_interval([3.0, 4.0, 5.0, 6.0, 7.0])  # mean 5, s^2 = 10 / 4
    half = T_TABLE[4] * math.sqrt(2.5) / math.sqrt(5)
    assert interval.mean == 5.0 and interval.sd == pytest.approx(math.sqrt(2.5))
    assert (interval.low, interval.high) == pytest.approx((5 - half, 5 + half), abs=TABLE_ATOL)


@given(
    st.lists(
        st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False),
        min_size=2,
        max_size=12,
    )
)
def test_the_interval_is_the_mean_plus_minus_t_times_the_standard_error(values):
    quantile = float(student_t.ppf(0.975, len(values) - 1))
    mean, low, high = by_hand(values, quantile)
    interval = t_interval(values)
    scale = max(1.0, max(abs(v) for v in values))
    assert interval.n == len(values)
    assert interval.mean == pytest.approx(mean, rel=FLOAT_RTOL, abs=FLOAT_RTOL * scale)
    assert interval.low == pytest.approx(low, rel=FLOAT_RTOL, abs=FLOAT_RTOL * scale * quantile)
    assert interval.high == pytest.approx(high, rel=FLOAT_RTOL, abs=FLOAT_RTOL * scale * quantile)


def test_a_wider_confidence_gives_a_wider_interval_around_the_same_mean():
    values = [0.2, 0.5, 0.1, 0.4]
    narrow, wide = t_interval(values, confidence=0.8), t_interval(values, confidence=0.99)
    assert narrow.mean == wide.mean
    assert wide.low < narrow.low < narrow.mean < narrow.high < wide.high


def test_one_seed_has_no_interval_and_equal_seeds_have_a_point():
    one = t_interval([0.3])
    assert (one.low, one.high, one.n) == (-math.inf, math.inf, 1) and math.isnan(one.t)
    equal = t_interval([0.3, 0.3, 0.3])
    assert (equal.low, equal.mean, equal.high, equal.sd) == (0.3, 0.3, 0.3, 0.0)


@pytest.mark.parametrize(
    ("values", "confidence"),
    [([], 0.95), ([1.0, math.nan], 0.95), ([1.0, math.inf], 0.95), ([[1.0, 2.0]], 0.95), ([1.0, 2.0], 1.0)],
    ids=["empty", "nan", "inf", "two-dimensional", "confidence-1"],
)
def test_bad_values_or_confidence_are_refused_naming_the_argument(values, confidence):
    with pytest.raises(ValueError, match=r"`values`|`confidence`"):
        t_interval(values, confidence=confidence)


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (0.1, 0.5, ABOVE),
        (-0.5, -0.1, BELOW),
        (-0.1, 0.1, CONTAINS),
        (0.0, 0.3, CONTAINS),
        (-0.3, 0.0, CONTAINS),
    ],
    ids=["above", "below", "across", "touching-from-above", "touching-from-below"],
)
def test_side_says_whether_the_interval_excludes_the_reference_and_on_which_side(low, high, expected):
    interval = Interval(mean=(low + high) / 2, low=low, high=high, n=5, sd=1.0, t=2.7764)
    assert side(interval, 0.0) == expected


def test_the_interval_as_a_dict_carries_its_degrees_of_freedom():
    assert t_interval(np.array([1.0, 2.0, 4.0])).as_dict()["df"] == 2
