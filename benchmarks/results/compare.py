"""Side-by-side comparison of two or more runs (machines, devices, TensorFlow builds) as one HTML file.

    tfbench-compare laptop.json gpu-box.json [...] -o reports/compare.html
    tfbench-compare last:main laptop --label main --label laptop

Arguments are result files or history references (``benchmarks.results.history``). For every training
case (workload, batch size, mode, device, strategy) the report shows each run's throughput
(samples/s; steps/s for the batch-free quadratic) and its ratio against the first run,

    ratio_k = throughput_k / throughput_1 = median(t_1) / median(t_k),

with the percentile-bootstrap interval of ``benchmarks.results.analysis.bootstrap_speedup``; then each
device's calibration peak, and the environments side by side with differing rows highlighted.
The page is self-contained (figures embedded, no URL) and Jinja2 escapes every string from the
files. Bad input (missing, empty, corrupt, other schema, no benchmark shared with the first run, an
output that is one of the runs, an output that cannot be written) prints one line and exits with 2
(``benchmarks.results.cli``) without writing anything. The page and the folder's ``index.html``
are published together (``reference.files``): both new, or both as they were.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from benchmarks.results.analysis import Speedup, bootstrap_speedup
from benchmarks.results.cases import batch_label, mode_rank, parse_case_id
from benchmarks.results.cli import EXIT_OK, Parser, command
from benchmarks.results.figures import DPI, PANEL_HEIGHT, to_data_uri
from benchmarks.results.history import HISTORY_DIR, Benchmark, Run, load_run
from benchmarks.results.report import environment_rows, templates
from benchmarks.results.schema import CaseResult, ResultInputError
from reference.files import published_together
from reference.reproduction.index import INDEX_NAME, render_index

__all__ = [
    "CaseRow",
    "Cell",
    "case_rows",
    "default_labels",
    "machine_figure",
    "main",
    "render_compare",
    "throughput",
    "write_compare",
]

DEFAULT_OUTPUT = Path("reports") / "compare.html"
FIGURE_WIDTH = 11.0
INCHES_PER_CASE = 0.85


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


def throughput(case: CaseResult) -> float:
    """Samples per second, or steps per second for a case without a batch size."""
    return case.samples_per_s if case.samples_per_s is not None else case.steps_per_s


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
            b.case.kind,
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


def _environment_table(runs: list[Run]) -> list[dict]:
    """Rows ``{"key", "values", "differs"}`` over the union of the runs' environment fields."""
    per_run = [dict(environment_rows(run.results)) for run in runs]
    keys = list(dict.fromkeys(key for rows in per_run for key in rows))
    table = []
    for key in keys:
        values = [rows.get(key, "-") for rows in per_run]
        table.append({"key": key, "values": values, "differs": len(set(values)) > 1})
    return table


def _bars(ax, rows: list[CaseRow], labels: list[str], ratio: bool) -> None:
    series = range(1, len(labels)) if ratio else range(len(labels))
    width = 0.8 / max(len(series), 1)
    for slot, index in enumerate(series):
        xs, ys, errors = [], [], []
        for x, row in enumerate(rows):
            cell = row.cells[index]
            value = (cell.ratio.ratio if cell.ratio else None) if ratio else cell.throughput
            if value is None or not np.isfinite(value) or value <= 0:
                continue
            xs.append(x + (slot - (len(series) - 1) / 2) * width)
            ys.append(value)
            errors.append((value - cell.ratio.low, cell.ratio.high - value) if ratio else (0.0, 0.0))
        if xs:
            yerr = np.array(errors).T if ratio else None
            ax.bar(xs, ys, width, label=labels[index], color=f"C{index % 10}", yerr=yerr, capsize=2)
    ax.set_xticks(range(len(rows)), [f"{r.label}\nb{r.batch}" for r in rows], fontsize="small")
    if ratio:
        ax.axhline(1.0, color="black", linewidth=0.8)
        ax.set_ylabel(f"throughput / {labels[0]}")
    else:
        ax.set_yscale("log")
        ax.set_ylabel(rows[0].unit if rows else "")
    ax.grid(True, axis="y", alpha=0.3)


def machine_figure(rows: list[CaseRow], labels: list[str], device: str, *, ratio: bool) -> Figure:
    """One panel per workload on ``device``: throughput per mode and batch (log), or the ratio to the first run."""
    panels: dict[str, list[CaseRow]] = {}
    for row in rows:
        if row.device == device:
            panels.setdefault(row.workload, []).append(row)
    widest = max((len(p) for p in panels.values()), default=1)
    size = (max(FIGURE_WIDTH, INCHES_PER_CASE * widest), PANEL_HEIGHT * max(len(panels), 1))
    figure = Figure(figsize=size, dpi=DPI, layout="constrained")
    axes = figure.subplots(max(len(panels), 1), 1, squeeze=False)[:, 0]
    for ax, (workload, panel) in zip(axes, panels.items(), strict=False):
        _bars(ax, panel, labels, ratio)
        ax.set_title(f"{workload} on {device}")
    handles, names = axes[0].get_legend_handles_labels()
    if handles:
        figure.legend(handles, names, loc="outside upper center", ncols=len(names), frameon=False)
    return figure


