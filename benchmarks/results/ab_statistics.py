"""Statistics of an interleaved A/B comparison: paired log ratios, t intervals, verdicts, detectable effects.

Notation: one case, rounds ``r = 1..n``; ``a_r`` and ``b_r`` are environment A's and B's step times
in round ``r`` (seconds per step, each the median over one short burst). A round pairs them: the two
bursts ran back to back, in random order, so both saw the same phase of a shared machine.

- Per-round log ratio ``d_r = ln(b_r / a_r)``; mean ``m = (1/n) sum d_r``; standard deviation
  ``s = sqrt(sum (d_r - m)^2 / (n - 1))``.
- Ratio ``R = exp(m)``, the geometric mean of the per-round ratios: above 1, B's step is slower.
- Interval at level ``1 - alpha``: ``exp(m -/+ t_{1-alpha/2, n-1} s / sqrt(n))``, Student's ``t`` with
  ``n - 1`` degrees of freedom; its half width is reported as ``exp(t_{1-alpha/2, n-1} s / sqrt(n)) - 1``.
- Aggregate over cases ``c = 1..k`` (geometric mean): ``D_r = (1/k) sum_c d_{c,r}``, then the same
  interval on ``D_r``. ``exp(mean D) = (prod_c R_c)^(1/k)``, and pairing by round counts the
  correlation between cases that a shared slow phase creates.

Why a ``t`` interval on per-round log ratios and not a bootstrap over rounds: a run has 5 to 50
rounds, and the percentile bootstrap of a mean under-covers at that size (its quantiles are those
of a normal with the ``1/n`` variance: at ``n = 10`` a nominal 95% interval covers about 91%). The
``t`` interval is exact for normal ``d_r`` and close for symmetric ones; in an A/A comparison the
``d_r`` are symmetric by construction (the two environments are exchangeable and their order in a
round is random). Logs make the ratio's interval multiplicative and the aggregate a geometric mean.

Verdict (``verdict``) with threshold ``theta``, on the step-time ratio, the gate's rule (beyond the
threshold AND significant): ``regression`` when ``R > 1 + theta`` and the interval lies above 1;
``improvement`` when ``R < 1 / (1 + theta)`` and the interval lies below 1; ``slower`` / ``faster``
when significant but within the threshold (they pass); ``no change`` when the interval contains 1
and lies within ``[1 / (1 + theta), 1 + theta]``; ``inconclusive`` when it contains 1 and reaches
beyond a threshold; ``insufficient rounds`` below ``MIN_ROUNDS`` (never a failure).

Minimal detectable effect (``minimal_detectable_effect``), the slowdown a two-sided test at
``alpha`` detects with probability ``power`` after ``n`` rounds whose log ratios spread by ``s``::

    MDE = exp((t_{1-alpha/2, n-1} + t_{power, n-1}) s / sqrt(n)) - 1

(the usual normal-approximation formula with ``t`` quantiles in place of ``z``; Cohen 1988, ch. 2).

False alarms (``false_alarm_probability``): in an A/A comparison each of ``k`` intervals excludes 1
with probability ``alpha``, so ``X``, the number that do, is about ``Binomial(k, alpha)``; the
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
    "FASTER",
    "IMPROVEMENT",
    "INCONCLUSIVE",
    "INSUFFICIENT",
    "MIN_ROUNDS",
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
    "t_quantile",
    "verdict",
]

MIN_ROUNDS = 3
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
    """B's step time over A's with its interval (module docstring); ``nan`` bounds below 2 rounds."""

    ratio: float
    low: float
    high: float
    rounds: int
    log_sd: float
    alpha: float

    @property
    def half_width(self) -> float:
        """``exp(t_{1-alpha/2, n-1} s / sqrt(n)) - 1``: the interval's relative half width."""
        return math.sqrt(self.high / self.low) - 1 if self.rounds >= 2 else math.nan

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


def ratio_estimate(log_ratio: Sequence[float], *, alpha: float = 0.05) -> RatioEstimate:
    """``R = exp(m)`` and its ``t`` interval at level ``1 - alpha`` from per-round log ratios ``d_r``."""
    alpha = check_float("alpha", alpha, low=0, high=0.5, low_open=True, high_open=True)
    d = np.asarray(log_ratio, dtype=float)
    n = len(d)
    if n == 0:
        return RatioEstimate(math.nan, math.nan, math.nan, 0, math.nan, alpha)
    mean = float(np.mean(d))
    if n < 2:
        return RatioEstimate(math.exp(mean), math.nan, math.nan, 1, math.nan, alpha)
    sd = float(np.std(d, ddof=1))
    half = t_quantile(1 - alpha / 2, n - 1) * sd / math.sqrt(n)
    return RatioEstimate(math.exp(mean), math.exp(mean - half), math.exp(mean + half), n, sd, alpha)


def verdict(estimate: RatioEstimate, *, threshold: float) -> str:
    """The gate's rule on a step-time ratio (module docstring): beyond the threshold AND significant."""
    threshold = check_float("threshold", threshold, low=0, high=1, low_open=True, high_open=True)
    if estimate.rounds < MIN_ROUNDS:
        return INSUFFICIENT
    upper, lower = 1 + threshold, 1 / (1 + threshold)
    if estimate.low > 1:
        return REGRESSION if estimate.ratio > upper else SLOWER
    if estimate.high < 1:
        return IMPROVEMENT if estimate.ratio < lower else FASTER
    return NO_CHANGE if lower <= estimate.low and estimate.high <= upper else INCONCLUSIVE


def minimal_detectable_effect(
    log_sd: float, rounds: int, *, alpha: float = 0.05, power: float = 0.95
) -> float:
    """``exp((t_{1-alpha/2, n-1} + t_{power, n-1}) s / sqrt(n)) - 1`` (module docstring).

    Raises:
        ValueError: ``rounds < 2``, ``log_sd`` negative or not finite, ``alpha`` or ``power`` outside (0, 1).
    """
    rounds = check_int("rounds", rounds, low=2)
    log_sd = check_float("log_sd", log_sd, low=0)
    alpha = check_float("alpha", alpha, low=0, high=1, low_open=True, high_open=True)
    power = check_float("power", power, low=0, high=1, low_open=True, high_open=True)
    df = rounds - 1
    return math.expm1((t_quantile(1 - alpha / 2, df) + t_quantile(power, df)) * log_sd / math.sqrt(rounds))


def false_alarm_probability(alarms: int, cases: int, *, alpha: float = 0.05) -> float:
    """``P(X >= alarms)`` for ``X ~ Binomial(cases, alpha)`` (module docstring)."""
    cases = check_int("cases", cases, low=0)
    alarms = check_int("alarms", alarms, low=0, high=cases)
    alpha = check_float("alpha", alpha, low=0, high=1, low_open=True, high_open=True)
    from scipy.stats import binom

    return float(binom.sf(alarms - 1, cases, alpha))
