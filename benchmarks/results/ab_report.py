"""What ``tfbench-ab`` writes: the text table, Markdown, JSON and a self-contained HTML page with figures.

Every output is built from the ``Measurements`` and the ``Comparison`` rows; nothing is written by
hand. The figure shows, per comparison, each case's step-time ratio with its interval on a log
scale, 1 marked, the threshold dashed. ``document`` is the JSON form: the raw per-round step times
are in it, so a run can be analysed again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FormatStrFormatter, NullFormatter

from benchmarks.results.ab_compare import ALL, Comparison, Row, SelfTest
from benchmarks.results.ab_run import Measurements
from benchmarks.results.ab_statistics import INCONCLUSIVE, INSUFFICIENT, REGRESSION, VERDICTS
from benchmarks.results.figures import DPI, to_data_uri
from benchmarks.results.report import templates

__all__ = [
    "HEADER",
    "SCHEMA",
    "Outcome",
    "check_rows",
    "document",
    "format_markdown",
    "format_text",
    "process_line",
    "ratio_figure",
    "render_html",
    "summary",
]

SCHEMA = "tfbench-ab/3"  # 3: simultaneous intervals (comparisons carry alpha, family, row_alpha)
HEADER = ("case", "A step", "B step", "B/A", "CI", "+-", "SE rounds", "SE procs", "MDE", "verdict")
_VERDICT_COLORS = {REGRESSION: "#b00020", "improvement": "#1b7f3b", INCONCLUSIVE: "#b36b00"}
INCHES_PER_ROW = 0.24
_RATIO_TICKS = (0.25, 0.33, 0.5, 0.67, 0.8, 0.9, 0.95, 1.0, 1.05, 1.1, 1.25, 1.5, 2.0, 3.0, 4.0)


@dataclass(frozen=True)
class Outcome:
    """What every output shows: the run, its comparisons, the statistics' settings, the self-test."""

    measured: Measurements
    comparisons: list[Comparison]
    threshold: float
    alpha: float
    power: float
    total_s: float
    self_test: SelfTest | None = None


def _time(seconds: float | None) -> str:
    if seconds is None or math.isnan(seconds):
        return "-"
    return f"{seconds * 1e6:.3g} us" if seconds < 1e-3 else f"{seconds * 1e3:.3g} ms"


def _percent(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.1%}"


def _standard_error(variance: float) -> str:
    """A log variance as the relative standard error it stands for, ``exp(sqrt(v)) - 1``."""
    return "-" if math.isnan(variance) else _percent(math.expm1(math.sqrt(variance)))


def _cells(row: Row) -> tuple[str, ...]:
    e = row.estimate
    interval = "-" if math.isnan(e.low) else f"[{e.low:.3f}, {e.high:.3f}]"
    ratio = "-" if math.isnan(e.ratio) else f"{e.ratio:.3f}"
    return (
        row.name,
        _time(row.baseline_s),
        _time(row.candidate_s),
        ratio,
        interval,
        _percent(e.half_width),
        _standard_error(e.round_variance),
        _standard_error(e.process_variance),
        _percent(row.mde),
        row.verdict.upper() if row.verdict == REGRESSION else row.verdict,
    )


def _header(comparison: Comparison) -> tuple[str, ...]:
    a, b = comparison.baseline, comparison.candidate
    return (*HEADER[:1], f"{a} step", f"{b} step", f"{b}/{a}", *HEADER[4:])


def _refusal(refused: dict) -> str:
    return f"refused: {refused['case']} in {refused['environment']}: {refused['reason']}"


def summary(comparison: Comparison, threshold: float, alpha: float) -> str:
    """One line: pass or FAIL, the verdict counts, the overall ratio."""
    counts = ", ".join(f"{comparison.count(v)} {v}" for v in VERDICTS if comparison.count(v))
    overall = next((r for r in comparison.aggregates if r.name.startswith("ALL")), None)
    ratio = "" if overall is None else f"; overall {overall.estimate.ratio:.3f} {overall.verdict}"
    refused = f"; {len(comparison.refused)} refused" if comparison.refused else ""
    return (
        f"{comparison.candidate} vs {comparison.baseline}: {_outcome(comparison)} "
        f"({counts or 'no case'}{refused}; threshold {threshold:.0%}; alpha {alpha:g} over {comparison.family} "
        f"rows, each at {comparison.row_alpha:.2g}){ratio}"
    )


def _outcome(comparison: Comparison) -> str:
    """FAIL, or what passing means: "pass" when every row decided, else "no regression found" (the
    counts that follow say how many rows could not tell)."""
    if comparison.failed:
        return "FAIL"
    rows = [*comparison.rows, *comparison.aggregates]
    return "no regression found" if any(r.verdict in (INCONCLUSIVE, INSUFFICIENT) for r in rows) else "pass"


