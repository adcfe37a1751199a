"""The gate's statistics: metrics robust to machine speed, significance tests, verdicts.

Notation: ``t`` are a case's per-step samples (seconds, one per timed round), ``m(.)`` the
median, ``c`` the samples of the calibration case that set the run's peak on the case's device
(``F`` FLOPs per call, so the peak is ``P = F / m(c)``). Every metric is "higher is better":

- ``speedup`` (default): ``S = m(t_eager) / m(t_mode)`` for every mode but eager, eager measured
  on the same workload, batch size, device and strategy in the same run; for a distributed step,
  ``S = m(t_no_strategy) / m(t_strategy)`` at the same workload, global batch and device.
- ``normalized`` (default): ``N = 1 / (m(t) P) = m(c) / (F m(t))``: steps per FLOP of the run's
  own matmul peak (shown per GFLOP). Every case but the calibration.
- ``raw`` (opt-in, for dedicated machines): ``R = 1 / m(t)``, steps per second; calibration
  cases included.

A machine that is uniformly slower (every time times ``k``) leaves ``S`` and ``N`` unchanged.

Per benchmark and metric, ``change = current / baseline - 1``. Significance, one test per row,
named in the table:

- ``speedup``, ``normalized`` (a ratio of two medians): bootstrap. ``B`` times, each of the four
  sample sets (two per run) is resampled with replacement and ``r* = value*_current /
  value*_baseline`` recomputed; ``p = (#{r* on the other side of 1} + 1) / (B + 1)``, one-sided
  in the direction of the change. The table shows the central ``1 - 2 alpha`` interval of ``r*``,
  which excludes 1 when ``p <= alpha`` (to the resolution of ``B``). The calibration is resampled
  too: the peak's own noise moves every row of a run, and a Mann-Whitney test on ``1 / (t_i P)``
  that takes ``P`` as exact found 6-11% of the rows of two runs drawn from one distribution
  significant and beyond a 10% threshold (alpha 0.01); this bootstrap finds under 1%.
- ``raw``: Mann-Whitney U (``scipy.stats.mannwhitneyu``) on ``1 / t_i`` of both runs, one-sided in
  the direction of the change.

Besides the rows, one aggregate row per metric (``compare_aggregate``): the geometric mean of
every shared benchmark's value, tested with a Wilcoxon signed-rank test across benchmarks.

Verdict, with ``limit = max(threshold, noise floor)``: ``regression`` if ``change < -limit`` and
``p <= alpha``; ``improvement`` if ``change > limit`` and ``p <= alpha``; ``noise`` if
``|change| > limit`` but not significant; ``pass`` otherwise (significant changes within the limit
pass too); ``insufficient samples`` if a sample set has fewer than ``MIN_SAMPLES`` rounds (never a
failure).

Noise floor: rounds of one run cannot show how far a shared machine drifts between runs (on a
2-core VM, the same benchmark moved by 30-50% between consecutive runs, sub-microsecond steps by
up to 7x, while each run's interval was a few percent wide). Earlier saved runs of unchanged code
can: ``noise_scale`` measures each benchmark's drift and the aggregate's, and ``noise_floor`` turns
it into a change that unchanged code is unlikely to show in any row of the table. Without two
earlier runs the limit is the threshold alone.
"""

from __future__ import annotations

import itertools
import math
import zlib
from dataclasses import dataclass

import numpy as np

from benchmarks.results.analysis import BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED
from benchmarks.results.history import Benchmark, Run
from benchmarks.results.schema import CaseResult

__all__ = [
    "AGGREGATE_PREFIX",
    "BOOTSTRAP",
    "IMPROVEMENT",
    "INSUFFICIENT",
    "MANN_WHITNEY",
    "METRICS",
    "MIN_AGGREGATE_ROWS",
    "MIN_SAMPLES",
    "NOISE",
    "PASS",
    "PRIOR_DF",
    "REGRESSION",
    "WILCOXON",
    "Comparison",
    "Measure",
    "NoiseScale",
    "bootstrap_ratio",
    "compare_aggregate",
    "compare_measures",
    "geometric_mean",
    "mann_whitney",
    "measures",
    "noise_floor",
    "noise_scale",
    "peak_case",
    "verdict",
]

