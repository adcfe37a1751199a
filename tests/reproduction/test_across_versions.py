"""``tfrepro-versions``: the reproduction across versions, from files written by the real report writer.

Each run is a ``RunResult`` whose claims are decided by ``ledger.evaluate`` for its releases and whose
defects come from ``defects.result``, written by ``report.write_report``: what ``tfrepro`` writes, without
training. The command runs in this process (``main(argv)``), with one stderr line and exit 2 on bad input.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from packaging.version import Version

from reference.files import published_together
from reference.reproduction.across_rows import READABLE_SCHEMAS, load_reproduction
from reference.reproduction.across_versions import HTML_NAME, JSON_NAME, MARKDOWN_NAME, main
from reference.reproduction.defects import result
from reference.reproduction.ledger import (
    AFTER_FIX,
    DIFFERS,
    REPRODUCED,
    CheckClaim,
    Claim,
    evaluate,
)
from reference.reproduction.report import SCHEMA, plan_report, write_report
from reference.reproduction.results import SectionResult
from reference.reproduction.runner import RunResult
from reference.reproduction.scale import QUICK
from reference.reproduction.version_limits import VersionLimit
from tests.common.faults import folder_bytes, one_error_line

PROG = "tfrepro-versions"
ROOT = Path(__file__).resolve().parents[2]
TEXT = {"source": "内置回调函数", "quote": "引用", "method": "m", "tests": ()}
TAGS = VersionLimit(package="keras", since="3.14", reason="the 3 layers' histogram tags collide")
# A claim that needs Keras 3.14 (its numbers: tags written per seed), and one that holds everywhere.
HISTOGRAMS = CheckClaim(
    id="C6",
    section="callbacks",
    translation="TensorBoard logs weight histograms every epoch.",
    **TEXT,
    check=lambda n: n["tags"] == 6,
    describe=lambda n: f"{n['tags']} tags",
    needs=("D8",),
    version_limits=(TAGS,),
)
CSV_ROWS = Claim(
    id="C8",
    section="callbacks",
    translation="CSVLogger writes one row per epoch.",
    **TEXT,
    holds=lambda n: True,
    evidence=lambda n: "rows = epochs",
)
FLOOR, MIDDLE, NEWEST = ("2.16.1", "3.8.0"), ("2.16.1", "3.10.0"), ("2.21.0", "3.15.1")


def _run(tensorflow: str, keras: str, *, claims=(HISTOGRAMS, CSV_ROWS)) -> RunResult:
    """A quick run on these releases: tags collide before Keras 3.14, D8 is present from TensorFlow 2.21."""
    installed = {"tensorflow": tensorflow, "keras": keras}
    tags = 6 if Version(keras) >= Version("3.14") else 2
    numbers = {"seeds": [42, 43], "per_seed": [{"tags": tags}, {"tags": tags}]}
    d8 = result(
        id="D8",
        document="TBNotInstalledError",
        fixed="event files",
        present=tensorflow == "2.21.0",
        fix_verified=True,
    )
    decided = [evaluate(c, numbers, {"D8": d8}, installed=installed) for c in claims]
    environment = {
        "tensorflow": tensorflow,
        "keras": keras,
        "python": "3.11.7",
        "numpy": "2.0.0",
        "date": "2026-01-01 00:00 UTC",
        "seeds": "42, 43",
        "scale_settings": {"name": "quick"},
    }
    return RunResult(QUICK, [SectionResult("callbacks", defects=[d8])], decided, [d8], environment, 1.0)


def _write(folder: Path, run: RunResult) -> Path:
    with published_together() as outputs:
        paths = plan_report(outputs, folder)
        write_report(run, paths, outputs)
    return paths["json"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[tuple[str, str], Path]:
    """``reproduction.json`` of the floor, Keras 3.10 and the newest releases, by (TensorFlow, Keras)."""
    folder = tmp_path_factory.mktemp("runs")
    return {pair: _write(folder / "-".join(pair), _run(*pair)) for pair in (FLOOR, MIDDLE, NEWEST)}


@pytest.fixture(scope="module")
def page(runs, tmp_path_factory) -> tuple[Path, dict, str, str]:
    """The page of the three runs, given out of order: its folder, JSON, Markdown and HTML."""
    out = tmp_path_factory.mktemp("page")
    assert main([str(runs[NEWEST]), str(runs[FLOOR]), str(runs[MIDDLE]), "--out-dir", str(out)]) == 0
    read = lambda name: (out / name).read_text(encoding="utf-8")  # noqa: E731
    return out, json.loads(read(JSON_NAME)), read(MARKDOWN_NAME), read(HTML_NAME)


def _cells(document: dict, table: str, key: str) -> dict:
    return next(row for row in document[table] if row["id"] == key)


def test_the_synthetic_runs_are_files_the_real_writer_wrote_with_the_verdicts_of_their_releases(runs):
    floor = json.loads(runs[FLOOR].read_text(encoding="utf-8"))
    newest = json.loads(runs[NEWEST].read_text(encoding="utf-8"))
    assert floor["schema"] == newest["schema"] == SCHEMA and SCHEMA in READABLE_SCHEMAS
    assert (floor["claims"][0]["verdict"], newest["claims"][0]["verdict"]) == (DIFFERS, AFTER_FIX)


def test_the_columns_are_ordered_by_tensorflow_then_keras_release_not_by_argument_or_text(page):
    _, document, _, _ = page
    columns = [(e["tensorflow"], e["keras"]) for e in document["environments"]]
    assert columns == [FLOOR, MIDDLE, NEWEST]  # Keras 3.8.0 before 3.10.0
    assert document["environments"][0]["label"] == "TF 2.16.1 · Keras 3.8.0"


def test_a_claim_whose_verdict_changes_with_the_version_is_marked_and_a_steady_one_is_not(page):
    _, document, markdown, html = page
    histograms = _cells(document, "claims", "C6")
    assert histograms["differs"] and [c["verdict"] for c in histograms["cells"]] == [
        DIFFERS,
        DIFFERS,
        AFTER_FIX,
    ]
    assert histograms["cells"][0]["label"] == (
        "differs on Keras 3.8.0: the 3 layers' histogram tags collide before 3.14"
    )
    assert histograms["cells"][1]["agree"] == "held on 0 of 2 seeds"
    steady = _cells(document, "claims", "C8")
    assert not steady["differs"] and {c["verdict"] for c in steady["cells"]} == {REPRODUCED}
    assert '<tr id="claim-C6" class="differs">' in html and '<tr id="claim-C8" class="same">' in html
    assert "| C6 | **differs** |" in markdown and "| C8 |  |" in markdown


def test_a_defect_present_only_on_tensorflow_2_21_reads_so_at_a_glance(page):
    _, document, markdown, html = page
    d8 = _cells(document, "defects", "D8")
    assert d8["differs"] and [c["present"] for c in d8["cells"]] == [False, False, True]
    assert all(c["fix_verified"] for c in d8["cells"])
    assert "<b>present, fix verified</b> on TF 2.21.0 · Keras 3.15.1" in html
    absent, present = "absent, fix verified", "present, fix verified"
    assert f"| D8 | **differs** | {absent} | {absent} | {present} |" in markdown.splitlines()


def test_a_claim_a_run_skipped_shows_not_run_and_is_no_difference(runs, tmp_path):
    partial = _write(tmp_path / "partial", _run("2.20.0", "3.15.1", claims=(HISTOGRAMS,)))
    assert main([str(runs[NEWEST]), str(partial), "--out-dir", str(tmp_path / "out")]) == 0
    document = json.loads((tmp_path / "out" / JSON_NAME).read_text(encoding="utf-8"))
    steady = _cells(document, "claims", "C8")
    assert steady["cells"][0] is None and not steady["differs"]
    assert "not run" in (tmp_path / "out" / HTML_NAME).read_text(encoding="utf-8")


def test_the_page_loads_nothing_from_outside_and_the_index_links_it(page):
    out, _, _, html = page
    assert "<script" not in html and "url(" not in html and "http" not in html
    assert f'href="{HTML_NAME}"' in (out / "index.html").read_text(encoding="utf-8")


def test_a_reproduction_file_of_schema_2_is_read(runs, tmp_path):
    document = json.loads(runs[NEWEST].read_text(encoding="utf-8"))
    document["schema"] = 2  # what schema 3 added (module docstring of report.py) removed
    for claim in document["claims"]:
        for key in ("version_limits", "outcome", "differs_on"):
            del claim[key]
    older = tmp_path / "old.json"
    older.write_text(json.dumps(document), encoding="utf-8")
    environment = load_reproduction(older)
    assert environment.schema == 2 and list(environment.claims) == ["C6", "C8"]


# --- bad input: exit 2, one line naming the file, nothing written -----------------------------------


def _edited(source: Path, target: Path, edit) -> Path:
    document = json.loads(source.read_text(encoding="utf-8"))
    edit(document)
    target.write_text(json.dumps(document), encoding="utf-8")
    return target


BAD_FILES = {
    "unknown-schema": (lambda d: d.update(schema=99), "schema 99"),
    "no-schema": (lambda d: d.pop("schema"), "no schema field"),
    "no-versions": (lambda d: d.pop("versions"), "no version information"),
    "no-keras-version": (lambda d: d["versions"].pop("keras"), "versions.keras: missing"),
    "not-a-release": (lambda d: d["versions"].update(tensorflow="nightly"), "is not a release number"),
    "verdict-unknown": (lambda d: d["claims"][0].update(verdict="maybe"), "claims[0].verdict"),
    "claim-twice": (lambda d: d["claims"].append(d["claims"][0]), "claim C6 appears twice"),
}


@pytest.fixture
def previous(tmp_path) -> Path:
    """An output folder holding a previous page."""
    out = tmp_path / "out"
    out.mkdir()
    for name in (HTML_NAME, MARKDOWN_NAME, JSON_NAME, "index.html"):
        (out / name).write_text(f"previous {name}")
    return out


def _refused(capsys, argv: list[str], out: Path, before: dict, *named: str) -> str:
    assert main([*argv, "--out-dir", str(out)]) == 2
    stderr = capsys.readouterr().err
    assert one_error_line(stderr, PROG) and all(name in stderr for name in named), stderr
    assert folder_bytes(out) == before
    return stderr


@pytest.mark.parametrize("case", BAD_FILES, ids=list(BAD_FILES))
def test_a_bad_reproduction_file_exits_2_with_one_line_naming_it_and_writes_nothing(
    capsys, runs, tmp_path, previous, case
):
    edit, said = BAD_FILES[case]
    bad = _edited(runs[FLOOR], tmp_path / f"{case}.json", edit)
    _refused(capsys, [str(runs[NEWEST]), str(bad)], previous, folder_bytes(previous), str(bad), said)


@pytest.mark.parametrize(
    ("name", "content", "said"),
    [("missing.json", None, "no such file"), ("text.json", "not json", "not valid JSON")],
    ids=["missing", "not-json"],
)
def test_a_missing_or_unreadable_file_exits_2_naming_it(
    capsys, runs, tmp_path, previous, name, content, said
):
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    _refused(capsys, [str(path), str(runs[NEWEST])], previous, folder_bytes(previous), str(path), said)


def test_two_files_of_the_same_versions_exit_2_naming_the_second(capsys, runs, tmp_path, previous):
    again = _write(tmp_path / "again", _run(*FLOOR))
    argv = [str(runs[FLOOR]), str(runs[NEWEST]), str(again)]
    stderr = _refused(
        capsys, argv, previous, folder_bytes(previous), str(again), "TensorFlow 2.16.1 with Keras 3.8.0"
    )
    assert stderr.index(str(again)) < stderr.index(str(runs[FLOOR]))


def test_one_file_is_not_a_comparison(capsys, runs, previous):
    _refused(capsys, [str(runs[NEWEST])], previous, folder_bytes(previous), "at least 2")


def test_an_output_that_is_an_input_exits_2_and_the_input_is_unchanged(capsys, runs, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    inside = out / JSON_NAME
    inside.write_bytes(runs[FLOOR].read_bytes())
    _refused(capsys, [str(inside), str(runs[NEWEST])], out, folder_bytes(out), str(inside), "input")


# --- the version matrix builds the page ---------------------------------------------------------------


class _Session:
    def error(self, message: str):
        raise AssertionError(message)


def test_nox_matrix_builds_the_page_from_the_environments_reproduction_files(
    runs, tmp_path, monkeypatch, capsys
):
    spec = importlib.util.spec_from_file_location("tfsuite_noxfile", ROOT / "noxfile.py")
    noxfile = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(noxfile)
    monkeypatch.setattr(noxfile, "RESULTS", tmp_path)
    for name, pair in (("floor", FLOOR), ("newest", NEWEST)):
        copy = tmp_path / f"{name}.reproduction.json"
        copy.write_bytes(runs[pair].read_bytes())
        measured = {
            "name": name,
            "tensorflow": pair[0],
            "keras": pair[1],
            "pytest": {},
            "reproduction": noxfile._reproduction_summary(copy),
            "seconds": {"install": 1, "pytest": 1, "reproduction": 1},
        }
        (tmp_path / f"{name}.json").write_text(json.dumps(measured), encoding="utf-8")
    noxfile.matrix.func(_Session())
    printed = capsys.readouterr().out
    assert f"{tmp_path / HTML_NAME}\n" in printed and "1 differs on this version (C6)" in printed
    columns = json.loads((tmp_path / JSON_NAME).read_text(encoding="utf-8"))["environments"]
    assert [(e["tensorflow"], e["keras"]) for e in columns] == [FLOOR, NEWEST]