def process_line(comparison: Comparison, workers_per_env: int) -> str:
    """The process component of one comparison: ``s_p`` per mode (pooled over its cases in A and B) and
    of the ``ALL`` aggregate (its own workers)."""
    by_mode = {r.mode: r.process for r in comparison.rows if r.process.estimated}
    if workers_per_env < 2:
        return (
            "worker processes: one per environment, so the intervals leave out how much one worker process "
            "differs from another (--workers-per-env 2 or more counts it)"
        )
    if not by_mode:
        return "worker processes: their spread is not estimated (fewer than two rounds)"
    parts = [f"{mode} {_percent(p.sd)}" for mode, p in by_mode.items()]
    overall = next((r for r in comparison.aggregates if r.name.startswith(ALL)), None)
    tail = (
        ""
        if overall is None
        else f"; of the {ALL} aggregate, from its own workers: {_percent(overall.process.sd)}"
    )
    moderation = comparison.moderation
    if moderation is not None and not math.isnan(moderation.prior_variance):
        agree = "inf: the cases agree" if math.isinf(moderation.prior_df) else f"{moderation.prior_df:.3g} df"
        apart = sum(moderation.own)
        tail += (
            f"; the cases' worker spreads moderated towards {_percent(math.sqrt(moderation.prior_variance))} "
            f"({agree})"
            + (
                f", {apart} case{'s' if apart > 1 else ''} far out keeping {'their' if apart > 1 else 'its'} own"
                if apart
                else ""
            )
        )
    return (
        "worker processes: s_p, the sd of one process's own offset (per mode, pooled over its cases in "
        f"{comparison.baseline} and {comparison.candidate}): " + ", ".join(parts) + tail
    )


def _run_lines(measured: Measurements, total_s: float) -> list[str]:
    lines = [
        f"{len(measured.cases)} cases, {measured.rounds} rounds ({measured.interleave} interleaving) in "
        f"{total_s:.0f} s, {measured.prepare_s:.0f} s of it starting and preparing; stopped: {measured.stop_reason}",
        f"{measured.workers_per_env} worker process{'es' if measured.workers_per_env > 1 else ''} per "
        f"environment, each timing every case every round; launched in the order "
        f"{', '.join(measured.launch_order) or '-'}",
    ]
    for env in measured.environments:
        workers = measured.workers.get(env.label, [])
        info = workers[0] if workers else {}
        versions = info.get("versions", {})
        extra = [f"{k}={v}" for k, v in env.variables.items()]
        if env.inject:
            extra.append(f"injected slowdown {env.inject:.0%}")
        lines.append(
            f"{env.label}: {env.python} (Python {info.get('python', '?')}, TensorFlow "
            f"{versions.get('tensorflow', '?')}, Keras {versions.get('keras', '?')}, NumPy "
            f"{versions.get('numpy', '?')}; source {env.source})"
            + (f" {', '.join(extra)}" if extra else "")
            + f"; pids {', '.join(str(w.get('pid', '?')) for w in workers) or '-'}"
        )
    return lines


def _legend(measured: Measurements, alpha: float, power: float) -> str:
    return (
        f"B/A: ratio of step times (above 1: B slower) over {measured.rounds} paired rounds of "
        f"{measured.workers_per_env} worker process(es) per environment; CI: simultaneous {1 - alpha:.0%} "
        "intervals over a comparison's rows (Bonferroni: each row at 1 - alpha / rows, so that unchanged code "
        f"shows ANY interval without 1 with probability <= {alpha:g}); cases: "
        "mean of the per-process mean log times, t interval on the workers' spread, moderated over the "
        "comparison's cases (empirical Bayes: a case borrows df from the others as far as they agree), widened "
        "if the per-round log ratios vary more than the workers' own noise (one worker per environment: "
        "Hodges-Lehmann estimate and Wilcoxon signed-rank interval of the per-round log ratios); aggregates "
        "(geometric means): per-process means, t interval on the workers' own spread; +-: the interval's half width; SE rounds, SE procs: the two "
        "parts of the standard error (round to round; process to process); "
        f"MDE: slowdown this run detects with {power:.0%} power; "
        "regression: beyond the threshold and the interval above 1; inconclusive: the interval holds 1 and "
        "reaches beyond the threshold."
    )


