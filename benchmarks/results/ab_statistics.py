"""Statistics of an interleaved A/B comparison: paired log ratios, their intervals, verdicts, detectable effects.

Notation: one case, rounds ``r = 1..n``; ``a_r`` and ``b_r`` are environment A's and B's step times
in round ``r`` (seconds per step, each the median over one short burst). A round pairs them: the two
bursts ran back to back, in random order, so both saw the same phase of a shared machine.

- Per-round log ratio ``d_r = ln(b_r / a_r)``.
- Walsh averages ``w_ij = (d_i + d_j) / 2`` for ``i <= j``: ``N = n (n + 1) / 2`` of them, sorted
  ``w_(1) <= ... <= w_(N)``.
- Ratio ``R = exp(median of the w_ij)``: the Hodges-Lehmann estimate of the shift, exponentiated;
  above 1, B's step is slower.
- Interval at level ``1 - alpha`` (the Wilcoxon signed-rank interval): ``exp(w_(k+1)), exp(w_(N-k))``
  where ``k`` is the largest count with ``P(T <= k) <= alpha / 2`` for the signed-rank statistic
  ``T`` of ``n`` pairs under no change (``signed_rank_critical``: exact, by counting the subsets of
  ``{1..n}`` with each sum, up to ``EXACT_SIGNED_RANK_N`` rounds; beyond, the normal approximation
  ``k = floor(n (n + 1) / 4 - z_{1-alpha/2} sqrt(n (n + 1) (2 n + 1) / 24))``). Below 6 rounds at
  ``alpha = 0.05`` no such ``k`` exists and there is no interval.
- Aggregate over cases ``c = 1..k`` (geometric mean): ``D_r = (1/k) sum_c d_{c,r}``, then the same
  estimate and interval on ``D_r``. Pairing by round counts the correlation between cases that a
  shared slow phase creates.
- Effective spread ``s = h sqrt(n) / t_{1-alpha/2, n-1}`` with ``h`` the interval's log half width,
  ``(ln high - ln low) / 2``: the standard deviation for which a Student ``t`` interval would be as
  wide (for normal ``d_r``, close to their standard deviation). The half width is reported as
  ``exp(h) - 1``.

Why this interval and not a ``t`` interval or a bootstrap: on the 2-core development VM the per-round
log ratios are heavy-tailed (a burst that meets another process's burst; median excess kurtosis 1.3
to 3.2 over the quick matrix's cases), which widens a ``t`` interval; on the same A/A runs the
signed-rank intervals were 30-40% narrower (median half width 6.7% against 9.6%, and 4.2% against
6.9%). The signed-rank interval is exact for any continuous distribution of ``d_r`` symmetric about
the shift, and in an A/A comparison the ``d_r`` are symmetric by construction (the environments are
exchangeable and their order in a round is random). A percentile bootstrap over 6 to 50 rounds
under-covers (about 91% for a nominal 95% at ``n = 10``). Logs make the ratio's interval
multiplicative and the aggregate a geometric mean. Hodges and Lehmann 1963; Hollander and Wolfe,
Nonparametric Statistical Methods, ch. 3.

Verdict (``verdict``) with threshold ``theta``, on the step-time ratio, the gate's rule (beyond the
threshold AND significant): ``regression`` when ``R > 1 + theta`` and the interval lies above 1;
``improvement`` when ``R < 1 / (1 + theta)`` and the interval lies below 1; ``slower`` / ``faster``
when significant but within the threshold (they pass); ``no change`` when the interval contains 1
and lies within ``[1 / (1 + theta), 1 + theta]``; ``inconclusive`` when it contains 1 and reaches
beyond a threshold; ``insufficient rounds`` without an interval (never a failure).

Minimal detectable effect (``minimal_detectable_effect``), the slowdown a two-sided test at
``alpha`` detects with probability ``power`` after ``n`` rounds of effective spread ``s``::

    MDE = exp((t_{1-alpha/2, n-1} + t_{power, n-1}) s / sqrt(n)) - 1

(the usual normal-approximation formula with ``t`` quantiles in place of ``z``; Cohen 1988, ch. 2).
With ``s`` as above it is ``exp(h (1 + t_{power, n-1} / t_{1-alpha/2, n-1})) - 1``.

False alarms (``false_alarm_probability``): in an A/A comparison each of ``k`` intervals excludes 1
with probability at most ``alpha``, so ``X``, the number that do, is about ``Binomial(k, alpha)``; the
probability of ``x`` or more is ``P(X >= x) = sum_{j >= x} C(k, j) alpha^j (1 - alpha)^(k - j)``
(cases share rounds, so they are not quite independent; a small tail says "more than chance").
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from reference.validation import check_float, check_int

__all__ = [
    "EXACT_SIGNED_RANK_N",
    "FASTER",
    "IMPROVEMENT",
    "INCONCLUSIVE",
    "INSUFFICIENT",
    "NO_CHANGE",
    "REGRESSION",
    "SLOWER",
    "VERDICTS",
    "RatioEstimate",
    "aggregate_log_ratios",
    "false_alarm_probability",
    "log_ratios",
    "minimal_detectable_effect",
    "ratio_estimate",
    "signed_rank_critical",
    "t_quantile",
    "verdict",
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


def t_quantile(probability: float, df: int) -> float:
    """``t_{probability, df}``: the quantile of Student's ``t`` with ``df`` degrees of freedom."""
    from scipy.stats import t  # scipy.stats takes about a second to import: only when needed

    return float(t.ppf(probability, df))


