"""Saved benchmark runs, and the references that name a run: a path, a saved name, ``last``, ``last:main``.

Every timed run is copied to ``<history>/<UTC time>_<commit>_<branch>[_<name>].json`` (default
``reports/history``), e.g. ``20260101T120000Z_1a2b3c4_main_laptop.json``: ``<commit>`` is the
short git sha (``-dirty`` when the tree had changes, ``nogit`` outside git), ``<branch>`` the
branch with characters other than ``A-Z a-z 0-9 . -`` replaced by ``-``. File names sort in time.

A reference ``REF[~N]`` names one result file (``~N``: the N-th older match, ``~0`` the newest):

- an existing path: that file;
- ``last``: the newest saved run; ``last:BRANCH``: the newest whose ``commit_info.branch`` is
  ``BRANCH``;
- ``NAME``: the newest run saved under ``NAME``.

    tfbench-history list                      # the saved runs, newest first
    tfbench-history save reports/benchmarks.json --name laptop
    tfbench-history resolve last:main         # prints the path
    tfbench-history prune --keep 20

Every file read here is validated (``load_run``): missing, empty, corrupt, a field of the wrong type,
another schema (``tfbench.schema`` absent or not 1) or duplicate benchmark keys raise
``ResultInputError``. ``save`` publishes one file, ``prune`` removes its files all together or not
at all (``reference.files``); a history folder that is a file is refused. When the history folder is
a reports folder's ``history/`` (the default, ``reports/history``), both refresh that folder's
``index.html`` in the same publication: it counts the saved runs and links the newest.
"""

from __future__ import annotations

import errno
import json
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from benchmarks.results.cases import benchmark_key
from benchmarks.results.cli import EXIT_OK, Parser, command
from benchmarks.results.schema import SCHEMA_VERSION, CaseResult, ResultInputError, RunResults, load_results
from reference.files import Outputs, published_together
from reference.reproduction.index import HISTORY_NAME, INDEX_NAME, render_index
from reference.validation import check_int, check_path

__all__ = [
    "HISTORY_DIR",
    "Benchmark",
    "NoSavedRunError",
    "Run",
    "SavedRun",
    "check_name",
    "load_run",
    "main",
    "prune",
    "read_run",
    "resolve",
    "runs_up_to",
    "save_run",
    "saved_runs",
]

HISTORY_DIR = Path("reports") / HISTORY_NAME
STAMP_FORMAT = "%Y%m%dT%H%M%SZ"
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
RESERVED_NAMES = ("last",)
_FILE = re.compile(r"(?P<stamp>\d{8}T\d{6}Z)_(?P<commit>[^_]+)_(?P<branch>[^_]+)(?:_(?P<name>.+))?\.json")
_REFERENCE = re.compile(r"(?P<base>.+?)(?:~(?P<back>\d+))?")
_SHA = re.compile(r"[0-9a-f]{7,40}")


class NoSavedRunError(ResultInputError):
    """A history reference (``last``, ``last:BRANCH``, a name) matches no saved run."""


@dataclass(frozen=True)
class Benchmark:
    """One benchmark of a run: its cross-run ``key`` and the parsed case (``case.strategy`` included)."""

    key: str
    case: CaseResult


@dataclass(frozen=True)
class Run:
    """A validated result file and its benchmarks by key."""

    path: Path
    results: RunResults
    benchmarks: dict[str, Benchmark]

    @property
    def name(self) -> str | None:
        """The name the run was saved under (history file name), else ``None``."""
        parsed = _FILE.fullmatch(self.path.name)
        return parsed["name"] if parsed else None

    def peak_flops(self, device: str) -> float | None:
        """The run's calibration peak (FLOP/s) on ``device``, or ``None`` without a calibration."""
        peak = ((self.results.meta.get("calibration") or {}).get(device) or {}).get("peak_flops")
        if peak is None:
            peak = next(
                (c.peak_flops for c in self.results.cases if c.device == device and c.peak_flops), None
            )
        return float(peak) if peak else None


@dataclass(frozen=True)
class SavedRun:
    """A file of the history folder, described by its name (the content is read only when needed)."""

    path: Path
    stamp: str
    commit: str
    branch_slug: str
    name: str | None

    def branch(self) -> str | None:
        """``commit_info.branch`` as recorded in the file (``None`` when unreadable)."""
        try:
            return json.loads(self.path.read_text(encoding="utf-8")).get("commit_info", {}).get("branch")
        except (OSError, ValueError, AttributeError):
            return None


def read_run(path: str | Path) -> Run:
    """Read and validate one result file.

    Raises:
        ResultInputError: missing, empty, corrupt, another schema, or duplicate benchmark keys.
    """
    path = Path(path)
    results = load_results(path)
    schema = results.meta.get("schema")
    if schema != SCHEMA_VERSION:
        raise ResultInputError(
            f"{path}: result schema {schema!r} is not supported (expected tfbench.schema == {SCHEMA_VERSION})"
        )
    benchmarks: dict[str, Benchmark] = {}
    for case in results.cases:
        key = benchmark_key(case.case, case.strategy)
        if key in benchmarks:
            raise ResultInputError(f"{path}: benchmark {key!r} appears twice")
        benchmarks[key] = Benchmark(key, case)
    return Run(path, results, benchmarks)


