"""The interval behind every stochastic verdict: a Student ``t`` interval of a mean over seeds.

A stochastic claim is measured once per seed ``i = 1..N``; for a comparison the number is the
paired difference ``d_i = a_i - b_i`` of its two arms trained from the same seed (same initial
weights where the layers match, same batch order), for a threshold claim the number itself. With
``m`` the mean and ``s`` the standard deviation (``N - 1`` in the denominator)::

    m +- t_{(1 + c) / 2, N - 1} * s / sqrt(N)          (c = 0.95)

``t_{p, df}`` is ``scipy.stats.t.ppf(p, df)``. ``N = 1`` has no spread to estimate: the interval is
the whole line. ``s = 0`` (every seed gave the same number) gives the point ``[m, m]``.

Why ``t`` (``RATIONALE``, printed in the report): with the 2 to 10 seeds a run affords, a sign test
cannot decide at all below 6 seeds (the smallest two-sided p-value of 5 seeds is ``2 / 2^5 =
0.0625``), and a percentile bootstrap over 5 values has at most 126 distinct resamples and
under-covers (Efron and Tibshirani 1993, ch. 13); the ``t`` interval is exact when the ``d_i`` are
normal and close to it for near-symmetric ``d_i`` (Student 1908). Pairing by seed removes what both
arms share (the initial weights, the batch order), so the ``d_i`` vary less than either arm. Every
``d_i`` is kept, so a reader can check the assumption. The price of honesty is width: at ``N = 2``
the quantile is 12.71 and most effects stay inconclusive.

``side`` places an interval relative to a reference value: entirely above, entirely below, or
containing it. No TensorFlow here; scipy is imported on the first interval (it takes a second).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from reference.validation import check_array, check_float, check_int, fail

__all__ = [
    "ABOVE",
    "BELOW",
    "CONFIDENCE",
    "CONTAINS",
    "METHOD",
    "RATIONALE",
    "Interval",
    "side",
    "t_interval",
    "t_quantile",
]

CONFIDENCE = 0.95
ABOVE = "above"
BELOW = "below"
CONTAINS = "contains"
METHOD = "Student t interval of the mean over seeds (paired differences for a comparison)"
RATIONALE = (
    "A sign test cannot reach 5% with fewer than 6 seeds (its smallest two-sided p-value with 5 seeds is "
    "2/2^5 = 0.0625), and a percentile bootstrap over 5 values has at most 126 distinct resamples and "
    "under-covers; the t interval is exact for normal differences and close to it for near-symmetric ones, "
    "which is its assumption (every seed's value is listed, so it can be checked). Pairing by seed removes "
    "what both arms share (initial weights, batch order). With 2 seeds t = 12.71: most effects are then "
    "inconclusive, which is what 2 seeds can say."
)


@dataclass(frozen=True)
class Interval:
    """The mean of ``n`` values and its ``t`` interval at ``confidence``.

    ``t`` is the quantile used (``nan`` when ``n = 1``: no interval), ``sd`` the standard
    deviation with ``n - 1`` in the denominator (``nan`` when ``n = 1``).
    """

    mean: float
    low: float
    high: float
    n: int
    sd: float
    t: float
    confidence: float = CONFIDENCE

    @property
    def df(self) -> int:
        """Degrees of freedom, ``n - 1``."""
        return self.n - 1

    def as_dict(self) -> dict:
        return asdict(self) | {"df": self.df}


def t_quantile(n: int, *, confidence: float = CONFIDENCE) -> float:
    """``t_{(1 + confidence) / 2, n - 1}``, the quantile of the interval of ``n`` values
    (``scipy.stats.t.ppf``).

    Raises:
        ValueError: ``n`` not an integer >= 2, or ``confidence`` not in (0, 1).
    """
    from scipy.stats import t as student_t

    n = check_int("n", n, low=2)
    confidence = check_float("confidence", confidence, low=0.0, high=1.0, low_open=True, high_open=True)
    return float(student_t.ppf((1 + confidence) / 2, n - 1))


def t_interval(values: Sequence[float], *, confidence: float = CONFIDENCE) -> Interval:
    """``mean +- t_{(1 + confidence) / 2, n - 1} * sd / sqrt(n)`` of ``values`` (module docstring).

    Raises:
        ValueError: ``values`` not a non-empty one-dimensional sequence of finite numbers, or
            ``confidence`` not in (0, 1).
    """
    confidence = check_float("confidence", confidence, low=0.0, high=1.0, low_open=True, high_open=True)
    values = check_array("values", values, ndim=1).astype(np.float64)
    if values.size == 0:
        fail("values", "a non-empty sequence of finite numbers", values.shape, at=".shape")
    n, mean = int(values.size), float(np.mean(values))
    if n == 1:
        return Interval(mean, -math.inf, math.inf, 1, math.nan, math.nan, confidence)
    sd = float(np.std(values, ddof=1))
    t = t_quantile(n, confidence=confidence)
    half = t * sd / math.sqrt(n)
    return Interval(mean, mean - half, mean + half, n, sd, t, confidence)


def side(interval: Interval, reference: float) -> str:
    """Where ``interval`` lies relative to ``reference``: ``ABOVE`` (``low > reference``),
    ``BELOW`` (``high < reference``) or ``CONTAINS`` (an end equal to it counts as containing)."""
    reference = check_float("reference", reference)
    if interval.low > reference:
        return ABOVE
    if interval.high < reference:
        return BELOW
    return CONTAINS
