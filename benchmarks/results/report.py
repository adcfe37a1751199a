"""The HTML report of a benchmark run: one self-contained file (figures embedded, no URL).

    tfbench-report reports/benchmarks.json -o reports/benchmarks.html

A missing, empty or corrupt input, a field of the wrong type, an output that is the input (say
``tfbench-report run.html``, whose default output is the input itself) or an output that cannot be
written prints one line naming the problem and exits with 2 (``benchmarks.results.cli``); the page
and its folder's ``index.html`` are published together or not at all (``reference.files``), so a
failed run leaves the previous page byte-identical. The environment table shows
``machine_info.environment`` (``reference.environment``) and the CPU as pytest-benchmark recorded it
(``machine_info.cpu``: brand, architecture, count, clock). Jinja2 autoescapes every string that reaches the page.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import jinja2

from benchmarks.results import figures
from benchmarks.results.analysis import (
    Answer,
    EpochAnswer,
    Speedup,
    answers,
    bootstrap_speedup,
    epoch_answers,
    findings,
    goal,
    scaling,
    speedups,
)
from benchmarks.results.cases import EPOCH_WAYS, batch_label, mode_rank
from benchmarks.results.cli import EXIT_OK, Parser, command
from benchmarks.results.schema import CaseResult, RunResults, load_results
from reference.environment import describe_environment
from reference.files import published_together
from reference.reproduction.index import INDEX_NAME, render_index

__all__ = [
    "PACKAGE_TEMPLATES",
    "answer_rows",
    "cpu_rows",
    "environment_rows",
    "epoch_rows",
    "ladder_tables",
    "main",
    "render_report",
    "require_templates",
    "templates",
    "write_report",
]

# Every template the commands and the benchmark plugin render, by package (package data of the wheel).
PACKAGE_TEMPLATES = {
    "benchmarks.results": ("report.html.j2", "compare.html.j2", "ab.html.j2", "base.css"),
    "reference.reproduction": ("index.html.j2", "reproduction.html.j2"),
}


def _fmt(value: float | None, spec: str = ".3g", scale: float = 1.0) -> str:
    return "-" if value is None else format(value * scale, spec)


def require_templates() -> None:
    """Raise ``ValueError`` naming the first template missing from the installed packages (an install
    that lost its package data), before any work that would end by rendering it."""
    for package, names in PACKAGE_TEMPLATES.items():
        folder = resources.files(package) / "templates"
        for name in names:
            if not folder.joinpath(name).is_file():
                raise ValueError(
                    f"template {package.replace('.', '/')}/templates/{name} is missing from the installed "
                    "package (its package data was not installed): reinstall tf-training-suite"
                )


def templates() -> jinja2.Environment:
    """The HTML templates of the report and the comparison (autoescaped, strict about missing names)."""
    require_templates()
    return jinja2.Environment(
        loader=jinja2.PackageLoader("benchmarks.results", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )


def cpu_rows(machine_info: dict) -> list[tuple[str, str]]:
    """The CPU as pytest-benchmark records it (``machine_info.cpu``, from py-cpuinfo): brand,
    architecture, logical CPU count, advertised and actual clock; rows it lacks are left out."""
    cpu = machine_info.get("cpu") or {}
    fields = (
        ("cpu brand", "brand_raw"),
        ("cpu arch", "arch"),
        ("cpu count", "count"),
        ("cpu clock (advertised)", "hz_advertised_friendly"),
        ("cpu clock (actual)", "hz_actual_friendly"),
    )
    return [(name, str(cpu[key])) for name, key in fields if cpu.get(key) is not None]


def environment_rows(results: RunResults) -> list[tuple[str, str]]:
    """The run's environment (``reference.environment``), the CPU as pytest-benchmark saw it (``cpu_rows``),
    commit, node, date, setting and duration, as text."""
    rows = list(describe_environment(results.machine_info.get("environment") or {}).items())
    rows += [(f"{name} (pytest-benchmark)", value) for name, value in cpu_rows(results.machine_info)]
    commit = results.commit_info or {}
    if commit.get("id"):
        rows.append(
            ("commit (pytest-benchmark)", f"{commit.get('id')}{' (dirty)' if commit.get('dirty') else ''}")
        )
    rows.append(("node", str(results.machine_info.get("node", "-"))))
    rows.append(("run date", results.datetime or "-"))
    settings = results.meta.get("settings") or {}
    rows.append(("setting", str(settings.get("name", "-"))))
    if results.meta.get("duration_s") is not None:
        rows.append(("session duration", f"{results.meta['duration_s']:.0f} s"))
    return rows


def _case_row(case: CaseResult, speedup: Speedup | None) -> dict:
    check = case.check or {}
    return {
        "case": case.case,
        "workload": case.workload,
        "mode": case.mode,
        "batch": batch_label(case.batch_size),
        "device": case.device_label,
        "steps_per_round": case.steps_per_round,
        "rounds": case.samples.size,
        "median_us": _fmt(case.median_s, ".1f", 1e6),
        "iqr_us": _fmt(case.iqr_s, ".1f", 1e6),
        "steps_per_s": _fmt(case.steps_per_s, ",.0f"),
        "samples_per_s": _fmt(case.samples_per_s, ",.0f"),
        "speedup": "-" if speedup is None else f"{speedup.ratio:.2f} [{speedup.low:.2f}, {speedup.high:.2f}]",
        "gflops": _fmt(case.flops_per_s, ".3g", 1e-9),
        "efficiency": _fmt(case.efficiency, ".2%"),
        "trace_s": _fmt(case.trace_s, ".2f"),
        "first_call_s": _fmt(case.first_call_s, ".2f"),
        "check": "-"
        if not check
        else f"loss {check.get('loss_rel_err', 0):.1e}, update {check.get('update_rel_err', 0):.1e}",
        "precision": case.dtype_policy,
    }


def _speedup_text(speedup: Speedup | None, spec: str = ".2f") -> str:
    if speedup is None:
        return "-"
    return f"{speedup.ratio:{spec}}x [{speedup.low:{spec}}, {speedup.high:{spec}}]"


def _answer_row(answer: Answer) -> dict:
    best, bound, mixed = answer.best, answer.bound, answer.mixed
    return {
        "workload": best.workload,
        "batch": batch_label(best.batch_size),
        "device": best.device_label,
        "way": best.mode,
        "median_us": _fmt(best.median_s, ".1f", 1e6),
        "over_eager": _speedup_text(answer.over_eager, ".1f"),
        "over_fit": _speedup_text(answer.over_fit),
        "first_call_s": _fmt(best.first_call_s, ".2f"),
        "bound": "-" if bound is None else f"{bound.mode} {bound.median_s * 1e6:.1f}",
        "mixed": "-" if mixed is None else f"{mixed.mode} {mixed.median_s * 1e6:.1f}",
        "mixed_policy": "-" if mixed is None else mixed.dtype_policy,
        "mixed_over_twin": _speedup_text(answer.mixed_over_twin),
    }


def answer_rows(results: RunResults) -> list[dict]:
    """The report's opening table: per workload, batch size and device, the fastest correct way."""
    return [_answer_row(a) for a in answers(results)]


