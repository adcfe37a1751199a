"""Outputs published all or nothing (``reference.files``): staged, renamed together, undone on failure.

The killed-process cases run a tiny publisher in a child process (no TensorFlow) that pauses at a
point of its publication (``TFSUITE_TEST_PAUSE``) and is killed there.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

import reference.files as files
from reference import _publication
from reference.files import STAGING_PREFIX, Outputs, SameFileError, published_together, recover
from tests.common.faults import folder_bytes, run_paused, tmpfs

PREVIOUS, NEW = "previous", "new"
# Publishes a.txt and b.txt with the text given last into each folder given before it.
PUBLISHER = """
import sys
from reference.files import published_together
*folders, text = sys.argv[1:]
with published_together() as outputs:
    for folder in folders:
        outputs.write_text(f"{folder}/a.txt", text)
        outputs.write_text(f"{folder}/b.txt", text)
"""


def _previous(folder):
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("a.txt", "b.txt"):
        (folder / name).write_text(PREVIOUS)
    return folder_bytes(folder)


def _publish(*folders, text=NEW):
    with published_together() as outputs:
        for folder in folders:
            outputs.write_text(folder / "a.txt", text)
            outputs.write_text(folder / "b.txt", text)


def _killed_publisher(tmp_path, point, *folders):
    return run_paused(
        [sys.executable, "-c", PUBLISHER, *map(str, folders), NEW], point, signal.SIGKILL, tmp_path / "ready"
    )


def _stagings(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(STAGING_PREFIX))


def test_every_file_is_published_and_no_staging_folder_is_left(tmp_path):
    _previous(tmp_path / "out")
    _publish(tmp_path / "out")
    assert {p.name: p.read_text() for p in (tmp_path / "out").iterdir()} == {"a.txt": NEW, "b.txt": NEW}


def test_an_error_while_staging_leaves_the_previous_files_byte_identical(tmp_path):
    before = _previous(tmp_path / "out")
    with pytest.raises(RuntimeError), published_together() as outputs:
        outputs.write_text(tmp_path / "out" / "a.txt", NEW)
        raise RuntimeError("the command failed after writing one file")
    assert folder_bytes(tmp_path / "out") == before


def test_folders_created_for_an_output_that_is_not_published_are_removed(tmp_path):
    with pytest.raises(RuntimeError), published_together() as outputs:
        outputs.write_text(tmp_path / "new" / "deeper" / "a.txt", NEW)
        raise RuntimeError
    assert list(tmp_path.iterdir()) == []


def _failing_second_rename(monkeypatch, error):
    applied = []
    apply = _publication.apply

    def failing(entry, existed):
        if applied:
            raise error
        applied.append(entry)
        apply(entry, existed)

    monkeypatch.setattr(_publication, "apply", failing)


def test_a_rename_that_fails_mid_publication_puts_the_previous_files_back_and_names_the_output(
    tmp_path, monkeypatch
):
    before = _previous(tmp_path / "out")
    destination = tmp_path / "out" / "b.txt"
    _failing_second_rename(monkeypatch, OSError(5, "Input/output error", str(destination)))
    with pytest.raises(OSError, match="Input/output error") as raised:
        _publish(tmp_path / "out")
    assert raised.value.filename == str(destination)
    assert folder_bytes(tmp_path / "out") == before


def test_a_keyboard_interrupt_mid_publication_puts_the_previous_files_back(tmp_path, monkeypatch):
    before = _previous(tmp_path / "out")
    _failing_second_rename(monkeypatch, KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        _publish(tmp_path / "out")
    assert folder_bytes(tmp_path / "out") == before


def test_a_publication_killed_midway_shows_a_mix_until_recover_puts_the_previous_files_back(tmp_path):
    out = tmp_path / "out"
    before = _previous(out)
    _killed_publisher(tmp_path, "publishing", out)
    assert (out / "a.txt").read_text() == NEW and (out / "b.txt").read_text() == PREVIOUS
    assert len(recover(out)) == 1
    assert folder_bytes(out) == before


def test_staging_into_a_folder_first_undoes_a_publication_killed_there(tmp_path):
    out = tmp_path / "out"
    before = _previous(out)
    _killed_publisher(tmp_path, "publishing", out)
    outputs = Outputs()
    outputs.file(out / "other.txt")  # stages into the folder, then publishes nothing
    outputs.discard()
    assert folder_bytes(out) == before


def test_a_publication_over_two_folders_killed_midway_is_undone_from_either_folder(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    before = _previous(first) | {f"2/{k}": v for k, v in _previous(second).items()}
    _killed_publisher(tmp_path, "publishing", first, second)
    recover(second)
    after = folder_bytes(first) | {f"2/{k}": v for k, v in folder_bytes(second).items()}
    assert after == before


def test_a_staging_folder_left_by_a_killed_process_is_removed_by_the_next_publication(tmp_path):
    out = tmp_path / "out"
    _previous(out)
    _killed_publisher(tmp_path, "staged", out)
    assert len(_stagings(out)) == 1
    _publish(out)
    assert _stagings(out) == [] and (out / "a.txt").read_text() == NEW


def test_the_staging_folder_of_a_live_process_is_left_alone(tmp_path):
    out = tmp_path / "out"
    _previous(out)
    ready = tmp_path / "ready"
    process = subprocess.Popen(
        [sys.executable, "-c", PUBLISHER, str(out), NEW],
        env={**os.environ, files.PAUSE_ENV: f"staged:{ready}"},
    )
    try:
        while not ready.exists():
            assert process.poll() is None
        assert recover(out) == [] and len(_stagings(out)) == 1
    finally:
        process.kill()
        process.wait()


def test_a_folder_output_replaces_the_previous_folder_as_a_whole(tmp_path):
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "old.png").write_text(PREVIOUS)
    with published_together() as outputs:
        outputs.folder(tmp_path / "figures")
        outputs.write_bytes(tmp_path / "figures" / "new.png", b"png")
    assert [p.name for p in (tmp_path / "figures").iterdir()] == ["new.png"]


def test_a_removal_happens_on_publication_and_is_undone_with_it(tmp_path, monkeypatch):
    before = _previous(tmp_path)
    _failing_second_rename(monkeypatch, OSError(5, "Input/output error"))
    with pytest.raises(OSError), published_together() as outputs:
        outputs.remove(tmp_path / "a.txt")
        outputs.remove(tmp_path / "b.txt")
    assert folder_bytes(tmp_path) == before
    monkeypatch.undo()
    with published_together() as outputs:
        outputs.remove(tmp_path / "a.txt")
    assert [p.name for p in tmp_path.iterdir()] == ["b.txt"]


def _hard_link(tmp_path):
    os.link(tmp_path / "input.json", tmp_path / "link.html")
    return tmp_path / "link.html"


def _symbolic_link(tmp_path):
    (tmp_path / "link.html").symlink_to(tmp_path / "input.json")
    return tmp_path / "link.html"


SAME_FILE = {
    "the-input": lambda tmp_path: tmp_path / "input.json",
    "the-input-through-dot-dot": lambda tmp_path: tmp_path / "sub" / ".." / "input.json",
    "a-symbolic-link-to-the-input": _symbolic_link,
    "a-hard-link-of-the-input": _hard_link,
}


@pytest.mark.parametrize("output", SAME_FILE.values(), ids=SAME_FILE.keys())
def test_an_output_that_is_an_input_is_refused_and_the_input_kept(tmp_path, output):
    (tmp_path / "sub").mkdir()
    (tmp_path / "input.json").write_text(PREVIOUS)
    with (
        pytest.raises(SameFileError, match="would replace an input"),
        published_together(inputs=[tmp_path / "input.json"]) as outputs,
    ):
        outputs.write_text(output(tmp_path), NEW)
    assert (tmp_path / "input.json").read_text() == PREVIOUS


def test_a_folder_output_holding_an_input_is_refused(tmp_path):
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "input.json").write_text(PREVIOUS)
    with (
        pytest.raises(SameFileError),
        published_together(inputs=[tmp_path / "figures" / "input.json"]) as out,
    ):
        out.folder(tmp_path / "figures")


def test_two_outputs_that_are_one_file_are_refused(tmp_path):
    with pytest.raises(SameFileError, match="named twice"), published_together() as outputs:
        outputs.file(tmp_path / "gate.md")
        outputs.folder(tmp_path / "." / "gate.md")


def test_a_file_output_that_is_a_folder_is_refused_naming_it(tmp_path):
    (tmp_path / "report.html").mkdir()
    with pytest.raises(IsADirectoryError) as raised, published_together() as outputs:
        outputs.write_text(tmp_path / "report.html", NEW)
    assert raised.value.filename == str(tmp_path / "report.html")
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_a_folder_output_that_is_a_file_is_refused_naming_it(tmp_path):
    (tmp_path / "figures").write_text(PREVIOUS)
    with pytest.raises(NotADirectoryError) as raised, published_together() as outputs:
        outputs.folder(tmp_path / "figures")
    assert raised.value.filename == str(tmp_path / "figures")


def test_an_output_under_a_regular_file_is_refused_naming_that_file(tmp_path):
    (tmp_path / "file").write_text(PREVIOUS)
    with pytest.raises(NotADirectoryError) as raised, published_together() as outputs:
        outputs.write_text(tmp_path / "file" / "reports" / "a.txt", NEW)
    assert raised.value.filename == str(tmp_path / "file")


def test_a_read_only_folder_is_refused_naming_it_and_left_as_it_was(tmp_path):
    with tmpfs(tmp_path / "mnt", read_only=True, prepare=_previous) as out:
        before = folder_bytes(out)
        with pytest.raises(OSError, match="Read-only") as raised:
            _publish(out)
        assert raised.value.filename == str(out) and folder_bytes(out) == before


def test_a_full_disk_fails_naming_the_output_and_leaves_the_previous_files(tmp_path):
    with tmpfs(tmp_path / "mnt", full=True, prepare=_previous) as out:
        before = folder_bytes(out)
        with pytest.raises(OSError, match="No space left") as raised:
            _publish(out, text=NEW * 10_000)
        assert raised.value.filename == str(out / "a.txt") and folder_bytes(out) == before