METRICS = ("speedup", "normalized", "raw")
MIN_SAMPLES = 5
PASS, REGRESSION, IMPROVEMENT, NOISE, INSUFFICIENT = (
    "pass",
    "regression",
    "improvement",
    "noise",
    "insufficient samples",
)
MANN_WHITNEY = "Mann-Whitney U"
BOOTSTRAP = "bootstrap"
WILCOXON = "Wilcoxon signed-rank"
MIN_AGGREGATE_ROWS = 7
AGGREGATE_PREFIX = "ALL"


@dataclass(frozen=True)
class Measure:
    """One metric of one benchmark in one run (higher is better).

    ``value = scale * median(reference) / median(samples)``, or ``scale / median(samples)`` without a
    ``reference`` (``raw``). ``samples`` are the case's per-step seconds, ``reference`` the eager
    case's (``speedup``) or the peak calibration case's (``normalized``).
    """

    samples: np.ndarray
    reference: np.ndarray | None = None
    scale: float = 1.0

    @property
    def value(self) -> float:
        numerator = 1.0 if self.reference is None else float(np.median(self.reference))
        return self.scale * numerator / float(np.median(self.samples))

    def rounds(self) -> int:
        return min(s.size for s in (self.samples, self.reference) if s is not None)


@dataclass(frozen=True)
class Comparison:
    """One row of the gate: a benchmark, a metric, the two values and the verdict."""

    benchmark: str
    metric: str
    baseline: float
    current: float
    change: float
    test: str
    p_value: float | None
    interval: tuple[float, float] | None
    verdict: str
    reason: str
    limit: float = 0.0


def _raw(run: Run) -> dict[str, Measure]:
    return {key: Measure(bench.case.samples) for key, bench in run.benchmarks.items()}


def peak_case(run: Run, device: str) -> CaseResult | None:
    """The calibration case that set the run's peak on ``device`` (``tfbench.calibration``)."""
    case_id = ((run.results.meta.get("calibration") or {}).get(device) or {}).get("case")
    bench = run.benchmarks.get(case_id) if case_id else None
    return bench.case if bench is not None else None


def _normalized(run: Run) -> dict[str, Measure]:
    found = {}
    for key, bench in run.benchmarks.items():
        peak = peak_case(run, bench.case.device)
        if bench.case.kind != "calibration" and peak is not None:
            found[key] = Measure(bench.case.samples, peak.samples, 1e9 / peak.flops_per_step)
    return found


def _identity(bench: Benchmark, **replace: str) -> tuple:
    case = bench.case
    fields = {"mode": case.mode, "strategy": case.strategy} | replace
    return (case.kind, case.workload, case.batch_size, case.device, fields["strategy"], fields["mode"])


def _reference(bench: Benchmark) -> tuple | None:
    """Eager for a training step; no strategy for a distributed step; nothing for a calibration."""
    if bench.case.kind == "training_step":
        return _identity(bench, mode="eager")
    if bench.case.kind == "distributed_step":
        return _identity(bench, strategy="none")
    return None


def _speedups(run: Run) -> dict[str, Measure]:
    index = {_identity(b): b for b in run.benchmarks.values()}
    found = {}
    for bench in run.benchmarks.values():
        reference = index.get(_reference(bench))
        if reference is not None and reference is not bench:
            found[bench.key] = Measure(bench.case.samples, reference.case.samples)
    return found


def measures(run: Run, metric: str) -> dict[str, Measure]:
    """Every benchmark's ``metric`` in ``run``, by key (the module docstring has the formulas)."""
    return {"speedup": _speedups, "normalized": _normalized, "raw": _raw}[metric](run)


