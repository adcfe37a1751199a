"""From a result file's cases to the report's numbers: the answers, speedups, scaling, findings.

Per case, from the per-step samples ``s`` (seconds) of pytest-benchmark's ``stats.data``:

    steps/s   = 1 / median(s)            samples/s = batch_size * steps/s
    FLOP/s    = flops_per_step * steps/s efficiency = FLOP/s / calibration peak of the device
    speedup   = median(s_eager) / median(s_mode)   (same workload, batch size and device)

The speedup's 95% confidence interval is a percentile bootstrap: both sample sets are resampled
with replacement (``BOOTSTRAP_RESAMPLES`` times, seeded) and the ratio of medians recomputed.

The answer (``answers``), per workload, batch size and device: the fastest way to train, i.e. the
float32 mode with the lowest median step time among those that train on a stream of batches (every
mode but the fused loops, ``BOUND_MODES``, which repeat one resident batch: they are the bound, shown
beside it); every timed mode passed its check against eager steps, so the fastest is also correct.
With it: its speedup over eager and over plain ``fit``, its first call, and the fastest ``_mixed``
way with its speedup over its float32 twin. ``epoch_answers`` does the same per data set and
callback setting with seconds per epoch.

``goal``: the ratio ``median(s_fit) / median(s_trainer_spe32)`` on the basic MLP at batch 32 with
its interval, and the verdict against ``GOAL_RATIO``: ``met`` when the interval lies at or above
it, ``not met`` when it lies below, ``inconclusive`` otherwise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from benchmarks.results.cases import BOUND_MODES, MODE_SPECS, batch_label, float32_twin
from benchmarks.results.schema import CaseResult, RunResults

__all__ = [
    "BOOTSTRAP_RESAMPLES",
    "BOOTSTRAP_SEED",
    "CONFIDENCE",
    "GOAL_CASE",
    "GOAL_RATIO",
    "Answer",
    "EpochAnswer",
    "Goal",
    "Scaling",
    "Speedup",
    "answers",
    "bootstrap_speedup",
    "epoch_answers",
    "findings",
    "goal",
    "scaling",
    "speedups",
]

BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 0
CONFIDENCE = 0.95
# The goal: the Trainer with steps per execution at >= 3x plain fit's steps/s, basic MLP, batch 32.
GOAL_RATIO = 3.0
GOAL_CASE = ("basic", 32, "trainer_spe32", "fit")


@dataclass(frozen=True)
class Speedup:
    """``ratio`` = median eager time / median mode time, with its bootstrap interval."""

    ratio: float
    low: float
    high: float


def bootstrap_speedup(reference: np.ndarray, samples: np.ndarray, *, seed: int = BOOTSTRAP_SEED) -> Speedup:
    """``median(reference) / median(samples)`` with a percentile-bootstrap ``CONFIDENCE`` interval."""
    rng = np.random.default_rng(seed)
    ref = rng.choice(reference, size=(BOOTSTRAP_RESAMPLES, reference.size), replace=True)
    new = rng.choice(samples, size=(BOOTSTRAP_RESAMPLES, samples.size), replace=True)
    ratios = np.median(ref, axis=1) / np.median(new, axis=1)
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(ratios, [tail, 100 - tail])
    return Speedup(float(np.median(reference) / np.median(samples)), float(low), float(high))


def speedups(results: RunResults) -> dict[str, Speedup]:
    """Speedup over eager of every training case that has an eager peer, keyed by case id."""
    eager = {(c.workload, c.batch_size, c.device): c for c in results.training if c.mode == "eager"}
    found = {}
    for case in results.training:
        peer = eager.get((case.workload, case.batch_size, case.device))
        if peer is not None:
            found[case.case] = bootstrap_speedup(peer.samples, case.samples)
    return found


def _is_way(case: CaseResult) -> bool:
    return case.mode not in BOUND_MODES


def _ratio(reference: CaseResult | None, case: CaseResult) -> Speedup | None:
    return None if reference is None else bootstrap_speedup(reference.samples, case.samples)


@dataclass(frozen=True)
class Answer:
    """The fastest correct way to train one workload at one batch size on one device (module docstring)."""

    best: CaseResult
    over_eager: Speedup | None
    over_fit: Speedup | None
    bound: CaseResult | None
    mixed: CaseResult | None
    mixed_over_twin: Speedup | None


def answers(results: RunResults) -> list[Answer]:
    """One ``Answer`` per workload, batch size and device with a float32 way, in that order."""
    groups: dict[tuple, list[CaseResult]] = {}
    for case in results.training:
        groups.setdefault((case.device, case.workload, case.batch_size), []).append(case)
    found = []
    workloads = results.workloads()
    for key in sorted(groups, key=lambda k: (k[0], workloads.index(k[1]), -1 if k[2] is None else k[2])):
        cases = groups[key]
        by_mode = {c.mode: c for c in cases}
        ways = [c for c in cases if _is_way(c) and not _mixed(c)]
        if not ways:
            continue
        best = min(ways, key=lambda c: c.median_s)
        mixed = min((c for c in cases if _is_way(c) and _mixed(c)), key=lambda c: c.median_s, default=None)
        found.append(
            Answer(
                best=best,
                over_eager=_ratio(by_mode.get("eager"), best),
                over_fit=_ratio(by_mode.get("fit"), best),
                bound=min((c for c in cases if not _is_way(c)), key=lambda c: c.median_s, default=None),
                mixed=mixed,
                mixed_over_twin=None
                if mixed is None
                else _ratio(by_mode.get(float32_twin(mixed.mode)), mixed),
            )
        )
    return found


def _mixed(case: CaseResult) -> bool:
    spec = MODE_SPECS.get(case.mode)
    return spec is not None and spec.mixed


@dataclass(frozen=True)
class EpochAnswer:
    """The fastest way per data set, device and callback setting, in seconds per epoch."""

    best: CaseResult
    over_eager: Speedup | None
    over_fit: Speedup | None


def epoch_answers(results: RunResults) -> list[EpochAnswer]:
    """One ``EpochAnswer`` per data set, device and callback setting (off first)."""
    groups: dict[tuple, list[CaseResult]] = {}
    for case in results.epochs:
        groups.setdefault((case.device, case.workload, bool(case.callbacks)), []).append(case)
    found = []
    for key in sorted(groups, key=lambda k: (k[0], EPOCH_DATASET_ORDER.get(k[1], 99), k[1], k[2])):
        by_way = {c.mode: c for c in groups[key]}
        best = min(groups[key], key=lambda c: c.median_s)
        found.append(EpochAnswer(best, _ratio(by_way.get("eager"), best), _ratio(by_way.get("fit"), best)))
    return found


EPOCH_DATASET_ORDER = {"basic": 0, "advanced": 1, "callbacks": 2}


@dataclass(frozen=True)
class Goal:
    """``ratio`` = median step time of the baseline over the mode's (``GOAL_CASE``), with its verdict."""

    workload: str
    batch_size: int
    mode: str
    baseline: str
    device: str
    ratio: Speedup
    target: float = GOAL_RATIO

    @property
    def verdict(self) -> str:
        if self.ratio.low >= self.target:
            return "met"
        if self.ratio.high < self.target:
            return "not met"
        return "inconclusive"


