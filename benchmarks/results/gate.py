"""The regression gate: compare a run with a baseline, decide pass or fail per benchmark.

Metrics, tests and the verdict rule are in ``benchmarks.results.gate_statistics`` (with their
formulas): by default ``speedup`` (each mode over eager, same run) and ``normalized`` (throughput over
the same run's matmul peak), which a uniformly slower machine leaves unchanged; ``raw`` (steps/s) on
request. A row fails only when its change is beyond its limit (``threshold`` or the noise floor of
earlier runs) and significant at ``alpha``.

    tfbench-gate BASELINE CURRENT [--metric speedup,normalized|raw|all]
                 [--threshold 0.10] [--alpha 0.01] [--markdown PATH] [--json PATH]

``BASELINE``/``CURRENT`` are result files or history references (``last``, ``last:main``, a
saved name: ``benchmarks.results.history``). Exit status (``benchmarks.results.cli``): 0 no
regression, 1 at least one regression, 2 bad input (one line on stderr, no output file). The
Markdown and JSON files and the ``index.html`` of their folders are published together
(``reference.files``): all new or all as before; none may be a file the gate reads (the two runs,
the earlier runs of the noise floor).
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from benchmarks.results.cli import EXIT_OK, EXIT_REGRESSION, Parser, command
from benchmarks.results.gate_statistics import (
    IMPROVEMENT,
    INSUFFICIENT,
    METRICS,
    MIN_SAMPLES,
    NOISE,
    PASS,
    REGRESSION,
    Comparison,
    NoiseScale,
    compare_aggregate,
    compare_measures,
    measures,
    noise_floor,
    noise_scale,
    peak_case,
)
from benchmarks.results.history import HISTORY_DIR, Run, load_run, runs_up_to
from benchmarks.results.schema import ResultInputError
from reference.files import Outputs, published_together
from reference.reproduction.index import INDEX_NAME, render_index
from reference.validation import check_float, check_int

__all__ = [
    "DEFAULT_ALPHA",
    "DEFAULT_METRICS",
    "DEFAULT_NOISE_RUNS",
    "DEFAULT_THRESHOLD",
    "GateResult",
    "check_gate_arguments",
    "format_markdown",
    "format_text",
    "gate",
    "index_pages",
    "main",
    "parse_metrics",
    "summary",
    "write_indexes",
    "write_outputs",
]

DEFAULT_METRICS = ("speedup", "normalized")
DEFAULT_THRESHOLD = 0.10
DEFAULT_ALPHA = 0.01
DEFAULT_NOISE_RUNS = 5
SEVERITY = (REGRESSION, NOISE, INSUFFICIENT, IMPROVEMENT, PASS)
UNITS = {"speedup": "x over eager", "normalized": "steps per GFLOP of peak", "raw": "steps/s"}


@dataclass(frozen=True)
class GateResult:
    """All rows plus what could not be compared."""

    rows: list[Comparison]
    metrics: tuple[str, ...]
    threshold: float
    alpha: float
    baseline: str
    current: str
    only_in_baseline: list[str] = field(default_factory=list)
    only_in_current: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    aggregates: list[Comparison] = field(default_factory=list)

    def count(self, verdict: str) -> int:
        """Benchmark rows with ``verdict`` (the aggregate rows are not counted)."""
        return sum(row.verdict == verdict for row in self.rows)

    @property
    def exit_code(self) -> int:
        failed = self.count(REGRESSION) or any(a.verdict == REGRESSION for a in self.aggregates)
        return EXIT_REGRESSION if failed else EXIT_OK

    def as_dict(self) -> dict:
        return asdict(self) | {
            "exit_code": self.exit_code,
            "counts": {v: self.count(v) for v in SEVERITY},
        }


def check_gate_arguments(
    metrics: tuple[str, ...], threshold: float, alpha: float, noise_runs: int = DEFAULT_NOISE_RUNS
) -> None:
    """Validate the gate's arguments (``reference.validation``: NaN and infinities refused).

    Raises:
        ValueError: an unknown or no metric, ``threshold`` not in (0, 1), ``alpha`` not in (0, 0.5),
            ``noise_runs`` not an integer >= 0.
    """
    unknown = [m for m in metrics if m not in METRICS]
    if not metrics or unknown:
        raise ValueError(
            f"Argument `metrics` must be a non-empty subset of {list(METRICS)}. Received: metrics={list(metrics)}"
        )
    check_float("threshold", threshold, low=0, high=1, low_open=True, high_open=True)
    check_float("alpha", alpha, low=0, high=0.5, low_open=True, high_open=True)
    check_int("noise_runs", noise_runs, low=0)


def parse_metrics(text: str) -> tuple[str, ...]:
    """``"speedup,normalized"`` -> ``("speedup", "normalized")``; ``"all"`` -> every metric."""
    names = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    return METRICS if names == ("all",) else names


def _row_floors(scale: NoiseScale | None, keys: list[str], alpha: float) -> dict[str, float]:
    if scale is None:
        return {}
    return {
        key: noise_floor(scale.rows[key][0], alpha=alpha, tests=len(keys), df=scale.rows[key][1])
        for key in keys
        if key in scale.rows
    }


def _settings_name(run: Run) -> str:
    return str((run.results.meta.get("settings") or {}).get("name"))


def _missing_peak_notes(baseline: Run, current: Run, shared: set[str]) -> list[str]:
    devices = sorted({baseline.benchmarks[k].case.device for k in shared})
    return [
        f"normalized: no calibration of {device} in the {which} run; those rows are left out"
        for device in devices
        for which, run in (("baseline", baseline), ("current", current))
        if peak_case(run, device) is None
    ]


def gate(
    baseline: Run,
    current: Run,
    *,
    metrics: tuple[str, ...] = DEFAULT_METRICS,
    threshold: float = DEFAULT_THRESHOLD,
    alpha: float = DEFAULT_ALPHA,
    history: Sequence[Run] = (),
) -> GateResult:
    """Compare ``current`` with ``baseline`` on every shared benchmark and metric.

    ``history``: earlier runs of unchanged code (oldest first, usually ending with the baseline);
    those measured with the baseline's settings (all of them: quick or full, passes, rounds) raise
    the limits by their run-to-run drift (``noise_scale``, ``noise_floor``). One aggregate row per
    metric (``compare_aggregate``) gates the geometric mean over every shared benchmark.

    Raises:
        ValueError: invalid arguments (``check_gate_arguments``).
        ResultInputError: no shared benchmark, or none comparable with ``metrics``.
    """
    check_gate_arguments(metrics, threshold, alpha)
    shared = set(baseline.benchmarks) & set(current.benchmarks)
    if not shared:
        raise ResultInputError(f"{baseline.path} and {current.path} have no benchmark in common")
    history = [
        run for run in history if run.results.meta.get("settings") == baseline.results.meta.get("settings")
    ]
    rows, aggregates, notes = [], [], []
    for metric in metrics:
        before, after = measures(baseline, metric), measures(current, metric)
        keys = sorted(set(before) & set(after))
        if not keys:
            continue
        scale = noise_scale(list(history), metric) if len(history) > 1 else None
        floors = _row_floors(scale, keys, alpha)
        compared = [
            compare_measures(
                key,
                metric,
                before[key],
                after[key],
                threshold=threshold,
                alpha=alpha,
                noise_floor=floors.get(key, 0.0),
            )
            for key in keys
        ]
        rows += compared
        # Rows too short to test stay out of the aggregate too: they never fail, alone or together.
        keys = [row.benchmark for row in compared if row.verdict != INSUFFICIENT]
        aggregate_floor = (
            noise_floor(scale.aggregate_sigma, alpha=alpha, tests=1, df=scale.pairs) if scale else 0.0
        )
        aggregates.append(
            compare_aggregate(
                metric,
                {k: before[k] for k in keys},
                {k: after[k] for k in keys},
                threshold=threshold,
                alpha=alpha,
                noise_floor=aggregate_floor,
            )
        )
        if scale:
            low, high = (min(floors.values()), max(floors.values())) if floors else (0.0, 0.0)
            notes.append(
                f"noise floor of {metric} from {len(history)} earlier runs ({scale.pairs} consecutive pairs): "
                f"rows {low:.0%} to {high:.0%} (Bonferroni over {len(compared)} rows), "
                f"aggregate {aggregate_floor:.0%} (sigma {scale.aggregate_sigma:.3f})"
            )
    if not rows:
        raise ResultInputError(
            f"{baseline.path} and {current.path} share no benchmark comparable with metrics {list(metrics)}"
        )
    if "normalized" in metrics:
        notes[:0] = _missing_peak_notes(baseline, current, shared)
    if len(history) < 2:
        notes.append(
            "no noise floor: fewer than two earlier saved runs, so every limit is the threshold "
            "(on a shared machine, save a few runs of unchanged code first)"
        )
    settings = [_settings_name(r) for r in (baseline, current)]
    if settings[0] != settings[1]:
        notes.append(
            f"settings differ: baseline {settings[0]}, current {settings[1]} (per-step times still compare)"
        )
    rows.sort(key=lambda r: (SEVERITY.index(r.verdict), METRICS.index(r.metric), r.benchmark))
    return GateResult(
        rows,
        tuple(metrics),
        threshold,
        alpha,
        str(baseline.path),
        str(current.path),
        sorted(set(baseline.benchmarks) - shared),
        sorted(set(current.benchmarks) - shared),
        notes,
        aggregates,
    )


def _value_text(metric: str, value: float) -> str:
    return f"{value:.3g}x" if metric == "speedup" else f"{value:.4g}"


def _significance_text(row: Comparison, alpha: float) -> str:
    if row.p_value is None or math.isnan(row.p_value):
        return "-"
    text = f"p={row.p_value:.2g}"
    if row.interval is not None:
        low, high = (bound - 1 for bound in row.interval)
        text += f", {1 - 2 * alpha:.0%} CI [{low:+.1%}, {high:+.1%}]"
    return text


HEADER = ("benchmark", "metric", "baseline", "current", "change", "limit", "p-value / CI", "test", "verdict")


def _table_rows(result: GateResult) -> list[tuple[str, ...]]:
    """The table's cells: benchmark, metric, baseline, current, change, significance, test, verdict."""
    return [
        (
            row.benchmark,
            row.metric,
            _value_text(row.metric, row.baseline),
            _value_text(row.metric, row.current),
            f"{row.change:+.1%}",
            f"{max(row.limit, result.threshold):.0%}",
            _significance_text(row, result.alpha),
            row.test,
            row.verdict.upper() if row.verdict == REGRESSION else row.verdict,
        )
        for row in [*result.aggregates, *result.rows]
    ]


