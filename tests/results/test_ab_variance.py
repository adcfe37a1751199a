"""The two variance components of an A/B run: mean squares by hand, the pooled process variance and its spread.

Oracles are written from the formulas (sums of squares by hand, the two-way decomposition's identity)
and simulated units of the model ``y = p_i + phi_r + eps`` with a known process offset ``p``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from benchmarks.results.ab_variance import (
    NOT_ESTIMATED,
    _trigamma_inverse,
    aggregate_log_times,
    log_ratios,
    moderate,
    process_variance,
    worker_mean_squares,
    worker_spread,
)

SEED = 20240101
UNIT = np.array([[0.0, 0.3, 0.0], [0.2, 0.3, 0.4]])


def test_the_mean_squares_of_two_workers_over_three_rounds_are_those_computed_by_hand():
    """y = [[0, .3, 0], [.2, .3, .4]]: worker means .1, .3, grand mean .2: MS_P = 3 (.01 + .01) / 1 = .06;
    round means .1, .3, .2: residuals 0, .1, -.1 and 0, -.1, .1: MS_E = .04 / (1 * 2) = .02."""
    ms_p, ms_e = worker_mean_squares(UNIT)
    assert ms_p == pytest.approx(0.06, rel=1e-12) and ms_e == pytest.approx(0.02, rel=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    arrays(
        float,
        st.tuples(st.integers(2, 5), st.integers(2, 8)),
        elements=st.floats(-3, 3, allow_nan=False, allow_infinity=False),
    )
)
def test_the_two_mean_squares_and_the_round_sum_of_squares_add_up_to_the_total(y):
    """The two-way decomposition without replication: SS_total = (W - 1) MS_P + SS_rounds + (W - 1)(n - 1) MS_E."""
    workers, rounds = y.shape
    ms_p, ms_e = worker_mean_squares(y)
    ss_rounds = workers * float(np.sum((y.mean(axis=0) - y.mean()) ** 2))
    total = float(np.sum((y - y.mean()) ** 2))
    parts = (workers - 1) * ms_p + ss_rounds + (workers - 1) * (rounds - 1) * ms_e
    assert parts == pytest.approx(total, rel=1e-9, abs=1e-9)


def test_a_round_effect_shared_by_every_worker_changes_neither_mean_square():
    shifted = UNIT + np.array([[5.0, -2.0, 0.7]])
    np.testing.assert_allclose(worker_mean_squares(shifted), worker_mean_squares(UNIT), rtol=1e-9)


def test_the_process_variance_pools_units_by_the_inverse_of_their_sampling_variance():
    """Unit 1 (``UNIT``): u = (.06 - .02) / 3, f = 1, g = 2, MS_E / n = .02 / 3. Unit 2: offsets -.1, 0,
    .1 plus a round effect, 3 workers, 2 rounds: MS_P = 2 (.01 + 0 + .01) / 2 = .02, MS_E = 0, u = .01,
    f = 2, g = 2. A unit of one worker is left out. First pass s_0^2 = (.04/3 + 2 * .01) / 3 = 1/90;
    weights 1 / (1/90 + .02/3)^2 and 2 / (1/90)^2; Var(s_p^2) = 2 sum omega^2 (MS_P^2 / f + MS_E^2 / g) / n^2."""
    three = np.array([[-0.1], [0.0], [0.1]]) + np.array([[0.0, 0.5]])
    pooled = process_variance([UNIT, three, np.array([[0.1, 0.2]])])
    w_1, w_2 = 1 / (1 / 90 + 0.02 / 3) ** 2, 2 / (1 / 90) ** 2
    o_1, o_2 = w_1 / (w_1 + w_2), w_2 / (w_1 + w_2)
    assert pooled.variance == pytest.approx(o_1 * 0.04 / 3 + o_2 * 0.01, rel=1e-12)
    spread = 2 * (o_1**2 * (0.06**2 / 1 + 0.02**2 / 2) / 9 + o_2**2 * (0.02**2 / 2) / 4)
    assert pooled.sampling_variance == pytest.approx(spread, rel=1e-12)
    assert pooled.units == 2 and pooled.sd == pytest.approx(math.sqrt(pooled.variance))


def test_units_of_equal_noise_pool_to_their_mean():
    """The same residuals in both units (one shifted by a constant): equal weights, u = .04 / 3 from each."""
    pooled = process_variance([UNIT, UNIT + 5.0])
    assert pooled.variance == pytest.approx(0.04 / 3, rel=1e-9)
    assert pooled.sampling_variance == pytest.approx(2 * 0.25 * 2 * (0.06**2 + 0.02**2 / 2) / 9, rel=1e-9)


def test_workers_that_agree_better_than_their_rounds_give_zero_variance_that_could_have_been_larger():
    """MS_P = 0 < MS_E: s_p^2 = 0, never negative; its sampling variance stays above 0."""
    pooled = process_variance([np.array([[0.0, 0.2], [0.2, 0.0]])])
    assert pooled.variance == 0.0 and pooled.estimated and pooled.sampling_variance > 0


def test_one_worker_per_environment_leaves_the_process_variance_not_estimated():
    assert process_variance([np.zeros((1, 5)), np.zeros((1, 5))]) == NOT_ESTIMATED
    assert not NOT_ESTIMATED.estimated and math.isnan(NOT_ESTIMATED.sd)


def _units(rng, count: int, *, workers: int, rounds: int, s_p: float, sigma: float) -> np.ndarray:
    """``count`` units of the model: a process offset of sd ``s_p``, a large shared phase, burst noise ``sigma``."""
    return (
        s_p * rng.normal(size=(count, workers, 1))
        + 0.3 * rng.normal(size=(count, 1, rounds))
        + sigma * rng.normal(size=(count, workers, rounds))
    )


def test_the_unit_estimate_of_the_process_variance_is_unbiased_under_the_model():
    """2000 units of 3 workers x 10 rounds, s_p = 0.02, sigma = 0.05: the mean of (MS_P - MS_E) / n is
    s_p^2 within 4 standard errors."""
    draws = _units(np.random.default_rng(SEED), 2000, workers=3, rounds=10, s_p=0.02, sigma=0.05)
    estimates = [(lambda ms: (ms[0] - ms[1]) / 10)(worker_mean_squares(y)) for y in draws]
    assert abs(np.mean(estimates) - 0.02**2) < 4 * np.std(estimates) / math.sqrt(len(estimates))


def test_the_pooled_estimate_is_unbiased_and_its_sampling_variance_errs_on_the_safe_side_by_the_known_factor():
    """400 pools of 14 units (2 workers x 12 rounds, s_p = 0.02, sigma = 0.03): the mean of s_p^2 within 4
    standard errors of 0.02^2. Var(s_p^2) plugs each mean square in for its expectation (Satterthwaite's
    rule), and E[M^2] = E[M]^2 (1 + 2 / f) for a mean square on f df: with f = 1 it overstates the
    simulated variance about 3-fold (between 2 and 4.5 here), which lowers the df: wider intervals."""
    rng = np.random.default_rng(SEED)
    pools = [
        process_variance(list(_units(rng, 14, workers=2, rounds=12, s_p=0.02, sigma=0.03)))
        for _ in range(400)
    ]
    values = np.array([p.variance for p in pools])
    assert abs(values.mean() - 0.02**2) < 4 * values.std() / math.sqrt(len(values))
    assert 2 < np.mean([p.sampling_variance for p in pools]) / values.var() < 4.5


def test_the_log_ratio_of_a_round_compares_the_mean_log_times_of_the_workers():
    """A's workers 1 and 4 (geometric mean 2), B's 2 and 8 (4): ln(4 / 2) in that round."""
    d = log_ratios([[1.0, 1.0], [4.0, 1.0]], [[2.0, 1.0], [8.0, 1.0]])
    np.testing.assert_allclose(d, [math.log(2.0), 0.0], rtol=1e-12, atol=1e-15)


def test_the_aggregate_is_the_log_of_the_geometric_mean_over_cases():
    """Two cases of 2 workers x 1 round: times 1 and 4, 2 and 8: per worker sqrt(1 * 4) = 2, sqrt(2 * 8) = 4."""
    y = aggregate_log_times([np.log([[1.0], [2.0]]), np.log([[4.0], [8.0]])])
    np.testing.assert_allclose(np.exp(y), [[2.0], [4.0]], rtol=1e-12)


@pytest.mark.parametrize(
    ("baseline", "candidate"),
    [
        ([1.0, 2.0], [1.0]),
        ([1.0, 0.0], [1.0, 1.0]),
        ([1.0, 1.0], [-1.0, 1.0]),
        ([1.0, math.inf], [1.0, 1.0]),
        ([1.0, math.nan], [1.0, 1.0]),
        ([[[1.0]]], [1.0]),
    ],
    ids=["rounds-differ", "zero-time", "negative-time", "infinite-time", "missing-time", "three-dimensional"],
)
def test_log_ratios_refuse_what_is_not_a_pair_of_positive_step_times(baseline, candidate):
    with pytest.raises(ValueError, match=r"Argument `(baseline|candidate)`"):
        log_ratios(baseline, candidate)


def test_cases_of_different_shapes_have_no_aggregate():
    with pytest.raises(ValueError, match="Argument `per_case`"):
        aggregate_log_times([np.zeros((2, 3)), np.zeros((2, 4))])


def test_the_worker_spread_of_two_and_three_workers_is_that_computed_by_hand():
    """A's worker means .1 and .3 (about .2: .01 + .01), B's .1, .4, .1 (about .2: .01 + .04 + .01);
    f = 2 + 3 - 2 = 3, S^2 = .08 / 3."""
    b = np.array([[0.1] * 3, [0.4] * 3, [0.1] * 3])
    variance, df = worker_spread(UNIT, b)
    assert df == 3 and variance == pytest.approx(0.08 / 3, rel=1e-12)


def test_one_worker_in_each_environment_has_no_spread():
    variance, df = worker_spread(UNIT[:1], UNIT[1:])
    assert df == 0 and math.isnan(variance)


@settings(max_examples=30, deadline=None)
@given(st.floats(1e-4, 1e4))
def test_the_inverse_trigamma_inverts_scipys_trigamma(x):
    from scipy.special import polygamma

    assert float(polygamma(1, _trigamma_inverse(x))) == pytest.approx(x, rel=1e-6)


def test_cases_whose_spreads_agree_exactly_all_take_the_prior_with_infinite_df():
    """Equal S^2 = .0004 on 2 df: the log-variances vary less than chance (0 < trigamma(1)), so d_0 = inf
    and s_0^2 = exp(ln .0004 - digamma(1) + ln 1) = .0004 e^gamma (Euler's gamma = 0.5772156649)."""
    moderation = moderate([0.0004] * 5, [2] * 5)
    assert math.isinf(moderation.prior_df) and all(math.isinf(df) for df in moderation.df)
    assert moderation.prior_variance == pytest.approx(0.0004 * math.exp(0.5772156649), rel=1e-9)
    assert moderation.variances == pytest.approx([moderation.prior_variance] * 5, rel=1e-12)


def test_fewer_than_three_cases_keep_their_own_spreads():
    moderation = moderate([0.0004, 0.01], [2, 6])
    assert moderation.variances == (0.0004, 0.01) and moderation.df == (2.0, 6.0)
    assert math.isnan(moderation.prior_variance)


def test_two_cases_whose_processes_differ_far_more_keep_most_of_their_own_spreads():
    """11 cases of S = 1% (chi-square scatter) and 2 of 8% on 6 df: d_0 comes out small (the cases
    differ), so no case is an outlier of the prior, the wide cases stay wide (S~ above 4%) and the narrow
    ones narrow (S~ below 2%); each is (d_0 s_0^2 + 6 S_j^2) / (d_0 + 6) on d_0 + 6 df."""
    rng = np.random.default_rng(SEED)
    s2 = 0.01**2 * rng.chisquare(6, 13) / 6
    s2[[3, 9]] = 0.08**2
    m = moderate(s2, [6] * 13)
    assert 0 < m.prior_df < 10 and not any(m.own)
    posterior = np.sqrt(m.variances)
    assert np.all(posterior[[3, 9]] > 0.04) and np.all(np.delete(posterior, [3, 9]) < 0.02)
    expected = (m.prior_df * m.prior_variance + 6 * s2) / (m.prior_df + 6)
    assert m.variances == pytest.approx(expected, rel=1e-12)
    assert m.df == pytest.approx([m.prior_df + 6] * 13, rel=1e-12)


def test_one_case_far_out_among_many_on_two_df_keeps_its_own_spread():
    """The run that showed why (an A/A run of 55 cases, 2 workers each): 54 spreads of about 3% on 2 df
    and one of 13.5% (two workers 19% apart): P(chi^2_2 / 2 >= 20) = e^-10, far below 0.01."""
    rng = np.random.default_rng(SEED + 2)
    s2 = np.append(0.03**2 * rng.chisquare(2, 54) / 2, 0.135**2)
    m = moderate(s2, [2] * 55)
    assert m.own[-1] and m.variances[-1] == 0.135**2 and m.df[-1] == 2.0
    assert sum(m.own) <= 3
    again = moderate(s2[~np.array(m.own)], [2] * (55 - sum(m.own)))
    assert again.prior_variance == pytest.approx(m.prior_variance, rel=1e-12)


def test_homogeneous_cases_recover_the_common_spread_with_many_df():
    """40 cases of true S = 2% on 2 df (chi-square scatter): s_0 within 15% of 2%, d_0 above 20, and
    no case set apart (P < 0.01 for some of 40 by chance: about a third of such runs; none in this one)."""
    rng = np.random.default_rng(SEED + 1)
    s2 = 0.02**2 * rng.chisquare(2, 40) / 2
    m = moderate(s2, [2] * 40)
    assert m.prior_df > 20 and math.sqrt(m.prior_variance) == pytest.approx(0.02, rel=0.15)
    assert not any(m.own)


@pytest.mark.parametrize(
    ("variances", "df", "named"),
    [
        ([0.1, -0.1, 0.2], [2, 2, 2], "variances"),
        ([0.1, 0.1, 0.2], [2, 0, 2], "df"),
        ([0.1] * 3, [2] * 2, "df"),
    ],
)
def test_bad_spreads_are_refused_naming_the_argument(variances, df, named):
    with pytest.raises(ValueError, match=f"`{named}`"):
        moderate(variances, df)
