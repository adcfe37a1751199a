"""The comparison page (``compare.html.j2``): the rows of ``benchmarks.results.compare_rows`` as text and
figures, embedded so that the page needs no other file.

A figure has one panel per workload and one bar per case and run: the throughput (log scale), or
each run's ratio to the first run with its interval. Its rows are ``CaseRow`` or ``BestRow``; a
best-device cell's ``device`` is written above its throughput bar, which is how the figure says
which device won (not on the ratio bars, where the error bars stand).

A ratio reads ``1.85 [1.62, 2.10]``: the ratio of medians and its 95% bootstrap interval; green when
the interval lies above 1, red when below. A row's winner is named only when its interval over the
second-best run lies above 1 (``benchmarks.results.best_device``), else it reads "inconclusive".
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from benchmarks.results.analysis import Speedup
from benchmarks.results.best_device import BestCell, BestRow
from benchmarks.results.compare_rows import CaseRow, Cell, Comparison
from benchmarks.results.figures import DPI, PANEL_HEIGHT, to_data_uri
from benchmarks.results.report import templates

__all__ = ["FIGURE_WIDTH", "INCHES_PER_CASE", "panels_figure", "render_page"]

FIGURE_WIDTH = 11.0
INCHES_PER_CASE = 0.85


def _has_ratios(rows: Sequence) -> bool:
    """Whether any cell has a ratio to draw (a device only one run has has none)."""
    return any(cell.ratio is not None for row in rows for cell in row.cells)


def _value(cell, ratio: bool) -> float | None:
    value = (cell.ratio.ratio if cell.ratio else None) if ratio else cell.throughput
    return value if value is not None and np.isfinite(value) and value > 0 else None


def _bars(ax, rows: Sequence, labels: list[str], ratio: bool) -> None:
    series = range(1, len(labels)) if ratio else range(len(labels))
    width = 0.8 / max(len(series), 1)
    for slot, index in enumerate(series):
        xs, ys, errors, devices = [], [], [], []
        for x, row in enumerate(rows):
            cell = row.cells[index]
            value = _value(cell, ratio)
            if value is None:
                continue
            xs.append(x + (slot - (len(series) - 1) / 2) * width)
            ys.append(value)
            errors.append((value - cell.ratio.low, cell.ratio.high - value) if ratio else (0.0, 0.0))
            devices.append(getattr(cell, "device", None))
        if not xs:
            continue
        yerr = np.array(errors).T if ratio else None
        bars = ax.bar(xs, ys, width, label=labels[index], color=f"C{index % 10}", yerr=yerr, capsize=2)
        if any(devices) and not ratio:
            ax.bar_label(bars, labels=[d or "" for d in devices], rotation=90, fontsize="x-small", padding=2)
    ax.set_xticks(range(len(rows)), [f"{r.label}\nb{r.batch}" for r in rows], fontsize="small")
    if ratio:
        ax.axhline(1.0, color="black", linewidth=0.8)
        ax.set_ylabel(f"throughput / {labels[0]}")
    else:
        ax.set_yscale("log")
        ax.set_ylabel(rows[0].unit if rows else "")
    ax.margins(y=0.15)
    ax.grid(True, axis="y", alpha=0.3)


def panels_figure(rows: Sequence, labels: list[str], *, ratio: bool, where: str) -> Figure:
    """One panel per workload, titled ``<workload> <where>``: throughput per mode and batch (log), one
    bar per run, or each run's ratio to the first run with its interval."""
    panels: dict[str, list] = {}
    for row in rows:
        panels.setdefault(row.workload, []).append(row)
    widest = max((len(p) for p in panels.values()), default=1)
    size = (max(FIGURE_WIDTH, INCHES_PER_CASE * widest), PANEL_HEIGHT * max(len(panels), 1))
    figure = Figure(figsize=size, dpi=DPI, layout="constrained")
    axes = figure.subplots(max(len(panels), 1), 1, squeeze=False)[:, 0]
    for ax, (workload, panel) in zip(axes, panels.items(), strict=False):
        _bars(ax, panel, labels, ratio)
        ax.set_title(f"{workload} {where}")
    handles, names = axes[0].get_legend_handles_labels()
    if handles:
        figure.legend(handles, names, loc="outside upper center", ncols=len(names), frameon=False)
    return figure


