"""The hardware comparison page: every machine named, ratios against the first, environment differences."""

from __future__ import annotations

import re

import pytest

from benchmarks.results.cli import EXIT_BAD_INPUT
from benchmarks.results.compare import case_rows, default_labels, main, write_compare
from benchmarks.results.history import read_run
from tests.common.synthetic_runs import result_document, write_result
from tests.results.pages import MALICIOUS, MALICIOUS_ESCAPED, external_references

# Second machine: every step twice as fast; third: the first machine on another TensorFlow.
FASTER = 2.0
MACHINES = [
    {"node": "laptop", "cpu_model": "Intel Core i7-1165G7", "tensorflow": "2.21.0"},
    {"node": "gpu-box", "cpu_model": "AMD EPYC 7B13", "tensorflow": "2.21.0", "slow": {"*": 1 / FASTER}},
    {"node": MALICIOUS, "cpu_model": "Intel Core i7-1165G7", "tensorflow": "2.20.0"},
]
RATIO_RTOL = 1e-9


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("runs")
    return [
        write_result(folder / f"m{i}.json", result_document(seed=i, quantiles=True, **machine))
        for i, machine in enumerate(MACHINES)
    ]


@pytest.fixture(scope="module")
def html(files, tmp_path_factory) -> str:
    output = tmp_path_factory.mktemp("out") / "compare.html"
    write_compare([str(f) for f in files], output)
    return output.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", ["laptop", "gpu-box", "Intel Core i7-1165G7", "AMD EPYC 7B13"])
def test_page_names_every_machine_and_cpu(html, name):
    assert f">{name}<" in html


def test_page_escapes_strings_from_the_result_files(html):
    assert MALICIOUS not in html and MALICIOUS_ESCAPED in html


def test_page_references_no_external_url(html):
    assert external_references(html) == []


def _environment_row(html: str, field: str) -> str:
    return re.search(rf"<tr[^>]*><th class=\"text\">{field}</th>", html).group(0)


def test_environment_rows_that_differ_are_highlighted_and_equal_rows_are_not(html):
    assert 'class="diff"' in _environment_row(html, "tensorflow")
    assert 'class="diff"' in _environment_row(html, "cpu_model")
    assert 'class="diff"' not in _environment_row(html, "python")


def test_ratio_against_the_first_machine_is_its_throughput_over_the_first(files):
    rows = case_rows([read_run(f) for f in files])
    assert rows and all(row.cells[0].ratio is None for row in rows)
    for row in rows:
        assert row.cells[1].ratio.ratio == pytest.approx(FASTER, rel=RATIO_RTOL)
        assert row.cells[1].ratio.low > 1
        assert row.cells[2].ratio.ratio == pytest.approx(1.0, rel=RATIO_RTOL)


def test_the_table_shows_the_ratio_and_marks_a_faster_machine(html):
    assert re.search(r'<td class="faster">2\.00 \[', html)


def test_labels_are_made_unique_when_host_names_repeat(tmp_path):
    runs = [
        read_run(write_result(tmp_path / f"{i}.json", result_document(node="ci", tensorflow=tf)))
        for i, tf in enumerate(["2.20.0", "2.21.0", "2.21.0"])
    ]
    labels = default_labels(runs)
    assert len(set(labels)) == 3 and labels[0] == "ci (TF 2.20.0)"


BAD = {
    "corrupt": lambda p: p.write_text("{", encoding="utf-8"),
    "empty": lambda p: p.write_text("", encoding="utf-8"),
    "other-schema": lambda p: write_result(p, {**result_document(), "tfbench": {"schema": 7}}),
    "no-shared-benchmark": lambda p: write_result(p, result_document(workload="callbacks")),
}


@pytest.mark.parametrize("make", BAD.values(), ids=BAD.keys())
def test_bad_input_exits_2_with_one_line_and_no_page(files, tmp_path, capsys, make):
    bad = tmp_path / "bad.json"
    make(bad)
    output = tmp_path / "compare.html"
    assert main([str(files[0]), str(bad), "-o", str(output)]) == EXIT_BAD_INPUT
    error = capsys.readouterr().err
    assert error.startswith("tfbench-compare: error:") and error.count("\n") == 1
    assert not output.exists() and not list(tmp_path.glob(".*.tmp"))


def test_a_single_run_is_refused(files, tmp_path, capsys):
    assert main([str(files[0]), "-o", str(tmp_path / "c.html")]) == EXIT_BAD_INPUT
    assert "at least 2" in capsys.readouterr().err