def _epoch_answer_row(answer: EpochAnswer) -> dict:
    best = answer.best
    return {
        "dataset": best.workload,
        "batch": batch_label(best.batch_size),
        "device": best.device_label,
        "callbacks": "on" if best.callbacks else "off",
        "way": best.mode,
        "epoch_s": _fmt(best.median_s, ".3f"),
        "over_eager": _speedup_text(answer.over_eager),
        "over_fit": _speedup_text(answer.over_fit),
        "first_call_s": _fmt(best.first_call_s, ".2f"),
    }


def epoch_rows(results: RunResults) -> list[dict]:
    """Every epoch case: seconds per epoch, against the eager loop and ``fit`` of the same data set and callbacks."""
    index = {(c.device, c.workload, bool(c.callbacks), c.mode): c for c in results.epochs}
    rows = []
    for case in sorted(
        results.epochs,
        key=lambda c: (c.device, c.workload != "basic", c.workload, bool(c.callbacks), _way_rank(c.mode)),
    ):
        peers = {
            way: index.get((case.device, case.workload, bool(case.callbacks), way))
            for way in ("eager", "fit")
        }
        rows.append(
            {
                "dataset": case.workload,
                "batch": batch_label(case.batch_size),
                "device": case.device_label,
                "callbacks": "on" if case.callbacks else "off",
                "way": case.mode,
                "epochs_per_round": case.steps_per_round,
                "rounds": case.samples.size,
                "epoch_s": _fmt(case.median_s, ".4f"),
                "iqr_s": _fmt(case.iqr_s, ".4f"),
                "samples_per_s": _fmt(case.samples_per_s, ",.0f"),
                "over_eager": _peer_speedup(peers["eager"], case),
                "over_fit": _peer_speedup(peers["fit"], case),
                "first_call_s": _fmt(case.first_call_s, ".2f"),
                "check": _fmt((case.check or {}).get("update_rel_err"), ".1e"),
            }
        )
    return rows


