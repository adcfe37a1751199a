"""Statistics of an interleaved A/B comparison: the two variance components, intervals, verdicts, detectable effects.

Notation: one case; environment ``e`` (A or B) runs ``W_e`` worker processes ``i = 1..W_e``; rounds
``r = 1..n``; ``y_{e,i,r} = ln t_{e,i,r}``, the log step time of worker ``i`` in round ``r`` (seconds
per step, each the median over one short burst). In a round every worker times one burst of the
case, back to back and in random order, so they all see the same phase of a shared machine.

Model (log scale, so that effects are relative)::

    y_{e,i,r} = mu_e + p_{e,i} + phi_r + eps_{e,i,r}

``mu_e`` the environment's effect (what is compared), ``phi_r`` the phase of the machine in round
``r`` (shared by the round's bursts, so it cancels in a within-round difference), ``eps`` the burst's
own noise (variance ``sigma_e^2``) and ``p_{e,i}`` the worker PROCESS's own persistent offset, random
from one launch to the next (memory layout, address-space randomization, allocator state: Mytkowicz
et al. 2009), variance ``s_p^2``, the same in every round of that worker. A comparison of one worker
per environment confuses ``p_{B,1} - p_{A,1}`` with ``mu_B - mu_A``: measured on a quiet machine, A
against A, the process offsets reached 3.5% on single cases and 0.6% over all cases, random in sign,
and 13 of 41 round-only intervals excluded 1. Hence several workers per environment, and an interval
with both components.

- Per-round log ratio ``d_r = ybar_{B,.,r} - ybar_{A,.,r}`` (``log_ratios``): the mean over each
  environment's workers, so ``d_r = mu_B - mu_A + (pbar_B - pbar_A) + (epsbar_B - epsbar_A)``.
- Estimate ``R = exp(m)``, ``m`` the Hodges-Lehmann estimate: the median of the Walsh averages
  ``w_ij = (d_i + d_j) / 2``, ``i <= j`` (``N = n (n + 1) / 2`` of them, sorted ``w_(1) <= ... <= w_(N)``).
  Above 1, B's step is slower.
- Round component (the variation of ``d_r`` over rounds): the Wilcoxon signed-rank interval
  ``[L, U] = [w_(k+1), w_(N-k)]``, ``k`` the largest count with ``P(T <= k) <= alpha / 2`` for the
  signed-rank statistic ``T`` of ``n`` pairs (``signed_rank_critical``: exact, by counting the subsets
  of ``{1..n}`` with each sum, up to ``EXACT_SIGNED_RANK_N`` rounds; beyond, the normal approximation
  ``k = floor(n (n + 1) / 4 - z_{1-alpha/2} sqrt(n (n + 1) (2 n + 1) / 24))``; below 6 rounds at
  ``alpha = 0.05`` there is none). Its log half width ``h = (U - L) / 2`` gives the round variance of
  ``m`` as that of a Student ``t`` interval as wide: ``V_r = (h / t_{1-alpha/2, n-1})^2``, ``n - 1`` df.
- Process component (``worker_mean_squares``, ``process_variance``): per environment and case, the
  two-way analysis of variance of ``y`` over workers and rounds (no replication)::

      MS_P = n / (W - 1) * sum_i (ybar_{i,.} - ybar)^2                        f = W - 1 df
      MS_E = sum_{i,r} (y_{i,r} - ybar_{i,.} - ybar_{.,r} + ybar)^2 / f_E,   f_E = (W - 1)(n - 1) df

  with ``E[MS_P] = sigma^2 + n s_p^2`` and ``E[MS_E] = sigma^2``, so ``(MS_P - MS_E) / n`` estimates
  ``s_p^2`` (the phase ``phi_r`` drops out of both). One unit gives only ``W - 1`` df, so the units
  ``j`` (both environments, every case of a mode) are pooled, weighted by the inverse of each one's
  sampling variance, ``Var((MS_P - MS_E) / n) ~ 2 (s_p^2 + sigma^2 / n)^2 / f`` (a mean square on
  ``f`` df has ``Var(M) = 2 E[M]^2 / f``), with ``sigma^2`` from ``MS_E`` (independent of ``MS_P``,
  so the weights do not bias the estimate) and ``s_p^2`` from a first, equally weighted pass::

      s_0^2 = max(0, sum_j f_j (MS_P,j - MS_E,j) / n_j / sum_j f_j)
      w_j   = f_j / (s_0^2 + MS_E,j / n_j)^2        (f_j when a denominator is 0)
      s_p^2 = max(0, sum_j w_j (MS_P,j - MS_E,j) / n_j / sum_j w_j)
      df_p  = (sum_j w_j)^2 / sum_j (w_j^2 / f_j)   (sum_j f_j when the weights are equal)

  Weighting matters because the cases of a mode differ in noise: the quiet cases tell the process
  variance well and the noisy ones hardly at all. The process offsets differ from worker to worker
  only, so they are the same in every round: ``d_r`` varies around ``mu_B - mu_A + pbar_B -
  pbar_A``, and the process part of the variance of ``m`` is ``V_p = (1 / W_A + 1 / W_B) s_p^2``.
- Interval: ``V = V_r + V_p`` with Satterthwaite's df (1946; ``satterthwaite_df``)
  ``nu = V^2 / (V_r^2 / (n - 1) + V_p^2 / df_p)``, and the signed-rank interval stretched about
  ``m`` by ``kappa = t_{1-alpha/2, nu} sqrt(V) / h``: ``exp(m - kappa (m - L)), exp(m + kappa (U -
  m))``. With no process variance (``V_p = 0``) ``kappa = 1``: the signed-rank interval itself.
  When ``h = 0`` (identical rounds) the interval is ``exp(m -+ t_{1-alpha/2, nu} sqrt(V))``. With
  one worker per environment ``s_p^2`` cannot be estimated: the interval is the round-only one, and
  the outputs say that it leaves out the process variation. Simulated A/A runs of the model (7
  cases of a mode, 2 or 3 workers, 8 to 40 rounds, ``s_p`` 0 to 0.04, burst noise sd 0.02 to 0.15
  alike or mixed, heavy-tailed; 2100 cases each) cover 1 in 94.4-97.7% of the cases at the 95%
  level, the round-only interval in 46-90% (97% when ``s_p = 0``); equal weights instead cover 91%
  when the cases' noise differs.
- Aggregate over cases ``c = 1..k`` (geometric mean): per worker ``y_{e,i,r} = (1/k) sum_c
  y_{e,c,i,r}`` and ``d_r = (1/k) sum_c d_{c,r}``, then the same estimate, round component and
  process component (``aggregate_log_times``). Pairing by round counts the correlation that a
  shared slow phase creates between cases.

Why a signed-rank interval for the rounds and not a ``t`` interval or a bootstrap: on the 2-core
development VM the per-round log ratios are heavy-tailed (a burst that meets another process's
burst; median excess kurtosis 1.3 to 3.2 over the quick matrix's cases), which widens a ``t``
interval; on the same A/A runs the signed-rank intervals were 30-40% narrower (median half width
6.7% against 9.6%, and 4.2% against 6.9%). It is exact for any continuous distribution of ``d_r``
symmetric about the shift, and in an A/A comparison the ``d_r`` are symmetric by construction. A
percentile bootstrap over 6 to 50 rounds under-covers (about 91% for a nominal 95% at ``n = 10``),
and one that resamples 2 or 3 processes cannot estimate their variance at all (it sees ``(W - 1) /
W`` of it at best). Logs make the ratio's interval multiplicative and the aggregate a geometric
mean. Hodges and Lehmann 1963; Hollander and Wolfe, Nonparametric Statistical Methods, ch. 3;
Searle, Casella and McCulloch, Variance Components, ch. 3 (mean squares) and 4.

Verdict (``verdict``) with threshold ``theta``, on the step-time ratio, the gate's rule (beyond the
threshold AND significant): ``regression`` when ``R > 1 + theta`` and the interval lies above 1;
``improvement`` when ``R < 1 / (1 + theta)`` and the interval lies below 1; ``slower`` / ``faster``
when significant but within the threshold (they pass); ``no change`` when the interval contains 1
and lies within ``[1 / (1 + theta), 1 + theta]``; ``inconclusive`` when it contains 1 and reaches
beyond a threshold; ``insufficient rounds`` without an interval (never a failure).

Minimal detectable effect (``minimal_detectable_effect``), the slowdown a two-sided test at
``alpha`` detects with probability ``power`` given the estimate's variance ``V`` and df ``nu``::

    MDE = exp((t_{1-alpha/2, nu} + t_{power, nu}) sqrt(V)) - 1

(the usual normal-approximation formula with ``t`` quantiles in place of ``z``; Cohen 1988, ch. 2).
Both components count: more rounds shrink ``V_r``, only more workers shrink ``V_p``.

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

from reference.validation import check_array, check_float, check_int

__all__ = [
    "EXACT_SIGNED_RANK_N",
    "FASTER",
    "IMPROVEMENT",
    "INCONCLUSIVE",
    "INSUFFICIENT",
    "NOT_ESTIMATED",
    "NO_CHANGE",
    "REGRESSION",
    "SLOWER",
    "VERDICTS",
    "ProcessVariance",
    "RatioEstimate",
    "aggregate_log_times",
    "false_alarm_probability",
    "log_ratios",
    "log_times",
    "minimal_detectable_effect",
    "process_variance",
    "ratio_estimate",
    "satterthwaite_df",
    "signed_rank_critical",
    "t_quantile",
    "verdict",
    "worker_mean_squares",
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


def t_quantile(probability: float, df: float) -> float:
    """``t_{probability, df}``: the quantile of Student's ``t`` with ``df`` (possibly fractional) degrees of freedom."""
    from scipy.stats import t  # scipy.stats takes about a second to import: only when needed

    return float(t.ppf(probability, df))