def _resampled_medians(samples: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.median(rng.choice(samples, size=(BOOTSTRAP_RESAMPLES, samples.size), replace=True), axis=1)


def bootstrap_ratio(
    baseline: Measure, current: Measure, *, alpha: float, seed: int
) -> tuple[float, tuple[float, float]]:
    """One-sided bootstrap p-value that ``value_current / value_baseline`` is on the other side of 1,
    and the central ``1 - 2 alpha`` interval of that ratio (both measures need a ``reference``)."""
    rng = np.random.default_rng(seed)
    before = _resampled_medians(baseline.reference, rng) / _resampled_medians(baseline.samples, rng)
    after = _resampled_medians(current.reference, rng) / _resampled_medians(current.samples, rng)
    ratios = after / before * (current.scale / baseline.scale)
    against = ratios >= 1 if current.value < baseline.value else ratios <= 1
    p_value = (int(np.count_nonzero(against)) + 1) / (ratios.size + 1)
    low, high = np.quantile(ratios, [alpha, 1 - alpha])
    return p_value, (float(low), float(high))


def mann_whitney(baseline: Measure, current: Measure) -> float:
    """One-sided Mann-Whitney U p-value in the direction of the observed change."""
    # Imported here: scipy.stats takes about a second, and every pytest session loads this module.
    from scipy.stats import mannwhitneyu

    alternative = "less" if current.value < baseline.value else "greater"
    return float(mannwhitneyu(1 / current.samples, 1 / baseline.samples, alternative=alternative).pvalue)


def verdict(change: float, p_value: float | None, *, threshold: float, alpha: float) -> tuple[str, str]:
    """``(verdict, reason)`` from the change and its p-value (``None``: too few samples)."""
    beyond = abs(change) > threshold
    if p_value is None:
        return INSUFFICIENT, f"fewer than {MIN_SAMPLES} rounds: not tested"
    significant = p_value <= alpha
    if beyond and significant:
        word = REGRESSION if change < 0 else IMPROVEMENT
        return word, f"|change| > {threshold:.0%} and p <= {alpha:g}"
    if beyond:
        return NOISE, f"|change| > {threshold:.0%} but p > {alpha:g}: not significant"
    if significant:
        return PASS, f"significant but |change| <= {threshold:.0%}"
    return PASS, f"|change| <= {threshold:.0%}"


PRIOR_DF = 4


@dataclass(frozen=True)
class NoiseScale:
    """How much a metric moved between consecutive earlier runs of unchanged code (natural log).

    ``rows[k] = (sigma_k, df_k)``: benchmark ``k``'s scale of ``d = log(v_{i+1}(k) / v_i(k))``,
    moderated (an empirical-Bayes compromise, as in limma's moderated t) between its own mean
    square over its ``K_k`` pairs and the median of every benchmark's, ``s0^2``, weighted as
    ``PRIOR_DF`` more pairs:

        sigma_k^2 = (K_k * mean(d_k^2) + PRIOR_DF * s0^2) / (K_k + PRIOR_DF),   df_k = K_k + PRIOR_DF

    Each benchmark keeps its own scale (on a shared VM a sub-microsecond fused step drifts far
    more than a 10 ms one), but two lucky small changes cannot make a tight floor.
    ``aggregate_sigma``: root mean square of the geometric mean's changes ``mean_k d``, one per
    consecutive pair (``pairs`` of them).
    """

    rows: dict[str, tuple[float, int]]
    aggregate_sigma: float
    pairs: int


def noise_scale(history: list[Run], metric: str) -> NoiseScale | None:
    """``metric``'s run-to-run noise among ``history`` (oldest first); ``None`` without two runs."""
    values = [measures(run, metric) for run in history]
    per_row: dict[str, list[float]] = {}
    mean_changes: list[float] = []
    for older, newer in itertools.pairwise(values):
        changes = {k: math.log(newer[k].value / older[k].value) for k in sorted(set(older) & set(newer))}
        for key, change in changes.items():
            per_row.setdefault(key, []).append(change)
        if changes:
            mean_changes.append(float(np.mean(list(changes.values()))))
    if not mean_changes:
        return None
    own = {k: (float(np.mean(np.square(d))), len(d)) for k, d in per_row.items()}
    prior = float(np.median([square for square, _ in own.values()]))
    rows = {
        k: (math.sqrt((n * square + PRIOR_DF * prior) / (n + PRIOR_DF)), n + PRIOR_DF)
        for k, (square, n) in own.items()
    }
    return NoiseScale(rows, _rms(mean_changes), len(mean_changes))


def _rms(values) -> float:
    return float(np.sqrt(np.mean(np.square(values))))


def noise_floor(sigma: float, *, alpha: float, tests: int, df: int) -> float:
    """The drop that unchanged code exceeds in any of ``tests`` rows with probability <= ``alpha``.

        floor = 1 - exp(-q * sigma),   q = t_df^-1(1 - alpha / tests)

    A prediction bound: the next log-change, like the ``df`` earlier ones, is normal with mean 0,
    and ``sigma`` (their root mean square) is only an estimate, hence Student's ``t`` with ``df``
    degrees of freedom; Bonferroni over the rows of the table. Few earlier runs give a wide bound
    (one pair: nearly 100%), more runs a narrower one. The row's limit is ``max(threshold, floor)``.
    """
    from scipy.stats import t

    if sigma <= 0 or tests < 1 or df < 1:
        return 0.0
    return float(1 - math.exp(-t.ppf(1 - alpha / tests, df) * sigma))


def geometric_mean(values) -> float:
    return float(np.exp(np.mean(np.log(np.asarray(values, dtype=float)))))


def compare_aggregate(
    metric: str,
    baseline: dict[str, Measure],
    current: dict[str, Measure],
    *,
    threshold: float,
    alpha: float,
    noise_floor: float = 0.0,
) -> Comparison:
    """The metric over every shared benchmark at once: geometric means and a signed-rank test.

        change = exp(mean_k log(v_cur(k) / v_base(k))) - 1 = G(v_cur) / G(v_base) - 1

    Significance: Wilcoxon signed-rank test of the per-benchmark log-changes (the benchmarks are
    the replicates), one-sided in the direction of the change. A drift that moves single rows by
    tens of percent in both directions averages out; a change shared by many rows (a slower
    build, fewer cores) does not. Fewer than ``MIN_AGGREGATE_ROWS`` benchmarks are not tested.
    """
    keys = sorted(set(baseline) & set(current))
    before = [baseline[k].value for k in keys]
    after = [current[k].value for k in keys]
    changes = np.log(np.asarray(after) / np.asarray(before))
    change = float(np.exp(changes.mean()) - 1) if keys else 0.0
    p_value = None
    if len(keys) >= MIN_AGGREGATE_ROWS:
        p_value = 1.0 if not np.any(changes) else _signed_rank_p(changes)
    limit = max(threshold, noise_floor)
    word, reason = verdict(change, p_value, threshold=limit, alpha=alpha)
    if p_value is None:
        reason = f"fewer than {MIN_AGGREGATE_ROWS} benchmarks: not tested"
    return Comparison(
        f"{AGGREGATE_PREFIX} ({len(keys)} benchmarks, geometric mean)",
        metric,
        geometric_mean(before) if keys else float("nan"),
        geometric_mean(after) if keys else float("nan"),
        change,
        WILCOXON,
        p_value,
        None,
        word,
        reason,
        limit,
    )


def _signed_rank_p(changes: np.ndarray) -> float:
    from scipy.stats import wilcoxon

    alternative = "less" if changes.mean() < 0 else "greater"
    return float(wilcoxon(changes, alternative=alternative).pvalue)


def compare_measures(
    key: str,
    metric: str,
    baseline: Measure,
    current: Measure,
    *,
    threshold: float,
    alpha: float,
    noise_floor: float = 0.0,
) -> Comparison:
    """One gate row: change, test, p-value (and the bootstrap interval of ratio metrics), verdict.

    The row's limit is ``max(threshold, noise_floor)`` (``noise_floor()``): a change the machine
    shows between runs of unchanged code cannot fail.
    """
    threshold = max(threshold, noise_floor)
    change = current.value / baseline.value - 1
    test = MANN_WHITNEY if baseline.reference is None else BOOTSTRAP
    p_value, interval = None, None
    if min(baseline.rounds(), current.rounds()) >= MIN_SAMPLES:
        if test == BOOTSTRAP:
            seed = zlib.crc32(f"{BOOTSTRAP_SEED}/{key}".encode())
            p_value, interval = bootstrap_ratio(baseline, current, alpha=alpha, seed=seed)
        else:
            p_value = mann_whitney(baseline, current)
    word, reason = verdict(change, p_value, threshold=threshold, alpha=alpha)
    return Comparison(
        key, metric, baseline.value, current.value, change, test, p_value, interval, word, reason, threshold
    )