def goal(results: RunResults) -> list[Goal]:
    """The goal's ratio on every device where both cases ran (``GOAL_CASE``)."""
    workload, batch, mode, baseline = GOAL_CASE
    index = {(c.workload, c.batch_size, c.mode, c.device): c for c in results.training}
    found = []
    for device in results.devices():
        case, reference = (
            index.get((workload, batch, mode, device)),
            index.get((workload, batch, baseline, device)),
        )
        if case is not None and reference is not None:
            found.append(
                Goal(
                    workload,
                    batch,
                    mode,
                    baseline,
                    device,
                    bootstrap_speedup(reference.samples, case.samples),
                )
            )
    return found


@dataclass(frozen=True)
class Scaling:
    """A distributed case against the single-replica (``strategy == "none"``) case of its workload and batch.

    speedup    = samples/s(R replicas) / samples/s(1 replica)
    efficiency = speedup / R        (1.0: perfect data-parallel scaling)
    """

    case: CaseResult
    speedup: float
    efficiency: float

    @property
    def per_replica_samples_per_s(self) -> float:
        return self.case.samples_per_s / self.case.replicas


def scaling(results: RunResults) -> list[Scaling]:
    """Every distributed case that has a ``none`` peer (same workload, global batch and device)."""
    single = {(c.workload, c.batch_size, c.device): c for c in results.distributed if c.strategy == "none"}
    found = []
    for case in results.distributed:
        peer = single.get((case.workload, case.batch_size, case.device))
        if peer is None:
            continue
        speedup = peer.median_s / case.median_s
        found.append(Scaling(case, speedup, speedup / case.replicas))
    return found


