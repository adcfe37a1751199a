"""The benchmark plugin: smoke pass by default, timing on request, reports after a timed run."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

import pytest

from benchmarks.results.cli import EXIT_BAD_INPUT
from reference.files import recover
from tests.common.faults import Killed, folder_bytes, sigint_when_paused, start_if_used, started_early, tmpfs

USAGE_ERROR = 4
# A stand-in benchmark that records extra_info shaped like the harness's, without TensorFlow work.
FAKE_BENCHMARK = """
import time

def test_fake(benchmark):
    benchmark.extra_info.update({
        "schema": 1, "case": "fake/b8/function/CPU:0", "kind": "training_step", "workload": "fake",
        "mode": "function", "batch_size": 8, "device": "CPU:0", "steps_per_round": 1, "flops_per_step": 100,
    })
    benchmark.pedantic(time.sleep, args=(0.001,), rounds=4)
    print("DISABLED=%s" % benchmark.disabled)
"""


def _run(pytester, *args):
    pytester.makepyfile(test_fake=FAKE_BENCHMARK)
    return pytester.runpytest_inprocess("-p", "benchmarks.plugin", "-s", "-p", "no:cacheprovider", *args)


def test_plain_pytest_runs_benchmarks_once_without_timing_or_reports(pytester):
    reports = pytester.path / "reports"
    result = _run(pytester, "--bench-report-dir", str(reports))
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*DISABLED=True*"])
    assert not reports.exists()


def test_benchmark_only_times_and_writes_json_and_html(pytester):
    reports = pytester.path / "reports"
    result = _run(pytester, "--benchmark-only", "--bench-report-dir", str(reports))
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*DISABLED=False*"])
    written = json.loads((reports / "benchmarks.json").read_text())
    bench = written["benchmarks"][0]
    assert len(bench["stats"]["data"]) == 4
    assert written["tfbench"]["schema"] == 1 and written["tfbench"]["settings"]["name"] == "full"
    assert "tensorflow" in written["machine_info"]["environment"]
    assert (reports / "benchmarks.html").read_text().startswith("<!DOCTYPE html>")


def test_the_first_timed_run_publishes_an_index_linking_its_report_and_its_json(pytester):
    reports = pytester.path / "reports"
    _run(pytester, "--benchmark-only", "--bench-report-dir", str(reports)).assert_outcomes(passed=1)
    index = (reports / "index.html").read_text()
    assert 'href="benchmarks.html"' in index and 'href="benchmarks.json"' in index
    assert sorted(p.name for p in reports.iterdir()) == ["benchmarks.html", "benchmarks.json", "index.html"]


@pytest.mark.parametrize("how", ["option", "environment"])
def test_quick_setting_is_recorded_in_the_result(pytester, monkeypatch, how):
    reports = pytester.path / "reports"
    args = ["--benchmark-only", "--bench-report-dir", str(reports)]
    if how == "option":
        args.append("--bench-quick")
    else:
        monkeypatch.setenv("TFBENCH_QUICK", "1")
    _run(pytester, *args).assert_outcomes(passed=1)
    assert json.loads((reports / "benchmarks.json").read_text())["tfbench"]["settings"]["name"] == "quick"


PASSED_BENCHMARKS = """
import pytest

@pytest.fixture
def bench_pass():
    return 0

@pytest.mark.parametrize("case", ["a", "b"])
def test_case(benchmark, case, bench_pass):
    pass

def test_calibration(benchmark, bench_pass):
    pass

def test_correctness():
    pass
"""


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["--benchmark-only", "--bench-quick"],
            [
                name
                for p in range(3)
                for name in (f"test_case[pass{p}-a]", f"test_case[pass{p}-b]", f"test_calibration[pass{p}]")
            ],
        ),
        ([], ["test_case[a]", "test_case[b]", "test_calibration", "test_correctness"]),
    ],
    ids=["timed-pass-major", "smoke-one-pass"],
)
def test_timed_runs_collect_every_case_once_per_pass_in_pass_major_order(pytester, args, expected):
    pytester.makepyfile(test_passes=PASSED_BENCHMARKS)
    result = pytester.runpytest_inprocess(
        "-p", "benchmarks.plugin", "-p", "no:cacheprovider", "--collect-only", "-q", *args
    )
    collected = [line.split("::")[-1] for line in result.outlines if "::" in line]
    assert collected == expected


# Rounds of a fused case with 4 steps each, on a clock the target itself advances: the warm-up round
# (100 s, not recorded), then rounds of 4, 8 and 12 s, that is 1, 2 and 3 s per step.
FUSED_ROUNDS = """
import pytest

from benchmarks.harness import time_rounds
from benchmarks.settings import QUICK