def saved_runs(history_dir: str | Path = HISTORY_DIR) -> list[SavedRun]:
    """The history folder's runs, newest first (files not named like a saved run are ignored).

    Raises:
        ValueError: ``history_dir`` is a file.
    """
    folder = _history_folder(history_dir)
    found = []
    for path in folder.glob("*.json") if folder.is_dir() else ():
        parsed = _FILE.fullmatch(path.name)
        if parsed:
            found.append(SavedRun(path, parsed["stamp"], parsed["commit"], parsed["branch"], parsed["name"]))
    return sorted(found, key=lambda r: (r.stamp, r.path.name), reverse=True)


def _history_folder(history_dir: str | Path) -> Path:
    """``history_dir`` as a ``Path``: a folder, or a path where one can be created.

    Raises:
        ValueError: ``history_dir`` is a file.
        NotADirectoryError: a parent of ``history_dir`` is a file (named).
    """
    folder = check_path("history_dir", history_dir, kind="dir")
    blocking = next((p for p in folder.parents if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise NotADirectoryError(errno.ENOTDIR, "is a file, not a folder", str(blocking))
    return folder


def _slug(text: str, empty: str) -> str:
    """``text`` with runs of characters other than ``A-Z a-z 0-9 . -`` replaced by ``-`` (``empty`` if none left)."""
    return re.sub(r"[^A-Za-z0-9.-]+", "-", text).strip("-.") or empty


def _looks_like_path(reference: str) -> bool:
    return "/" in reference or "\\" in reference or reference.endswith(".json")


def _matches(base: str, runs: list[SavedRun]):
    if base == "last":
        yield from runs
    elif base.startswith("last:"):
        branch = base.removeprefix("last:")
        yield from (r for r in runs if r.branch_slug == _slug(branch, "nobranch") and r.branch() == branch)
    else:
        yield from (r for r in runs if r.name == base)


def resolve(reference: str, history_dir: str | Path = HISTORY_DIR) -> Path:
    """The result file that ``reference`` names (see the module docstring).

    Raises:
        ResultInputError: no such file; ``NoSavedRunError`` (a subclass) when no saved run matches.
    """
    if Path(reference).is_file():
        return Path(reference)
    if reference and Path(reference).is_dir():
        raise ResultInputError(f"{reference}: is a folder, not a result file")
    if _looks_like_path(reference) and not reference.startswith("last:"):
        raise ResultInputError(f"{reference}: no such file")
    parsed = _REFERENCE.fullmatch(reference)
    if parsed is None:
        raise ResultInputError(f"{reference!r} is not a file, a saved name, 'last' or 'last:BRANCH'")
    back = int(parsed["back"] or 0)
    runs = saved_runs(history_dir)
    for index, run in enumerate(_matches(parsed["base"], runs)):
        if index == back:
            return run.path
    raise NoSavedRunError(
        f"no saved run matches {reference!r} in {history_dir} (saved runs: {len(runs)}); "
        "see `tfbench-history list`"
    )


def runs_up_to(
    baseline: str | Path,
    history_dir: str | Path = HISTORY_DIR,
    count: int = 5,
    *,
    exclude: str | Path | None = None,
) -> list[Run]:
    """The ``count`` saved runs ending with ``baseline`` (oldest first), for the gate's noise floor.

    Empty when ``count < 2`` or ``baseline`` is not a file of the history folder; ``exclude`` (the
    current run, if it is already saved) is never among them. Unreadable files are skipped.
    """
    if count < 2:
        return []
    paths = [r.path.resolve() for r in saved_runs(history_dir)]
    target = Path(baseline).resolve()
    if target not in paths:
        return []
    skip = Path(exclude).resolve() if exclude is not None else None
    chosen = [p for p in paths[paths.index(target) :] if p != skip][:count]
    runs = []
    for path in reversed(chosen):
        try:
            runs.append(read_run(path))
        except ResultInputError:
            continue
    return runs


def load_run(reference: str | Path, history_dir: str | Path = HISTORY_DIR) -> Run:
    """``read_run(resolve(reference))``."""
    return read_run(resolve(str(reference), history_dir))


def check_name(name: str) -> str:
    """Validate a name to save a run under.

    Raises:
        ValueError: not ``[A-Za-z0-9][A-Za-z0-9._-]*``, a reserved word, or ending in ``.json``.
    """
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name) or name.endswith(".json"):
        raise ValueError(
            "Argument `name` must be letters, digits, '.', '_' or '-' (starting with a letter or digit, "
            f"not ending in .json). Received: name={name!r}"
        )
    if name in RESERVED_NAMES:
        raise ValueError(
            f"Argument `name` must not be one of {list(RESERVED_NAMES)}. Received: name={name!r}"
        )
    return name


def _stamp(results: RunResults) -> str:
    try:
        when = datetime.fromisoformat(results.datetime)
    except ValueError:
        when = datetime.now(timezone.utc)
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc).strftime(STAMP_FORMAT)


