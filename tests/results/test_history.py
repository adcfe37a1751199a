"""The run history: file names, saving, references (path, name, last, last:BRANCH, ~N), pruning."""

from __future__ import annotations

import re

import pytest

from benchmarks.results.cli import EXIT_BAD_INPUT
from benchmarks.results.history import (
    check_name,
    main,
    prune,
    read_run,
    resolve,
    runs_up_to,
    save_run,
    saved_runs,
)
from benchmarks.results.schema import ResultInputError
from tests.common.synthetic_runs import result_document, write_result

SHA = "89abcdef0123456789abcdef0123456789abcdef"
# Oldest first: (UTC time, branch, name).
RUNS = [
    ("2026-01-01T10:00:00+00:00", "main", None),
    ("2026-01-02T10:00:00+00:00", "main", "laptop"),
    ("2026-01-03T10:00:00+00:00", "feature/fast-xla", None),
    ("2026-01-04T10:00:00+00:00", "main", "laptop"),
    ("2026-01-05T10:00:00+00:00", "feature/fast-xla", "gpu_box"),
]


@pytest.fixture
def history(tmp_path):
    """Five saved runs; returns (history folder, saved paths oldest first)."""
    folder = tmp_path / "history"
    saved = []
    for index, (when, branch, name) in enumerate(RUNS):
        source = write_result(
            tmp_path / f"run{index}.json", result_document(when=when, branch=branch, commit=SHA)
        )
        saved.append(save_run(source, name=name, history_dir=folder))
    return folder, saved


def _index(folder) -> str:
    return (folder.parent / "index.html").read_text(encoding="utf-8")


def test_saving_into_a_reports_folders_history_refreshes_its_index(history):
    folder, saved = history
    assert f"Saved runs: {len(RUNS)} in" in _index(folder)
    assert f'href="history/{saved[-1].name}"' in _index(folder)


def test_pruning_refreshes_the_index_with_the_runs_left(history):
    folder, saved = history
    prune(2, folder)
    assert "Saved runs: 2 in" in _index(folder) and f'href="history/{saved[-1].name}"' in _index(folder)


def test_a_history_folder_of_another_name_writes_no_index(tmp_path):
    source = write_result(tmp_path / "r.json", result_document())
    save_run(source, history_dir=tmp_path / "runs")
    assert not (tmp_path / "index.html").exists()


def test_saved_file_name_is_utc_time_short_sha_branch_slug_and_name(tmp_path):
    source = write_result(
        tmp_path / "r.json",
        result_document(when="2026-03-04T05:06:07+02:00", branch="feature/x y", commit=SHA),
    )
    saved = save_run(source, name="laptop", history_dir=tmp_path / "h")
    assert saved.name == "20260304T030607Z_89abcde_feature-x-y_laptop.json"
    assert saved.read_bytes() == source.read_bytes()


def test_a_run_outside_git_and_without_a_branch_is_saved_as_nogit_nobranch(tmp_path):
    source = write_result(tmp_path / "r.json", result_document(commit="unversioned", branch=""))
    assert re.fullmatch(
        r"\d{8}T\d{6}Z_nogit_nobranch\.json", save_run(source, history_dir=tmp_path / "h").name
    )


@pytest.mark.parametrize(
    ("reference", "index"),
    [
        ("last", 4),
        ("last~1", 3),
        ("last:main", 3),
        ("last:main~2", 0),
        ("last:feature/fast-xla", 4),
        ("laptop", 3),
        ("laptop~1", 1),
        ("gpu_box", 4),
    ],
)
def test_reference_names_the_newest_matching_saved_run(history, reference, index):
    folder, saved = history
    assert resolve(reference, folder) == saved[index]


def test_an_existing_path_is_its_own_reference(history, tmp_path):
    folder, _ = history
    assert resolve(str(tmp_path / "run2.json"), folder) == tmp_path / "run2.json"