@dataclass(frozen=True)
class RatioEstimate:
    """B's step time over A's with its interval (module docstring); ``nan`` bounds when too few rounds.

    ``log_scale`` is the effective spread ``s`` of the module docstring.
    """

    ratio: float
    low: float
    high: float
    rounds: int
    log_scale: float
    alpha: float

    @property
    def half_width(self) -> float:
        """``exp(h) - 1``, ``h = (ln high - ln low) / 2``: the interval's relative half width."""
        return math.sqrt(self.high / self.low) - 1

    def contains(self, value: float) -> bool:
        return bool(self.low <= value <= self.high)

    def as_dict(self) -> dict:
        return asdict(self) | {"half_width": self.half_width}


def log_ratios(baseline: Sequence[float], candidate: Sequence[float]) -> np.ndarray:
    """``d_r = ln(b_r / a_r)`` over the rounds where both step times are present (not NaN).

    Raises:
        ValueError: the sequences differ in length, or a present time is not > 0.
    """
    a, b = np.asarray(baseline, dtype=float), np.asarray(candidate, dtype=float)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(
            f"Argument `candidate` must have one time per round of `baseline` ({a.shape}). Received: {b.shape}"
        )
    both = ~(np.isnan(a) | np.isnan(b))
    if np.any(a[both] <= 0) or np.any(b[both] <= 0) or not np.all(np.isfinite(a[both] * b[both])):
        raise ValueError("Arguments `baseline` and `candidate` must hold step times > 0 (finite or NaN)")
    return np.log(b[both]) - np.log(a[both])


def aggregate_log_ratios(per_case: Sequence[np.ndarray]) -> np.ndarray:
    """``D_r = (1/k) sum_c d_{c,r}`` over ``k`` cases' per-round log ratios (rounds aligned).

    Raises:
        ValueError: no case, or cases with different numbers of rounds.
    """
    if not per_case or len({len(d) for d in per_case}) != 1:
        raise ValueError(
            "Argument `per_case` must hold one or more cases with the same rounds. "
            f"Received: rounds={[len(d) for d in per_case]}"
        )
    return np.mean(np.vstack(per_case), axis=0)


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


def ratio_estimate(log_ratio: Sequence[float], *, alpha: float = 0.05) -> RatioEstimate:
    """``R = exp(Hodges-Lehmann)`` and its signed-rank interval at level ``1 - alpha`` from ``d_r``."""
    alpha = check_float("alpha", alpha, low=0, high=0.5, low_open=True, high_open=True)
    d = np.asarray(log_ratio, dtype=float)
    n = len(d)
    if n == 0:
        return RatioEstimate(math.nan, math.nan, math.nan, 0, math.nan, alpha)
    upper = np.triu_indices(n)
    walsh = np.sort(((d[:, None] + d[None, :]) / 2)[upper])
    ratio = math.exp(float(np.median(walsh)))
    k = signed_rank_critical(n, alpha) if n >= 2 else -1
    if k < 0:
        return RatioEstimate(ratio, math.nan, math.nan, n, math.nan, alpha)
    low, high = float(walsh[k]), float(walsh[len(walsh) - 1 - k])
    scale = (high - low) / 2 * math.sqrt(n) / t_quantile(1 - alpha / 2, n - 1)
    return RatioEstimate(ratio, math.exp(low), math.exp(high), n, scale, alpha)


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
    log_scale: float, rounds: int, *, alpha: float = 0.05, power: float = 0.95
) -> float:
    """``exp((t_{1-alpha/2, n-1} + t_{power, n-1}) s / sqrt(n)) - 1`` (module docstring).

    Raises:
        ValueError: ``rounds < 2``, ``log_scale`` negative or not finite, ``alpha`` or ``power`` outside (0, 1).
    """
    rounds = check_int("rounds", rounds, low=2)
    log_scale = check_float("log_scale", log_scale, low=0)
    alpha = check_float("alpha", alpha, low=0, high=1, low_open=True, high_open=True)
    power = check_float("power", power, low=0, high=1, low_open=True, high_open=True)
    df = rounds - 1
    return math.expm1((t_quantile(1 - alpha / 2, df) + t_quantile(power, df)) * log_scale / math.sqrt(rounds))


def false_alarm_probability(alarms: int, cases: int, *, alpha: float = 0.05) -> float:
    """``P(X >= alarms)`` for ``X ~ Binomial(cases, alpha)`` (module docstring)."""
    cases = check_int("cases", cases, low=0)
    alarms = check_int("alarms", alarms, low=0, high=cases)
    alpha = check_float("alpha", alpha, low=0, high=1, low_open=True, high_open=True)
    from scipy.stats import binom

    return float(binom.sf(alarms - 1, cases, alpha))
