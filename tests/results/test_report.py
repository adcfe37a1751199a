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
    "The answer: the fastest correct way to train each workload",
    "The ladder",
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
    # Quantile samples: the median of basic/b32/xla is exactly MEDIANS["xla"]; columns case, device, precision,
    # steps/round, rounds.
    cells = r"(?:<td[^>]*>[^<]*</td>\s*){4}"
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


@pytest.fixture(scope="module")
def knob_html() -> str:
    medians = MEDIANS | {"fit": 1.6e-3, "trainer_spe32": 0.25e-3}
    epochs = {"eager": 0.7, "trainer": 0.07, "fit": 0.09, "fit_spe32": 0.05, "trainer_spe32": 0.04}
    return render_report(
        parse_results(result_document(medians=medians, batches=(32,), quantiles=True, epochs=epochs))
    )


def test_the_report_opens_with_the_answer_and_keeps_the_environment_for_last(html):
    headings = re.findall(r'<h2 id="([^"]+)"', html)
    assert headings[0] == "answer" and headings[-1] == "environment"


def test_every_table_sits_in_its_own_scrolling_box(knob_html):
    tables = knob_html.count("<table")
    assert tables > 5 and knob_html.count('<div class="scroll"><table') == tables


def test_the_answer_row_names_the_fastest_way_and_its_speedups(knob_html):
    row = re.search(r'<td class="text way">trainer_spe32</td>(.*?)</tr>', knob_html, re.DOTALL).group(1)
    assert "80.0x" in row and "6.40x" in row  # 20 ms / 0.25 ms over eager, 1.6 ms / 0.25 ms over fit


def test_the_report_states_the_goal_with_its_interval_and_verdict(knob_html):
    assert re.search(
        r"Goal: <code>trainer_spe32</code>.*<strong>6.40x</strong> \[[0-9.]+, [0-9.]+\], <strong>met</strong>",
        knob_html,
        re.DOTALL,
    )


def test_the_epoch_section_has_its_answers_its_table_and_its_figure(knob_html):
    assert 'id="epochs"' in knob_html and 'id="epoch-results"' in knob_html
    assert '<img alt="seconds per epoch" src="data:image/png;base64,' in knob_html
    assert knob_html.count('<td class="text">basic</td>') >= 2 + 10  # two answers, ten epoch rows