def summary(result: GateResult) -> str:
    """One line: the outcome, the counts, and each metric's aggregate verdict."""
    counts = ", ".join(f"{result.count(v)} {v}" for v in SEVERITY if result.count(v))
    outcome = "FAIL" if result.exit_code else "pass"
    rows = f"{len(result.rows)} comparison" + ("s" if len(result.rows) != 1 else "")
    overall = "; ".join(f"{a.metric} overall {a.change:+.1%} {a.verdict}" for a in result.aggregates)
    return (
        f"gate {outcome}: {counts} ({rows}; metrics {', '.join(result.metrics)}; "
        f"threshold {result.threshold:.0%}; alpha {result.alpha:g})" + (f"; {overall}" if overall else "")
    )


def _footer(result: GateResult) -> list[str]:
    lines = [
        f"baseline: {result.baseline}",
        f"current:  {result.current}",
        "units: "
        + "; ".join(f"{m}: {UNITS[m]}" for m in result.metrics)
        + ". change = current/baseline - 1.",
        f"regression/improvement: |change| > limit (threshold {result.threshold:.0%} or the noise floor) "
        f"and p <= {result.alpha:g}; "
        "ALL rows: geometric mean over the metric's shared benchmarks, Wilcoxon signed-rank test across them; "
        "noise: beyond the threshold but not significant; "
        f"insufficient samples: fewer than {MIN_SAMPLES} rounds (never fails).",
    ]
    for label, keys in (
        ("only in baseline", result.only_in_baseline),
        ("only in current", result.only_in_current),
    ):
        if keys:
            shown = ", ".join(keys[:5]) + (", ..." if len(keys) > 5 else "")
            lines.append(f"{label} ({len(keys)}, not compared): {shown}")
    return lines + result.notes