def _way_rank(way: str) -> int:
    return EPOCH_WAYS.index(way) if way in EPOCH_WAYS else len(EPOCH_WAYS)


def _peer_speedup(peer: CaseResult | None, case: CaseResult) -> str:
    if peer is None or peer is case:
        return "-"
    return _speedup_text(bootstrap_speedup(peer.samples, case.samples))


def ladder_tables(results: RunResults, found: dict[str, Speedup]) -> list[dict]:
    """Per device and workload: one row per mode, one column per batch size (us/step and speedup over eager)."""
    tables = []
    for device in results.devices():
        for workload in results.workloads():
            cases = [c for c in results.training if c.device == device and c.workload == workload]
            if not cases:
                continue
            batches = sorted({c.batch_size for c in cases}, key=lambda b: -1 if b is None else b)
            index = {(c.mode, c.batch_size): c for c in cases}
            rows = []
            for mode in sorted({c.mode for c in cases}, key=mode_rank):
                cells = []
                for batch in batches:
                    case = index.get((mode, batch))
                    speedup = found.get(case.case) if case is not None else None
                    cells.append(
                        "-"
                        if case is None
                        else f"{case.median_s * 1e6:.1f} ({speedup.ratio:.1f}x)"
                        if speedup is not None
                        else f"{case.median_s * 1e6:.1f}"
                    )
                rows.append({"mode": mode, "cells": cells})
            tables.append(
                {
                    "device": cases[0].device_label,
                    "workload": workload,
                    "batches": [batch_label(b) for b in batches],
                    "rows": rows,
                }
            )
    return tables


def _sorted(cases: list[CaseResult]) -> list[CaseResult]:
    return sorted(
        cases,
        key=lambda c: (c.device, c.workload, -1 if c.batch_size is None else c.batch_size, mode_rank(c.mode)),
    )


def _device_sections(results: RunResults, found: dict[str, Speedup]) -> list[dict]:
    sections = []
    for device in results.devices():
        cases = [c for c in results.training if c.device == device]
        if not cases:
            continue
        made = {
            "throughput": figures.grouped_bars(results, device, lambda c: c.steps_per_s, "steps / s"),
            "speedup": figures.speedup_bars(results, device, found),
            "scaling": figures.scaling_lines(results, device),
            "compile": figures.grouped_bars(
                results, device, lambda c: c.first_call_s, "first call (s)", log=False
            ),
            "efficiency": figures.grouped_bars(
                results,
                device,
                lambda c: None if c.efficiency is None else 100 * c.efficiency,
                "% of matmul peak",
                with_batches_only=True,
            ),
        }
        sections.append(
            {
                "device": device,
                "label": cases[0].device_label,
                "figures": {k: figures.to_data_uri(f) for k, f in made.items()},
            }
        )
    return sections


