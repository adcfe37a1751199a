"""The interval behind every stochastic verdict: a Student ``t`` interval of a mean over seeds.

A stochastic claim is measured once per seed ``i = 1..N``; for a comparison the number is the
paired difference ``d_i = a_i - b_i`` of its two arms trained from the same seed (same initial
weights, batch order and dropout masks where the models allow), for a threshold claim the number
itself. With ``m`` the mean and ``s`` the standard deviation (``N - 1`` in the denominator)::

    m +- t_{(1 + c) / 2, N - 1} * s / sqrt(N)          (c = 0.95)

``N = 1`` has no spread to estimate: the interval is the whole line. ``s = 0`` (every seed gave the
same number) gives the point ``[m, m]``.

Why ``t``: with the 2 to 10 seeds a run affords, a sign test cannot decide at all below 6 seeds
(the smallest two-sided p-value of 5 seeds is ``2 / 2^5 = 0.0625``), and a bootstrap over 5 values
resamples at most 126 distinct sets and under-covers badly; the ``t`` interval is exact when the
``d_i`` are normal and close to it for near-symmetric ``d_i`` (Student 1908; Efron and Tibshirani
1993, ch. 12-13 on small-sample bootstrap intervals). Its assumption is stated in the report,
and every ``d_i`` is kept, so a reader can check it. The price of honesty is width: at ``N = 2``
the quantile is 12.706, so most effects stay inconclusive.

``side`` places an interval relative to a reference value: entirely above, entirely below, or
containing it. No TensorFlow here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from benchmarks.results.ab_statistics import t_quantile
from reference.validation import check_array, check_float, fail

__all__ = ["ABOVE", "BELOW", "CONFIDENCE", "CONTAINS", "Interval", "side", "t_interval"]

CONFIDENCE = 0.95
ABOVE, BELOW, CONTAINS = "above", "below", "contains"


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
    t = t_quantile((1 + confidence) / 2, n - 1)
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
