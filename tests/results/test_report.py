"""The report generator: sections, escaping, self-containment, numbers, and bad input."""

from __future__ import annotations

import json
import re

import pytest

from benchmarks.results.cli import EXIT_BAD_INPUT, EXIT_OK
from benchmarks.results.report import environment_rows, main, render_report
from benchmarks.results.schema import parse_results
from reference.files import write_text_atomic
from tests.common.synthetic_runs import MEDIANS, result_document
from tests.results.pages import MALICIOUS, MALICIOUS_ESCAPED, external_references

SECTIONS = (
    "Environment",
    "Findings",
    "Calibration: matmul peak",
    "Throughput by mode and batch size",
    "Speedup over eager",
    "Batch-size scaling",
    "Trace and compile time",
    "Efficiency against the measured peak",
    "Full results",
)
STRATEGIES = ("none", "mirrored", "multiworker")


@pytest.fixture(scope="module")
def document() -> dict:
    return result_document(device_label=MALICIOUS, cpu_model=MALICIOUS, strategies=STRATEGIES, quantiles=True)


@pytest.fixture(scope="module")
def html(document) -> str:
    return render_report(parse_results(document))


@pytest.mark.parametrize("section", SECTIONS)
def test_report_has_every_section(html, section):
    assert f">{section}</h" in html


def test_report_escapes_strings_from_the_result_file(html):
    assert MALICIOUS not in html and MALICIOUS_ESCAPED in html


def test_report_references_no_external_url(html):
    assert external_references(html) == []


def test_report_embeds_five_figures_per_device_and_one_for_scaling(html):
    assert len(re.findall(r'<img [^>]*src="data:image/png;base64,', html)) == 5 + 1


def test_report_table_shows_median_microseconds_per_step(html):
    # Quantile samples: the median of basic/b32/xla is exactly MEDIANS["xla"]; columns case, device, steps/round, rounds.
    cells = r"(?:<td[^>]*>[^<]*</td>\s*){3}"
    assert re.search(rf"basic/b32/xla/CPU:0</td>{cells}<td>{MEDIANS['xla'] * 1e6:.1f}</td>", html)


def test_report_has_a_scaling_section_with_every_strategy_and_its_efficiency(html):
    assert 'id="scaling"' in html
    for strategy in STRATEGIES:
        assert f'<td class="text">{strategy}</td>' in html
    assert "<td>50%</td>" in html  # mirrored and multiworker: as fast as one replica with two replicas


def _run_cli(tmp_path, content: str | None, capsys):
    source = tmp_path / "result.json"
    if content is not None:
        source.write_text(content)
    output = tmp_path / "benchmarks.html"
    code = main([str(source), "-o", str(output)])
    return code, capsys.readouterr().err, output


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "no such file"),
        ("", "file is empty"),
        ("   \n", "file is empty"),
        ('{"benchmarks": [', "not valid JSON"),
        ("[1, 2]", "top level: expected an object, got a list"),
        ('{"benchmarks": [{"extra_info": {}}]}', "no tfbench benchmark case"),
        (
            '{"benchmarks": [{"extra_info": {"schema": 1, "case": "c"}}]}',
            "benchmarks[0].extra_info.kind: missing",
        ),
    ],
    ids=["missing", "empty", "blank", "truncated", "not-an-object", "foreign", "incomplete"],
)
def test_bad_input_prints_one_line_exits_2_and_writes_nothing(tmp_path, capsys, content, problem):
    code, err, output = _run_cli(tmp_path, content, capsys)
    assert code == EXIT_BAD_INPUT
    assert err.startswith("tfbench-report: error:") and problem in err and err.count("\n") == 1
    assert not output.exists()
    assert [p.name for p in tmp_path.iterdir()] == ([] if content is None else ["result.json"])


def test_cli_writes_the_report_and_its_folders_index_linking_it(tmp_path, capsys):
    code, err, output = _run_cli(tmp_path, json.dumps(result_document(batches=(32,))), capsys)
    assert code == EXIT_OK and err == ""
    assert output.read_text().startswith("<!DOCTYPE html>")
    assert 'href="benchmarks.html"' in (tmp_path / "index.html").read_text(encoding="utf-8")


def test_the_environment_table_shows_the_cpu_pytest_benchmark_records():
    document = result_document(batches=(32,))
    document["machine_info"]["cpu"] = {"brand_raw": "AMD EPYC 7B13", "arch": "X86_64", "count": 64}
    rows = dict(environment_rows(parse_results(document)))
    assert rows["cpu brand (pytest-benchmark)"] == "AMD EPYC 7B13"
    assert (rows["cpu arch (pytest-benchmark)"], rows["cpu count (pytest-benchmark)"]) == ("X86_64", "64")
    assert "cpu clock (actual) (pytest-benchmark)" not in rows


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "report.html"
    target.write_text("old")
    with pytest.raises(UnicodeEncodeError):
        write_text_atomic(target, "new \ud800 text")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]