def _scaling_section(results: RunResults) -> dict | None:
    items = scaling(results)
    if not items:
        return None
    items.sort(key=lambda i: (i.case.workload, i.case.batch_size, i.case.replicas, i.case.strategy))
    rows = [
        {
            "workload": i.case.workload,
            "batch": batch_label(i.case.batch_size),
            "strategy": i.case.strategy,
            "replicas": i.case.replicas,
            "per_replica_batch": (i.case.batch_size or 0) // i.case.replicas,
            "median_us": _fmt(i.case.median_s, ".1f", 1e6),
            "samples_per_s": _fmt(i.case.samples_per_s, ",.0f"),
            "per_replica": _fmt(i.per_replica_samples_per_s, ",.0f"),
            "speedup": f"{i.speedup:.2f}",
            "efficiency": f"{i.efficiency:.0%}",
            "check": _fmt((i.case.check or {}).get("update_rel_err"), ".1e"),
        }
        for i in items
    ]
    return {"figure": figures.to_data_uri(figures.distributed_scaling(items)), "rows": rows}


def _epoch_section(results: RunResults) -> dict | None:
    if not results.epochs:
        return None
    return {
        "answers": [_epoch_answer_row(a) for a in epoch_answers(results)],
        "rows": epoch_rows(results),
        "figure": figures.to_data_uri(figures.epoch_bars(results)),
    }


def render_report(results: RunResults) -> str:
    """The report's HTML text."""
    found = speedups(results)
    return (
        templates()
        .get_template("report.html.j2")
        .render(
            answers=answer_rows(results),
            goals=goal(results),
            epochs=_epoch_section(results),
            ladders=ladder_tables(results, found),
            environment_rows=environment_rows(results),
            findings=findings(results),
            calibration_rows=[_case_row(c, None) for c in _sorted(results.calibration)],
            calibration_peaks=results.meta.get("calibration") or {},
            device_sections=_device_sections(results, found),
            rows=[_case_row(c, found.get(c.case)) for c in _sorted(results.training)],
            scaling=_scaling_section(results),
            profiles=[(c.case, c.profile) for c in _sorted(results.cases) if c.profile],
        )
    )


def write_report(json_path: str | Path, html_path: str | Path) -> Path:
    """Read ``json_path``, publish the report as ``html_path`` with its folder's ``index.html`` (both or
    neither); return ``html_path``.

    Raises:
        ResultInputError: the input is missing, empty, corrupt or not a result of this suite.
        SameFileError: ``html_path`` or the index is ``json_path`` (also through a link).
        OSError: ``html_path`` cannot be written (named in the error).
    """
    results = load_results(json_path)
    html_path = Path(html_path)
    index = html_path.parent / INDEX_NAME
    with published_together(inputs=[json_path]) as outputs:
        outputs.file(html_path)
        outputs.file(index)
        outputs.write_text(html_path, render_report(results))
        outputs.write_text(index, render_index(html_path.parent, publishing=[html_path.name]))
    return html_path


@command("tfbench-report")
def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``tfbench-report RESULT.json [-o REPORT.html]``; exit 2 on bad input."""
    parser = Parser(prog="tfbench-report", description="Render a benchmark result JSON as HTML.")
    parser.add_argument("json", type=Path, help="pytest-benchmark JSON written by `pytest --benchmark-only`")
    parser.add_argument(
        "-o", "--output", type=Path, default=None, help="HTML path (default: JSON path with .html)"
    )
    args = parser.parse_args(argv)
    write_report(args.json, args.output or args.json.with_suffix(".html"))
    return EXIT_OK
