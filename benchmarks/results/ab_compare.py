"""From an A/B run's step times to verdicts: each environment against the baseline, and the self-test.

Every environment after the first is compared with the first (A). Per case timed in both: the
ratio of step times with its interval, verdict and minimal detectable effect
(``benchmarks.results.ab_statistics``); the interval counts the variation between worker processes
from the case's own workers, their spread moderated over the comparison's cases
(``benchmarks.results.ab_variance.moderate``), and a phase that moves one environment's workers
and not the other's; the mode's pooled ``s_p`` is shown beside it. Then aggregate rows, the geometric
mean over every compared case (``ALL``) and over each mode's cases, from per-process means of their
own workers. Each row keeps every worker's geometric mean step time, so the per-process spread can
be seen. A case whose mode check failed in B while A timed it fails the comparison like a
regression: a fast but wrong step is worse than a slow one. A case B's matrix lacks, or that the
budget left unprepared, is named and not compared.

The rows of a comparison are decided together: a gate that fails when ANY of its ``m`` rows (cases
and aggregates) shows a regression must hold its false-alarm rate over the whole table, as the
history gate does (Bonferroni over the rows). Every row's interval is at level ``1 - alpha / m``, so
that the ``m`` intervals hold together with probability at least ``1 - alpha`` (simultaneous
intervals): unchanged code shows an interval that excludes 1 in ANY row with probability at most
``alpha``. Measured before (rows at ``1 - alpha`` each, 55 cases and 14 aggregates, 10 rounds on a
loaded machine): an A/A run failed with a "regression" of 8% on one case and called a mode 1.6%
"faster". The price is width: each interval widens by ``t_{1-alpha/2m} / t_{1-alpha/2}`` (about
2x at 69 rows), and the signed-rank interval needs ``2^{1-n} <= alpha / m`` (12 rounds for 69 rows).

The self-test (``self_test``) reads a run of three environments built from one: A, A again, and A
with a known injected slowdown ``f``. A/A must show no change (the intervals that exclude 1 are
false alarms, counted against the ``alpha`` expected); A/A+f must detect ``f``; the A/A rows give
each case's and mode's minimal detectable effect for the run's rounds and workers.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field

import numpy as np

from benchmarks.results.ab_run import Measurements
from benchmarks.results.ab_statistics import (
    REGRESSION,
    RatioEstimate,
    false_alarm_probability,
    minimal_detectable_effect,
    verdict,
    worker_means_estimate,
)
from benchmarks.results.ab_variance import (
    Moderation,
    ProcessVariance,
    aggregate_log_times,
    log_times,
    moderate,
    process_variance,
    worker_spread,
)
from benchmarks.results.cases import MODES, mode_rank, parse_case_label
from benchmarks.results.cli import EXIT_OK, EXIT_REGRESSION

__all__ = ["ALL", "Comparison", "Row", "SelfTest", "compare", "exit_code", "self_test"]

ALL = "ALL"


@dataclass(frozen=True)
class Row:
    """One case, or one aggregate (``ALL``, or a mode's name), of a comparison."""

    name: str
    cases: int
    estimate: RatioEstimate
    verdict: str
    mde: float
    process: ProcessVariance
    baseline_s: float | None = None
    candidate_s: float | None = None
    workers_s: tuple[list[float], list[float]] = ([], [])

    @property
    def mode(self) -> str | None:
        parsed = parse_case_label(self.name)
        return parsed[2] if parsed else None

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "cases": self.cases,
            "estimate": self.estimate.as_dict(),
            "verdict": self.verdict,
            "mde": self.mde,
            "process": self.process.as_dict(),
            "baseline_s": self.baseline_s,
            "candidate_s": self.candidate_s,
            "baseline_workers_s": self.workers_s[0],
            "candidate_workers_s": self.workers_s[1],
        }


@dataclass(frozen=True)
class Comparison:
    """Environment ``candidate`` against the baseline: case rows, aggregate rows, refused cases.

    ``alpha`` is the family-wise level; each row's interval is at ``1 - row_alpha`` (module docstring).
    """

    baseline: str
    candidate: str
    rows: list[Row]
    aggregates: list[Row]
    refused: list[dict] = field(default_factory=list)
    alpha: float = 0.05
    moderation: Moderation | None = None

    @property
    def family(self) -> int:
        """``m``: the rows decided together (cases and aggregates)."""
        return len(self.rows) + len(self.aggregates)

    @property
    def row_alpha(self) -> float:
        return self.alpha / max(self.family, 1)

    @property
    def failed(self) -> bool:
        """A regression row, or a case whose check failed in the candidate (not one it lacks or ran out of time for)."""
        wrong = any(r["environment"] == self.candidate and r["kind"] == "check" for r in self.refused)
        return wrong or any(r.verdict == REGRESSION for r in [*self.rows, *self.aggregates])

    def count(self, verdict_name: str) -> int:
        return sum(row.verdict == verdict_name for row in self.rows)

    def as_dict(self) -> dict:
        return {
            "baseline": self.baseline,
            "candidate": self.candidate,
            "failed": self.failed,
            "rows": [r.as_dict() for r in self.rows],
            "aggregates": [r.as_dict() for r in self.aggregates],
            "refused": self.refused,
            "alpha": self.alpha,
            "family": self.family,
            "row_alpha": self.row_alpha,
            "moderation": None if self.moderation is None else self.moderation.as_dict(),
        }