@pytest.mark.parametrize("reference", ["last~5", "last:release", "desktop", "missing/file.json", ""])
def test_a_reference_that_matches_nothing_raises_one_clear_error(history, reference):
    folder, _ = history
    with pytest.raises(ResultInputError, match=r"no saved run matches|no such file|is not a file"):
        resolve(reference, folder)


def test_saved_runs_are_listed_newest_first_and_stray_files_are_ignored(history):
    folder, saved = history
    (folder / "notes.json").write_text("{}")
    assert [r.path for r in saved_runs(folder)] == saved[::-1]


def test_saving_the_same_run_under_the_same_name_twice_keeps_one_file(history, tmp_path):
    folder, saved = history
    again = save_run(tmp_path / "run1.json", name="laptop", history_dir=folder)
    assert again == saved[1] and len(saved_runs(folder)) == len(RUNS)


def test_a_different_run_with_the_same_file_name_is_refused(history, tmp_path):
    folder, _ = history
    other = write_result(tmp_path / "other.json", result_document(when=RUNS[0][0], commit=SHA, seed=9))
    with pytest.raises(ResultInputError, match="already saved"):
        save_run(other, history_dir=folder)


def test_an_invalid_result_file_is_never_saved(tmp_path):
    bad = write_result(tmp_path / "bad.json", {**result_document(), "tfbench": {"schema": 2}})
    with pytest.raises(ResultInputError, match="schema"):
        save_run(bad, history_dir=tmp_path / "h")
    assert not (tmp_path / "h").exists()


@pytest.mark.parametrize("name", ["last", "a/b", "", "-x", "run.json", "x y", 3])
def test_invalid_names_are_refused_naming_the_argument(name):
    with pytest.raises(ValueError, match=r"Argument `name`.*Received: name="):
        check_name(name)


def test_prune_keeps_the_newest_runs(history):
    folder, saved = history
    assert prune(2, folder) == saved[2::-1]
    assert [r.path for r in saved_runs(folder)] == saved[:2:-1]


def test_cases_differing_only_in_strategy_are_distinct_benchmarks(tmp_path):
    document = result_document(modes=("eager",), batches=(32,), calibration=False)
    twin = {
        **document["benchmarks"][0],
        "extra_info": {**document["benchmarks"][0]["extra_info"], "strategy": "mirrored"},
    }
    document["benchmarks"].append(twin)
    run = read_run(write_result(tmp_path / "r.json", document))
    assert set(run.benchmarks) == {"basic/b32/eager/CPU:0", "basic/b32/eager/CPU:0[mirrored]"}


def test_command_resolves_lists_and_reports_bad_references_with_exit_2(history, capsys):
    folder, saved = history
    assert main(["--history-dir", str(folder), "resolve", "last:main"]) == 0
    assert capsys.readouterr().out.strip() == str(saved[3])
    assert main(["--history-dir", str(folder), "list"]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in listing[1:]] == [p.name for p in saved[::-1]]
    assert main(["--history-dir", str(folder), "resolve", "desktop"]) == EXIT_BAD_INPUT
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "desktop" in error


def test_runs_up_to_the_baseline_come_oldest_first_and_skip_the_current_run(tmp_path):
    folder = tmp_path / "history"
    saved = []
    for index, when in enumerate(
        ["2026-01-01T12:00:00+00:00", "2026-01-02T12:00:00+00:00", "2026-01-03T12:00:00+00:00"]
    ):
        source = write_result(tmp_path / f"r{index}.json", result_document(seed=index, when=when))
        saved.append(save_run(source, name=f"r{index}", history_dir=folder))
    chosen = runs_up_to(saved[1], folder, 5, exclude=saved[2])
    assert [run.path.name for run in chosen] == [saved[0].name, saved[1].name]
    assert runs_up_to(saved[2], folder, 1) == []
    assert runs_up_to(tmp_path / "r0.json", folder, 5) == []
