"""The two sources of variation in an interleaved A/B run: rounds, and worker processes.

Notation: one case; environment ``e`` (A or B) runs ``W_e`` worker processes ``i = 1..W_e``; rounds
``r = 1..n``; ``y_{e,i,r} = ln t_{e,i,r}``, the log step time of worker ``i`` in round ``r`` (seconds
per step, the median over one short burst). In a round every worker times one burst of the case,
back to back and in a random order, so they all see the same phase of a shared machine.

Model (log scale, so that effects are relative)::

    y_{e,i,r} = mu_e + p_{e,i} + phi_r + eps_{e,i,r}

``mu_e`` the environment's effect (what is compared); ``phi_r`` the machine's phase in round ``r``,
shared by the round's bursts, so it cancels in any difference between workers; ``eps`` the burst's
own noise, variance ``sigma^2``; ``p_{e,i}`` the worker PROCESS's own offset, the same in every round
of that worker and random from one launch to the next (memory layout, thread placement, allocator
state; Mytkowicz et al., ASPLOS 2009), variance ``s_p^2``. Pairing by round removes ``phi_r`` but
not ``p``: with one worker per environment ``p_{B,1} - p_{A,1}`` is indistinguishable from ``mu_B -
mu_A``. Measured here, A against A with one worker each on a quiet machine (41 cases, 57 rounds):
13 of 41 round-only 95% intervals excluded 1, the aggregate was 1.007 [1.003, 1.011]; the excess of
the cases' squared log ratios over their round variances gives ``s_p`` of 0.4-0.9% by mode. Hence
several workers per environment, and intervals with both components.

Per environment and case (a UNIT: ``W`` workers x ``n`` rounds), the two-way analysis of variance
without replication (``worker_mean_squares``)::

    MS_P = n / f * sum_i (ybar_{i.} - ybar_{..})^2,                          f = W - 1 df
    MS_E = sum_{i,r} (y_{ir} - ybar_{i.} - ybar_{.r} + ybar_{..})^2 / g,     g = (W - 1)(n - 1) df

with ``E[MS_P] = sigma^2 + n s_p^2`` and ``E[MS_E] = sigma^2`` (``phi_r`` drops out of both), so
``u = (MS_P - MS_E) / n`` estimates ``s_p^2``. One unit has only ``W - 1`` df, so ``process_variance``
pools units ``j`` (both environments, every case of a mode) by weights ``omega_j`` inversely
proportional to each ``u_j``'s sampling variance, ``Var(u_j) ~ 2 (s_p^2 + sigma_j^2 / n_j)^2 / f_j``
(a mean square on ``f`` df has ``Var(M) = 2 E[M]^2 / f``), ``sigma_j^2`` from ``MS_E`` and ``s_p^2``
from a first, df-weighted pass::

    s_0^2   = max(0, sum_j f_j u_j / sum_j f_j)
    omega_j ~ f_j / (s_0^2 + MS_E,j / n_j)^2           (~ f_j when a denominator is 0), sum 1
    s_p^2   = max(0, sum_j omega_j u_j)
    Var(s_p^2) ~ 2 sum_j omega_j^2 (MS_P,j^2 / f_j + MS_E,j^2 / g_j) / n_j^2

The weights matter because a mode's cases differ in noise: the quiet ones tell ``s_p^2`` well, the
noisy ones hardly at all. ``Var(s_p^2)`` counts the whole ``MS_P`` (burst noise included), not only
``s_p^2``: how much the estimate can move, which ``benchmarks.results.ab_statistics`` turns into
degrees of freedom; it stays above 0 when the estimate is clipped to 0. Each mean square stands in
for its expectation (Satterthwaite's rule); as ``E[M^2] = E[M]^2 (1 + 2 / f)``, with one df per unit
(two workers) that overstates the variance about 3-fold, on the safe side (fewer df, wider intervals).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from reference.validation import check_array, check_float

__all__ = [
    "NOT_ESTIMATED",
    "OUTLIER_P",
    "Moderation",
    "ProcessVariance",
    "aggregate_log_times",
    "log_ratios",
    "log_times",
    "moderate",
    "process_variance",
    "worker_mean_squares",
    "worker_spread",
]


@dataclass(frozen=True)
class ProcessVariance:
    """``s_p^2`` pooled over ``units`` and its sampling variance (module docstring); ``units`` 0: not
    estimated (no unit had two workers and two rounds)."""

    variance: float
    sampling_variance: float
    units: int

    @property
    def estimated(self) -> bool:
        return self.units > 0

    @property
    def sd(self) -> float:
        """``s_p``: on the log scale, about the relative offset of one process; NaN when not estimated."""
        return math.sqrt(self.variance) if self.estimated else math.nan

    def as_dict(self) -> dict:
        return asdict(self) | {"sd": self.sd}


NOT_ESTIMATED = ProcessVariance(math.nan, math.nan, 0)
OUTLIER_P = 0.01


def log_times(times, name: str = "times") -> np.ndarray:
    """``y_{i,r} = ln t_{i,r}``: a ``(workers, rounds)`` array (a 1-D sequence is one worker).

    Raises:
        ValueError: not 1-D or 2-D, no worker, or a time that is not finite and > 0.
    """
    t = check_array(name, times, dtype="float", ndim=(1, 2), low=0, low_open=True)
    t = t.reshape(1, -1) if t.ndim == 1 else t
    if t.shape[0] == 0:
        raise ValueError(f"Argument `{name}` must hold one or more workers. Received: {name}.shape={t.shape}")
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
    """``y_{i,r} = (1/k) sum_c y_{c,i,r}``: per worker and round, the mean of ``k`` cases' log times
    (the log of their geometric mean).

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
    """``s_p^2`` pooled over ``units`` by inverse-variance weights, and its sampling variance (module docstring).

    Args:
        units: log step times ``(workers, rounds)``, one per environment and case; a unit with one
            worker or one round tells nothing about processes and is left out.
    """
    kept = [y for y in units if np.shape(y)[0] >= 2 and np.shape(y)[1] >= 2]
    if not kept:
        return NOT_ESTIMATED
    workers, rounds = (np.array([np.shape(y)[axis] for y in kept], dtype=float) for axis in (0, 1))
    ms_p, ms_e = np.array([worker_mean_squares(y) for y in kept]).T
    f, g = workers - 1, (workers - 1) * (rounds - 1)
    u = (ms_p - ms_e) / rounds
    first = max(0.0, float(np.sum(f * u) / np.sum(f)))
    spread = first + ms_e / rounds
    w = f / spread**2 if np.all(spread > 0) else f
    omega = w / np.sum(w)
    sampling = 2 * float(np.sum(omega**2 * (ms_p**2 / f + ms_e**2 / g) / rounds**2))
    return ProcessVariance(max(0.0, float(np.sum(omega * u))), sampling, len(kept))


