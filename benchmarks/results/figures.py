"""The report's figures: functions from results to a ``matplotlib.figure.Figure`` (never shown).

Each figure covers one device, with one panel per workload (two panels a row); ``to_data_uri`` turns
a figure into an embedded PNG so the HTML needs no other file. Each mode keeps its color in every
figure: one hue per family (eager grey, graph functions blue, ``fit`` orange, the ``Trainer`` green,
fused loops purple), darker for more steps per call, hatched for mixed precision.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable

import numpy as np
from matplotlib.figure import Figure

from benchmarks.results.analysis import Scaling, Speedup
from benchmarks.results.cases import EPOCH_WAYS, batch_label, mode_rank
from benchmarks.results.schema import CaseResult, RunResults

__all__ = [
    "DPI",
    "MODE_COLORS",
    "PANELS_PER_ROW",
    "PANEL_HEIGHT",
    "PANEL_WIDTH",
    "distributed_scaling",
    "epoch_bars",
    "grouped_bars",
    "scaling_lines",
    "speedup_bars",
    "to_data_uri",
]

PANEL_WIDTH = 6.8
PANEL_HEIGHT = 3.4
PANELS_PER_ROW = 2
DPI = 96
MODE_COLORS = {
    "eager": "#7f7f7f",
    "function": "#9ecae1",
    "xla": "#3182bd",
    "fit": "#fdd0a2",
    "fit_mixed": "#fdd0a2",
    "fit_xla": "#a63603",
    "fit_spe8": "#fd8d3c",
    "fit_spe32": "#e6550d",
    "trainer": "#c7e9c0",
    "trainer_spe32": "#238b45",
    "fused": "#bcbddc",
    "fused_mixed": "#bcbddc",
    "fused_xla": "#6a51a3",
}


def _mode_color(mode: str) -> str:
    """The same color for a mode in every panel (``MODE_COLORS``; tab10 in ladder order for others)."""
    return MODE_COLORS.get(mode, f"C{mode_rank(mode) % 10}")


def _mode_hatch(mode: str) -> str | None:
    return "///" if mode.endswith("_mixed") else None


def _panels(count: int) -> tuple[Figure, list]:
    count = max(count, 1)
    columns = min(count, PANELS_PER_ROW)
    rows = -(-count // columns)
    figure = Figure(figsize=(PANEL_WIDTH * columns, PANEL_HEIGHT * rows + 0.6), dpi=DPI, layout="constrained")
    axes = list(figure.subplots(rows, columns, squeeze=False).flat)
    for ax in axes[count:]:
        ax.set_visible(False)
    return figure, axes[:count]


def _legend(figure: Figure, axes: list) -> None:
    handles, labels = [], []
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            if label not in labels:
                handles.append(handle)
                labels.append(label)
    if handles:
        order = sorted(range(len(labels)), key=lambda i: mode_rank(labels[i]))
        figure.legend(
            [handles[i] for i in order],
            [labels[i] for i in order],
            loc="outside upper center",
            ncols=min(len(labels), 8),
            fontsize="small",
            frameon=False,
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
                ax.bar(
                    xs,
                    ys,
                    width,
                    label=mode,
                    color=_mode_color(mode),
                    hatch=_mode_hatch(mode),
                    edgecolor="white" if _mode_hatch(mode) else None,
                    yerr=yerr,
                    capsize=2,
                )
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
            ax.plot(
                sizes,
                [c.samples_per_s for c in line],
                marker="o",
                label=mode,
                color=_mode_color(mode),
                linestyle="--" if _mode_hatch(mode) else "-",
            )
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("batch size")
        ax.set_ylabel("samples / s")
        ax.set_title(workload)
        ax.grid(True, alpha=0.3)
    _legend(figure, axes)
    return figure


CALLBACK_COLORS = {False: "#3182bd", True: "#e6550d"}


def epoch_bars(results: RunResults) -> Figure:
    """Seconds per epoch (log scale) per data set and device: one pair of bars per way, callbacks off and on,
    with the interquartile range of the samples as error bars."""
    groups: dict[tuple[str, str], list[CaseResult]] = {}
    for case in results.epochs:
        groups.setdefault((case.device_label, case.workload), []).append(case)
    order = {"basic": 0, "advanced": 1, "callbacks": 2}
    keys = sorted(groups, key=lambda k: (k[0], order.get(k[1], 9), k[1]))
    figure, axes = _panels(len(keys))
    for ax, key in zip(axes, keys, strict=False):
        cases = groups[key]
        ways = sorted({c.mode for c in cases}, key=lambda w: EPOCH_WAYS.index(w) if w in EPOCH_WAYS else 99)
        for k, callbacks in enumerate((False, True)):
            xs, ys, errors = [], [], []
            for w, way in enumerate(ways):
                case = next((c for c in cases if c.mode == way and bool(c.callbacks) == callbacks), None)
                if case is None:
                    continue
                q1, q3 = np.percentile(case.samples, [25, 75])
                xs.append(w + (k - 0.5) * 0.4)
                ys.append(case.median_s)
                errors.append((case.median_s - q1, q3 - case.median_s))
            if xs:
                label = "callbacks on" if callbacks else "callbacks off"
                ax.bar(
                    xs,
                    ys,
                    0.4,
                    label=label,
                    color=CALLBACK_COLORS[callbacks],
                    yerr=np.array(errors).T,
                    capsize=2,
                )
        ax.set_xticks(range(len(ways)), ways, rotation=15)
        ax.set_yscale("log")
        ax.set_ylabel("seconds per epoch")
        batch = cases[0].batch_size
        ax.set_title(f"{key[1]} (batch {batch_label(batch)}, {cases[0].samples_per_step} rows), {key[0]}")
        ax.grid(True, axis="y", alpha=0.3)
        ax.legend(fontsize="small")
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
