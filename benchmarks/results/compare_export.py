"""The comparison's numbers as data: ``compare.json`` (everything the page shows) and ``compare.csv``
(one line per case and run, for a spreadsheet or pandas).

CSV columns (``CSV_COLUMNS``); ``scope`` is ``best_device`` (the case on each run's best device,
``device`` being that device) or ``device`` (the case on one device, in every run that has it):

| column | meaning |
|---|---|
| ``case``, ``workload``, ``batch_size``, ``mode``, ``unit`` | the case (``case`` without its device for ``best_device``; ``batch_size`` empty for the quadratic) |
| ``run``, ``result_file`` | the run's label and file |
| ``device``, ``throughput`` | where, and samples/s (steps/s without a batch size); empty when the run lacks the case |
| ``ratio``, ``ratio_low``, ``ratio_high``, ``verdict`` | throughput over the first run's, its 95% bootstrap interval; ``faster``/``slower`` when the interval excludes 1, else ``inconclusive``; ``reference`` for the first run, ``absent`` without the case, ``no_reference`` when the first run lacks it |
| ``runner_up_device``, ``margin``, ``margin_low``, ``margin_high`` | ``best_device`` only: the run's next device and the best device's ratio over it |
| ``winner``, ``winner_decisive`` | ``best_device`` only: whether this run has the highest throughput, and whether its interval over the second run lies above 1 |
"""

from __future__ import annotations

import csv
import io
import json
from typing import TYPE_CHECKING

from benchmarks.results.analysis import Speedup
from benchmarks.results.best_device import BestRow
from benchmarks.results.cases import NO_BATCH

if TYPE_CHECKING:  # the rows' module draws in the report's (matplotlib); this one needs only the names
    from benchmarks.results.compare_rows import Comparison

__all__ = ["CSV_COLUMNS", "SCHEMA", "compare_csv", "compare_json", "verdict"]

SCHEMA = 1
CSV_COLUMNS = (
    "scope",
    "case",
    "workload",
    "batch_size",
    "mode",
    "unit",
    "run",
    "result_file",
    "device",
    "throughput",
    "ratio",
    "ratio_low",
    "ratio_high",
    "verdict",
    "runner_up_device",
    "margin",
    "margin_low",
    "margin_high",
    "winner",
    "winner_decisive",
)


def verdict(index: int, throughput: float | None, ratio: Speedup | None) -> str:
    """``reference`` (the first run), ``absent`` (no such case), ``no_reference`` (the first run lacks
    it), ``faster``/``slower`` (the interval lies beyond 1) or ``inconclusive``."""
    if throughput is None:
        return "absent"
    if index == 0:
        return "reference"
    if ratio is None:
        return "no_reference"
    return "faster" if ratio.low > 1 else "slower" if ratio.high < 1 else "inconclusive"


def _speedup(value: Speedup | None) -> dict | None:
    return None if value is None else {"ratio": value.ratio, "low": value.low, "high": value.high}


def _best_cells(row: BestRow, labels: list[str]) -> list[dict]:
    cells = []
    for index, (label, cell) in enumerate(zip(labels, row.cells, strict=True)):
        cells.append(
            {
                "run": label,
                "device": cell.device,
                "device_label": cell.device_label,
                "throughput": cell.throughput,
                "ratio": _speedup(cell.ratio),
                "verdict": verdict(index, cell.throughput, cell.ratio),
                "runner_up_device": cell.runner_up,
                "margin": _speedup(cell.margin),
                "winner": index == row.winner.run,
            }
        )
    return cells


def _device_cells(row, labels: list[str]) -> list[dict]:
    return [
        {
            "run": label,
            "throughput": cell.throughput,
            "ratio": _speedup(cell.ratio),
            "verdict": verdict(index, cell.throughput, cell.ratio),
        }
        for index, (label, cell) in enumerate(zip(labels, row.cells, strict=True))
    ]


def compare_json(c: Comparison) -> str:
    """The JSON document: runs, environment rows, best-device rows, same-device rows, calibration peaks."""
    runs, labels, machines, environment = c.runs, c.labels, c.machines, c.environment
    best_rows, device_rows, peaks = c.best, c.rows, c.peaks
    document = {
        "tfbench_compare": SCHEMA,
        "reference_run": labels[0],
        "runs": [m | {"result_file": str(run.path)} for m, run in zip(machines, runs, strict=True)],
        "environment": environment,
        "best_device": [
            {
                "case": row.key,
                "workload": row.workload,
                "batch_size": None if row.batch == NO_BATCH else int(row.batch),
                "mode": row.label,
                "unit": row.unit,
                "winner": {
                    "run": labels[row.winner.run],
                    "device": row.winner.device,
                    "second": None if row.winner.second is None else labels[row.winner.second],
                    "ratio_over_second": _speedup(row.winner.ratio),
                    "decisive": row.winner.decisive,
                },
                "cells": _best_cells(row, labels),
            }
            for row in best_rows
        ],
        "same_device": [
            {
                "case": row.key,
                "workload": row.workload,
                "batch_size": None if row.batch == NO_BATCH else int(row.batch),
                "mode": row.label,
                "device": row.device,
                "unit": row.unit,
                "cells": _device_cells(row, labels),
            }
            for row in device_rows
        ],
        "calibration_peak_gflops": {
            device: dict(zip(labels, values, strict=True)) for device, values in peaks.items()
        },
    }
    return json.dumps(document, indent=2, allow_nan=False) + "\n"


def _number(value: float | None) -> str:
    return "" if value is None else repr(float(value))


def _batch(batch: str) -> str:
    return "" if batch == NO_BATCH else batch


def _ratio_columns(value: Speedup | None) -> list[str]:
    return ["", "", ""] if value is None else [_number(value.ratio), _number(value.low), _number(value.high)]


def compare_csv(c: Comparison) -> str:
    """One line per case and run (``CSV_COLUMNS``), best-device lines first."""
    runs, labels, best_rows, device_rows = c.runs, c.labels, c.best, c.rows
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    files = [str(run.path) for run in runs]
    for row in best_rows:
        for index, cell in enumerate(row.cells):
            won = index == row.winner.run
            writer.writerow(
                [
                    "best_device",
                    row.key,
                    row.workload,
                    _batch(row.batch),
                    row.label,
                    row.unit,
                    labels[index],
                    files[index],
                    cell.device or "",
                    _number(cell.throughput),
                    *_ratio_columns(cell.ratio),
                    verdict(index, cell.throughput, cell.ratio),
                    cell.runner_up or "",
                    *_ratio_columns(cell.margin),
                    str(won).lower() if cell.throughput is not None else "",
                    str(row.winner.decisive).lower() if won else "",
                ]
            )
    for row in device_rows:
        for index, cell in enumerate(row.cells):
            writer.writerow(
                [
                    "device",
                    row.key,
                    row.workload,
                    _batch(row.batch),
                    row.label,
                    row.unit,
                    labels[index],
                    files[index],
                    row.device if cell.throughput is not None else "",
                    _number(cell.throughput),
                    *_ratio_columns(cell.ratio),
                    verdict(index, cell.throughput, cell.ratio),
                    *([""] * 6),
                ]
            )
    return buffer.getvalue()
