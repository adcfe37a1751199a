"""The comparison's rows and tables, computed once for the page, the CSV and the JSON (``tfbench-compare``).

``case_rows``: the same case on the same device across runs, each run's throughput and its ratio
to the first run, ``median(t_1) / median(t_k)`` with its bootstrap interval
(``benchmarks.results.analysis``); ``best_device_rows`` (``benchmarks.results.best_device``): each
run's best device per case. ``environment_table``: the runs' environments side by side
(``benchmarks.results.report.environment_rows``), with the rows that differ marked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from benchmarks.results.analysis import Speedup, bootstrap_speedup
from benchmarks.results.best_device import BestRow, best_device_rows, throughput
from benchmarks.results.cases import batch_label, mode_rank, parse_case_id
from benchmarks.results.history import Benchmark, Run
from benchmarks.results.report import cpu_rows, environment_rows

__all__ = [
    "CaseRow",
    "Cell",
    "Comparison",
    "case_rows",
    "comparison",
    "default_labels",
    "environment_table",
]


@dataclass(frozen=True)
class Cell:
    """One run's number for one case: throughput and, from the second run on, the ratio to the first."""

    throughput: float | None
    ratio: Speedup | None


@dataclass(frozen=True)
class CaseRow:
    """One benchmark across the runs; ``label`` is the mode part of its id (``xla``, ``mirroredx2``)."""

    key: str
    label: str
    workload: str
    batch: str
    device: str
    unit: str
    cells: list[Cell]


def default_labels(runs: list[Run]) -> list[str]:
    """Saved name or host name; TensorFlow version, run date, then position added until unique."""
    labels = [r.name or str(r.results.machine_info.get("node") or r.path.stem) for r in runs]
    extras: list[Callable[[int, Run], str]] = [
        lambda i, r: f"TF {(r.results.machine_info.get('environment') or {}).get('tensorflow', '?')}",
        lambda i, r: r.results.datetime[:16] or "?",
        lambda i, r: f"#{i + 1}",
    ]
    for extra in extras:
        if len(set(labels)) == len(labels):
            break
        repeated = {label for label in labels if labels.count(label) > 1}
        labels = [
            f"{lab} ({extra(i, r)})" if lab in repeated else lab
            for i, (lab, r) in enumerate(zip(labels, runs, strict=True))
        ]
    return labels


def _order(benchmarks: list[Benchmark]) -> list[Benchmark]:
    workloads = list(dict.fromkeys(b.case.workload for b in benchmarks))
    return sorted(
        benchmarks,
        key=lambda b: (
            b.case.device,
            b.case.kind != "training_step",
            b.case.strategy,
            workloads.index(b.case.workload),
            -1 if b.case.batch_size is None else b.case.batch_size,
            mode_rank(b.case.mode),
            b.key,
        ),
    )


def _cells(runs: list[Run], key: str) -> list[Cell]:
    reference = runs[0].benchmarks.get(key)
    cells = []
    for index, run in enumerate(runs):
        bench = run.benchmarks.get(key)
        ratio = None
        if bench is not None and index > 0 and reference is not None:
            ratio = bootstrap_speedup(reference.case.samples, bench.case.samples)
        cells.append(Cell(None if bench is None else throughput(bench.case), ratio))
    return cells


def case_rows(runs: list[Run], *, calibration: bool = False) -> list[CaseRow]:
    """One row per benchmark found in any run (the calibration cases, or all others), in report order."""
    first_seen: dict[str, Benchmark] = {}
    for run in runs:
        for key, bench in run.benchmarks.items():
            if (bench.case.kind == "calibration") == calibration:
                first_seen.setdefault(key, bench)
    rows = []
    for bench in _order(list(first_seen.values())):
        case = bench.case
        parsed = parse_case_id(case.case)
        label = parsed.mode if parsed is not None else case.mode
        if case.kind == "epoch":
            label = f"{case.mode} epoch, callbacks {'on' if case.callbacks else 'off'}"
        unit = "steps/s" if case.samples_per_s is None else "samples/s"
        batch = batch_label(case.batch_size)
        rows.append(
            CaseRow(bench.key, label, case.workload, batch, case.device, unit, _cells(runs, bench.key))
        )
    return rows


def environment_table(runs: list[Run]) -> list[dict]:
    """Rows ``{"key", "values", "differs"}`` over the union of the runs' environment fields."""
    per_run = [dict(environment_rows(run.results)) for run in runs]
    keys = list(dict.fromkeys(key for rows in per_run for key in rows))
    table = []
    for key in keys:
        values = [rows.get(key, "-") for rows in per_run]
        table.append({"key": key, "values": values, "differs": len(set(values)) > 1})
    return table


def _cpu_details(machine_info: dict) -> str:
    """``X86_64, 8 CPUs, 2.6000 GHz (actual 3.1000 GHz)`` from pytest-benchmark's ``machine_info.cpu``."""
    cpu = dict(cpu_rows(machine_info))
    parts = [cpu.get("cpu arch"), cpu.get("cpu count") and f"{cpu['cpu count']} CPUs"]
    advertised, actual = cpu.get("cpu clock (advertised)"), cpu.get("cpu clock (actual)")
    parts.append(advertised if actual in (None, advertised) else f"{advertised or '?'} (actual {actual})")
    return ", ".join(p for p in parts if p) or "-"


def _machines(runs: list[Run], labels: list[str]) -> list[dict]:
    machines = []
    for label, run in zip(labels, runs, strict=True):
        info = run.results.machine_info
        env = info.get("environment") or {}
        labels_by_device = {c.device: c.device_label for c in run.results.cases}
        machines.append(
            {
                "label": label,
                "node": str(info.get("node", "-")),
                "cpu": str(env.get("cpu_model") or (info.get("cpu") or {}).get("brand_raw") or "-"),
                "cpu_details": _cpu_details(info),
                "devices": ", ".join(labels_by_device[d] for d in run.results.devices()),
                "tensorflow": str(env.get("tensorflow", "-")),
                "date": run.results.datetime or "-",
                "path": str(run.path),
            }
        )
    return machines


def _peaks(runs: list[Run]) -> dict[str, list[float | None]]:
    """Per device, each run's calibration peak in GFLOP/s (``None``: not measured in that run)."""
    devices = sorted({d for run in runs for d in run.results.devices()})
    return {
        d: [None if run.peak_flops(d) is None else run.peak_flops(d) / 1e9 for run in runs] for d in devices
    }


@dataclass(frozen=True)
class Comparison:
    """Everything the three outputs are made of."""

    runs: list[Run]
    labels: list[str]
    best: list[BestRow]
    rows: list[CaseRow]
    calibration: list[CaseRow]
    machines: list[dict]
    environment: list[dict]
    peaks: dict[str, list[float | None]]


def comparison(runs: list[Run], labels: list[str]) -> Comparison:
    """The rows and tables of ``runs`` labelled ``labels`` (module docstring)."""
    return Comparison(
        runs,
        labels,
        best_device_rows(runs),
        case_rows(runs),
        case_rows(runs, calibration=True),
        _machines(runs, labels),
        environment_table(runs),
        _peaks(runs),
    )