def worker_spread(baseline, candidate) -> tuple[float, int]:
    """``(S^2, f)`` of log step times ``y`` (``(workers, rounds)`` each, A's and B's): the variance of
    one worker's mean log time about its environment's mean, pooled over A and B, and its df::

        Y_{e,i} = (1/n) sum_r y_{e,i,r}      S^2 = (sum_i (Y_{A,i} - Ybar_A)^2 + sum_i (Y_{B,i} - Ybar_B)^2) / f
        f = W_A + W_B - 2                    E[S^2] = s_p^2 + sigma^2 / n

    (each worker saw every round, so ``phi_r`` is the same in every ``Y``); ``f`` 0 when neither
    environment has two workers (``S^2`` NaN then).
    """
    a = check_array("baseline", baseline, dtype="float", ndim=2)
    b = check_array("candidate", candidate, dtype="float", ndim=2)
    f = len(a) + len(b) - 2
    if f < 1:
        return math.nan, 0
    y_a, y_b = a.mean(axis=1), b.mean(axis=1)
    return float(np.sum((y_a - y_a.mean()) ** 2) + np.sum((y_b - y_b.mean()) ** 2)) / f, f


@dataclass(frozen=True)
class Moderation:
    """The cases' ``S_j^2`` moderated towards a common value (``moderate``): ``prior_variance``
    ``s_0^2`` with ``prior_df`` ``d_0`` (``inf``: the cases do not differ beyond chance, each takes
    ``s_0^2``), and each case's ``variances`` ``S~_j^2`` on ``df`` ``d_0 + f_j``; ``own[j]``: case
    ``j``'s spread is too large for that prior (an outlier), so it keeps its own ``S_j^2`` and ``f_j``."""

    prior_variance: float
    prior_df: float
    variances: tuple[float, ...]
    df: tuple[float, ...]
    own: tuple[bool, ...] = ()

    def as_dict(self) -> dict:
        return {"prior_variance": self.prior_variance, "prior_df": self.prior_df, "own": sum(self.own)}


def _trigamma_inverse(x: float) -> float:
    """``y`` with ``trigamma(y) = x`` (Newton's method on ``1 / trigamma``, as in Smyth 2004's limma)."""
    from scipy.special import polygamma

    if x > 1e7:
        return 1 / math.sqrt(x)
    if x < 1e-6:
        return 1 / x
    y = 0.5 + 1 / x
    for _ in range(50):
        tri = float(polygamma(1, y))
        step = tri * (1 - tri / x) / float(polygamma(2, y))
        y += step
        if -step / y < 1e-8:
            break
    return y


def _prior(s2: np.ndarray, f: np.ndarray) -> tuple[float, float]:
    """``(s_0^2, d_0)`` from the moments of ``ln S_j^2`` (``moderate``)."""
    from scipy.special import digamma, polygamma

    # a variance of exactly 0 (identical worker means) has no logarithm: a floor far below the others
    floor = 1e-12 * max(float(np.median(s2)), 1e-300)
    e = np.log(np.maximum(s2, floor)) - digamma(f / 2) + np.log(f / 2)
    excess = float(np.var(e, ddof=1) - np.mean(polygamma(1, f / 2)))
    if excess <= 0:
        return math.exp(float(np.mean(e))), math.inf
    d0 = 2 * _trigamma_inverse(excess)
    return math.exp(float(np.mean(e)) + float(digamma(d0 / 2)) - math.log(d0 / 2)), d0