CLOCK = [0.0]
ROUND_SECONDS = iter([100.0, 4.0, 8.0, 12.0])


def clock():
    return CLOCK[0]


def one_round():
    CLOCK[0] += next(ROUND_SECONDS)


@pytest.mark.benchmark(timer=clock)
def test_fused(benchmark):
    assert QUICK.warmup_rounds == 1
    benchmark.extra_info.update({
        "schema": 1, "case": "fake/b8/fused/CPU:0", "kind": "training_step", "workload": "fake",
        "mode": "fused", "batch_size": 8, "device": "CPU:0", "steps_per_round": 4, "flops_per_step": 100,
    })
    time_rounds(benchmark, one_round, 4, QUICK, rounds=3)
"""
STEP_SECONDS = [1.0, 2.0, 3.0]


def test_fused_round_times_are_stored_per_step_with_statistics_of_the_per_step_times(pytester):
    pytester.makepyfile(test_fused=FUSED_ROUNDS)
    reports = pytester.path / "reports"
    result = pytester.runpytest_inprocess(
        "-p", "benchmarks.plugin", "-p", "no:cacheprovider", "--benchmark-only", "--bench-report-dir", str(reports)
    )  # fmt: skip
    result.assert_outcomes(passed=1)
    (bench,) = json.loads((reports / "benchmarks.json").read_text())["benchmarks"]
    assert bench["stats"]["data"] == STEP_SECONDS
    assert (bench["stats"]["min"], bench["stats"]["median"], bench["stats"]["max"]) == (1.0, 2.0, 3.0)


def test_a_benchmark_json_path_of_the_users_is_written_and_published_as_the_result(pytester):
    reports = pytester.path / "reports"
    mine = pytester.path / "mine.json"
    _run(pytester, "--benchmark-only", "--bench-report-dir", str(reports), f"--benchmark-json={mine}")
    assert json.loads(mine.read_text()) == json.loads((reports / "benchmarks.json").read_text())
    assert json.loads(mine.read_text())["tfbench"]["schema"] == 1


@pytest.mark.filterwarnings("ignore:Not saving anything:pytest_benchmark.logger.PytestBenchmarkWarning")
def test_an_old_benchmark_json_file_is_not_published_when_no_benchmark_ran(pytester):
    reports = pytester.path / "reports"
    mine = pytester.path / "mine.json"
    mine.write_text(json.dumps({"benchmarks": [{"extra_info": {"schema": 1}}]}))
    _run(
        pytester,
        "--benchmark-only",
        "--bench-report-dir",
        str(reports),
        f"--benchmark-json={mine}",
        "-k",
        "none",
    )
    assert not reports.exists()


# extra_info that pytest-benchmark cannot serialize: it has opened its output file when json.dumps fails.
UNWRITABLE = """
import time

def test_unwritable(benchmark):
    loop = {}
    loop["self"] = loop
    benchmark.extra_info.update({"schema": 1, "case": "fake/b8/function/CPU:0", "loop": loop})
    benchmark.pedantic(time.sleep, args=(0.001,), rounds=2)
"""


def test_a_failed_write_leaves_the_previous_result_whole_and_no_staging_file(pytester):
    reports = pytester.path / "reports"
    reports.mkdir()
    (reports / "benchmarks.json").write_text("previous run")
    pytester.makepyfile(test_unwritable=UNWRITABLE)
    pytester.runpytest_inprocess(
        "-p", "benchmarks.plugin", "-p", "no:cacheprovider", "--benchmark-only", "--bench-report-dir", str(reports)
    )  # fmt: skip
    assert (reports / "benchmarks.json").read_text() == "previous run"
    assert sorted(p.name for p in reports.iterdir()) == ["benchmarks.json"]


CLUSTER_USERS = """
def test_kills_a_worker(bench_clusters):
    pass

def test_distributed_case(benchmark, bench_clusters):
    pass

def test_plain():
    pass
