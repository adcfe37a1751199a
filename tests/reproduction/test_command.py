"""The reproduction command end to end at the quick scale: run once, then check its report.

The fixture reads what ``python -m reference.reproduction --quick`` wrote into a temporary folder (a
child process started at the end of collection, see ``conftest.py``): HTML, JSON, PNG files, index.
Bad options and an interrupted run are checked separately, without training.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from reference.reproduction import cli
from reference.reproduction.across_rows import load_reproduction
from reference.reproduction.defects import DEFECTS
from reference.reproduction.intervals import t_quantile
from reference.reproduction.ledger import AFTER_FIX, CONTRADICTED, DETERMINISTIC, DIFFERS, SUPPORTED, VERDICTS
from reference.reproduction.report import SCHEMA
from reference.reproduction.scale import SECTION_NAMES
from reference.reproduction.sections import SECTIONS
from reference.versions import installed_version, keras_at_least, tensorflow_at_least

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MNIST_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def quick_run(quick_run_process):
    """What ``--quick`` wrote: the folder, the exit code, the JSON and the HTML (see ``conftest.py``)."""
    code, output = quick_run_process.wait()
    out = quick_run_process.out
    assert code == cli.EXIT_OK, output[-2000:]
    report = json.loads((out / "reproduction.json").read_text(encoding="utf-8"))
    html = (out / "reproduction.html").read_text(encoding="utf-8")
    return out, code, report, html


def _defect(report: dict, defect_id: str) -> dict:
    return next(d for d in report["defects"] if d["id"] == defect_id)


def test_the_quick_run_exits_0_and_leaves_only_the_report_files(quick_run):
    out, code, _, _ = quick_run
    assert code == cli.EXIT_OK
    expected = ["benchmarks.html", "index.html", "reproduction", "reproduction.html", "reproduction.json"]
    assert sorted(p.name for p in out.iterdir()) == expected


def test_the_report_has_one_section_per_section_of_the_document_in_its_order(quick_run):
    _, _, report, html = quick_run
    assert list(report["sections"]) == list(SECTION_NAMES)
    positions = [html.index(f'<h2 id="{name}">') for name in SECTION_NAMES]
    assert positions == sorted(positions)
    assert all(report["sections"][name]["tables"] for name in SECTION_NAMES)


def test_every_figure_is_a_png_file_embedded_byte_for_byte_in_the_html(quick_run):
    out, _, report, html = quick_run
    listed = [Path(f).name for s in report["sections"].values() for f in s["figures"]]
    files = sorted(p.name for p in (out / "reproduction").iterdir())
    assert sorted(listed) == files and len(files) == len(set(listed)) >= len(SECTION_NAMES)
    embedded = re.findall(r'<img alt="([^"]+)" src="data:image/png;base64,([^"]+)"', html)
    assert sorted(f"{name}.png" for name, _ in embedded) == files
    for name, data in embedded:
        assert base64.b64decode(data) == (out / "reproduction" / f"{name}.png").read_bytes()
        assert base64.b64decode(data).startswith(PNG_SIGNATURE)


def test_every_claim_of_every_section_has_one_of_the_five_verdicts_and_its_figures_exist(quick_run):
    out, _, report, html = quick_run
    expected = [claim.id for name in SECTION_NAMES for claim in SECTIONS[name].CLAIMS]
    assert [c["id"] for c in report["claims"]] == expected
    for claim in report["claims"]:
        assert claim["verdict"] in VERDICTS
        assert bool(claim["fixed_by"]) == (claim["verdict"] == AFTER_FIX)
        differs = claim["verdict"] == DIFFERS
        assert differs == (bool(claim["differs_on"]) and claim["outcome"] != SUPPORTED)
        assert claim["evidence"] and f'id="claim-{claim["id"]}"' in html
        assert all((out / "reproduction" / f"{f}.png").is_file() for f in claim["figures"])
    assert sum(report["counts"].values()) == len(expected)


def test_every_defect_has_a_live_capture_and_a_verified_fix(quick_run):
    _, _, report, html = quick_run
    assert [d["id"] for d in report["defects"]] == list(DEFECTS)
    for defect in report["defects"]:
        assert defect["document"] and defect["fixed"] and f'id="defect-{defect["id"]}"' in html
        assert defect["fix_verified"], defect
    for name in SECTION_NAMES:
        assert report["sections"][name]["defects"] == list(SECTIONS[name].DEFECT_IDS)


def test_the_html_loads_nothing_from_outside_the_file(quick_run):
    _, _, _, html = quick_run
    links = re.findall(r'(?:src|href)="([^"]*)"', html)
    assert links and all(link.startswith(("data:image/png;base64,", "#")) for link in links)
    assert "url(" not in html and "<script" not in html and "<link" not in html


def test_the_index_links_the_reproduction_and_the_benchmarks_present_and_no_comparison(quick_run):
    out, _, _, _ = quick_run
    index = (out / "index.html").read_text(encoding="utf-8")
    assert 'href="reproduction.html"' in index and 'href="benchmarks.html"' in index
    assert 'href="compare.html"' not in index


def test_the_environment_names_the_versions_the_scale_and_each_sections_wall_time(quick_run):
    _, _, report, html = quick_run
    environment = report["environment"]
    assert environment["scale"] == "quick" and environment["tensorflow"] in html
    assert all(report["sections"][name]["seconds"] > 0 for name in SECTION_NAMES)
    assert report["versions"]["tensorflow"] == environment["tensorflow"] and report["versions"]["keras"]


def test_tensorboard_histograms_differ_on_this_version_exactly_when_keras_is_older_than_3_14(quick_run):
    _, _, report, html = quick_run
    c6 = next(c for c in report["claims"] if c["id"] == "C6")
    assert c6["version_limits"] == [
        {"package": "keras", "since": "3.14", "reason": "the 3 layers' histogram tags collide"}
    ]
    if keras_at_least("3.14"):  # tags named by the weight's path: one per layer's weight
        assert c6["verdict"] in (AFTER_FIX, VERDICTS[0]) and c6["differs_on"] == []
    else:  # tags named by the weight's name: 3 layers' weights in 2 tags, whatever the scale
        keras = str(installed_version("keras"))
        assert c6["verdict"] == DIFFERS and c6["outcome"] != SUPPORTED
        assert c6["label"] == f"differs on Keras {keras}: the 3 layers' histogram tags collide before 3.14"
        assert c6["differs_on"][0]["installed"] == keras == report["versions"]["keras"]
        assert 'class="verdict version">differs on Keras' in html


def test_the_across_versions_page_reads_this_runs_json_with_its_versions(quick_run):
    out, _, report, _ = quick_run
    environment = load_reproduction(out / "reproduction.json")
    assert (environment.tensorflow, environment.keras) == (
        report["versions"]["tensorflow"],
        report["versions"]["keras"],
    )
    assert list(environment.claims) == [c["id"] for c in report["claims"]]


def test_the_json_has_its_schema_the_two_quick_seeds_and_the_interval_used(quick_run):
    _, _, report, html = quick_run
    assert report["schema"] == SCHEMA and report["seeds"] == [42, 43]
    assert report["interval"]["confidence"] == 0.95
    assert report["interval"]["quantile"] == pytest.approx(t_quantile(2)) and "12.706" in html


def test_every_stochastic_claim_keeps_the_value_of_each_seed_and_every_trained_section_its_runs(quick_run):
    _, _, report, _ = quick_run
    stochastic = [c for c in report["claims"] if c["kind"] != DETERMINISTIC]
    assert stochastic and all(c["seeds"] == [42, 43] for c in stochastic)
    for claim in stochastic:
        assert all(len(e["values"]) == 2 for e in claim["effects"]) and len(claim["checks"]) in (0, 2)
        assert bool(claim["effects"]) != bool(claim["checks"])
    for name in ("training", "regularization", "callbacks", "monitoring"):
        numbers = report["sections"][name]["numbers"]
        assert numbers["seeds"] == [42, 43] and len(numbers["per_seed"]) == 2


def test_the_html_has_the_verdicts_at_a_glance_with_one_row_per_claim_or_effect(quick_run):
    _, _, report, html = quick_run
    table = html[html.index('<h2 id="glance">') : html.index("</table>", html.index('<h2 id="glance">'))]
    rows = sum(max(1, len(c["effects"])) for c in report["claims"])
    assert table.count("<tr>") == rows + 1  # and the header
    assert all(f'href="#claim-{c["id"]}"' in table for c in report["claims"])


# --- the defects whose tests live here ----------------------------------------------------------


def test_d7_keras_mnist_download_fails_offline_and_the_stand_in_loads_without_network(quick_run):
    d7 = _defect(quick_run[2], "D7")
    assert d7["document"].startswith(
        "keras.datasets.mnist.load_data() -> Exception: URL fetch failure on " + MNIST_URL
    )
    assert d7["numbers"]["download_attempts"] == [MNIST_URL]  # the refused download, and nothing else
    assert d7["numbers"]["files_left"] == []
    assert d7["present"] and "10 classes" in d7["fixed"]


def test_d8_fit_with_tensorboard_fails_without_the_package_and_works_with_it(quick_run):
    d8 = _defect(quick_run[2], "D8")
    # TensorFlow 2.21 is the first release whose wheel does not require tensorboard (2.20's requires
    # tensorboard~=2.20.0): before it, installing TensorFlow installs TensorBoard, and D8 is absent.
    pulled_in = not tensorflow_at_least("2.21")
    assert f"tensorflow requires tensorboard: {pulled_in}" in d8["document"]
    assert "TBNotInstalledError: TensorBoard is not installed" in d8["document"]
    assert d8["numbers"]["event_files"] > 0 and d8["present"] is not pulled_in
    import tensorboard.summary.v2  # noqa: F401 - the capture put the real modules back


def test_d11_input_shape_warns_and_keras_input_does_not(quick_run):
    d11 = _defect(quick_run[2], "D11")
    assert "UserWarning: Do not pass an `input_shape`" in d11["document"]
    assert d11["fixed"] == "keras.Input((20,)) first: 0 warnings" and d11["present"]


# --- options -----------------------------------------------------------------------------------


def _command(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "reference.reproduction", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_an_unknown_section_exits_2_with_one_line_naming_it_and_the_valid_ones(tmp_path):
    done = _command("--sections", "losses,bogus", "--out-dir", str(tmp_path / "out"), cwd=ROOT)
    assert done.returncode == cli.EXIT_USAGE
    assert done.stderr.strip().count("\n") == 0 and "'bogus'" in done.stderr and "monitoring" in done.stderr
    assert not (tmp_path / "out").exists()


def test_an_output_directory_under_a_regular_file_exits_2_with_one_line(tmp_path):
    (tmp_path / "file").write_text("x")
    done = _command("--quick", "--out-dir", str(tmp_path / "file" / "reports"), cwd=ROOT)
    assert done.returncode == cli.EXIT_USAGE
    assert done.stderr == f"tfrepro: error: {tmp_path / 'file'}: is a file, not a folder\n"
    assert (tmp_path / "file").read_text() == "x"


def test_list_sections_prints_every_section_with_its_chinese_title(capsys):
    assert cli.main(["--list-sections"]) == cli.EXIT_OK
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] for line in lines] == list(SECTION_NAMES)
    assert "损失函数" in lines[0]


def test_an_interrupted_run_exits_2_with_one_line_and_leaves_the_previous_report_alone(
    tmp_path, monkeypatch, capsys
):
    (tmp_path / "reproduction.html").write_text("previous")
    import reference.reproduction.runner as runner

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "run_reproduction", interrupted)
    assert cli.main(["--quick", "--quiet", "--out-dir", str(tmp_path)]) == cli.EXIT_USAGE
    assert capsys.readouterr().err == "tfrepro: error: interrupted by SIGINT\n"
    assert [p.name for p in tmp_path.iterdir()] == ["reproduction.html"]
    assert (tmp_path / "reproduction.html").read_text() == "previous"


def test_strict_exits_1_when_a_claim_is_contradicted_and_sections_limits_the_run(tmp_path):
    """At the quick scale (10 steps) no optimizer reaches 1 % of its starting loss: O2 fails."""
    code = cli.main(
        ["--quick", "--quiet", "--strict", "--sections", "optimizers", "--out-dir", str(tmp_path)]
    )
    report = json.loads((tmp_path / "reproduction.json").read_text(encoding="utf-8"))
    assert code == cli.EXIT_CONTRADICTED
    assert list(report["sections"]) == ["optimizers"]
    assert {c["id"]: c["verdict"] for c in report["claims"]}["O2"] == CONTRADICTED