def _upper_tail(s2: np.ndarray, f: np.ndarray, s0: float, d0: float) -> np.ndarray:
    """``P(S_j^2 / s_0^2 >= observed)`` under the prior: ``F(f_j, d_0)``, or ``chi^2_{f_j} / f_j`` when ``d_0 = inf``."""
    from scipy.stats import chi2
    from scipy.stats import f as fisher

    ratio = s2 / s0
    return chi2.sf(ratio * f, f) if math.isinf(d0) else fisher.sf(ratio, f, d0)


def moderate(variances: Sequence[float], df: Sequence[float], *, outlier_p: float = OUTLIER_P) -> Moderation:
    """Empirical Bayes moderation of per-case variances (Smyth 2004, "Linear models and empirical Bayes
    methods for assessing differential expression", the ``squeezeVar`` of limma), with outliers kept apart.

    Each case's ``S_j^2`` on ``f_j`` df (``worker_spread``) is taken as ``s_j^2 ~ s_0^2 chi^2_{f_j} /
    f_j`` given its true variance, and the true variances as scaled inverse chi-square with ``d_0``
    df about ``s_0^2``. ``s_0^2`` and ``d_0`` come from the moments of ``z_j = ln S_j^2``::

        e_j = z_j - digamma(f_j / 2) + ln(f_j / 2)
        V   = sum_j (e_j - ebar)^2 / (k - 1) - mean_j trigamma(f_j / 2)
        d_0 = 2 trigamma^-1(V),   s_0^2 = exp(ebar + digamma(d_0 / 2) - ln(d_0 / 2))     (V > 0)
        d_0 = inf,                s_0^2 = exp(ebar)                                      (V <= 0)
        S~_j^2 = (d_0 s_0^2 + f_j S_j^2) / (d_0 + f_j)   on d_0 + f_j df

    Cases that agree (``V <= 0``) all take ``s_0^2`` with many df, as a pooled estimate would; a case
    whose processes differ far more than the others' (on this VM, the batch-2048 models with dropout:
    two states about 17% apart, from one launch to the next) keeps much of its own ``S_j^2``, where
    pooling would have lent it the others' small one (too narrow) and them its large one (too wide).

    Outliers: the moments of ``ln S^2`` hardly move for one extreme case among many with few df
    (``trigamma(1) = 1.64`` is the spread of ``ln chi^2_2`` alone), so such a case would be squeezed to
    ``s_0^2``. Measured: an A/A run of 55 cases with 2 workers each gave ``d_0 = inf``, and the case
    whose two A workers were 19% apart took ``s_0 = 3%`` and showed a false 11% regression. Hence,
    as robust limma does in its own way (Phipson et al. 2016), a case with ``P(S_j^2 / s_0^2 >=
    observed) < outlier_p`` under the fitted prior (``F(f_j, d_0)``) keeps its own ``S_j^2`` on ``f_j``
    df, and the prior is fitted again without the outliers (once). Fewer than three cases (or fewer
    than three left): no moderation, each keeps its own ``S_j^2`` and ``f_j``.

    Raises:
        ValueError: ``variances`` and ``df`` of different lengths, a variance not finite and >= 0, a
            df not > 0, or ``outlier_p`` outside [0, 1).
    """
    s2 = check_array("variances", np.asarray(variances, dtype=float), dtype="float", ndim=1, low=0)
    f = check_array("df", np.asarray(df, dtype=float), dtype="float", ndim=1, low=0, low_open=True)
    outlier_p = check_float("outlier_p", outlier_p, low=0, high=1, high_open=True)
    if len(s2) != len(f):
        raise ValueError(f"Argument `df` must have one value per variance ({len(s2)}). Received: {len(f)}")
    own = np.ones(len(s2), dtype=bool)
    if len(s2) >= 3:
        s0, d0 = _prior(s2, f)
        own = _upper_tail(s2, f, s0, d0) < outlier_p
    if np.sum(~own) < 3:
        return Moderation(math.nan, 0.0, tuple(map(float, s2)), tuple(map(float, f)), (True,) * len(s2))
    s0, d0 = _prior(s2[~own], f[~own])
    if math.isinf(d0):
        posterior, total = np.full(len(s2), s0), np.full(len(s2), math.inf)
    else:
        posterior, total = (d0 * s0 + f * s2) / (d0 + f), d0 + f
    posterior, total = np.where(own, s2, posterior), np.where(own, f, total)
    return Moderation(s0, d0, tuple(map(float, posterior)), tuple(map(float, total)), tuple(map(bool, own)))