@dataclass(frozen=True)
class _Settings:
    threshold: float
    alpha: float
    power: float


def _row(
    name: str, cases: int, estimate: RatioEstimate, process: ProcessVariance, s: _Settings, **extra
) -> Row:
    mde = (
        math.nan
        if math.isnan(estimate.low)
        else minimal_detectable_effect(estimate.variance, estimate.df, alpha=s.alpha, power=s.power)
    )
    return Row(name, cases, estimate, verdict(estimate, threshold=s.threshold), mde, process, **extra)


def _case_row(
    name: str,
    a: np.ndarray,
    b: np.ndarray,
    process: ProcessVariance,
    spread: tuple[float, float] | None,
    s: _Settings,
    **extra,
) -> Row:
    """A case: log times ``a`` (A's workers x rounds) against ``b``; ``spread`` its moderated worker
    spread (``None``: one worker in an environment); ``process`` the mode's pooled ``s_p``, shown."""
    estimate = worker_means_estimate(a, b, alpha=s.alpha, spread=spread)
    return _row(name, 1, estimate, process, s, **extra)


def _moderated_spreads(
    pairs: dict[str, tuple[np.ndarray, np.ndarray]],
) -> tuple[dict[str, tuple[float, float] | None], Moderation | None]:
    """Each case's ``(S~^2, df)``: its workers' spread moderated over the comparison's cases (``ab_variance.moderate``)."""
    own = {
        c: worker_spread(a, b) for c, (a, b) in pairs.items() if min(len(a), len(b)) >= 2 and a.shape[1] >= 2
    }
    spreads: dict[str, tuple[float, float] | None] = dict.fromkeys(pairs)
    if not own:
        return spreads, None
    moderation = moderate([v for v, _ in own.values()], [f for _, f in own.values()])
    for case, variance, df in zip(own, moderation.variances, moderation.df, strict=True):
        spreads[case] = (variance, df)
    return spreads, moderation


def _aggregate_row(name: str, cases: int, a: np.ndarray, b: np.ndarray, s: _Settings) -> Row:
    """An aggregate: per-process means of the geometric mean over cases; ``s_p`` of its own workers shown."""
    estimate = worker_means_estimate(a, b, alpha=s.alpha)
    return _row(
        name, cases, estimate, process_variance([a, b]), s, workers_s=(_worker_means_s(a), _worker_means_s(b))
    )


def _worker_means_s(log_time: np.ndarray) -> list[float]:
    """Each worker's geometric mean step time over the rounds (seconds)."""
    return [math.exp(float(y.mean())) if y.size else math.nan for y in log_time]


def _median_s(times: list[list[float]]) -> float | None:
    """The median step time over every worker's bursts."""
    values = [t for worker in times for t in worker]
    return statistics.median(values) if values else None


def _refused(measured: Measurements, baseline: str, candidate: str) -> list[dict]:
    refused = []
    for case in measured.cases:
        for label in (baseline, candidate):
            refusal = measured.refusal(label, case)
            if refusal is not None:
                refused.append({"case": case, "environment": label, **refusal})
                break
    return refused