def _self_test_lines(result: SelfTest) -> list[str]:
    cases = len(result.within)
    inside = sum(result.within.values())
    outside = [name for name, ok in result.within.items() if not ok]
    lines = [
        f"self-test ({result.rounds} rounds): {'pass' if result.passed else 'FAIL'}",
        f"A/A: {len(result.false_alarms)} of {result.rows} rows' intervals exclude 1 (false alarms; simultaneous "
        f"intervals: any with probability <= {result.alpha:g}; P(>= {len(result.false_alarms)}) = {result.false_alarm_p:.2g})"
        + (f": {', '.join(result.false_alarms)}" if result.false_alarms else ""),
        f"A/A: regression verdicts: {', '.join(result.aa_regressions) or 'none'}",
        f"A/A: {inside} of {cases} intervals within +-5% and containing 1"
        + (f"; not: {', '.join(outside)}" if outside else ""),
        f"A/A+{result.fraction:.0%}: detected (interval above 1) in {cases - len(result.missed)} of {cases} cases"
        + (f"; missed: {', '.join(result.missed)}" if result.missed else "")
        + f"; {1 + result.fraction:g} inside {result.injected_in_interval} of {cases} intervals; "
        f"ALL {'detected' if result.injected_detected else 'NOT detected'}",
    ]
    for mode, mde in result.mde_by_mode.items():
        lines.append(
            f"MDE {mode}: median case {_percent(mde['median'])}, worst case {_percent(mde['max'])}, "
            f"mode aggregate {_percent(mde['aggregate'])}"
        )
    return lines


def _footer(outcome: Outcome) -> list[str]:
    lines = [*_self_test_lines(outcome.self_test), ""] if outcome.self_test is not None else []
    return [
        *lines,
        *_run_lines(outcome.measured, outcome.total_s),
        _legend(outcome.measured, outcome.alpha, outcome.power),
    ]


def format_text(outcome: Outcome) -> str:
    """Per comparison an aligned table (aggregates first), its summary line; then the run and legend."""
    lines: list[str] = []
    for comparison in outcome.comparisons:
        cells = [_header(comparison), *(_cells(r) for r in [*comparison.aggregates, *comparison.rows])]
        widths = [max(len(row[i]) for row in cells) for i in range(len(HEADER))]
        table = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]
        table.insert(1, "  ".join("-" * w for w in widths))
        lines += [*table, "", process_line(comparison, outcome.measured.workers_per_env)]
        lines += [_refusal(r) for r in comparison.refused]
        lines += [summary(comparison, outcome.threshold, outcome.alpha), ""]
    return "\n".join([*lines, *_footer(outcome)]) + "\n"


def _markdown_cell(text: str) -> str:
    return text.replace("|", "\\|")


def format_markdown(outcome: Outcome) -> str:
    """The same tables in GitHub-flavoured Markdown (for a CI job summary)."""
    lines = ["### A/B comparison (tfbench-ab)", ""]
    for comparison in outcome.comparisons:
        lines += [f"**{_markdown_cell(summary(comparison, outcome.threshold, outcome.alpha))}**", ""]
        lines.append("| " + " | ".join(_header(comparison)) + " |")
        lines.append("|" + "---|" * len(HEADER))
        for row in [*comparison.aggregates, *comparison.rows]:
            cells = [_markdown_cell(c) for c in _cells(row)]
            if row.verdict == REGRESSION:
                cells[-1] = f"**{cells[-1]}**"
            lines.append("| " + " | ".join(cells) + " |")
        lines += ["", f"- {_markdown_cell(process_line(comparison, outcome.measured.workers_per_env))}"]
        lines += [*(f"- {_markdown_cell(_refusal(r))}" for r in comparison.refused), ""]
    lines += [f"- {_markdown_cell(line)}" for line in _footer(outcome) if line]
    return "\n".join(lines) + "\n"


def document(outcome: Outcome, *, settings: dict, exit_code: int) -> dict:
    """The JSON form: settings, environments and their workers, every worker's prepare answers and raw
    step times (``times[label][case][worker][round]``), the comparisons.

    NaN (a row without an interval) becomes ``null``: the file is strict JSON.
    """
    measured = outcome.measured
    return _json_safe(
        {
            "schema": SCHEMA,
            "settings": settings,
            "environments": [
                e.as_dict() | {"worker": measured.workers.get(e.label, {})} for e in measured.environments
            ],
            "cases": measured.cases,
            "workers_per_env": measured.workers_per_env,
            "launch_order": measured.launch_order,
            "matrix": measured.matrix,
            "rounds": measured.rounds,
            "round_s": measured.round_s,
            "interleave": measured.interleave,
            "stop_reason": measured.stop_reason,
            "prepare_s": measured.prepare_s,
            "total_s": outcome.total_s,
            "prepared": measured.prepared,
            "times": measured.times,
            "comparisons": [c.as_dict() for c in outcome.comparisons],
            "self_test": None if outcome.self_test is None else outcome.self_test.as_dict(),
            "exit_code": exit_code,
        }
    )


