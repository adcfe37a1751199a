"""The report's figures: functions from results to a ``matplotlib.figure.Figure`` (never shown).

Each figure covers one device, with one panel per workload; ``to_data_uri`` turns a figure into
an embedded PNG so the HTML needs no other file.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable

import numpy as np
from matplotlib.figure import Figure

from benchmarks.results.analysis import Scaling, Speedup
from benchmarks.results.cases import batch_label, mode_rank
from benchmarks.results.schema import CaseResult, RunResults

__all__ = [
    "DPI",
    "PANEL_HEIGHT",
    "PANEL_WIDTH",
    "distributed_scaling",
    "grouped_bars",
    "scaling_lines",
    "speedup_bars",
    "to_data_uri",
]

PANEL_WIDTH = 4.2
PANEL_HEIGHT = 3.4
DPI = 96


def _mode_color(mode: str) -> str:
    """The same color for a mode in every panel (tab10, in ladder order)."""
    return f"C{mode_rank(mode) % 10}"


def _panels(count: int) -> tuple[Figure, list]:
    figure = Figure(figsize=(PANEL_WIDTH * max(count, 1), PANEL_HEIGHT), dpi=DPI, layout="constrained")
    axes = figure.subplots(1, max(count, 1), squeeze=False)[0]
    return figure, list(axes)


def _legend(figure: Figure, axes: list) -> None:
    handles, labels = axes[0].get_legend_handles_labels()
    if handles:
        figure.legend(
            handles, labels, loc="outside upper center", ncols=len(labels), fontsize="small", frameon=False
        )


def _cases_by_workload(
    results: RunResults, device: str, with_batches_only: bool
) -> dict[str, list[CaseResult]]:
    grouped: dict[str, list[CaseResult]] = {}
    for case in results.training:
        if case.device != device or (with_batches_only and case.batch_size is None):
            continue
        grouped.setdefault(case.workload, []).append(case)
    return grouped


def grouped_bars(
    results: RunResults,
    device: str,
    value: Callable[[CaseResult], float | None],
    ylabel: str,
    *,
    log: bool = True,
    interval: Callable[[CaseResult], tuple[float, float] | None] | None = None,
    with_batches_only: bool = False,
) -> Figure:
    """Per workload panel: batch sizes on x, one bar per mode, height ``value(case)``."""
    grouped = _cases_by_workload(results, device, with_batches_only)
    figure, axes = _panels(len(grouped))
    for ax, (workload, cases) in zip(axes, grouped.items(), strict=False):
        batches = sorted({c.batch_size for c in cases}, key=lambda b: -1 if b is None else b)
        modes = sorted({c.mode for c in cases}, key=mode_rank)
        width = 0.8 / len(modes)
        for m, mode in enumerate(modes):
            xs, ys, errors = [], [], []
            for b, batch in enumerate(batches):
                case = next((c for c in cases if c.mode == mode and c.batch_size == batch), None)
                height = value(case) if case is not None else None
                if height is None or not np.isfinite(height) or (log and height <= 0):
                    continue
                xs.append(b + (m - (len(modes) - 1) / 2) * width)
                ys.append(height)
                bounds = interval(case) if interval else None
                errors.append((height - bounds[0], bounds[1] - height) if bounds else (0.0, 0.0))
            if xs:
                yerr = np.array(errors).T if interval else None
                ax.bar(xs, ys, width, label=mode, color=_mode_color(mode), yerr=yerr, capsize=2)
        ax.set_xticks(range(len(batches)), [batch_label(b) for b in batches])
        ax.set_xlabel("batch size")
        ax.set_title(workload)
        ax.set_ylabel(ylabel)
        if log:
            ax.set_yscale("log")
        ax.grid(True, axis="y", alpha=0.3)
    _legend(figure, axes)
    return figure


def speedup_bars(results: RunResults, device: str, found: dict[str, Speedup]) -> Figure:
    """Speedup over eager per mode and batch size, with bootstrap intervals as error bars."""

    def ratio(case: CaseResult) -> float | None:
        return found[case.case].ratio if case.case in found else None

    def interval(case: CaseResult) -> tuple[float, float] | None:
        s = found.get(case.case)
        return (s.low, s.high) if s else None

    return grouped_bars(results, device, ratio, "speedup over eager (x)", interval=interval)


def scaling_lines(results: RunResults, device: str) -> Figure:
    """Samples per second against batch size (log-log), one line per mode."""
    grouped = _cases_by_workload(results, device, with_batches_only=True)
    figure, axes = _panels(len(grouped))
    for ax, (workload, cases) in zip(axes, grouped.items(), strict=False):
        for mode in sorted({c.mode for c in cases}, key=mode_rank):
            line = sorted((c for c in cases if c.mode == mode), key=lambda c: c.batch_size)
            sizes = [c.batch_size for c in line]
            ax.plot(sizes, [c.samples_per_s for c in line], marker="o", label=mode, color=_mode_color(mode))
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("batch size")
        ax.set_ylabel("samples / s")
        ax.set_title(workload)
        ax.grid(True, alpha=0.3)
    _legend(figure, axes)
    return figure


STRATEGY_COLORS = {"none": "#7f7f7f", "mirrored": "#1f77b4", "multiworker": "#d62728"}


def distributed_scaling(items: list[Scaling]) -> Figure:
    """Per workload: global samples/s by strategy and global batch (top), scaling efficiency (bottom)."""
    workloads = list(dict.fromkeys(item.case.workload for item in items))
    figure = Figure(figsize=(5.5 * max(1, len(workloads)), 7), layout="constrained")
    axes = figure.subplots(2, max(1, len(workloads)), squeeze=False)
    for column, workload in enumerate(workloads):
        mine = [item for item in items if item.case.workload == workload]
        batches = sorted({item.case.batch_size for item in mine})
        strategies = [s for s in STRATEGY_COLORS if any(i.case.strategy == s for i in mine)]
        width = 0.8 / max(1, len(strategies))
        for k, strategy in enumerate(strategies):
            xs, rates, effs = [], [], []
            for b, batch in enumerate(batches):
                match = [i for i in mine if i.case.strategy == strategy and i.case.batch_size == batch]
                if match:
                    xs.append(b + (k - (len(strategies) - 1) / 2) * width)
                    rates.append(match[0].case.samples_per_s)
                    effs.append(match[0].efficiency)
            label = f"{strategy} x{mine[[i.case.strategy for i in mine].index(strategy)].case.replicas}"
            axes[0][column].bar(xs, rates, width, label=label, color=STRATEGY_COLORS[strategy])
            axes[1][column].bar(xs, effs, width, label=label, color=STRATEGY_COLORS[strategy])
        for row, ylabel in ((0, "global samples / s"), (1, "scaling efficiency")):
            ax = axes[row][column]
            ax.set_xticks(range(len(batches)), [f"global batch {b}" for b in batches])
            ax.set_ylabel(ylabel)
            ax.grid(True, axis="y", alpha=0.3)
        axes[0][column].set_title(workload)
        axes[1][column].axhline(1.0, color="black", linewidth=1, linestyle="--")
        axes[0][column].legend(fontsize="small")
    return figure


def to_data_uri(figure: Figure) -> str:
    """The figure as a ``data:image/png;base64,...`` URI (self-contained HTML)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
