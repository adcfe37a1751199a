"""From a result JSON to the report's numbers: validation, per-case metrics, speedups, findings.

Per case, from the per-step samples ``s`` (seconds) of pytest-benchmark's ``stats.data``:

    steps/s   = 1 / median(s)            samples/s = batch_size * steps/s
    FLOP/s    = flops_per_step * steps/s efficiency = FLOP/s / calibration peak of the device
    speedup   = median(s_eager) / median(s_mode)   (same workload, batch size and device)

The speedup's 95% confidence interval is a percentile bootstrap: both sample sets are resampled
with replacement (``BOOTSTRAP_RESAMPLES`` times, seeded) and the ratio of medians recomputed.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 0
CONFIDENCE = 0.95
MODE_ORDER = ("eager", "function", "xla", "fit", "fused", "fused_xla")
REQUIRED_INFO = ("case", "kind", "workload", "mode", "device", "steps_per_round", "flops_per_step")


class ReportInputError(ValueError):
    """The result file cannot be reported on; the message is one line saying why."""


@dataclass(frozen=True)
class CaseResult:
    """One benchmark case with its per-step samples (seconds)."""

    case: str
    kind: str
    workload: str
    mode: str
    batch_size: int | None
    device: str
    device_label: str
    steps_per_round: int
    samples: np.ndarray
    flops_per_step: float
    trace_s: float | None
    first_call_s: float | None
    peak_flops: float | None
    jit_compile: bool | None
    check: dict | None
    strategy: str = "none"
    replicas: int = 1

    @property
    def median_s(self) -> float:
        return float(np.median(self.samples))

    @property
    def iqr_s(self) -> float:
        q1, q3 = np.percentile(self.samples, [25, 75])
        return float(q3 - q1)

    @property
    def steps_per_s(self) -> float:
        return 1.0 / self.median_s

    @property
    def samples_per_s(self) -> float | None:
        return None if self.batch_size is None else self.batch_size * self.steps_per_s

    @property
    def flops_per_s(self) -> float:
        return self.flops_per_step * self.steps_per_s

    @property
    def efficiency(self) -> float | None:
        return self.flops_per_s / self.peak_flops if self.peak_flops else None


@dataclass(frozen=True)
class Speedup:
    """``ratio`` = median eager time / median mode time, with its bootstrap interval."""

    ratio: float
    low: float
    high: float


@dataclass(frozen=True)
class RunResults:
    """Everything the report shows, read from one result file."""

    machine_info: dict
    commit_info: dict
    datetime: str
    meta: dict
    cases: list[CaseResult]

    @property
    def training(self) -> list[CaseResult]:
        return [c for c in self.cases if c.kind == "training_step"]

    @property
    def distributed(self) -> list[CaseResult]:
        return [c for c in self.cases if c.kind == "distributed_step"]

    @property
    def calibration(self) -> list[CaseResult]:
        return [c for c in self.cases if c.kind == "calibration"]

    def devices(self) -> list[str]:
        return sorted({c.device for c in self.cases})

    def workloads(self) -> list[str]:
        return list(dict.fromkeys(c.workload for c in self.training))


def _case(entry: dict, index: int) -> CaseResult:
    info = entry["extra_info"]
    missing = [k for k in REQUIRED_INFO if k not in info]
    if missing:
        raise ReportInputError(f"benchmark #{index} lacks extra_info keys {missing}")
    data = entry.get("stats", {}).get("data")
    if not isinstance(data, list) or not data:
        raise ReportInputError(f"benchmark #{index} ({info['case']}) has no raw samples in stats.data")
    samples = np.asarray(data, dtype=float)
    if not np.all(np.isfinite(samples)) or np.any(samples <= 0):
        raise ReportInputError(f"benchmark #{index} ({info['case']}) has non-positive or non-finite samples")
    return CaseResult(
        case=str(info["case"]),
        kind=str(info["kind"]),
        workload=str(info["workload"]),
        mode=str(info["mode"]),
        batch_size=info.get("batch_size"),
        device=str(info["device"]),
        device_label=str(info.get("device_label", info["device"])),
        steps_per_round=int(info["steps_per_round"]),
        samples=samples,
        flops_per_step=float(info["flops_per_step"]),
        trace_s=info.get("trace_s"),
        first_call_s=info.get("first_call_s"),
        peak_flops=info.get("calibration_peak_flops"),
        jit_compile=info.get("jit_compile"),
        check=info.get("check"),
        strategy=str(info.get("strategy", "none")),
        replicas=int(info.get("replicas", 1)),
    )


def pooled_passes(entries: list[tuple[int, dict]]) -> list[tuple[int, dict]]:
    """One entry per case: the passes of a case (``extra_info["pass"]``) with their samples pooled.

    The first pass's entry is kept (its build, trace and check), with ``stats.data`` the samples
    of every pass in pass order and ``extra_info["pass_rounds"]`` the rounds of each. Files
    without passes come back unchanged.

    Raises:
        ReportInputError: a case with the same pass twice.
    """
    by_case: dict[tuple[str, str], list[tuple[int, dict]]] = {}
    for index, entry in entries:
        info = entry["extra_info"]
        by_case.setdefault((str(info.get("case")), str(info.get("strategy", "none"))), []).append(
            (index, entry)
        )
    pooled = []
    for (case, _), group in by_case.items():
        if len(group) == 1:
            pooled.append(group[0])
            continue
        passes = [entry["extra_info"].get("pass") for _, entry in group]
        if None in passes or len(set(passes)) != len(passes):
            raise ReportInputError(
                f"case {case} appears {len(group)} times, passes {passes}: not distinct passes"
            )
        group.sort(key=lambda item: item[1]["extra_info"]["pass"])
        index, first = group[0]
        data = [entry.get("stats", {}).get("data") for _, entry in group]
        if not all(isinstance(d, list) and d for d in data):
            raise ReportInputError(
                f"benchmark #{index} ({case}) has a pass without raw samples in stats.data"
            )
        merged = dict(first)
        merged["extra_info"] = first["extra_info"] | {"pass_rounds": [len(d) for d in data]}
        merged["stats"] = dict(first.get("stats", {})) | {"data": [x for d in data for x in d]}
        pooled.append((index, merged))
    return pooled


def parse_results(document: object) -> RunResults:
    """Validate a decoded result JSON and build ``RunResults``.

    Raises:
        ReportInputError: not a pytest-benchmark result, or no case of ours with samples.
    """
    if not isinstance(document, dict) or not isinstance(document.get("benchmarks"), list):
        raise ReportInputError("not a pytest-benchmark result: no 'benchmarks' list at the top level")
    ours = [
        (i, b)
        for i, b in enumerate(document["benchmarks"])
        if isinstance(b, dict) and isinstance(b.get("extra_info"), dict) and b["extra_info"].get("schema")
    ]
    if not ours:
        raise ReportInputError("contains no tfbench benchmark case (no extra_info with a 'schema' key)")
    try:
        cases = [_case(b, i) for i, b in pooled_passes(ours)]
    except (TypeError, ValueError, KeyError) as error:
        if isinstance(error, ReportInputError):
            raise
        raise ReportInputError(f"malformed benchmark entry: {error}") from error
    return RunResults(
        machine_info=document.get("machine_info") or {},
        commit_info=document.get("commit_info") or {},
        datetime=str(document.get("datetime", "")),
        meta=document.get("tfbench") or {},
        cases=cases,
    )


def load_results(path: str | Path) -> RunResults:
    """Read and validate a result file.

    Raises:
        ReportInputError: missing, empty, not JSON, or not a result of this suite.
    """
    path = Path(path)
    if not path.is_file():
        raise ReportInputError(f"{path}: no such file")
    text = path.read_text(encoding="utf-8", errors="replace")
    if not text.strip():
        raise ReportInputError(f"{path}: file is empty")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ReportInputError(f"{path}: not valid JSON ({error.msg} at line {error.lineno})") from error
    try:
        return parse_results(document)
    except ReportInputError as error:
        raise ReportInputError(f"{path}: {error}") from error


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


def mode_rank(mode: str) -> int:
    return MODE_ORDER.index(mode) if mode in MODE_ORDER else len(MODE_ORDER)


def batch_label(batch_size: int | None) -> str:
    return "-" if batch_size is None else str(batch_size)


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
