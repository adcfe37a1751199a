"""Every fault class against every result-file command: one line on stderr, exit 2, previous outputs intact.

Each command writes into a folder ``out`` that already holds its previous outputs; after the fault
the folder's bytes (every file, hidden ones included) must be those from before. The file-system
faults run in this process on a small tmpfs (``tests.common.faults``); the interruptions run each
command as a child process (all at once) that pauses at a point of its publication
(``TFSUITE_TEST_PAUSE``) and gets SIGINT or SIGKILL there. A SIGKILL leaves the staging folder (no process can clean up after
it): the visible files are intact, and ``recover`` (which the next run calls) restores the exact
bytes.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from benchmarks.results import compare, gate, history, report
from benchmarks.results.cli import EXIT_BAD_INPUT
from reference.files import STAGING_PREFIX, recover
from tests.common.faults import Paused, folder_bytes, one_error_line, tmpfs
from tests.common.synthetic_runs import result_document, write_result

SMALL = {"batches": (32,), "modes": ("eager", "function")}  # the cheapest file every command accepts
SAVED_RUNS = ("20260101T000000Z_nogit_main.json", "20260102T000000Z_nogit_main.json")


@dataclass(frozen=True)
class Command:
    """How to run one command against input files in ``inputs`` and its output folder ``out``."""

    prog: str
    main: Callable
    arguments: Callable[[Path, Path], list[str]]
    previous: tuple[str, ...]  # the files it wrote before, in ``out``
    several: bool  # publishes more than one file (a SIGKILL can land between two renames)

    def module(self) -> str:
        return self.main.__module__


COMMANDS = {
    "report": Command(
        "tfbench-report",
        report.main,
        lambda inputs, out: [str(inputs / "a.json"), "-o", str(out / "report.html")],
        ("report.html", "index.html"),
        several=True,
    ),
    "gate": Command(
        "tfbench-gate",
        gate.main,
        lambda inputs, out: [
            *(str(inputs / name) for name in ("a.json", "b.json")),
            *("--markdown", str(out / "gate.md"), "--json", str(out / "gate.json"), "--noise-runs", "0"),
        ],
        ("gate.md", "gate.json", "index.html"),
        several=True,
    ),
    "compare": Command(
        "tfbench-compare",
        compare.main,
        lambda inputs, out: [str(inputs / "a.json"), str(inputs / "b.json"), "-o", str(out / "compare.html")],
        ("compare.html", "compare.csv", "compare.json", "index.html"),
        several=True,
    ),
    "history-save": Command(
        "tfbench-history",
        history.main,
        lambda inputs, out: ["--history-dir", str(out), "save", str(inputs / "a.json"), "--name", "new"],
        SAVED_RUNS,
        several=False,
    ),
    "history-prune": Command(
        "tfbench-history",
        history.main,
        lambda inputs, out: ["--history-dir", str(out), "prune", "--keep", "1"],
        (*SAVED_RUNS, "20260103T000000Z_nogit_main.json"),
        several=True,
    ),
}
# Where a folder stands in for the output file, the output's parent is a file: per command.
FOLDER_IN_THE_WAY = {
    "report": "report.html",
    "gate": "gate.json",
    "compare": "index.html",
    "history-save": "20260101T120000Z_0123456_main_new.json",
    "history-prune": SAVED_RUNS[0],
}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    """Two small result files, ``a.json`` and ``b.json``, outside any output folder."""
    folder = tmp_path_factory.mktemp("inputs")
    for seed, name in enumerate(("a.json", "b.json")):
        write_result(folder / name, result_document(seed=seed, **SMALL))
    return folder


def _previous(command: Command) -> Callable[[Path], None]:
    def write(out: Path) -> None:
        for name in command.previous:
            (out / name).write_text(f"previous {name}")

    return write


def _run_here(command: Command, inputs: Path, out: Path, capsys) -> tuple[int, str]:
    code = command.main(command.arguments(inputs, out))
    return code, capsys.readouterr().err


def _child(command: Command, inputs: Path, out: Path) -> list[str]:
    script = f"import sys; from {command.module()} import main; sys.exit(main())"
    return [sys.executable, "-c", script, *command.arguments(inputs, out)]


def _visible(folder: Path) -> dict[str, str]:
    return {k: v for k, v in folder_bytes(folder).items() if not k.startswith(STAGING_PREFIX)}


@pytest.mark.parametrize("name", COMMANDS)
def test_a_read_only_output_folder_is_one_line_exit_2_and_nothing_changes(tmp_path, inputs, capsys, name):
    command = COMMANDS[name]
    with tmpfs(tmp_path / "out", read_only=True, prepare=_previous(command)) as out:
        before = folder_bytes(out)
        code, err = _run_here(command, inputs, out, capsys)
        assert (code, folder_bytes(out)) == (EXIT_BAD_INPUT, before)
    assert one_error_line(err, command.prog) and "Read-only file system" in err


@pytest.mark.parametrize("name", [n for n in COMMANDS if n != "history-prune"])
def test_a_full_disk_is_one_line_exit_2_naming_the_output_and_the_previous_files_stay(
    tmp_path, inputs, capsys, name
):
    command = COMMANDS[name]
    with tmpfs(tmp_path / "out", full=True, prepare=_previous(command)) as out:
        before = folder_bytes(out)
        code, err = _run_here(command, inputs, out, capsys)
        assert (code, folder_bytes(out)) == (EXIT_BAD_INPUT, before)
    assert one_error_line(err, command.prog) and f"{out}/" in err and "No space left on device" in err


def test_prune_on_a_full_disk_removes_nothing_and_says_so_in_one_line(tmp_path, inputs, capsys):
    """Pruning writes only its manifest: on a disk without one free page it stops before any removal."""
    command = COMMANDS["history-prune"]
    with tmpfs(tmp_path / "out", full=True, prepare=_previous(command)) as out:
        before = folder_bytes(out)
        code, err = _run_here(command, inputs, out, capsys)
        assert (code, folder_bytes(out)) == (EXIT_BAD_INPUT, before)
    assert one_error_line(err, command.prog) and "No space left on device" in err


@pytest.mark.parametrize("name", COMMANDS)
def test_an_output_that_is_a_folder_is_one_line_exit_2_naming_it(tmp_path, inputs, capsys, name):
    command = COMMANDS[name]
    out = tmp_path / "out"
    out.mkdir()
    _previous(command)(out)
    (out / FOLDER_IN_THE_WAY[name]).unlink(missing_ok=True)
    (out / FOLDER_IN_THE_WAY[name]).mkdir()
    before = folder_bytes(out)
    code, err = _run_here(command, inputs, out, capsys)
    assert (code, folder_bytes(out)) == (EXIT_BAD_INPUT, before)
    assert one_error_line(err, command.prog) and f"{out / FOLDER_IN_THE_WAY[name]}: is a folder" in err


@pytest.mark.parametrize("name", COMMANDS)
def test_an_output_folder_under_a_regular_file_is_one_line_exit_2_naming_the_file(
    tmp_path, inputs, capsys, name
):
    command = COMMANDS[name]
    (tmp_path / "file").write_text("x")
    code, err = _run_here(command, inputs, tmp_path / "file" / "out", capsys)
    assert code == EXIT_BAD_INPUT and (tmp_path / "file").read_text() == "x"
    assert one_error_line(err, command.prog) and str(tmp_path / "file") in err


# An output named like an input: each command refuses it (exit 2, one line) and the input stays.
OUTPUT_IS_INPUT = {
    "report-default-output": ("report", lambda f: [str(f / "run.html")], "run.html"),
    "report-output": ("report", lambda f: [str(f / "a.json"), "-o", str(f / "a.json")], "a.json"),
    "gate-json": ("gate", lambda f: [str(f / "a.json"), str(f / "b.json"), "--json", str(f / "b.json")], "b.json"),
    "gate-markdown": ("gate", lambda f: [str(f / "a.json"), str(f / "b.json"), "--markdown", str(f / "a.json")], "a.json"),
    "compare-output": ("compare", lambda f: [str(f / "run.html"), str(f / "b.json"), "-o", str(f / "run.html")], "run.html"),
    "compare-json": ("compare", lambda f: [str(f / "a.json"), str(f / "b.json"), "-o", str(f / "b.html")], "b.json"),
    "compare-index": ("compare", lambda f: [str(f / "index.html"), str(f / "b.json"), "-o", str(f / "c.html")], "index.html"),
}  # fmt: skip


@pytest.mark.parametrize(("name", "argv", "kept"), OUTPUT_IS_INPUT.values(), ids=OUTPUT_IS_INPUT.keys())
def test_an_output_that_is_an_input_is_refused_and_the_input_kept(tmp_path, inputs, capsys, name, argv, kept):
    for source, target in (
        ("a.json", "a.json"),
        ("b.json", "b.json"),
        ("a.json", "run.html"),
        ("a.json", "index.html"),
    ):
        (tmp_path / target).write_bytes((inputs / source).read_bytes())
    before = folder_bytes(tmp_path)
    assert COMMANDS[name].main(argv(tmp_path)) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert one_error_line(err, COMMANDS[name].prog) and "would replace an input" in err
    assert folder_bytes(tmp_path) == before and str(tmp_path / kept) in err


WRONG_TYPES = {
    "batch-size-a-string": (lambda d: d["benchmarks"][1]["extra_info"].__setitem__("batch_size", "big"),
                            "benchmarks[1].extra_info.batch_size: expected an integer >= 1 or null, got 'big' (case basic/b32/eager/CPU:0)"),
    "machine-info-a-string": (lambda d: d.__setitem__("machine_info", "box"),
                              "machine_info: expected an object or null, got 'box'"),
    "environment-a-list": (lambda d: d["machine_info"].__setitem__("environment", [1]),
                           "machine_info.environment: expected an object or null, got a list"),
}  # fmt: skip


@pytest.mark.parametrize(("change", "message"), WRONG_TYPES.values(), ids=WRONG_TYPES.keys())
@pytest.mark.parametrize("name", [n for n in COMMANDS if n != "history-prune"])  # prune reads no file
def test_a_result_file_with_a_field_of_the_wrong_type_is_one_line_naming_file_and_field(
    tmp_path, inputs, capsys, name, change, message
):
    document = result_document(**SMALL)
    change(document)
    write_result(tmp_path / "a.json", document)
    (tmp_path / "b.json").write_bytes((inputs / "b.json").read_bytes())
    code, err = _run_here(COMMANDS[name], tmp_path, tmp_path / "out", capsys)
    assert code == EXIT_BAD_INPUT and not (tmp_path / "out").exists()
    assert err == f"{COMMANDS[name].prog}: error: {tmp_path / 'a.json'}: {message}\n"


INTERRUPTIONS = [
    *((name, "staged", sent) for name in COMMANDS for sent in (signal.SIGINT, signal.SIGKILL)),
    *((name, "publishing", signal.SIGKILL) for name, command in COMMANDS.items() if command.several),
]


@pytest.fixture(scope="module")
def interrupted(inputs, tmp_path_factory) -> dict:
    """Every command of ``INTERRUPTIONS`` started at once in a child process over its previous outputs,
    then sent its signal at its point. ``(name, point, signal)`` -> (folder, bytes before, finished)."""
    started = {}
    for name, point, sent in INTERRUPTIONS:
        folder = tmp_path_factory.mktemp(f"{name}-{point}-{sent.name}")
        out = folder / "out"
        out.mkdir()
        _previous(COMMANDS[name])(out)
        command = _child(COMMANDS[name], inputs, out)
        started[name, point, sent] = (out, folder_bytes(out), Paused(command, point, folder / "ready"))
    return {key: (out, before, paused.signal(key[2])) for key, (out, before, paused) in started.items()}


@pytest.mark.parametrize("name", COMMANDS)
def test_sigint_while_writing_is_one_line_exit_2_and_nothing_changes(interrupted, name):
    out, before, done = interrupted[name, "staged", signal.SIGINT]
    assert (done.returncode, folder_bytes(out)) == (EXIT_BAD_INPUT, before)
    assert done.stderr == f"{COMMANDS[name].prog}: error: interrupted by SIGINT\n"


@pytest.mark.parametrize("name", COMMANDS)
def test_sigkill_while_writing_leaves_the_previous_files_and_recover_removes_the_staging_folder(
    interrupted, name
):
    out, before, done = interrupted[name, "staged", signal.SIGKILL]
    assert done.returncode == -signal.SIGKILL and _visible(out) == before
    recover(out)
    assert folder_bytes(out) == before


@pytest.mark.parametrize("name", [name for name, command in COMMANDS.items() if command.several])
def test_sigkill_between_two_renames_is_undone_by_recover_to_the_exact_previous_bytes(interrupted, name):
    out, before, done = interrupted[name, "publishing", signal.SIGKILL]
    assert done.returncode == -signal.SIGKILL and _visible(out) != before  # the documented window
    recover(out)
    assert folder_bytes(out) == before
