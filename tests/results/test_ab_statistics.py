"""The A/B statistics: t intervals of per-round log ratios, the aggregate, verdicts, detectable effects.

Oracles are written from the formulas with the quantiles of a printed t table (4 significant digits):
t_{0.975,2} = 4.303, t_{0.975,4} = 2.776, t_{0.975,9} = 2.262, t_{0.95,9} = 1.833.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.results.ab_statistics import (
    FASTER,
    IMPROVEMENT,
    INCONCLUSIVE,
    INSUFFICIENT,
    NO_CHANGE,
    REGRESSION,
    SLOWER,
    RatioEstimate,
    aggregate_log_ratios,
    false_alarm_probability,
    log_ratios,
    minimal_detectable_effect,
    ratio_estimate,
    verdict,
)

# A printed t quantile has 4 significant digits: relative error of the half width below 2e-4.
T_TABLE_RTOL = 1e-4
SEED = 20240101


def test_the_interval_of_five_rounds_is_the_t_table_interval():
    """d = 0.01, 0.03, 0.02, 0.04, 0.00: mean 0.02, s = sqrt(0.001 / 4), half = 2.776 s / sqrt(5)."""
    d = np.array([0.01, 0.03, 0.02, 0.04, 0.00])
    a = np.array([1e-3, 2e-3, 1e-3, 5e-4, 3e-3])
    half = 2.776 * math.sqrt(0.001 / 4) / math.sqrt(5)
    estimate = ratio_estimate(log_ratios(a, a * np.exp(d)))
    assert estimate.rounds == 5
    assert estimate.ratio == pytest.approx(math.exp(0.02), rel=1e-12)
    assert estimate.low == pytest.approx(math.exp(0.02 - half), rel=T_TABLE_RTOL)
    assert estimate.high == pytest.approx(math.exp(0.02 + half), rel=T_TABLE_RTOL)
    assert estimate.half_width == pytest.approx(math.exp(half) - 1, rel=1e-3)


def test_the_aggregate_is_the_geometric_mean_with_the_interval_of_the_per_round_means():
    """Case 1: d = 0, 0.02, 0.04; case 2: d = 0.06 each round; D = 0.03, 0.04, 0.05: s = 0.01, df = 2."""
    per_round = aggregate_log_ratios([np.array([0.0, 0.02, 0.04]), np.array([0.06, 0.06, 0.06])])
    estimate = ratio_estimate(per_round)
    half = 4.303 * 0.01 / math.sqrt(3)
    assert estimate.ratio == pytest.approx(math.sqrt(math.exp(0.02) * math.exp(0.06)), rel=1e-12)
    assert estimate.low == pytest.approx(math.exp(0.04 - half), rel=T_TABLE_RTOL)
    assert estimate.high == pytest.approx(math.exp(0.04 + half), rel=T_TABLE_RTOL)


def test_the_minimal_detectable_effect_adds_the_two_t_quantiles():
    """s = 0.1 over 10 rounds: MDE = exp((2.262 + 1.833) 0.1 / sqrt(10)) - 1."""
    expected = math.expm1((2.262 + 1.833) * 0.1 / math.sqrt(10))
    assert minimal_detectable_effect(0.1, 10, alpha=0.05, power=0.95) == pytest.approx(expected, rel=1e-3)


def _estimate(ratio: float, low: float, high: float, rounds: int = 10) -> RatioEstimate:
    return RatioEstimate(ratio, low, high, rounds, 0.01, 0.05)


@pytest.mark.parametrize(
    ("estimate", "expected"),
    [
        (_estimate(1.10, 1.06, 1.14), REGRESSION),
        (_estimate(1.10, 1.02, 1.18), REGRESSION),
        (_estimate(1.03, 1.01, 1.05), SLOWER),
        (_estimate(0.90, 0.85, 0.94), IMPROVEMENT),
        (_estimate(0.98, 0.965, 0.995), FASTER),
        (_estimate(1.00, 0.97, 1.03), NO_CHANGE),
        (_estimate(1.02, 0.97, 1.08), INCONCLUSIVE),
        (_estimate(1.10, 0.98, 1.20), INCONCLUSIVE),
        (_estimate(1.50, 1.40, 1.60, rounds=2), INSUFFICIENT),
    ],
    ids=[
        "beyond-and-significant",
        "beyond-with-a-wide-interval-above-1",
        "significant-within-the-threshold",
        "faster-beyond-and-significant",
        "faster-within-the-threshold",
        "interval-within-the-threshold",
        "interval-holds-1-and-the-threshold",
        "beyond-but-not-significant",
        "two-rounds",
    ],
)
def test_the_verdict_needs_the_threshold_and_significance(estimate, expected):
    assert verdict(estimate, threshold=0.05) == expected


def test_false_alarms_follow_the_binomial_tail():
    """k = 2 cases at alpha 0.05: P(X >= 1) = 1 - 0.95^2, P(X >= 2) = 0.05^2, P(X >= 0) = 1."""
    assert false_alarm_probability(1, 2, alpha=0.05) == pytest.approx(1 - 0.95**2, rel=1e-12)
    assert false_alarm_probability(2, 2, alpha=0.05) == pytest.approx(0.05**2, rel=1e-12)
    assert false_alarm_probability(0, 2, alpha=0.05) == pytest.approx(1.0, rel=1e-12)


times = st.lists(st.floats(1e-6, 1.0), min_size=3, max_size=12)


@settings(max_examples=30, deadline=None)
@given(st.data(), st.floats(0.1, 10.0))
def test_scaling_every_candidate_time_by_k_scales_the_ratio_and_its_interval_by_k(data, k):
    a = np.array(data.draw(times, label="a"))
    b = np.array(data.draw(st.lists(st.floats(1e-6, 1.0), min_size=len(a), max_size=len(a)), label="b"))
    plain, scaled = ratio_estimate(log_ratios(a, b)), ratio_estimate(log_ratios(a, b * k))
    for before, after in ((plain.ratio, scaled.ratio), (plain.low, scaled.low), (plain.high, scaled.high)):
        assert after == pytest.approx(k * before, rel=1e-9)


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_swapping_the_environments_inverts_the_ratio_and_its_interval(data):
    a = np.array(data.draw(times, label="a"))
    b = np.array(data.draw(st.lists(st.floats(1e-6, 1.0), min_size=len(a), max_size=len(a)), label="b"))
    forward, backward = ratio_estimate(log_ratios(a, b)), ratio_estimate(log_ratios(b, a))
    assert backward.ratio == pytest.approx(1 / forward.ratio, rel=1e-9)
    assert backward.low == pytest.approx(1 / forward.high, rel=1e-9)
    assert backward.high == pytest.approx(1 / forward.low, rel=1e-9)


def test_the_95_percent_interval_covers_the_true_ratio_of_normal_log_ratios_95_percent_of_the_time():
    """2000 simulated runs of 8 rounds, d ~ N(0.05, 0.1^2): the coverage is within 3 binomial sds of 0.95."""
    rng = np.random.default_rng(SEED)
    runs = rng.normal(0.05, 0.1, size=(2000, 8))
    covered = np.mean([ratio_estimate(d).contains(math.exp(0.05)) for d in runs])
    assert abs(covered - 0.95) < 3 * math.sqrt(0.95 * 0.05 / 2000)


def test_rounds_missing_in_either_environment_are_left_out_of_the_log_ratios():
    d = log_ratios([1.0, math.nan, 2.0, 4.0], [2.0, 1.0, math.nan, 2.0])
    np.testing.assert_allclose(d, [math.log(2.0), math.log(0.5)], rtol=1e-12)


@pytest.mark.parametrize(
    ("baseline", "candidate"),
    [([1.0, 2.0], [1.0]), ([1.0, 0.0], [1.0, 1.0]), ([1.0, 1.0], [-1.0, 1.0]), ([1.0, math.inf], [1.0, 1.0])],
    ids=["lengths-differ", "zero-time", "negative-time", "infinite-time"],
)
def test_log_ratios_refuse_what_is_not_a_pair_of_positive_step_times(baseline, candidate):
    with pytest.raises(ValueError, match="Argument"):
        log_ratios(baseline, candidate)


def test_fewer_than_two_rounds_give_no_interval():
    one = ratio_estimate([0.1])
    assert one.ratio == pytest.approx(math.exp(0.1)) and math.isnan(one.low) and math.isnan(one.high)