def _number(value: float) -> str:
    return f"{value:,.0f}" if value >= 1000 else f"{value:.4g}"


def _cell_text(cell: Cell) -> dict:
    if cell.throughput is None:
        return {"value": "-", "ratio": "-", "class": ""}
    r = cell.ratio
    css = "" if r is None else "faster" if r.low > 1 else "slower" if r.high < 1 else ""
    ratio = "-" if r is None else f"{r.ratio:.2f} [{r.low:.2f}, {r.high:.2f}]"
    return {"value": _number(cell.throughput), "ratio": ratio, "class": css}


def _machines(runs: list[Run], labels: list[str]) -> list[dict]:
    machines = []
    for label, run in zip(labels, runs, strict=True):
        info = run.results.machine_info
        env = info.get("environment") or {}
        machines.append(
            {
                "label": label,
                "node": str(info.get("node", "-")),
                "cpu": str(env.get("cpu_model") or (info.get("cpu") or {}).get("brand_raw") or "-"),
                "devices": ", ".join(run.results.devices()),
                "tensorflow": str(env.get("tensorflow", "-")),
                "date": run.results.datetime or "-",
                "path": str(run.path),
            }
        )
    return machines


def render_compare(runs: list[Run], labels: list[str]) -> str:
    """The comparison page's HTML text."""
    rows = case_rows(runs)
    devices = list(dict.fromkeys(r.device for r in rows))
    sections = [
        {
            "device": device,
            "throughput": to_data_uri(machine_figure(rows, labels, device, ratio=False)),
            "ratio": to_data_uri(machine_figure(rows, labels, device, ratio=True)),
        }
        for device in devices
    ]
    calibration = [
        {"key": r.key, "cells": [_cell_text(c) for c in r.cells]} for r in case_rows(runs, calibration=True)
    ]
    peaks = [
        {"device": d, "values": [_peak_text(run, d) for run in runs]}
        for d in sorted({d for run in runs for d in run.results.devices()})
    ]
    return (
        templates()
        .get_template("compare.html.j2")
        .render(
            labels=labels,
            machines=_machines(runs, labels),
            environment_rows=_environment_table(runs),
            sections=sections,
            rows=[{"row": r, "cells": [_cell_text(c) for c in r.cells]} for r in rows],
            calibration=calibration,
            peaks=peaks,
        )
    )


def _peak_text(run: Run, device: str) -> str:
    peak = run.peak_flops(device)
    return "-" if peak is None else f"{peak / 1e9:.3g}"


def _check_comparable(runs: list[Run]) -> None:
    """Raise ``ResultInputError`` unless every run shares a benchmark other than calibration with the first."""
    first = {k for k, b in runs[0].benchmarks.items() if b.case.kind != "calibration"}
    for run in runs[1:]:
        if not first & set(run.benchmarks):
            raise ResultInputError(f"{run.path} has no benchmark in common with {runs[0].path}")


def write_compare(
    references: list[str],
    output: str | Path = DEFAULT_OUTPUT,
    *,
    labels: list[str] | None = None,
    history_dir: str | Path = HISTORY_DIR,
) -> Path:
    """Load the runs ``references`` name; publish the comparison page ``output`` and its folder's index.

    Raises:
        ValueError: fewer than two references, or ``labels`` of another length.
        ResultInputError: a reference names no valid result file, or the runs share no benchmark.
        SameFileError: ``output`` or the index is one of the runs' files.
        OSError: an output cannot be written (named in the error).
    """
    if len(references) < 2:
        raise ValueError(
            f"Argument `references` must name at least 2 runs. Received: references={references!r}"
        )
    if labels is not None and len(labels) != len(references):
        raise ValueError(
            f"Argument `labels` must have one label per run ({len(references)}). Received: labels={labels!r}"
        )
    runs = [load_run(reference, history_dir) for reference in references]
    _check_comparable(runs)
    output = Path(output)
    index = output.parent / INDEX_NAME
    with published_together(inputs=[run.path for run in runs]) as outputs:
        outputs.file(output)
        outputs.file(index)
        outputs.write_text(output, render_compare(runs, labels or default_labels(runs)))
        outputs.write_text(index, render_index(output.parent, publishing=[output.name]))
    return output


@command("tfbench-compare")
def main(argv: Sequence[str] | None = None) -> int:
    """Command line (``tfbench-compare``): the page's path on stdout; exit 2 on bad input."""
    parser = Parser(prog="tfbench-compare", description="Compare benchmark runs side by side.")
    parser.add_argument(
        "references", nargs="+", help="result files or history references; the first is the reference"
    )
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT_OUTPUT, help="default: %(default)s")
    parser.add_argument("--label", action="append", default=None, help="a label per run, in order (repeat)")
    parser.add_argument("--history-dir", type=Path, default=HISTORY_DIR, help="default: %(default)s")
    args = parser.parse_args(argv)
    path = write_compare(args.references, args.output, labels=args.label, history_dir=args.history_dir)
    sys.stdout.write(f"{path}\n")
    return EXIT_OK