def _commit(commit_info: dict) -> str:
    sha = str(commit_info.get("id") or "")
    if not _SHA.fullmatch(sha):
        return "nogit"
    return sha[:7] + ("-dirty" if commit_info.get("dirty") else "")


def _history_file_name(results: RunResults, name: str | None = None) -> str:
    """``<UTC time>_<commit>_<branch>[_<name>].json`` of a run."""
    commit_info = results.commit_info or {}
    parts = [_stamp(results), _commit(commit_info), _slug(str(commit_info.get("branch") or ""), "nobranch")]
    if name is not None:
        parts.append(check_name(name))
    return "_".join(parts) + ".json"


def save_run(source: str | Path, *, name: str | None = None, history_dir: str | Path = HISTORY_DIR) -> Path:
    """Copy the validated result file ``source`` into the history; return the saved path.

    Saving the same run under the same name twice is a no-op.

    Raises:
        ResultInputError: ``source`` is not a valid result file, or a different run has the same file name.
        ValueError: ``name`` is not a valid name (``check_name``).
    """
    if name is not None:
        check_name(name)
    run = read_run(source)
    data = run.path.read_bytes()
    target = _history_folder(history_dir) / _history_file_name(run.results, name)
    if target.is_file():
        if target.read_bytes() == data:
            return target
        raise ResultInputError(f"{target}: a different run is already saved under this file name")
    with published_together(inputs=[source]) as outputs:
        outputs.write_bytes(target, data)
        _refresh_index(outputs, target.parent, publishing=[target.name])
    return target


def prune(keep: int, history_dir: str | Path = HISTORY_DIR) -> list[Path]:
    """Delete all but the ``keep`` newest saved runs, all together or none; return the deleted paths.

    Raises:
        ValueError: ``keep`` is not an integer >= 1.
        OSError: a file cannot be deleted (none is, then).
    """
    check_int("keep", keep, low=1)
    removed = [run.path for run in saved_runs(history_dir)[keep:]]
    with published_together() as outputs:
        for path in removed:
            outputs.remove(path)
        if removed:
            _refresh_index(outputs, Path(history_dir), removing=[path.name for path in removed])
    return removed


def _refresh_index(
    outputs: Outputs, history_dir: Path, *, publishing: Sequence[str] = (), removing: Sequence[str] = ()
) -> None:
    """Stage the reports folder's ``index.html`` when ``history_dir`` is its ``history/`` folder."""
    if history_dir.name != HISTORY_NAME:
        return
    reports = history_dir.parent
    outputs.write_text(
        reports / INDEX_NAME,
        render_index(
            reports,
            publishing=[f"{HISTORY_NAME}/{name}" for name in publishing],
            removing=[f"{HISTORY_NAME}/{name}" for name in removing],
        ),
    )


def _listing(history_dir: Path) -> str:
    rows = [("file", "branch", "name", "setting", "node", "benchmarks")]
    for saved in saved_runs(history_dir):
        try:
            run = read_run(saved.path)
        except ResultInputError as error:
            rows.append((saved.path.name, "-", saved.name or "-", "unreadable", str(error), "-"))
            continue
        rows.append(
            (
                saved.path.name,
                str(run.results.commit_info.get("branch", "-")),
                saved.name or "-",
                str((run.results.meta.get("settings") or {}).get("name", "-")),
                str(run.results.machine_info.get("node", "-")),
                str(len(run.benchmarks)),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows)


def _parser() -> Parser:
    parser = Parser(prog="tfbench-history", description="Saved benchmark runs.")
    parser.add_argument("--history-dir", type=Path, default=HISTORY_DIR, help="default: reports/history")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="the saved runs, newest first")
    save = commands.add_parser("save", help="copy a result file into the history")
    save.add_argument("result", type=Path)
    save.add_argument("--name", default=None)
    resolve_cmd = commands.add_parser("resolve", help="print the path a reference names")
    resolve_cmd.add_argument("reference")
    prune_cmd = commands.add_parser("prune", help="delete all but the newest runs")
    prune_cmd.add_argument("--keep", type=int, required=True)
    return parser


@command("tfbench-history")
def main(argv: Sequence[str] | None = None) -> int:
    """Command line (``tfbench-history``); exit 2 with one line on stderr on bad input."""
    args = _parser().parse_args(argv)
    if args.command == "list":
        output = _listing(args.history_dir)
    elif args.command == "save":
        output = str(save_run(args.result, name=args.name, history_dir=args.history_dir))
    elif args.command == "resolve":
        output = str(resolve(args.reference, args.history_dir))
    else:
        output = "\n".join(f"deleted {p}" for p in prune(args.keep, args.history_dir))
    if output:
        sys.stdout.write(output + "\n")
    return EXIT_OK
