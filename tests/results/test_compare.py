"""The hardware comparison page: every machine named, ratios against the first, environment differences,
the CSV and JSON beside it, and bad input refused (unknown devices included)."""

from __future__ import annotations

import csv
import json
import re

import pytest

from benchmarks.results.cli import EXIT_BAD_INPUT
from benchmarks.results.compare import main, render_compare, write_compare
from benchmarks.results.compare_export import CSV_COLUMNS
from benchmarks.results.compare_rows import case_rows, default_labels
from benchmarks.results.history import read_run
from tests.common.synthetic_runs import relabel_device, result_document, write_result
from tests.results.pages import MALICIOUS, MALICIOUS_ESCAPED, external_references

# Second machine: every step twice as fast; third: the first machine on another TensorFlow.
FASTER = 2.0
# pytest-benchmark's machine_info.cpu (py-cpuinfo) of the first machine.
LAPTOP_CPU = {
    "brand_raw": "11th Gen Intel(R) Core(TM) i7-1165G7 @ 2.80GHz",
    "arch": "X86_64",
    "count": 8,
    "hz_advertised_friendly": "2.8000 GHz",
    "hz_actual_friendly": "4.6900 GHz",
}
MACHINES = [
    {"node": "laptop", "cpu_model": "Intel Core i7-1165G7", "tensorflow": "2.21.0"},
    {"node": "gpu-box", "cpu_model": "AMD EPYC 7B13", "tensorflow": "2.21.0", "slow": {"*": 1 / FASTER}},
    {"node": MALICIOUS, "cpu_model": "Intel Core i7-1165G7", "tensorflow": "2.20.0"},
]
RATIO_RTOL = 1e-9


# Fourth: a run with GPU cases only, as fast as the first machine's CPU; simulated (no GPU here) by renaming
# the device of a CPU result file.
GPU_ONLY = {"node": "gpu-only", "cpu_model": "AMD EPYC 7B13", "tensorflow": "2.21.0"}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("runs")
    documents = [result_document(seed=i, quantiles=True, **machine) for i, machine in enumerate(MACHINES)]
    documents[0]["machine_info"]["cpu"] = LAPTOP_CPU
    documents.append(relabel_device(result_document(seed=9, quantiles=True, **GPU_ONLY), "GPU:0"))
    return [write_result(folder / f"m{i}.json", d) for i, d in enumerate(documents)]


@pytest.fixture(scope="module")
def output(files, tmp_path_factory):
    output = tmp_path_factory.mktemp("out") / "compare.html"
    write_compare([str(f) for f in files], output)
    return output


@pytest.fixture(scope="module")
def html(output) -> str:
    return output.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", ["laptop", "gpu-box", "Intel Core i7-1165G7", "AMD EPYC 7B13"])
def test_page_names_every_machine_and_cpu(html, name):
    assert f">{name}<" in html


def test_page_shows_the_cpu_details_pytest_benchmark_records(html):
    assert ">X86_64, 8 CPUs, 2.8000 GHz (actual 4.6900 GHz)<" in html
    assert re.search(r"cpu brand \(pytest-benchmark\)</th><td[^>]*>11th Gen Intel", html)


def test_csv_and_json_beside_the_page_hold_one_line_per_case_and_run(files, output):
    with output.with_suffix(".csv").open(encoding="utf-8", newline="") as handle:
        lines = list(csv.DictReader(handle))
    assert tuple(lines[0]) == CSV_COLUMNS
    document = json.loads(output.with_suffix(".json").read_text(encoding="utf-8"))
    cases = {row.key for row in case_rows([read_run(f) for f in files])}
    assert len(cases) == 2 * 4 * 2  # batches x modes x devices
    assert {(line["case"], line["run"]) for line in lines if line["scope"] == "device"} == {
        (case, run["label"]) for case in cases for run in document["runs"]
    }
    assert {row["case"] for row in document["same_device"]} == cases


def test_csv_ratios_are_the_pages_ratios(files, output):
    with output.with_suffix(".csv").open(encoding="utf-8", newline="") as handle:
        second = [line for line in csv.DictReader(handle) if line["run"] == "gpu-box" and line["throughput"]]
    assert second and all(float(line["ratio"]) == pytest.approx(FASTER, rel=RATIO_RTOL) for line in second)
    assert {line["verdict"] for line in second} == {"faster"}


def test_the_index_beside_the_page_links_the_page_and_its_data(output):
    index = (output.parent / "index.html").read_text(encoding="utf-8")
    for name in ("compare.html", "compare.csv", "compare.json"):
        assert f'href="{name}"' in index


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
    rows = [row for row in case_rows([read_run(f) for f in files]) if row.device == "CPU:0"]
    assert rows and all(row.cells[0].ratio is None and row.cells[3].throughput is None for row in rows)
    for row in rows:
        assert row.cells[1].ratio.ratio == pytest.approx(FASTER, rel=RATIO_RTOL)
        assert row.cells[1].ratio.low > 1
        assert row.cells[2].ratio.ratio == pytest.approx(1.0, rel=RATIO_RTOL)