"""


def test_tests_that_use_the_clusters_run_last_and_the_benchmark_cases_among_them_first(pytester):
    pytester.makepyfile(test_order=CLUSTER_USERS)
    result = pytester.runpytest_inprocess(
        "-p", "benchmarks.plugin", "-p", "no:cacheprovider", "--collect-only", "-q"
    )  # fmt: skip
    collected = [line.split("::")[-1] for line in result.outlines if "::" in line]
    assert collected == ["test_plain", "test_distributed_case", "test_kills_a_worker"]


# Faults while writing the reports: previous reports byte-identical, one line, exit status 2 (4 before any test).
PREVIOUS_REPORTS = ("benchmarks.json", "benchmarks.html", "index.html")


def _previous_reports(folder: Path) -> None:
    """What an earlier timed run published in ``folder``."""
    for name in PREVIOUS_REPORTS:
        (folder / name).write_text(f"previous {name}")


def _killed_session() -> Killed:
    def command(out: Path) -> list[str]:
        (out.parent / "test_fake.py").write_text(FAKE_BENCHMARK)
        return [
            sys.executable, "-m", "pytest", "-p", "benchmarks.plugin", "-p", "no:cacheprovider",
            "--benchmark-only", "--bench-report-dir", str(out), "test_fake.py",
        ]  # fmt: skip

    return Killed.start(command, _previous_reports)


@pytest.fixture(scope="module", autouse=True)
def _start_killed_session(request):
    """The killed session starts TensorFlow: it starts with this module's first test and reaches its
    pause while the others run (the test that kills it comes last)."""
    start_if_used(request.session, "killed_session", _killed_session)


@pytest.fixture
def killed_session(request) -> Killed:
    """A timed session over previous reports, to be SIGKILLed between two renames of its reports."""
    return started_early(request.config, "killed_session", _killed_session)


def test_a_read_only_report_folder_stops_the_session_before_any_test_and_changes_nothing(pytester):
    with tmpfs(pytester.path / "reports", read_only=True, prepare=_previous_reports) as reports:
        before = folder_bytes(reports)
        result = _run(pytester, "--benchmark-only", "--bench-report-dir", str(reports))
        assert (result.ret, folder_bytes(reports)) == (USAGE_ERROR, before)
    result.stderr.fnmatch_lines([f"ERROR: --bench-report-dir: {reports}: Read-only file system"])


@pytest.mark.parametrize(
    ("setup", "option", "message"),
    [
        (lambda path: (path / "file").write_text("x"), "--bench-report-dir=file/reports", "*file: is a file, not a folder"),
        (lambda path: (path / "reports" / "benchmarks.html").mkdir(parents=True), "--bench-report-dir=reports", "*benchmarks.html: is a folder*"),
        (lambda path: None, "--benchmark-json=reports/benchmarks.html", "ERROR: --benchmark-json: *benchmarks.html: named twice*"),
    ],
    ids=["report-folder-under-a-file", "report-is-a-folder", "benchmark-json-is-the-report"],
)  # fmt: skip
def test_an_output_that_cannot_be_written_stops_the_session_before_any_test(pytester, setup, option, message):
    setup(pytester.path)
    before = folder_bytes(pytester.path)
    result = _run(pytester, "--benchmark-only", option)
    assert result.ret == USAGE_ERROR
    result.stderr.fnmatch_lines([message])
    assert {k: v for k, v in folder_bytes(pytester.path).items() if k != "test_fake.py"} == before


def test_a_full_disk_at_the_end_is_one_line_and_exit_2_and_the_previous_reports_stay(pytester):
    with tmpfs(pytester.path / "reports", full=True, prepare=_previous_reports) as reports:
        before = folder_bytes(reports)
        result = _run(pytester, "--benchmark-only", "--bench-report-dir", str(reports))
        assert (result.ret, folder_bytes(reports)) == (EXIT_BAD_INPUT, before)
    result.stdout.fnmatch_lines(
        ["benchmark results not written (the previous ones are unchanged): *No space left*"]
    )


def test_sigint_while_the_reports_are_written_is_exit_2_and_the_previous_reports_stay(pytester, monkeypatch):
    reports = pytester.path / "reports"
    reports.mkdir()
    _previous_reports(reports)
    before = folder_bytes(reports)
    with sigint_when_paused("staged", pytester.path / "ready", monkeypatch):
        result = _run(pytester, "--benchmark-only", "--bench-report-dir", str(reports))
    assert (result.ret, folder_bytes(reports)) == (EXIT_BAD_INPUT, before)
    result.stdout.fnmatch_lines(
        ["benchmark results not written (the previous ones are unchanged): interrupted by SIGINT"]
    )


def test_sigkill_between_two_renames_of_the_reports_is_undone_by_recover(killed_session):
    assert killed_session.kill().returncode == -signal.SIGKILL
    recover(killed_session.out)
    assert folder_bytes(killed_session.out) == killed_session.before


def _has_gpu() -> bool:
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


@pytest.mark.parametrize(
    "value",
    [
        "fp8",
        pytest.param(
            "mixed_float16", marks=pytest.mark.skipif(_has_gpu(), reason="a GPU runs mixed_float16")
        ),
    ],
)
def test_a_precision_no_device_here_runs_stops_the_session_with_one_line(pytester, value):
    result = _run(pytester, f"--bench-precision={value}")
    assert result.ret == USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: --bench-precision*{value}*"])
    assert len([line for line in result.stderr.lines if line.strip()]) == 1