def format_text(result: GateResult) -> str:
    """Plain-text table with aligned columns, then the summary and the legend."""
    cells = [HEADER, *_table_rows(result)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(HEADER))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join([*lines, "", summary(result), *_footer(result)]) + "\n"


def _markdown_cell(text: str) -> str:
    return text.replace("|", "\\|")


def format_markdown(result: GateResult) -> str:
    """The same table in GitHub-flavoured Markdown (for a CI job summary)."""
    lines = ["### Benchmark regression gate", "", summary(result), ""]
    lines.append("| " + " | ".join(HEADER) + " |")
    lines.append("|" + "---|" * len(HEADER))
    for row in _table_rows(result):
        cells = [_markdown_cell(c) for c in row]
        if row[-1] == REGRESSION.upper():
            cells[-1] = f"**{cells[-1]}**"
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join([*lines, "", *(f"- {_markdown_cell(line)}" for line in _footer(result))]) + "\n"


def write_outputs(
    outputs: Outputs,
    result: GateResult,
    *,
    text: Path | None = None,
    markdown: Path | None = None,
    json_path: Path | None = None,
) -> None:
    """Stage the plain-text, Markdown and JSON forms of ``result`` where asked, in ``outputs``."""
    for path, render in (
        (text, format_text),
        (markdown, format_markdown),
        (json_path, lambda r: json.dumps(r.as_dict(), indent=2)),
    ):
        if path is not None:
            outputs.write_text(path, render(result))