def test_the_table_shows_the_ratio_and_marks_a_faster_machine(html):
    assert re.search(r'<td class="faster">2\.00 \[', html)


def test_a_gpu_only_run_is_compared_on_its_best_device_and_shown_on_its_own(html):
    assert re.search(r"<br><span class=\"device\">GPU:0</span></td>", html)
    assert (
        ">GPU:0</h2>" in html
        and "No ratio against laptop: no other run shares a case with it on GPU:0" in html
    )


def test_runs_on_one_and_the_same_device_get_no_second_copy_of_that_devices_figures(tmp_path):
    small = {"batches": (32,), "modes": ("eager", "function"), "quantiles": True}
    runs = [
        read_run(write_result(tmp_path / f"{i}.json", result_document(seed=i, **small))) for i in range(2)
    ]
    html = render_compare(runs, ["a", "b"])
    assert html.count("<img ") == 2  # the CPU:0 section's throughput and ratio
    assert "Every run ran every case on CPU:0 only" in html


def test_each_best_device_row_names_its_winner(html):
    assert html.count("gpu-box on CPU:0, 2.00x [") == len(
        re.findall(r"<tr><td class=\"text\">basic/b\d+/\w+</td>", html)
    )


def test_labels_are_made_unique_when_host_names_repeat(tmp_path):
    runs = [
        read_run(write_result(tmp_path / f"{i}.json", result_document(node="ci", tensorflow=tf)))
        for i, tf in enumerate(["2.20.0", "2.21.0", "2.21.0"])
    ]
    labels = default_labels(runs)
    assert len(set(labels)) == 3 and labels[0] == "ci (TF 2.20.0)"


def _with_case(document: dict, index: int, **info) -> dict:
    document["benchmarks"][index]["extra_info"].update(info)
    return document


# A result file from another machine whose devices this suite does not know, or that contradict themselves.
BAD_DEVICES = {
    "unknown-kind": lambda: relabel_device(result_document(), "NPU:0"),
    "malformed": lambda: relabel_device(result_document(), "GPU0"),
    "lower-case": lambda: relabel_device(result_document(), "gpu:0"),
    "id-names-another-device": lambda: _with_case(result_document(), 1, device="GPU:0", device_label="GPU:0"),
    "label-of-another-device": lambda: _with_case(result_document(), 1, device_label="GPU:0 (A100)"),
}
BAD = {
    "corrupt": lambda p: p.write_text("{", encoding="utf-8"),
    "empty": lambda p: p.write_text("", encoding="utf-8"),
    "other-schema": lambda p: write_result(p, {**result_document(), "tfbench": {"schema": 7}}),
    "no-shared-benchmark": lambda p: write_result(p, result_document(workload="callbacks")),
    **{name: (lambda p, make=make: write_result(p, make())) for name, make in BAD_DEVICES.items()},
}


@pytest.mark.parametrize("make", BAD.values(), ids=BAD.keys())
def test_bad_input_exits_2_with_one_line_and_no_page(files, tmp_path, capsys, make):
    bad = tmp_path / "bad.json"
    make(bad)
    output = tmp_path / "compare.html"
    assert main([str(files[0]), str(bad), "-o", str(output)]) == EXIT_BAD_INPUT
    error = capsys.readouterr().err
    assert error.startswith("tfbench-compare: error:") and error.count("\n") == 1
    assert not list(tmp_path.glob("compare.*")) and not (tmp_path / "index.html").exists()
    assert not list(tmp_path.glob(".*.tmp"))


@pytest.mark.parametrize("name", BAD_DEVICES)
def test_a_file_with_unknown_devices_is_named_with_its_case_and_device(files, tmp_path, capsys, name):
    bad = write_result(tmp_path / "other-machine.json", BAD_DEVICES[name]())
    assert main([str(files[0]), str(bad), "-o", str(tmp_path / "c.html")]) == EXIT_BAD_INPUT
    error = capsys.readouterr().err
    assert f"{bad}: case '" in error and "device" in error


@pytest.mark.parametrize("suffix", [".json", ".csv", ".JSON"])
def test_an_output_named_like_its_data_files_is_refused(files, tmp_path, capsys, suffix):
    output = tmp_path / f"compare{suffix}"
    assert main([str(files[0]), str(files[1]), "-o", str(output)]) == EXIT_BAD_INPUT
    assert "Argument `output`" in capsys.readouterr().err and not list(tmp_path.iterdir())


def test_a_single_run_is_refused(files, tmp_path, capsys):
    assert main([str(files[0]), "-o", str(tmp_path / "c.html")]) == EXIT_BAD_INPUT
    assert "at least 2" in capsys.readouterr().err
