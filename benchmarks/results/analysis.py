"""From a result file's cases to the report's numbers: speedups, scaling, findings.

Per case, from the per-step samples ``s`` (seconds) of pytest-benchmark's ``stats.data``:

    steps/s   = 1 / median(s)            samples/s = batch_size * steps/s
    FLOP/s    = flops_per_step * steps/s efficiency = FLOP/s / calibration peak of the device
    speedup   = median(s_eager) / median(s_mode)   (same workload, batch size and device)

The speedup's 95% confidence interval is a percentile bootstrap: both sample sets are resampled
with replacement (``BOOTSTRAP_RESAMPLES`` times, seeded) and the ratio of medians recomputed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from benchmarks.results.cases import batch_label
from benchmarks.results.schema import CaseResult, RunResults

__all__ = [
    "BOOTSTRAP_RESAMPLES",
    "BOOTSTRAP_SEED",
    "CONFIDENCE",
    "Scaling",
    "Speedup",
    "bootstrap_speedup",
    "findings",
    "scaling",
    "speedups",
]

BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 0
CONFIDENCE = 0.95


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


def _fastest_findings(results: RunResults) -> list[str]:
    lines = []
    for device in results.devices():
        for workload in results.workloads():
            cases = [c for c in results.training if c.device == device and c.workload == workload]
            if not cases:
                continue
            by_batch: dict = {}
            for case in cases:
                by_batch.setdefault(case.batch_size, []).append(case)
            parts = []
            for batch in sorted(by_batch, key=lambda b: -1 if b is None else b):
                best = min(by_batch[batch], key=lambda c: c.median_s)
                parts.append(f"batch {batch_label(batch)}: {best.mode} ({best.median_s * 1e6:.1f} us/step)")
            lines.append(f"{workload} on {device}: fastest " + "; ".join(parts) + ".")
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
    """Short statements computed from the data: fastest modes, where XLA or ``fit`` lose."""
    lines = _fastest_findings(results)
    lines += _loss_findings(results, "xla", "function")
    lines += _loss_findings(results, "fused_xla", "fused")
    lines += _loss_findings(results, "fit", "function")
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