def index_pages(paths: Sequence[Path]) -> dict[Path, list[str]]:
    """The ``index.html`` of each folder among ``paths``, with the names published into that folder."""
    pages: dict[Path, list[str]] = {}
    for path in paths:
        pages.setdefault(Path(path).parent / INDEX_NAME, []).append(Path(path).name)
    return pages


def write_indexes(outputs: Outputs, pages: dict[Path, list[str]]) -> None:
    """Stage each index of ``index_pages`` (``reference.reproduction.index.render_index``) in ``outputs``."""
    for index, names in pages.items():
        outputs.write_text(index, render_index(index.parent, publishing=names))


def _parser() -> Parser:
    parser = Parser(
        prog="tfbench-gate",
        description="Compare a benchmark run with a baseline; exit 0 pass, 1 regression, 2 bad input.",
    )
    parser.add_argument("baseline", help="result file or history reference (last, last:main, NAME, ...)")
    parser.add_argument("current", help="result file or history reference")
    parser.add_argument(
        "--metric",
        default=",".join(DEFAULT_METRICS),
        help=f"comma-separated subset of {', '.join(METRICS)}, or all (default: %(default)s)",
    )
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD, help="default: %(default)s")
    parser.add_argument("--alpha", type=float, default=DEFAULT_ALPHA, help="default: %(default)s")
    parser.add_argument("--markdown", type=Path, default=None, help="also write the table as Markdown here")
    parser.add_argument("--json", type=Path, default=None, help="also write every row as JSON here")
    parser.add_argument("--history-dir", type=Path, default=HISTORY_DIR, help="default: %(default)s")
    parser.add_argument(
        "--noise-runs",
        type=int,
        default=DEFAULT_NOISE_RUNS,
        help="saved runs up to the baseline whose run-to-run drift sets the noise floor; 0 or 1: none (default: %(default)s)",
    )
    return parser


@command("tfbench-gate")
def main(argv: Sequence[str] | None = None) -> int:
    """Command line (``tfbench-gate``): the table on stdout, the exit status as in the module docstring."""
    args = _parser().parse_args(argv)
    metrics = parse_metrics(args.metric)
    check_gate_arguments(metrics, args.threshold, args.alpha, args.noise_runs)
    baseline = load_run(args.baseline, args.history_dir)
    current = load_run(args.current, args.history_dir)
    history = runs_up_to(baseline.path, args.history_dir, args.noise_runs, exclude=current.path)
    read = [baseline.path, current.path, *(run.path for run in history)]
    written = [path for path in (args.markdown, args.json) if path is not None]
    indexes = index_pages(written)
    with published_together(inputs=read) as outputs:
        for path in [*written, *indexes]:
            outputs.file(path)  # refused now, before the statistics, if it cannot be written
        result = gate(
            baseline, current, metrics=metrics, threshold=args.threshold, alpha=args.alpha, history=history
        )
        write_outputs(outputs, result, markdown=args.markdown, json_path=args.json)
        write_indexes(outputs, indexes)
    sys.stdout.write(format_text(result))
    return result.exit_code
