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

from reference.validation import check_array

__all__ = [
    "NOT_ESTIMATED",
    "ProcessVariance",
    "aggregate_log_times",
    "log_ratios",
    "log_times",
    "process_variance",
    "worker_mean_squares",
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