@dataclass(frozen=True)
class ProcessVariance:
    """``s_p^2``, the variance of one worker process's own log offset, pooled over ``units``, with ``df_p``
    (module docstring); ``units`` 0: not estimated (no unit had two workers)."""

    variance: float
    df: float
    units: int

    @property
    def estimated(self) -> bool:
        return self.units > 0

    @property
    def sd(self) -> float:
        """``s_p`` (log scale: about the relative offset of one process); NaN when not estimated."""
        return math.sqrt(self.variance) if self.estimated else math.nan

    def as_dict(self) -> dict:
        return asdict(self) | {"sd": self.sd}


NOT_ESTIMATED = ProcessVariance(0.0, math.nan, 0)


@dataclass(frozen=True)
class RatioEstimate:
    """B's step time over A's with its interval (module docstring); ``nan`` bounds when too few rounds.

    ``round_variance`` is ``V_r`` and ``process_variance`` ``V_p`` (NaN when not estimated: one worker
    per environment), both of ``m = ln ratio``; ``df`` is Satterthwaite's ``nu``.
    """

    ratio: float
    low: float
    high: float
    rounds: int
    alpha: float
    round_variance: float = math.nan
    process_variance: float = math.nan
    df: float = math.nan

    @property
    def variance(self) -> float:
        """``V = V_r + V_p`` (``V_r`` alone when ``V_p`` was not estimated)."""
        return self.round_variance + (0.0 if math.isnan(self.process_variance) else self.process_variance)

    @property
    def half_width(self) -> float:
        """``exp(h) - 1``, ``h = (ln high - ln low) / 2``: the interval's relative half width."""
        return math.sqrt(self.high / self.low) - 1

    def contains(self, value: float) -> bool:
        return bool(self.low <= value <= self.high)

    def as_dict(self) -> dict:
        return asdict(self) | {"half_width": self.half_width}