def _number(value: float) -> str:
    return f"{value:,.0f}" if value >= 1000 else f"{value:.4g}"


def _interval(r: Speedup) -> str:
    return f"{r.ratio:.2f} [{r.low:.2f}, {r.high:.2f}]"


def _css(r: Speedup | None) -> str:
    return "" if r is None else "faster" if r.low > 1 else "slower" if r.high < 1 else ""


def _cell_text(cell: Cell) -> dict:
    if cell.throughput is None:
        return {"value": "-", "ratio": "-", "class": ""}
    r = cell.ratio
    return {"value": _number(cell.throughput), "ratio": "-" if r is None else _interval(r), "class": _css(r)}


def _best_cell_text(cell: BestCell) -> dict:
    if cell.throughput is None:
        return {"value": "-", "device": "", "margin": "", "ratio": "-", "class": ""}
    margin = "" if cell.margin is None else f"{_interval(cell.margin)} over {cell.runner_up}"
    ratio = "-" if cell.ratio is None else _interval(cell.ratio)
    return {
        "value": _number(cell.throughput),
        "device": cell.device_label,
        "margin": margin,
        "ratio": ratio,
        "class": _css(cell.ratio),
    }


def _winner_text(row: BestRow, labels: list[str]) -> dict:
    won = row.winner
    where = f"{labels[won.run]} on {won.device}"
    if won.second is None:
        return {"text": f"{where} (only run with this case)", "class": ""}
    r = won.ratio
    versus = f"{r.ratio:.2f}x [{r.low:.2f}, {r.high:.2f}] over {labels[won.second]}"
    if won.decisive:
        return {"text": f"{where}, {versus}", "class": "faster"}
    return {"text": f"inconclusive: {where} leads, {versus}", "class": ""}


def _device_sections(rows: list[CaseRow], labels: list[str]) -> list[dict]:
    sections = []
    for device in dict.fromkeys(r.device for r in rows):
        on_device = [r for r in rows if r.device == device]
        present = [labels[i] for i in range(len(labels)) if any(r.cells[i].throughput for r in on_device)]
        sections.append(
            {
                "device": device,
                "runs": present,
                "throughput": to_data_uri(
                    panels_figure(on_device, labels, ratio=False, where=f"on {device}")
                ),
                "ratio": to_data_uri(panels_figure(on_device, labels, ratio=True, where=f"on {device}"))
                if _has_ratios(on_device)
                else None,
            }
        )
    return sections


def _one_device(rows: list[BestRow]) -> str | None:
    """The device every run ran every case on, if there is one (then the per-device figures are these)."""
    devices = {cell.device for row in rows for cell in row.cells if cell.device is not None}
    if len(devices) == 1 and all(cell.margin is None for row in rows for cell in row.cells):
        return devices.pop()
    return None


def _best_section(rows: list[BestRow], labels: list[str]) -> dict:
    where = "on each run's best device"
    only = _one_device(rows)
    return {
        "only_device": only,
        "throughput": None if only else to_data_uri(panels_figure(rows, labels, ratio=False, where=where)),
        "ratio": to_data_uri(panels_figure(rows, labels, ratio=True, where=where))
        if _has_ratios(rows) and not only
        else None,
        "rows": [
            {
                "row": row,
                "cells": [_best_cell_text(c) for c in row.cells],
                "winner": _winner_text(row, labels),
            }
            for row in rows
        ],
    }


def render_page(c: Comparison) -> str:
    """The page's HTML text."""
    return (
        templates()
        .get_template("compare.html.j2")
        .render(
            labels=c.labels,
            machines=c.machines,
            environment_rows=c.environment,
            best=_best_section(c.best, c.labels),
            sections=_device_sections(c.rows, c.labels),
            rows=[{"row": r, "cells": [_cell_text(x) for x in r.cells]} for r in c.rows],
            calibration=[{"key": r.key, "cells": [_cell_text(x) for x in r.cells]} for r in c.calibration],
            peaks=[
                {"device": d, "values": ["-" if v is None else f"{v:.3g}" for v in values]}
                for d, values in c.peaks.items()
            ],
        )
    )