def _json_safe(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def _spaced(ticks: list[float], gap: float) -> list[float]:
    """``ticks`` thinned so that neighbours are at least ``gap`` apart on the log scale, 1 always kept."""
    kept = [1.0] if 1.0 in ticks else []
    for tick in sorted(ticks, key=lambda t: abs(math.log(t))):
        if all(abs(math.log(tick) - math.log(k)) >= gap for k in kept):
            kept.append(tick)
    return sorted(kept)


def ratio_figure(comparison: Comparison, threshold: float) -> Figure:
    """Each row's ratio with its interval (horizontal bars), log scale, 1 and the threshold marked; with
    several workers per environment, each worker's geometric mean step time over A's (A's workers
    circles just above the row, B's crosses just below)."""
    rows = [r for r in [*comparison.aggregates, *comparison.rows] if not math.isnan(r.estimate.low)]
    figure = Figure(figsize=(9.0, 1.2 + INCHES_PER_ROW * max(len(rows), 1)), dpi=DPI, layout="constrained")
    ax = figure.subplots()
    for y, row in enumerate(rows):
        e = row.estimate
        color = _VERDICT_COLORS.get(row.verdict, "#1f4e79")
        ax.errorbar(
            e.ratio,
            y,
            xerr=[[e.ratio - e.low], [e.high - e.ratio]],
            fmt="o" if row.cases == 1 else "D",
            color=color,
            markersize=4,
            capsize=2,
        )
        a_workers, b_workers = row.workers_s
        if len(a_workers) > 1:
            center = math.exp(sum(math.log(t) for t in a_workers) / len(a_workers))
            for times, offset, marker in ((a_workers, -0.28, "o"), (b_workers, 0.28, "x")):
                ax.plot(
                    [t / center for t in times],
                    [y + offset] * len(times),
                    marker,
                    color="#444444",
                    markerfacecolor="none",
                    markersize=3.5,
                    linestyle="none",
                )
    ax.axvline(1.0, color="black", linewidth=1)
    for bound in (1 + threshold, 1 / (1 + threshold)):
        ax.axvline(bound, color="grey", linewidth=0.8, linestyle="--")
    ax.set_xscale("log")
    low, high = ax.get_xlim()
    ticks = _spaced([t for t in _RATIO_TICKS if low <= t <= high], (math.log(high) - math.log(low)) / 14)
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FormatStrFormatter("%g"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_yticks(range(len(rows)), [r.name for r in rows], fontsize="small")
    ax.invert_yaxis()
    ax.set_xlabel(f"step time {comparison.candidate} / {comparison.baseline} (log scale; above 1: slower)")
    ax.grid(True, axis="x", which="both", alpha=0.3)
    return figure


def _span(values: list[float]) -> str:
    if not values:
        return "-"
    low, high = f"{min(values):.3g}", f"{max(values):.3g}"
    return low if low == high else f"{low}-{high}"


def check_rows(measured: Measurements) -> list[dict]:
    """One row per environment and case: its check (in the environment's first worker), the size every
    worker timed, and the range of the workers' first calls (compilation plus one step)."""
    rows = []
    for label in measured.labels:
        names = measured.worker_names(label)
        for case in measured.cases:
            answers = [measured.prepared.get(name, {}).get(case, {}) for name in names]
            refusal = measured.refusal(label, case)
            first = [
                a["first_call_s"] for a in answers if a.get("passed") and a.get("first_call_s") is not None
            ]
            size = answers[0] if answers[0].get("sized") else {}
            rows.append(
                {
                    "environment": label,
                    "case": case,
                    "check": "passed" if refusal is None else f"refused: {refusal['reason']}",
                    "checked_in": names[0],
                    "steps": size.get("steps", "-"),
                    "calls": size.get("calls", "-"),
                    "first_call": _span(first),
                }
            )
    return rows


def render_html(outcome: Outcome) -> str:
    """The self-contained page (figures embedded as PNG data URIs)."""
    measured = outcome.measured
    sections = [
        {
            "title": f"{c.candidate} against {c.baseline}",
            "summary": summary(c, outcome.threshold, outcome.alpha),
            "process": process_line(c, measured.workers_per_env),
            "figure": to_data_uri(ratio_figure(c, outcome.threshold)),
            "header": _header(c),
            "rows": [{"cells": _cells(r), "verdict": r.verdict} for r in [*c.aggregates, *c.rows]],
            "refused": c.refused,
        }
        for c in outcome.comparisons
    ]
    return (
        templates()
        .get_template("ab.html.j2")
        .render(
            sections=sections,
            run_lines=_run_lines(measured, outcome.total_s),
            legend=_legend(measured, outcome.alpha, outcome.power),
            self_test=None if outcome.self_test is None else _self_test_lines(outcome.self_test),
            checks=check_rows(measured),
        )
    )
