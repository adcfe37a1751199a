"""Intervals, verdicts and detectable effects of an interleaved A/B comparison.

The model, its two variance components and how ``s_p^2`` is estimated: ``benchmarks.results.ab_variance``.
Per round ``d_r = ybar_{B,.,r} - ybar_{A,.,r}`` (each environment's mean over its workers);
``W_A``, ``W_B`` workers; ``c = 1 / W_A + 1 / W_B``.

Case rows, one worker per environment (``ratio_estimate``):

- Estimate ``R = exp(m)``, ``m`` the Hodges-Lehmann estimate: the median of the Walsh averages
  ``w_ij = (d_i + d_j) / 2``, ``i <= j`` (``N = n (n + 1) / 2``, sorted ``w_(1) <= ... <= w_(N)``).
  Above 1, B's step is slower.
- Round component: the Wilcoxon signed-rank interval ``[L, U] = [w_(k+1), w_(N-k)]``, ``k`` the
  largest count with ``P(T <= k) <= alpha / 2`` for the signed-rank statistic ``T`` of ``n`` pairs
  (``signed_rank_critical``: exact, by counting the subsets of ``{1..n}`` with each sum, up to
  ``EXACT_SIGNED_RANK_N`` rounds; beyond, ``k = floor(n (n + 1) / 4 - z_{1-alpha/2} sqrt(n (n + 1)
  (2 n + 1) / 24))``; below 6 rounds at ``alpha = 0.05`` there is none, and no row has an interval).
  As a variance of ``m``: that of a Student ``t`` interval as wide, on ``n - 1`` df, per side so that
  a skewed ``d_r`` keeps its asymmetric interval: ``V_r- = ((m - L) / t_{1-alpha/2, n-1})^2``,
  ``V_r+ = ((U - m) / t_{1-alpha/2, n-1})^2``, and ``V_r = (h / t_{1-alpha/2, n-1})^2``, ``h = (U - L) / 2``.
- ``ratio_estimate`` can also add a process component pooled over other units, ``V_p = c s_p^2``,
  with Satterthwaite's (1946) ``nu = max(1, V^2 / (V_r^2 / (n - 1) + c^2 Var(s_p^2) / 2))``; the
  comparison no longer does (next paragraph), the simulation tests keep it to show why.

Case rows, two or more workers per environment (``worker_means_estimate`` with ``spread``): as an
aggregate row (below), from the per-process means ``Y_{e,i}`` of the case's own workers, ``m = Ybar_B -
Ybar_A``, with the spread of the worker means ``S_j^2`` (``ab_variance.worker_spread``, ``f_j = W_A +
W_B - 2`` df) moderated over the comparison's cases (``ab_variance.moderate``: empirical Bayes, Smyth
2004) into ``S~_j^2`` on ``d_0 + f_j`` df, and ``V_means = c S~_j^2``. Cases whose processes vary alike
share one spread with many df, as pooling would; a case whose processes differ far more (on this VM
the batch-2048 models with dropout, two states about 17% apart from one launch to the next) keeps
most of its own. Pooling ``s_p^2`` over a mode's units instead lent such a case the others' small
offsets (simulated: its 95% intervals covered in under 85%) and lent them its large one (measured:
13 cases, 4 workers, 150 rounds, every case's half width 9%, where moderated ones were 3-9% and
16-20% for the two jumping cases).

Aggregate rows (``worker_means_estimate`` without ``spread``): the geometric mean over cases, ``y_{e,i,r} = (1/k) sum_c
y_{e,c,i,r}`` (``ab_variance.aggregate_log_times``). Averaging over cases shrinks the burst noise but
not the process offsets, which one process shares across its cases (measured with one worker per
environment: single cases moved by up to 3.5%, the aggregate of 41 by 0.6%, more than independent
offsets would give), so the process part dominates and comes from the row's own workers, by the
analysis of per-process means (Searle, Casella and McCulloch, Variance Components, ch. 3)::

    Y_{e,i} = (1/n) sum_r y_{e,i,r}      m = Ybar_B - Ybar_A      f = W_A + W_B - 2
    V_means  = c (sum_i (Y_{A,i} - Ybar_A)^2 + sum_i (Y_{B,i} - Ybar_B)^2) / f
    V_within = c MS_E / n                 (MS_E of A's and B's units pooled by their df)
    V = V_means + max(0, V_r - V_within),  interval exp(m -+ t_{1-alpha/2, f} sqrt(V)),  R = exp(m)

``V_means`` alone is exact for the model with normal errors (``phi_r`` cancels, every worker saw every
round; ``Var(Y_{e,i}) = s_p^2 + sigma^2 / n``), but blind to a phase that moves one environment's
workers and not the other's (B's threads suffer from a neighbour that A shrugs off): that shows in
the per-round log ratios, ``V_r`` as for a case, beyond the workers' own burst noise ``V_within``, and
the excess is added. Shown apart: the round part ``max(V_r, V_within)``, the process part the rest.
Pooling ``s_p^2`` over the two units of an aggregate, as for a case, leaves too few df for
Satterthwaite's rule (``nu`` below 1 happened); with one worker per environment: the signed-rank
interval, as for a case.

Coverage, simulated A/A runs of the model (three modes of 7 cases; 2 or 3 workers; 10 to 25 rounds;
``s_p`` 0 to 1.5%, equal or varying by case; offsets shared 0 to 90% across a process's cases; burst
noise 1 to 15%, heavy-tailed; some runs with a phase only B's workers feel; 300 runs each): case
intervals contained 1 in 94-98% of cases, aggregates in 94-99%; the round-only intervals in 69-92%
and 49-89% (95-97% without process offsets). ``tests/results/test_ab_statistics.py`` repeats two of
these at small sizes.

Why a signed-rank interval for the rounds, not a ``t`` interval or a bootstrap: on the 2-core
development VM the per-round log ratios are heavy-tailed (a burst that meets another process's
burst; median excess kurtosis 1.3 to 3.2 over the quick matrix's cases), which widens a ``t``
interval; on the same A/A runs the signed-rank intervals were 30-40% narrower. It is exact for any
continuous ``d_r`` symmetric about the shift, which an A/A comparison is by construction. A
percentile bootstrap over 6 to 50 rounds under-covers (about 91% for a nominal 95% at ``n = 10``),
and one over 2 or 3 processes cannot estimate their variance. Logs make the ratio's interval
multiplicative and the aggregate a geometric mean. Hodges and Lehmann 1963; Hollander and Wolfe,
Nonparametric Statistical Methods, ch. 3.

Verdict (``verdict``) with threshold ``theta``, on the step-time ratio, the gate's rule (beyond the
threshold AND significant): ``regression`` when ``R > 1 + theta`` and the interval lies above 1;
``improvement`` when ``R < 1 / (1 + theta)`` and the interval lies below 1; ``slower`` / ``faster``
when significant but within the threshold (they pass); ``no change`` when the interval contains 1
and lies within ``[1 / (1 + theta), 1 + theta]``; ``inconclusive`` when it contains 1 and reaches
beyond a threshold; ``insufficient rounds`` without an interval (never a failure).

Minimal detectable effect (``minimal_detectable_effect``), the slowdown a two-sided test at
``alpha`` detects with probability ``power``, given the row's ``V`` and ``nu``::

    MDE = exp((t_{1-alpha/2, nu} + t_{power, nu}) sqrt(V)) - 1

(the usual normal-approximation formula with ``t`` quantiles in place of ``z``; Cohen 1988, ch. 2).
More rounds shrink ``V_r``; only more workers shrink ``V_p`` and raise the aggregates' ``f``.

False alarms (``false_alarm_probability``): in an A/A comparison each of ``k`` intervals excludes 1
with probability about ``alpha``, so ``X``, the number that do, is about ``Binomial(k, alpha)``; the
probability of ``x`` or more is ``P(X >= x) = sum_{j >= x} C(k, j) alpha^j (1 - alpha)^(k - j)``
(cases share rounds and a pooled process variance, so they are not quite independent; a small tail
says "more than chance").
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from benchmarks.results.ab_variance import NOT_ESTIMATED, ProcessVariance, worker_mean_squares, worker_spread
from reference.validation import check_array, check_float, check_int

__all__ = [
    "EXACT_SIGNED_RANK_N",
    "FASTER",
    "IMPROVEMENT",
    "INCONCLUSIVE",
    "INSUFFICIENT",
    "METHODS",
    "MODERATED",
    "NO_CHANGE",
    "REGRESSION",
    "ROUNDS_AND_PROCESSES",
    "ROUNDS_ONLY",
    "SLOWER",
    "VERDICTS",
    "WORKER_MEANS",
    "RatioEstimate",
    "false_alarm_probability",
    "minimal_detectable_effect",
    "ratio_estimate",
    "signed_rank_critical",
    "t_quantile",
    "verdict",
    "worker_means_estimate",
]

EXACT_SIGNED_RANK_N = 200
REGRESSION, IMPROVEMENT, SLOWER, FASTER, NO_CHANGE, INCONCLUSIVE, INSUFFICIENT = (
    "regression",
    "improvement",
    "slower",
    "faster",
    "no change",
    "inconclusive",
    "insufficient rounds",
)
VERDICTS = (REGRESSION, IMPROVEMENT, INCONCLUSIVE, SLOWER, FASTER, NO_CHANGE, INSUFFICIENT)
ROUNDS_ONLY, ROUNDS_AND_PROCESSES, WORKER_MEANS, MODERATED = (
    "rounds only",
    "rounds + processes",
    "worker means",
    "worker means, moderated",
)
METHODS = (ROUNDS_ONLY, ROUNDS_AND_PROCESSES, WORKER_MEANS, MODERATED)


def t_quantile(probability: float, df: float) -> float:
    """``t_{probability, df}``: the quantile of Student's ``t`` with ``df`` (possibly fractional) degrees of freedom."""
    from scipy.stats import t  # scipy.stats takes about a second to import: only when needed

    return float(t.ppf(probability, df))


