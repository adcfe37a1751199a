"""The A/B statistics: signed-rank intervals, the process variance component, verdicts, detectable effects.

Oracles are written from the formulas: Walsh averages and mean squares computed by hand, critical
values of a printed Wilcoxon signed-rank table (two-sided 0.05: n = 6 -> 0, n = 10 -> 8, n = 20 ->
52), and printed t quantiles with 4 significant digits (t_{0.975,9} = 2.262, t_{0.95,9} = 1.833,
t_{0.975,18} = 2.101, t_{0.975,2} = 4.303).
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
    NOT_ESTIMATED,
    REGRESSION,
    SLOWER,
    ProcessVariance,
    RatioEstimate,
    aggregate_log_times,
    false_alarm_probability,
    log_ratios,
    minimal_detectable_effect,
    process_variance,
    ratio_estimate,
    satterthwaite_df,
    signed_rank_critical,
    verdict,
    worker_mean_squares,
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


def test_the_round_variance_is_that_of_an_equally_wide_t_interval():
    """Ten rounds, h = 0.025: V_r = (0.025 / 2.262)^2 with 9 df; no process component estimated."""
    estimate = ratio_estimate(np.arange(1, 11) / 100)
    assert estimate.round_variance == pytest.approx((0.025 / 2.262) ** 2, rel=2 * T_TABLE_RTOL)
    assert estimate.df == 9 and math.isnan(estimate.process_variance)


def test_without_process_variance_the_interval_is_the_signed_rank_interval():
    """s_p^2 = 0 (estimated, with df): V_p = 0, kappa = 1, the bounds are w_(9) and w_(47) themselves."""
    d = np.arange(1, 11) / 100
    estimate = ratio_estimate(d, process=ProcessVariance(0.0, 14.0, 14), workers=(2, 2))
    assert estimate.low == pytest.approx(math.exp(0.03), rel=1e-12)
    assert estimate.high == pytest.approx(math.exp(0.08), rel=1e-12)
    assert estimate.process_variance == 0.0 and estimate.df == 9


def test_the_process_variance_widens_the_interval_by_satterthwaites_t():
    """d = 0.01..0.10: m = 0.055, [L, U] = [0.03, 0.08], h = 0.025, V_r = (0.025 / 2.262)^2 (9 df).
    Two workers each: V_p = (1/2 + 1/2) s_p^2; with s_p^2 = V_r on 9 df, nu = (2 V_r)^2 / (2 V_r^2 / 9)
    = 18 and kappa = t_{0.975,18} sqrt(2 V_r) / h = 2.101 sqrt(2) / 2.262."""
    v_r = (0.025 / 2.262) ** 2
    estimate = ratio_estimate(np.arange(1, 11) / 100, process=ProcessVariance(v_r, 9.0, 9), workers=(2, 2))
    kappa = 2.101 * math.sqrt(2) / 2.262
    assert estimate.df == pytest.approx(18, rel=T_TABLE_RTOL)
    assert estimate.process_variance == pytest.approx(v_r, rel=T_TABLE_RTOL)
    assert math.log(estimate.low) == pytest.approx(0.055 - kappa * 0.025, rel=T_TABLE_RTOL)
    assert math.log(estimate.high) == pytest.approx(0.055 + kappa * 0.025, rel=T_TABLE_RTOL)


def test_identical_rounds_give_an_interval_of_the_process_variance_alone():
    """d = 0.02 in every round: h = 0, V = V_p = (1/2 + 1/2) 0.01^2 on 2 df: exp(0.02 -+ 4.303 * 0.01)."""
    estimate = ratio_estimate(np.full(8, 0.02), process=ProcessVariance(1e-4, 2.0, 2), workers=(2, 2))
    assert math.log(estimate.low) == pytest.approx(0.02 - 4.303 * 0.01, rel=T_TABLE_RTOL)
    assert math.log(estimate.high) == pytest.approx(0.02 + 4.303 * 0.01, rel=T_TABLE_RTOL)


def test_the_mean_squares_of_two_workers_over_three_rounds_are_those_computed_by_hand():
    """y = [[0, .3, 0], [.2, .3, .4]]: worker means .1, .3, grand mean .2: MS_P = 3 (.01 + .01) / 1 = .06;
    round means .1, .3, .2: residuals 0, .1, -.1 and 0, -.1, .1: MS_E = .04 / (1 * 2) = .02."""
    ms_p, ms_e = worker_mean_squares([[0.0, 0.3, 0.0], [0.2, 0.3, 0.4]])
    assert ms_p == pytest.approx(0.06, rel=1e-12) and ms_e == pytest.approx(0.02, rel=1e-12)


def test_the_process_variance_pools_units_by_the_inverse_of_their_sampling_variance():
    """Unit 1 (above): (MS_P - MS_E) / n = .04 / 3, f = 1, MS_E / n = .02 / 3. Unit 2: offsets -.1, 0,
    .1 plus a round effect, 3 workers, 2 rounds: MS_P = 2 (.01 + 0 + .01) / 2 = .02, MS_E = 0: .01 with
    f = 2. A unit of one worker tells nothing. First pass s_0^2 = (.04/3 + 2 * .01) / 3 = 1/90; weights
    w_1 = 1 / (1/90 + .02/3)^2, w_2 = 2 / (1/90)^2; df_p = (w_1 + w_2)^2 / (w_1^2 / 1 + w_2^2 / 2)."""
    two = np.array([[0.0, 0.3, 0.0], [0.2, 0.3, 0.4]])
    three = np.array([[-0.1], [0.0], [0.1]]) + np.array([[0.0, 0.5]])
    pooled = process_variance([two, three, np.array([[0.1, 0.2]])])
    w_1, w_2 = 1 / (1 / 90 + 0.02 / 3) ** 2, 2 / (1 / 90) ** 2
    assert pooled.variance == pytest.approx((w_1 * 0.04 / 3 + w_2 * 0.01) / (w_1 + w_2), rel=1e-12)
    assert pooled.df == pytest.approx((w_1 + w_2) ** 2 / (w_1**2 + w_2**2 / 2), rel=1e-12)
    assert pooled.units == 2


def test_units_of_equal_noise_pool_with_the_sum_of_their_worker_df():
    """The same residuals in both units (one shifted by a constant): equal weights, df_p = 1 + 1."""
    unit = np.array([[0.0, 0.3, 0.0], [0.2, 0.3, 0.4]])
    pooled = process_variance([unit, unit + 5.0])
    assert pooled.variance == pytest.approx(0.04 / 3, rel=1e-9) and pooled.df == pytest.approx(2.0, rel=1e-9)


def test_a_process_variance_estimated_below_zero_is_zero_with_its_df():
    """Workers that agree better than their rounds (MS_P = 0 < MS_E) give s_p^2 = 0, not a negative variance."""
    pooled = process_variance([np.array([[0.0, 0.2], [0.2, 0.0]])])
    assert pooled.variance == 0.0 and pooled.estimated


def test_one_worker_per_environment_leaves_the_process_variance_not_estimated():
    assert process_variance([np.zeros((1, 5)), np.zeros((1, 5))]) == NOT_ESTIMATED
    assert not NOT_ESTIMATED.estimated and math.isnan(NOT_ESTIMATED.sd)


def test_the_process_variance_estimate_is_unbiased_under_the_model():
    """2000 simulated units of 3 workers x 10 rounds, s_p = 0.02, sigma = 0.05, a shared phase per
    round: the mean of (MS_P - MS_E) / n is s_p^2 within 4 standard errors."""
    rng = np.random.default_rng(SEED)
    draws = (
        0.02 * rng.normal(size=(2000, 3, 1))
        + 0.3 * rng.normal(size=(2000, 1, 10))
        + 0.05 * rng.normal(size=(2000, 3, 10))
    )
    estimates = [(lambda ms: (ms[0] - ms[1]) / 10)(worker_mean_squares(y)) for y in draws]
    assert abs(np.mean(estimates) - 0.02**2) < 4 * np.std(estimates) / math.sqrt(len(estimates))


def test_satterthwaite_adds_the_df_of_equal_parts_and_skips_empty_ones():
    """(1, 4) and (1, 4): 2^2 / (1/4 + 1/4) = 8; a zero variance adds nothing; infinite df: none below."""
    assert satterthwaite_df([(1.0, 4), (1.0, 4)]) == pytest.approx(8.0, rel=1e-12)
    assert satterthwaite_df([(1.0, 4), (0.0, 2)]) == pytest.approx(4.0, rel=1e-12)
    assert satterthwaite_df([(1.0, math.inf)]) == math.inf


def test_the_aggregate_is_the_estimate_of_the_per_round_mean_log_ratios():
    """Case 1: d = 0 each round; case 2: d = 0.02, 0.04, ..., 0.12; D = 0.01, ..., 0.06. Six rounds:
    k = 0, the interval spans the Walsh averages, [0.01, 0.06]; their median is 0.035."""
    a = aggregate_log_times([np.zeros((1, 6)), np.zeros((1, 6))])
    b = aggregate_log_times([np.zeros((1, 6)), np.arange(1, 7).reshape(1, 6) * 0.02])
    estimate = ratio_estimate(b.mean(axis=0) - a.mean(axis=0))
    assert estimate.ratio == pytest.approx(math.exp(0.035), rel=1e-12)
    assert estimate.low == pytest.approx(math.exp(0.01), rel=1e-12)
    assert estimate.high == pytest.approx(math.exp(0.06), rel=1e-12)


def test_the_minimal_detectable_effect_adds_the_two_t_quantiles():
    """V = 0.01^2 on 9 df: MDE = exp((2.262 + 1.833) 0.01) - 1."""
    expected = math.expm1((2.262 + 1.833) * 0.01)
    assert minimal_detectable_effect(1e-4, 9, alpha=0.05, power=0.95) == pytest.approx(
        expected, rel=T_TABLE_RTOL
    )


def _estimate(ratio: float, low: float, high: float, rounds: int = 10) -> RatioEstimate:
    return RatioEstimate(ratio, low, high, rounds, 0.05)


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


def test_the_log_ratio_of_a_round_compares_the_mean_log_times_of_the_workers():
    """A's workers 1 and 4 (geometric mean 2), B's 2 and 8 (4): ln(4 / 2) in that round."""
    d = log_ratios([[1.0, 1.0], [4.0, 1.0]], [[2.0, 1.0], [8.0, 1.0]])
    np.testing.assert_allclose(d, [math.log(2.0), 0.0], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(
    ("baseline", "candidate"),
    [
        ([1.0, 2.0], [1.0]),
        ([1.0, 0.0], [1.0, 1.0]),
        ([1.0, 1.0], [-1.0, 1.0]),
        ([1.0, math.inf], [1.0, 1.0]),
        ([1.0, math.nan], [1.0, 1.0]),
    ],
    ids=["rounds-differ", "zero-time", "negative-time", "infinite-time", "missing-time"],
)
def test_log_ratios_refuse_what_is_not_a_pair_of_positive_step_times(baseline, candidate):
    with pytest.raises(ValueError, match="Argument"):
        log_ratios(baseline, candidate)


def test_fewer_than_six_rounds_give_no_interval_at_the_95_percent_level():
    five = ratio_estimate([0.1, 0.2, 0.3, 0.4, 0.5])
    assert five.ratio == pytest.approx(math.exp(0.3)) and math.isnan(five.low) and math.isnan(five.high)


def _simulated_mode(rng, *, cases: int, workers: int, rounds: int, s_p: float, sigma: float) -> list:
    """One run's mode under the module's model, A against A: per case (A's, B's) log times."""
    shape = (cases, 2, workers, rounds)
    y = s_p * rng.normal(size=(*shape[:3], 1)) + 0.3 * rng.normal(size=(cases, 1, 1, rounds))
    y = y + sigma * rng.standard_t(4, size=shape) / math.sqrt(2)  # heavy tails, sd sigma
    return [(y[c, 0], y[c, 1]) for c in range(cases)]


def test_with_process_offsets_the_interval_covers_1_at_the_nominal_rate_and_the_round_only_one_does_not():
    """300 simulated A/A runs of a mode (7 cases, 2 workers each, 16 rounds, s_p = 0.02, burst sd 0.05):
    the interval with both components contains 1 in at least 95% - 3 binomial sds of the 2100 cases;
    the round-only interval (process variance left out) in about 70% (SE of the rounds 0.05/sqrt(16)
    against 0.02 of the processes: P(|Z| < 1.96 * 0.0125 / sqrt(0.0125^2 + 0.02^2)) = 0.70)."""
    rng = np.random.default_rng(SEED)
    both, rounds_only = [], []
    for _ in range(300):
        mode = _simulated_mode(rng, cases=7, workers=2, rounds=16, s_p=0.02, sigma=0.05)
        pooled = process_variance([y for pair in mode for y in pair])
        for a, b in mode:
            d = b.mean(axis=0) - a.mean(axis=0)
            both.append(ratio_estimate(d, process=pooled, workers=(2, 2)).contains(1.0))
            rounds_only.append(ratio_estimate(d).contains(1.0))
    assert np.mean(both) >= 0.95 - 3 * math.sqrt(0.95 * 0.05 / len(both))
    assert np.mean(rounds_only) < 0.80