def log_times(times, name: str = "times") -> np.ndarray:
    """``y_{i,r} = ln t_{i,r}``: a ``(workers, rounds)`` array (one worker: a 1-D sequence is one row).

    Raises:
        ValueError: not 1-D or 2-D, empty, or a time that is not finite and > 0.
    """
    t = check_array(name, times, dtype="float", ndim=(1, 2), low=0, low_open=True)
    t = t.reshape(1, -1) if t.ndim == 1 else t
    if t.size == 0:
        raise ValueError(
            f"Argument `{name}` must hold one or more step times. Received: {name}.shape={t.shape}"
        )
    return np.log(t)


def log_ratios(baseline, candidate) -> np.ndarray:
    """``d_r = ybar_{B,.,r} - ybar_{A,.,r}``: per round, the mean log time of B's workers less A's.

    Args:
        baseline, candidate: step times, ``(workers, rounds)`` or one worker's ``(rounds,)``.

    Raises:
        ValueError: a time not finite and > 0, or the two with different numbers of rounds.
    """
    a, b = log_times(baseline, "baseline"), log_times(candidate, "candidate")
    if a.shape[1] != b.shape[1]:
        raise ValueError(
            f"Argument `candidate` must have the rounds of `baseline` ({a.shape[1]}). Received: {b.shape[1]}"
        )
    return b.mean(axis=0) - a.mean(axis=0)


def aggregate_log_times(per_case: Sequence[np.ndarray]) -> np.ndarray:
    """``y_{i,r} = (1/k) sum_c y_{c,i,r}``: per worker and round, the mean over ``k`` cases' log times.

    Raises:
        ValueError: no case, or cases of different shapes (workers, rounds).
    """
    shapes = {np.shape(y) for y in per_case}
    if not per_case or len(shapes) != 1:
        raise ValueError(
            "Argument `per_case` must hold one or more cases with the same workers and rounds. "
            f"Received: shapes={sorted(shapes)}"
        )
    return np.mean(np.stack([np.asarray(y, dtype=float) for y in per_case]), axis=0)