def compare(
    measured: Measurements, *, threshold: float, alpha: float = 0.05, power: float = 0.95
) -> list[Comparison]:
    """Each environment after the first against the first, each row at ``1 - alpha / m`` (module docstring)."""
    baseline = measured.labels[0]
    comparisons = []
    for candidate in measured.labels[1:]:
        shared = [
            c
            for c in measured.cases
            if c in measured.times.get(baseline, {}) and c in measured.times.get(candidate, {})
        ]
        logs = {
            (label, c): log_times(measured.times[label][c]) for c in shared for label in (baseline, candidate)
        }
        modes = {c: parse_case_label(c)[2] if parse_case_label(c) else c for c in shared}
        # The rows built below: the cases, ALL and one per mode (Row.mode: None for a label that does not parse).
        family = len(shared) + (
            1 + len({(parse_case_label(c) or (None,) * 3)[2] for c in shared}) if shared else 0
        )
        settings = _Settings(threshold, alpha / max(family, 1), power)
        by_mode = {
            mode: process_variance(
                [logs[label, c] for c in shared if modes[c] == mode for label in (baseline, candidate)]
            )
            for mode in set(modes.values())
        }
        spreads, moderation = _moderated_spreads({c: (logs[baseline, c], logs[candidate, c]) for c in shared})
        rows = [
            _case_row(
                c,
                logs[baseline, c],
                logs[candidate, c],
                by_mode[modes[c]],
                spreads[c],
                settings,
                baseline_s=_median_s(measured.times[baseline][c]),
                candidate_s=_median_s(measured.times[candidate][c]),
                workers_s=(_worker_means_s(logs[baseline, c]), _worker_means_s(logs[candidate, c])),
            )
            for c in shared
        ]
        groups = {f"{ALL} ({len(shared)} cases, geometric mean)": shared} if shared else {}
        for mode in sorted({r.mode for r in rows}, key=mode_rank):
            cases = [r.name for r in rows if r.mode == mode]
            groups[f"{mode} ({len(cases)} case{'s' if len(cases) > 1 else ''})"] = cases
        aggregates = []
        for name, cases in groups.items():
            a = aggregate_log_times([logs[baseline, c] for c in cases])
            b = aggregate_log_times([logs[candidate, c] for c in cases])
            aggregates.append(_aggregate_row(name, len(cases), a, b, settings))
        comparisons.append(
            Comparison(
                baseline,
                candidate,
                rows,
                aggregates,
                _refused(measured, baseline, candidate),
                alpha,
                moderation,
            )
        )

    return comparisons


def exit_code(comparisons: list[Comparison]) -> int:
    """``EXIT_REGRESSION`` if any comparison failed (a regression row or a case refused in B), else ``EXIT_OK``."""
    return EXIT_REGRESSION if any(c.failed for c in comparisons) else EXIT_OK


@dataclass(frozen=True)
class SelfTest:
    """The self-test's findings (module docstring); ``passed`` decides its exit status."""

    fraction: float
    alpha: float
    rounds: int
    rows: int
    false_alarms: list[str]
    false_alarm_p: float
    aa_regressions: list[str]
    within: dict[str, bool]
    missed: list[str]
    injected_detected: bool
    injected_in_interval: int
    mde_by_case: dict[str, float]
    mde_by_mode: dict[str, dict[str, float]]

    @property
    def passed(self) -> bool:
        return not self.aa_regressions and self.false_alarm_p >= self.alpha and self.injected_detected

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__} | {"passed": self.passed}


SELF_TEST_BAND = 0.05


def self_test(aa: Comparison, injected: Comparison, *, fraction: float, alpha: float) -> SelfTest:
    """Summarize an A/A comparison and an A/A+``fraction`` one of the same run (module docstring).

    ``within`` tells, per case, whether the A/A interval lies within ``[1 - SELF_TEST_BAND, 1 +
    SELF_TEST_BAND]`` and contains 1; ``missed`` lists the cases whose A/A+f interval does not lie
    above 1; ``mde_by_mode`` gives, per mode, the median and the largest case MDE and the MDE of the
    mode's aggregate row.
    """
    decided = [r for r in [*aa.rows, *aa.aggregates] if not math.isnan(r.estimate.low)]
    alarms = [r.name for r in decided if not r.estimate.contains(1.0)]
    aggregate_mde = {r.name.split(" (")[0]: r.mde for r in aa.aggregates}
    mde_by_mode = {}
    for mode in MODES:
        values = [r.mde for r in aa.rows if r.mode == mode and not math.isnan(r.mde)]
        if values:
            mde_by_mode[mode] = {
                "median": statistics.median(values),
                "max": max(values),
                "aggregate": aggregate_mde.get(mode, math.nan),
            }
    all_row = next((r for r in injected.aggregates if r.name.startswith(ALL)), None)
    return SelfTest(
        fraction=fraction,
        alpha=alpha,
        rounds=max((r.estimate.rounds for r in aa.rows), default=0),
        rows=len(decided),
        false_alarms=alarms,
        false_alarm_p=(
            false_alarm_probability(len(alarms), len(decided), alpha=aa.row_alpha) if decided else 1.0
        ),
        aa_regressions=[r.name for r in [*aa.rows, *aa.aggregates] if r.verdict == REGRESSION],
        within={
            r.name: bool(
                r.estimate.contains(1.0)
                and r.estimate.low >= 1 - SELF_TEST_BAND
                and r.estimate.high <= 1 + SELF_TEST_BAND
            )
            for r in aa.rows
        },
        missed=[r.name for r in injected.rows if not r.estimate.low > 1],
        injected_detected=bool(all_row is not None and all_row.estimate.low > 1),
        injected_in_interval=sum(r.estimate.contains(1 + fraction) for r in injected.rows),
        mde_by_case={r.name: r.mde for r in aa.rows},
        mde_by_mode=mde_by_mode,
    )
