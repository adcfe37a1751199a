"""The reproduction command against every fault class: one line ``tfrepro: error: ...``, exit 2, the
previous report byte-identical.

The cheapest run that writes every kind of output is ``--sections losses --quick`` (three figures,
the JSON, the HTML, the index). The file-system faults and SIGINT run in this process (TensorFlow
is loaded once for the folder; the SIGINT is a real signal, sent when the publication pauses at a
known point, ``TFSUITE_TEST_PAUSE``); SIGKILL needs a child process, started at the end of collection (``conftest.py``) and killed
between two renames.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from reference.files import STAGING_PREFIX, recover
from reference.reproduction import cli
from tests.common.faults import folder_bytes, one_error_line, sigint_when_paused, tmpfs
from tests.reproduction.conftest import CHEAP
from tests.reproduction.conftest import previous_report as _previous


def _run_here(out: Path, capsys) -> tuple[int, str]:
    code = cli.main([*CHEAP, "--out-dir", str(out)])
    return code, capsys.readouterr().err


def test_a_read_only_output_folder_is_one_line_exit_2_and_nothing_changes(tmp_path, capsys):
    with tmpfs(tmp_path / "out", read_only=True, prepare=_previous) as out:
        before = folder_bytes(out)
        code, err = _run_here(out, capsys)
        assert (code, folder_bytes(out)) == (cli.EXIT_USAGE, before)
    assert one_error_line(err, "tfrepro") and "Read-only file system" in err


def test_a_full_disk_is_one_line_exit_2_naming_a_figure_and_the_previous_report_stays(tmp_path, capsys):
    with tmpfs(tmp_path / "out", full=True, prepare=_previous) as out:
        before = folder_bytes(out)
        code, err = _run_here(out, capsys)
        assert (code, folder_bytes(out)) == (cli.EXIT_USAGE, before)
    assert one_error_line(err, "tfrepro") and f"{out}/reproduction/" in err and "No space left" in err


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("reproduction.json", "is a folder"),
        ("reproduction.html", "is a folder"),
        ("index.html", "is a folder"),
        ("reproduction", "is a file"),
    ],
)
def test_an_output_of_the_wrong_kind_is_refused_naming_it_and_nothing_changes(tmp_path, capsys, name, kind):
    out = tmp_path / "out"
    out.mkdir()
    _previous(out)
    target = out / name
    if target.is_dir():
        (target / "old.png").unlink()
        target.rmdir()
        target.write_text("a file where the figures go")
    else:
        target.unlink()
        target.mkdir()
    before = folder_bytes(out)
    code, err = _run_here(out, capsys)
    assert (code, folder_bytes(out)) == (cli.EXIT_USAGE, before)
    assert one_error_line(err, "tfrepro") and f"{target}: {kind}" in err


def test_sigint_while_writing_is_one_line_exit_2_and_nothing_changes(tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    _previous(out)
    before = folder_bytes(out)
    with sigint_when_paused("staged", tmp_path / "ready", monkeypatch):
        code, err = _run_here(out, capsys)
    assert (code, folder_bytes(out)) == (cli.EXIT_USAGE, before)
    assert err == "tfrepro: error: interrupted by SIGINT\n"


def test_sigkill_between_two_renames_is_undone_by_recover_to_the_exact_previous_bytes(killed_reproduction):
    out, before, done = killed_reproduction.out, killed_reproduction.before, killed_reproduction.kill()
    assert done.returncode == -signal.SIGKILL
    assert any(name.startswith(STAGING_PREFIX) for name in folder_bytes(out))
    recover(out)
    assert folder_bytes(out) == before