@dataclass(frozen=True)
class RatioEstimate:
    """B's step time over A's with its interval (module docstring); NaN bounds when too few rounds.

    ``variance`` is ``V`` (of ``m = ln ratio``) with ``df`` ``nu``; ``round_variance`` ``V_r`` and
    ``process_variance`` ``V_p`` its parts (``V_p`` NaN when not estimated: one worker per environment);
    ``method`` one of ``METHODS``.
    """

    ratio: float
    low: float
    high: float
    rounds: int
    alpha: float
    method: str = ROUNDS_ONLY
    variance: float = math.nan
    df: float = math.nan
    round_variance: float = math.nan
    process_variance: float = math.nan

    @property
    def half_width(self) -> float:
        """``exp(h) - 1``, ``h = (ln high - ln low) / 2``: the interval's relative half width."""
        return math.sqrt(self.high / self.low) - 1

    def contains(self, value: float) -> bool:
        return bool(self.low <= value <= self.high)

    def as_dict(self) -> dict:
        return asdict(self) | {"half_width": self.half_width}


def signed_rank_critical(n: int, alpha: float) -> int:
    """The largest ``k`` with ``P(T <= k) <= alpha / 2`` for the signed-rank statistic of ``n`` pairs; -1 if none.

    Exact up to ``EXACT_SIGNED_RANK_N`` (``2^n P(T = s)`` is the number of subsets of ``{1..n}`` summing
    to ``s``), the normal approximation beyond (module docstring).
    """
    n = check_int("n", n, low=1)
    alpha = check_float("alpha", alpha, low=0, high=1, low_open=True, high_open=True)
    if n > EXACT_SIGNED_RANK_N:
        from scipy.stats import norm

        mean, sd = n * (n + 1) / 4, math.sqrt(n * (n + 1) * (2 * n + 1) / 24)
        return math.floor(mean - norm.ppf(1 - alpha / 2) * sd)
    counts = np.zeros(n * (n + 1) // 2 + 1)
    counts[0] = 1.0
    for rank in range(1, n + 1):
        counts[rank:] = counts[rank:] + counts[:-rank]
    below = np.nonzero(np.cumsum(counts) / 2.0**n <= alpha / 2)[0]
    return int(below[-1]) if below.size else -1


def _checked(alpha: float, workers: tuple[int, int]) -> tuple[float, float]:
    alpha = check_float("alpha", alpha, low=0, high=0.5, low_open=True, high_open=True)
    w_a, w_b = (check_int("workers", w, low=1) for w in workers)
    return alpha, 1 / w_a + 1 / w_b


def ratio_estimate(
    log_ratio: Sequence[float],
    *,
    alpha: float = 0.05,
    process: ProcessVariance = NOT_ESTIMATED,
    workers: tuple[int, int] = (1, 1),
) -> RatioEstimate:
    """A case row: ``R = exp(m)`` and its interval at level ``1 - alpha`` (module docstring).

    Args:
        log_ratio: ``d_r``, one per round.
        process: ``s_p^2`` and its sampling variance (``ab_variance.process_variance``);
            ``NOT_ESTIMATED``: the round component only.
        workers: ``(W_A, W_B)``, for ``V_p = (1 / W_A + 1 / W_B) s_p^2``.
    """
    alpha, c = _checked(alpha, workers)
    d = np.asarray(log_ratio, dtype=float)
    n = len(d)
    if n == 0:
        return RatioEstimate(math.nan, math.nan, math.nan, 0, alpha)
    walsh = np.sort(((d[:, None] + d[None, :]) / 2)[np.triu_indices(n)])
    m = float(np.median(walsh))
    k = signed_rank_critical(n, alpha) if n >= 2 else -1
    if k < 0:
        return RatioEstimate(math.exp(m), math.nan, math.nan, n, alpha)
    low, high = float(walsh[k]), float(walsh[len(walsh) - 1 - k])
    t_rounds = t_quantile(1 - alpha / 2, n - 1)
    v_r = ((high - low) / 2 / t_rounds) ** 2
    if not process.estimated:
        return RatioEstimate(
            math.exp(m), math.exp(low), math.exp(high), n, alpha, ROUNDS_ONLY, v_r, n - 1, v_r
        )
    v_p = c * process.variance
    below = v_r**2 / (n - 1) + c**2 * process.sampling_variance / 2
    nu = max(1.0, (v_r + v_p) ** 2 / below) if below > 0 and v_r + v_p > 0 else n - 1
    t = t_quantile(1 - alpha / 2, nu)
    low = m - t * math.sqrt(((m - low) / t_rounds) ** 2 + v_p)
    high = m + t * math.sqrt(((high - m) / t_rounds) ** 2 + v_p)
    return RatioEstimate(
        math.exp(m), math.exp(low), math.exp(high), n, alpha, ROUNDS_AND_PROCESSES, v_r + v_p, nu, v_r, v_p
    )


def worker_means_estimate(
    baseline, candidate, *, alpha: float = 0.05, spread: tuple[float, float] | None = None
) -> RatioEstimate:
    """A row from per-process means (module docstring); with one worker in an environment,
    ``ratio_estimate`` of the per-round log ratios (the round component only).

    Args:
        baseline, candidate: log step times ``(workers, rounds)`` of A and B (a case's, or the
            aggregate's ``y``).
        spread: ``(S~^2, df)``, a case's moderated spread of the worker means
            (``ab_variance.moderate``) in place of its own ``S^2`` on ``W_A + W_B - 2`` df.

    Raises:
        ValueError: not 2-D, a value not finite, or the two with different numbers of rounds.
    """
    a = check_array("baseline", baseline, dtype="float", ndim=2)
    b = check_array("candidate", candidate, dtype="float", ndim=2)
    if a.shape[1] != b.shape[1]:
        raise ValueError(
            f"Argument `candidate` must have the rounds of `baseline` ({a.shape[1]}). Received: {b.shape[1]}"
        )
    n, (w_a, w_b) = a.shape[1], (len(a), len(b))
    if min(w_a, w_b) < 2 or n < 2 or signed_rank_critical(n, alpha) < 0:
        return ratio_estimate(
            b.mean(axis=0) - a.mean(axis=0), alpha=alpha, workers=(max(w_a, 1), max(w_b, 1))
        )
    alpha, c = _checked(alpha, (w_a, w_b))
    y_a, y_b = a.mean(axis=1), b.mean(axis=1)
    f = w_a + w_b - 2
    variance, df = worker_spread(a, b) if spread is None else spread
    v_means = c * variance
    v_within = c * sum((w - 1) * worker_mean_squares(y)[1] for w, y in ((w_a, a), (w_b, b))) / f / n
    v_rounds = max(v_within, ratio_estimate(b.mean(axis=0) - a.mean(axis=0), alpha=alpha).round_variance)
    v = v_means + v_rounds - v_within
    m = float(y_b.mean() - y_a.mean())
    reach = t_quantile(1 - alpha / 2, df) * math.sqrt(v)
    return RatioEstimate(
        math.exp(m),
        math.exp(m - reach),
        math.exp(m + reach),
        n,
        alpha,
        WORKER_MEANS if spread is None else MODERATED,
        v,
        df,
        v_rounds,
        max(0.0, v - v_rounds),
    )


def verdict(estimate: RatioEstimate, *, threshold: float) -> str:
    """The gate's rule on a step-time ratio (module docstring): beyond the threshold AND significant."""
    threshold = check_float("threshold", threshold, low=0, high=1, low_open=True, high_open=True)
    if math.isnan(estimate.low):
        return INSUFFICIENT
    upper, lower = 1 + threshold, 1 / (1 + threshold)
    if estimate.low > 1:
        return REGRESSION if estimate.ratio > upper else SLOWER
    if estimate.high < 1:
        return IMPROVEMENT if estimate.ratio < lower else FASTER
    return NO_CHANGE if lower <= estimate.low and estimate.high <= upper else INCONCLUSIVE


def minimal_detectable_effect(
    variance: float, df: float, *, alpha: float = 0.05, power: float = 0.95
) -> float:
    """``exp((t_{1-alpha/2, nu} + t_{power, nu}) sqrt(V)) - 1`` (module docstring).

    Raises:
        ValueError: ``variance`` negative or not finite, ``df`` not > 0, ``alpha`` or ``power`` outside (0, 1).
    """
    variance = check_float("variance", variance, low=0)
    df = check_float("df", df, low=0, low_open=True, finite=False)
    alpha = check_float("alpha", alpha, low=0, high=1, low_open=True, high_open=True)
    power = check_float("power", power, low=0, high=1, low_open=True, high_open=True)
    return math.expm1((t_quantile(1 - alpha / 2, df) + t_quantile(power, df)) * math.sqrt(variance))


def false_alarm_probability(alarms: int, cases: int, *, alpha: float = 0.05) -> float:
    """``P(X >= alarms)`` for ``X ~ Binomial(cases, alpha)`` (module docstring)."""
    cases = check_int("cases", cases, low=0)
    alarms = check_int("alarms", alarms, low=0, high=cases)
    alpha = check_float("alpha", alpha, low=0, high=1, low_open=True, high_open=True)
    from scipy.stats import binom

    return float(binom.sf(alarms - 1, cases, alpha))
