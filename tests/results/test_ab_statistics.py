"""The A/B statistics: signed-rank intervals of per-round log ratios, the aggregate, verdicts, detectable effects.

Oracles are written from the formulas: Walsh averages counted by hand, critical values of a printed
Wilcoxon signed-rank table (two-sided 0.05: n = 6 -> 0, n = 10 -> 8, n = 20 -> 52), and printed t
quantiles with 4 significant digits (t_{0.975,9} = 2.262, t_{0.95,9} = 1.833).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.results.ab_statistics import (
    EXACT_SIGNED_RANK_N,
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
    signed_rank_critical,
    verdict,
)

# A printed t quantile has 4 significant digits: relative error of a product of them below 2e-4.
T_TABLE_RTOL = 1e-3
SEED = 20240101


@pytest.mark.parametrize(("n", "critical"), [(5, -1), (6, 0), (10, 8), (20, 52)])
def test_the_signed_rank_critical_values_are_those_of_the_printed_table(n, critical):
    assert signed_rank_critical(n, 0.05) == critical


def test_the_normal_approximation_takes_over_where_the_exact_count_stops_and_agrees_with_it():
    n = EXACT_SIGNED_RANK_N
    exact = signed_rank_critical(n, 0.05)
    mean, sd = n * (n + 1) / 4, math.sqrt(n * (n + 1) * (2 * n + 1) / 24)
    assert abs(exact - (mean - 1.959964 * sd)) < 0.01 * mean
    assert signed_rank_critical(n + 1, 0.05) == math.floor(
        (n + 1) * (n + 2) / 4 - 1.959964 * math.sqrt((n + 1) * (n + 2) * (2 * n + 3) / 24)
    )


def test_ten_rounds_give_the_ninth_smallest_and_largest_walsh_average():
    """d = 0.01, 0.02, ..., 0.10. Walsh averages (i + j) / 2 of 1..10, smallest first: 1, 1.5, 2, 2,
    2.5, 2.5, 3, 3, 3: the 9th is 3 (x 0.01), the 9th largest 11 - 3 = 8; their median is 5.5."""
    d = np.arange(1, 11) / 100
    a = np.array([1e-3, 2e-3, 1e-3, 5e-4, 3e-3, 1e-3, 1e-3, 2e-3, 4e-3, 1e-3])
    estimate = ratio_estimate(log_ratios(a, a * np.exp(d)))
    assert estimate.rounds == 10
    assert estimate.ratio == pytest.approx(math.exp(0.055), rel=1e-12)
    assert estimate.low == pytest.approx(math.exp(0.03), rel=1e-12)
    assert estimate.high == pytest.approx(math.exp(0.08), rel=1e-12)
    assert estimate.half_width == pytest.approx(math.exp(0.025) - 1, rel=1e-9)


def test_the_effective_spread_is_the_sd_of_an_equally_wide_t_interval():
    """Ten rounds, h = 0.025: s = 0.025 sqrt(10) / 2.262."""
    estimate = ratio_estimate(np.arange(1, 11) / 100)
    assert estimate.log_scale == pytest.approx(0.025 * math.sqrt(10) / 2.262, rel=T_TABLE_RTOL)


def test_the_aggregate_is_the_estimate_of_the_per_round_mean_log_ratios():
    """Case 1: d = 0 each round; case 2: d = 0.02, 0.04, ..., 0.12; D = 0.01, ..., 0.06. Six rounds:
    k = 0, the interval spans the Walsh averages, [0.01, 0.06]; their median is 0.035."""
    per_round = aggregate_log_ratios([np.zeros(6), np.arange(1, 7) * 0.02])
    estimate = ratio_estimate(per_round)
    assert estimate.ratio == pytest.approx(math.exp(0.035), rel=1e-12)
    assert estimate.low == pytest.approx(math.exp(0.01), rel=1e-12)
    assert estimate.high == pytest.approx(math.exp(0.06), rel=1e-12)


def test_the_minimal_detectable_effect_adds_the_two_t_quantiles():
    """s = 0.1 over 10 rounds: MDE = exp((2.262 + 1.833) 0.1 / sqrt(10)) - 1."""
    expected = math.expm1((2.262 + 1.833) * 0.1 / math.sqrt(10))
    assert minimal_detectable_effect(0.1, 10, alpha=0.05, power=0.95) == pytest.approx(
        expected, rel=T_TABLE_RTOL
    )


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
        (_estimate(1.50, math.nan, math.nan, rounds=5), INSUFFICIENT),
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
        "no-interval",
    ],
)
def test_the_verdict_needs_the_threshold_and_significance(estimate, expected):
    assert verdict(estimate, threshold=0.05) == expected


def test_false_alarms_follow_the_binomial_tail():
    """k = 2 cases at alpha 0.05: P(X >= 1) = 1 - 0.95^2, P(X >= 2) = 0.05^2, P(X >= 0) = 1."""
    assert false_alarm_probability(1, 2, alpha=0.05) == pytest.approx(1 - 0.95**2, rel=1e-12)
    assert false_alarm_probability(2, 2, alpha=0.05) == pytest.approx(0.05**2, rel=1e-12)
    assert false_alarm_probability(0, 2, alpha=0.05) == pytest.approx(1.0, rel=1e-12)


times = st.lists(st.floats(1e-6, 1.0), min_size=6, max_size=12)


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


@pytest.mark.parametrize("distribution", ["normal", "student-t-3"])
def test_the_95_percent_interval_covers_the_true_ratio_at_least_95_percent_of_the_time(distribution):
    """2000 simulated runs of 12 rounds of symmetric d around 0.05 (normal, or heavy-tailed t with 3
    degrees of freedom): the discrete signed-rank interval covers with probability >= 0.95 (0.9575 at
    n = 12, k = 13), so the coverage is at least 0.95 minus 3 binomial sds."""
    rng = np.random.default_rng(SEED)
    noise = rng.normal(size=(2000, 12)) if distribution == "normal" else rng.standard_t(3, size=(2000, 12))
    covered = np.mean([ratio_estimate(0.05 + 0.1 * d).contains(math.exp(0.05)) for d in noise])
    assert covered >= 0.95 - 3 * math.sqrt(0.95 * 0.05 / 2000)


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


def test_fewer_than_six_rounds_give_no_interval_at_the_95_percent_level():
    five = ratio_estimate([0.1, 0.2, 0.3, 0.4, 0.5])
    assert five.ratio == pytest.approx(math.exp(0.3)) and math.isnan(five.low) and math.isnan(five.high)