def worker_mean_squares(log_time) -> tuple[float, float]:
    """``(MS_P, MS_E)``: the between-worker and residual mean squares of ``y`` (workers x rounds).

    Raises:
        ValueError: fewer than two workers or two rounds, or a value that is not finite.
    """
    y = check_array("log_time", log_time, dtype="float", ndim=2)
    workers, rounds = y.shape
    if workers < 2 or rounds < 2:
        raise ValueError(
            f"Argument `log_time` must have two or more workers and rounds. Received: log_time.shape={y.shape}"
        )
    worker_means, round_means, grand = y.mean(axis=1), y.mean(axis=0), y.mean()
    ms_p = rounds * float(np.sum((worker_means - grand) ** 2)) / (workers - 1)
    residual = y - worker_means[:, None] - round_means[None, :] + grand
    ms_e = float(np.sum(residual**2)) / ((workers - 1) * (rounds - 1))
    return ms_p, ms_e


def process_variance(units: Sequence[np.ndarray]) -> ProcessVariance:
    """``s_p^2`` pooled over ``units`` by inverse-variance weights, with ``df_p`` (module docstring).

    Args:
        units: log step times ``(workers, rounds)``, one per environment and case; a unit with one
            worker or one round tells nothing about processes and is left out.
    """
    terms = [
        (np.shape(y)[0] - 1, np.shape(y)[1], *worker_mean_squares(y))
        for y in units
        if np.shape(y)[0] >= 2 and np.shape(y)[1] >= 2
    ]
    if not terms:
        return NOT_ESTIMATED
    f = np.array([t[0] for t in terms], dtype=float)
    n, ms_p, ms_e = (np.array([t[i] for t in terms], dtype=float) for i in (1, 2, 3))
    unit = (ms_p - ms_e) / n
    first = max(0.0, float(np.sum(f * unit) / np.sum(f)))
    spread = first + ms_e / n
    w = f / spread**2 if np.all(spread > 0) else f
    return ProcessVariance(
        max(0.0, float(np.sum(w * unit) / np.sum(w))), float(np.sum(w) ** 2 / np.sum(w**2 / f)), len(terms)
    )


def satterthwaite_df(parts: Sequence[tuple[float, float]]) -> float:
    """``nu = (sum_j v_j)^2 / sum_j (v_j^2 / f_j)`` for variances ``v_j`` on ``f_j`` df (Satterthwaite 1946).

    Parts with ``v_j = 0`` are left out, an infinite ``f_j`` adds nothing below; ``inf`` when every
    part is left out or has infinite df.
    """
    used = [(v, f) for v, f in parts if v > 0]
    below = sum(v * v / f for v, f in used if math.isfinite(f))
    return sum(v for v, _ in used) ** 2 / below if below > 0 else math.inf


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


def ratio_estimate(
    log_ratio: Sequence[float],
    *,
    alpha: float = 0.05,
    process: ProcessVariance = NOT_ESTIMATED,
    workers: tuple[int, int] = (1, 1),
) -> RatioEstimate:
    """``R = exp(m)`` and its interval at level ``1 - alpha`` from ``d_r`` and the process variance.

    Args:
        log_ratio: ``d_r``, one per round.
        process: ``s_p^2`` with its df (``process_variance``); ``NOT_ESTIMATED``: the round component only.
        workers: ``(W_A, W_B)``, for ``V_p = (1 / W_A + 1 / W_B) s_p^2``.
    """
    alpha = check_float("alpha", alpha, low=0, high=0.5, low_open=True, high_open=True)
    w_a, w_b = (check_int("workers", w, low=1) for w in workers)
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
    h = (high - low) / 2
    v_r = (h / t_quantile(1 - alpha / 2, n - 1)) ** 2
    v_p = (1 / w_a + 1 / w_b) * process.variance if process.estimated else math.nan
    v = v_r + (0.0 if math.isnan(v_p) else v_p)
    nu = satterthwaite_df([(v_r, n - 1), (0.0 if math.isnan(v_p) else v_p, process.df)]) if v > 0 else n - 1
    reach = t_quantile(1 - alpha / 2, nu) * math.sqrt(v)
    if h > 0:
        kappa = reach / h
        low, high = m - kappa * (m - low), m + kappa * (high - m)
    else:
        low, high = m - reach, m + reach
    return RatioEstimate(math.exp(m), math.exp(low), math.exp(high), n, alpha, v_r, v_p, nu)


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