def _scaling_findings(results: RunResults) -> list[str]:
    lines = []
    for item in scaling(results):
        case = item.case
        if case.strategy == "none":
            continue
        where = f"{case.workload} at global batch {case.batch_size} with {case.strategy} x{case.replicas}"
        if item.speedup > 1.0:
            lines.append(
                f"Scaling pays for {where}: {item.speedup:.2f}x the single-replica throughput "
                f"(efficiency {item.efficiency:.0%})."
            )
        else:
            lines.append(
                f"Communication and replica overhead eat the gain for {where}: {item.speedup:.2f}x the "
                f"single-replica throughput (efficiency {item.efficiency:.0%})."
            )
    return lines


def _ratio_text(ratio: float) -> str:
    return f"{ratio:.2f}x" if math.isfinite(ratio) else "n/a"


def _goal_findings(results: RunResults) -> list[str]:
    return [
        f"Goal ({g.mode} at >= {g.target:g}x the steps/s of plain {g.baseline}, {g.workload} at batch "
        f"{g.batch_size}, {g.device}): {g.ratio.ratio:.2f}x [{g.ratio.low:.2f}, {g.ratio.high:.2f}], "
        f"{g.verdict}."
        for g in goal(results)
    ]


def _fastest_findings(results: RunResults) -> list[str]:
    lines = []
    for device in results.devices():
        for workload in results.workloads():
            cases = [
                c
                for c in results.training
                if c.device == device and c.workload == workload and _is_way(c) and not _mixed(c)
            ]
            if not cases:
                continue
            by_batch: dict = {}
            for case in cases:
                by_batch.setdefault(case.batch_size, []).append(case)
            parts = []
            for batch in sorted(by_batch, key=lambda b: -1 if b is None else b):
                best = min(by_batch[batch], key=lambda c: c.median_s)
                parts.append(f"batch {batch_label(batch)}: {best.mode} ({best.median_s * 1e6:.1f} us/step)")
            lines.append(f"{workload} on {device}: fastest float32 way " + "; ".join(parts) + ".")
    return lines


def _loss_findings(results: RunResults, mode: str, baseline: str) -> list[str]:
    """Per workload and device: the batch sizes where ``mode`` is slower than ``baseline``, and by how much."""
    index = {(c.workload, c.batch_size, c.device, c.mode): c for c in results.training}
    losses: dict[tuple[str, str], list[tuple]] = {}
    for (workload, batch, device, this_mode), case in index.items():
        other = index.get((workload, batch, device, baseline))
        if this_mode != mode or other is None or case.median_s <= other.median_s:
            continue
        ratio = case.median_s / other.median_s
        losses.setdefault((workload, device), []).append(
            (batch, f"batch {batch_label(batch)}: {_ratio_text(ratio)}")
        )
    return [
        f"{mode} is slower than {baseline} on {workload} ({device}) at "
        + ", ".join(text for _, text in sorted(parts, key=lambda p: -1 if p[0] is None else p[0]))
        + " (time per step, mode over baseline)."
        for (workload, device), parts in sorted(losses.items())
    ]


def findings(results: RunResults) -> list[str]:
    """Short statements computed from the data: the goal, fastest ways, where XLA, ``fit`` or mixed
    precision lose."""
    lines = _goal_findings(results)
    lines += _fastest_findings(results)
    lines += _loss_findings(results, "xla", "function")
    lines += _loss_findings(results, "fused_xla", "fused")
    lines += _loss_findings(results, "fit", "function")
    lines += _loss_findings(results, "fit_xla", "fit")
    for mode in MODE_SPECS:
        twin = float32_twin(mode)
        if twin is not None:
            lines += _loss_findings(results, mode, twin)
    best = max(
        (c for c in results.training if c.efficiency is not None), key=lambda c: c.efficiency, default=None
    )
    if best is not None:
        lines.append(
            f"Highest efficiency: {best.case} reaches {best.efficiency:.1%} of the measured matmul peak "
            f"({best.flops_per_s / 1e9:.2f} GFLOP/s)."
        )
    lines += _scaling_findings(results)
    if not results.calibration:
        lines.append("No calibration case in this run: efficiency against the peak is not available.")
    return lines
