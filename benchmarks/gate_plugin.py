"""pytest options of the regression gate and the run history (registered by the root ``conftest.py``).

On a timed run (``--benchmark-only`` or ``--benchmark-enable``), once ``benchmarks.plugin`` has
written ``<report dir>/benchmarks.json``:

- ``--bench-gate=REF``: gate the run against the baseline ``REF`` (a file or a history reference,
  resolved and validated before any test runs, so ``last`` is the previous run). The table is
  printed in the terminal summary and written to ``<report dir>/gate.txt``, ``gate.md`` and
  ``gate.json``; a regression turns the session's exit status into 1, a gate that cannot run
  (no shared benchmark) into 2. ``--bench-gate-metric``, ``--bench-gate-threshold`` and
  ``--bench-gate-alpha`` set the rule (``benchmarks.results.gate``); ``--bench-gate-missing=skip`` runs
  without a gate when ``REF`` names nothing yet (the first CI run).
- Every timed run is saved to the history (``<report dir>/history`` or ``--bench-history-dir``),
  under ``--bench-history-name=NAME`` if given; ``--bench-no-history`` turns this off.

Bad options stop the session with a usage error before any test runs: a threshold, alpha or
``--bench-gate-noise-runs`` out of range (``reference.validation``), a bad name, a history folder
that is a file, or a baseline that is one of the files the session writes (``benchmarks.json``,
``benchmarks.html``, ``index.html``, ``gate.*``: no output may be an input). The three gate files
and the report folder's ``index.html`` (which links them) are published together
(``reference.files``); one that cannot be written is a line in the summary and exit status 2, as is
a gate that cannot run. Saving to the history refreshes the index too (``save_run``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from benchmarks.plugin import is_timed, report_dir

if TYPE_CHECKING:
    from benchmarks.results.history import Run

__all__ = ["GateState"]

_STATE = pytest.StashKey["GateState"]()


@dataclass
class GateState:
    """What the session decided at configure time and found at the end."""

    report_dir: Path
    history_dir: Path
    result_before: int | None = None
    baseline: Run | None = None
    lines: tuple[str, ...] = ()

    @property
    def result(self) -> Path:
        return self.report_dir / "benchmarks.json"

    def outputs(self) -> tuple[Path, ...]:
        """Every file the session writes in the report folder."""
        names = ("benchmarks.json", "benchmarks.html", "index.html", *_GATE_FILES)
        return tuple(self.report_dir / name for name in names)


_GATE_FILES = ("gate.txt", "gate.md", "gate.json")


def pytest_addoption(parser):
    from benchmarks.results.gate import DEFAULT_ALPHA, DEFAULT_METRICS, DEFAULT_THRESHOLD

    group = parser.getgroup("tfbench-gate", "benchmark regression gate and history")
    group.addoption(
        "--bench-gate", default=None, metavar="REF", help="gate the timed run against this baseline"
    )
    group.addoption(
        "--bench-gate-metric",
        default=",".join(DEFAULT_METRICS),
        metavar="LIST",
        help="speedup, normalized, raw, comma-separated, or all (default: %(default)s)",
    )
    group.addoption(
        "--bench-gate-threshold",
        type=float,
        default=DEFAULT_THRESHOLD,
        metavar="FRACTION",
        help="smallest change that can fail (default: %(default)s)",
    )
    group.addoption(
        "--bench-gate-alpha",
        type=float,
        default=DEFAULT_ALPHA,
        metavar="P",
        help="significance level (default: %(default)s)",
    )
    group.addoption(
        "--bench-gate-missing",
        choices=("error", "skip"),
        default="error",
        help="when REF names no saved run: stop with a usage error, or run without a gate (default: error)",
    )
    group.addoption(
        "--bench-history-name",
        default=None,
        metavar="NAME",
        help="name of the timed run in our history (not pytest-benchmark's --benchmark-save storage)",
    )
    group.addoption(
        "--bench-gate-noise-runs",
        type=int,
        default=5,
        metavar="N",
        help="saved runs up to the baseline whose run-to-run drift sets the noise floors "
        "(0 or 1: threshold only; default 5)",
    )
    group.addoption(
        "--bench-no-history", action="store_true", default=False, help="do not save the run to the history"
    )
    group.addoption("--bench-history-dir", default=None, metavar="DIR", help="default: <report dir>/history")


def _baseline(config, history_dir: Path):
    from benchmarks.results.history import NoSavedRunError, load_run
    from benchmarks.results.schema import ResultInputError

    try:
        return load_run(config.getoption("bench_gate"), history_dir)
    except NoSavedRunError as error:
        if config.getoption("bench_gate_missing") == "skip":
            return None
        raise pytest.UsageError(f"--bench-gate: {error}") from error
    except (ResultInputError, ValueError) as error:
        raise pytest.UsageError(f"--bench-gate: {error}") from error


def pytest_configure(config):
    from benchmarks.results.gate import check_gate_arguments, parse_metrics
    from benchmarks.results.history import check_name
    from reference.files import same_file
    from reference.validation import check_path

    folder = report_dir(config)
    history = config.getoption("bench_history_dir", None)
    state = GateState(folder, Path(history) if history else folder / "history")
    state.result_before = _modified_ns(state.result)
    try:
        if config.getoption("bench_history_name", None) is not None:
            check_name(config.getoption("bench_history_name"))
        check_gate_arguments(
            parse_metrics(config.getoption("bench_gate_metric")),
            config.getoption("bench_gate_threshold"),
            config.getoption("bench_gate_alpha"),
            config.getoption("bench_gate_noise_runs"),
        )
        check_path("bench_history_dir", state.history_dir, kind="dir")
    except ValueError as error:
        raise pytest.UsageError(str(error)) from error
    if config.getoption("bench_gate", None) is not None:
        if not is_timed(config):
            raise pytest.UsageError("--bench-gate needs a timed run: add --benchmark-only")
        state.baseline = _baseline(config, state.history_dir)
        if state.baseline is None:
            state.lines = (f"no saved run matches {config.getoption('bench_gate')!r}: gate skipped",)
        elif any(same_file(state.baseline.path, output) for output in state.outputs()):
            raise pytest.UsageError(
                f"--bench-gate: {state.baseline.path} is a file this session replaces; "
                "gate against a saved run (last, a name) or a copy"
            )
    config.stash[_STATE] = state


def _modified_ns(path: Path) -> int | None:
    return path.stat().st_mtime_ns if path.is_file() else None


def _fresh_result(state: GateState) -> Path | None:
    """The result file if this session wrote it (it is replaced whole, so its time stamp changes)."""
    modified = _modified_ns(state.result)
    return state.result if modified is not None and modified != state.result_before else None


def _run_gate(config, state: GateState, result: Path) -> int:
    from benchmarks.results.cli import EXIT_BAD_INPUT, error_line
    from benchmarks.results.gate import (
        format_text,
        gate,
        index_pages,
        parse_metrics,
        write_indexes,
        write_outputs,
    )
    from benchmarks.results.history import read_run, runs_up_to
    from reference.files import published_together

    text_path, markdown, json_path = (state.report_dir / name for name in _GATE_FILES)
    try:
        history = runs_up_to(
            state.baseline.path, state.history_dir, config.getoption("bench_gate_noise_runs"), exclude=result
        )
        outcome = gate(
            state.baseline,
            read_run(result),
            metrics=parse_metrics(config.getoption("bench_gate_metric")),
            threshold=config.getoption("bench_gate_threshold"),
            alpha=config.getoption("bench_gate_alpha"),
            history=history,
        )
        read = [state.baseline.path, result, *(run.path for run in history)]
        with published_together(inputs=read) as outputs:
            write_outputs(outputs, outcome, text=text_path, markdown=markdown, json_path=json_path)
            write_indexes(outputs, index_pages([text_path, markdown, json_path]))
    except (ValueError, OSError, KeyboardInterrupt) as error:
        state.lines += (f"gate could not run: {error_line(error)}",)
        return EXIT_BAD_INPUT
    text = format_text(outcome)
    state.lines += (*text.rstrip("\n").splitlines(), f"gate table: {text_path}")
    return outcome.exit_code


def _save(config, state: GateState, result: Path) -> None:
    from benchmarks.results.cli import error_line
    from benchmarks.results.history import save_run

    try:
        saved = save_run(result, name=config.getoption("bench_history_name"), history_dir=state.history_dir)
    except (ValueError, OSError) as error:
        state.lines += (f"run not saved to the history: {error_line(error)}",)
        return
    state.lines += (f"run saved to the history: {saved}",)


@pytest.hookimpl(wrapper=True)
def pytest_sessionfinish(session, exitstatus):
    """Runs after every plain implementation, so after ``benchmarks.plugin`` wrote the result file."""
    outcome = yield
    config = session.config
    state = config.stash.get(_STATE, None)
    result = _fresh_result(state) if state is not None and is_timed(config) else None
    if result is None:
        if state is not None and state.baseline is not None:
            state.lines += ("gate not run: this session wrote no benchmark result",)
        return outcome
    if state.baseline is not None:
        code = _run_gate(config, state, result)
        if code and session.exitstatus == 0:
            session.exitstatus = code
    if not config.getoption("bench_no_history"):
        _save(config, state, result)
    return outcome


def pytest_terminal_summary(terminalreporter, config):
    state = config.stash.get(_STATE, None)
    if state is None or not state.lines:
        return
    terminalreporter.write_sep("=", "tfbench regression gate and history")
    for line in state.lines:
        terminalreporter.write_line(line)
