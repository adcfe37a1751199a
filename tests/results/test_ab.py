"""``tfbench-ab`` end to end with stand-in workers (``tests/common/fake_ab_worker.py``, no TensorFlow).

A fake project tree whose ``benchmarks/ab_worker.py`` is the stand-in goes in as ``--src``; each
environment's ``--set LABEL:FAKE_...`` makes its worker slower, noisy, crash, hang or refuse a case.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.results import ab, ab_run
from benchmarks.results.ab_compare import compare
from benchmarks.results.ab_environments import Environment
from benchmarks.results.ab_report import Outcome, format_text
from benchmarks.results.ab_run import Measurements
from benchmarks.results.ab_statistics import INSUFFICIENT, NO_CHANGE, REGRESSION
from benchmarks.results.ab_workers import XLA_CACHE_FLAG
from benchmarks.results.cli import EXIT_BAD_INPUT, EXIT_OK, EXIT_REGRESSION

FAKE_WORKER = Path(__file__).resolve().parents[1] / "common" / "fake_ab_worker.py"
PYTHON = sys.executable


@pytest.fixture
def tree(tmp_path) -> Path:
    """A project tree with the stand-in worker in place of ``benchmarks/ab_worker.py``."""
    root = tmp_path / "tree"
    for package in ("benchmarks", "reference"):
        (root / package).mkdir(parents=True)
        (root / package / "__init__.py").write_text("")
    shutil.copy(FAKE_WORKER, root / "benchmarks" / "ab_worker.py")
    return root


def _args(tree: Path, out: Path, *extra: str, labels=("A", "B")) -> list[str]:
    args = []
    for label in labels:
        args += ["--env", f"{label}={PYTHON}", "--src", f"{label}={tree}"]
    # two workers each (the default is 4): the stand-in's tests need the least that sees process offsets
    return [
        *args,
        "--out-dir",
        str(out),
        "--budget",
        "60",
        "--timeout",
        "20",
        "--workers-per-env",
        "2",
        *extra,
    ]


def _log_lines(log: Path, kind: str) -> dict[str, str]:
    return {line.split()[0]: line.split()[-1] for line in log.read_text().splitlines() if f" {kind} " in line}


def _pids(log: Path) -> list[int]:
    return [int(line.split()[-1]) for line in log.read_text().splitlines() if " pid " in line]


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_a_20_percent_slower_b_is_a_regression_in_every_output(tree, tmp_path, capsys):
    out, markdown = tmp_path / "reports", tmp_path / "ab.md"
    args = _args(tree, out, "--rounds", "12", "--markdown", str(markdown))
    code = ab.main([*args, "--set", "B:FAKE_SCALE=1.2", "--set", "B:FAKE_JITTER=0.01"])
    assert code == EXIT_REGRESSION
    result = json.loads((out / "ab.json").read_text())
    overall = result["comparisons"][0]["aggregates"][0]
    assert overall["name"].startswith("ALL (4 cases")
    assert overall["verdict"] == REGRESSION
    assert overall["estimate"]["low"] < 1.2 < overall["estimate"]["high"]
    assert result["rounds"] == 12 and result["workers_per_env"] == 2
    assert all(len(t) == 2 and all(len(w) == 12 for w in t) for t in result["times"]["B"].values())
    assert "REGRESSION" in capsys.readouterr().out
    assert "data:image/png;base64," in (out / "ab.html").read_text()
    assert 'href="ab.html"' in (out / "index.html").read_text()
    assert "| ALL (4 cases" in markdown.read_text()


def test_the_same_environment_twice_shows_no_change(tree, tmp_path, capsys):
    out = tmp_path / "reports"
    code = ab.main(
        [
            *_args(tree, out, "--rounds", "12"),
            "--set",
            "B:FAKE_JITTER=0.01",
            "--set",
            "A:FAKE_NOISE=0.3",
            "--set",
            "B:FAKE_NOISE=0.3",
        ]
    )
    assert code == EXIT_OK
    assert "B vs A: pass (" in capsys.readouterr().out
    rows = json.loads((out / "ab.json").read_text())["comparisons"][0]["rows"]
    assert {row["verdict"] for row in rows} == {NO_CHANGE}


def test_a_worker_persistently_slower_than_its_sibling_widens_the_interval_and_every_output_shows_it(
    tree, tmp_path, capsys
):
    """A's second worker and B's first are 4% slower, every round alike: ratio 1, no round variance; the
    worker means spread by S^2 = ((ln 1.04)^2 / 2 + (ln 1.04)^2 / 2) / 2 on 2 df (one case: nothing to
    moderate it with), so the case's interval is exp(-+ t_{1-alpha/2m,2} sqrt((1/2 + 1/2) S^2)), with
    m = 3 rows decided together (the case, ALL, eager): t_{1-0.05/6,2} = 7.6488 (a t table); the
    aggregate's per-process means give the same. s_p = 2.8% is reported. Every row is inconclusive, so
    the comparison passes as "no regression found", not as "pass"."""
    out, markdown = tmp_path / "out", tmp_path / "ab.md"
    args = [*_args(tree, out, "--rounds", "8", "--cases", "quadratic-b--eager", "--markdown", str(markdown))]
    ab.main([*args, "--set", "A:FAKE_WORKER_SCALE=1,1.04", "--set", "B:FAKE_WORKER_SCALE=1.04,1"])
    comparison = json.loads((out / "ab.json").read_text())["comparisons"][0]
    assert comparison["family"] == 3 and comparison["row_alpha"] == pytest.approx(0.05 / 3)
    reach = 7.6488 * math.log(1.04) / math.sqrt(2)
    for row in [*comparison["rows"], *comparison["aggregates"]]:
        assert row["estimate"]["ratio"] == pytest.approx(1.0, abs=1e-12)
        assert row["process"]["variance"] == pytest.approx(math.log(1.04) ** 2 / 2, rel=1e-9)
        assert row["estimate"]["high"] == pytest.approx(math.exp(reach), rel=1e-3)
        assert row["estimate"]["low"] == pytest.approx(math.exp(-reach), rel=1e-3)
        a_workers, b_workers = row["baseline_workers_s"], row["candidate_workers_s"]
        assert a_workers[1] / a_workers[0] == pytest.approx(1.04, rel=1e-9)
        assert b_workers[0] / b_workers[1] == pytest.approx(1.04, rel=1e-9)
    line = "worker processes: s_p, the sd of one process's own offset"
    printed = capsys.readouterr().out
    assert f"{line} (per mode, pooled over its cases in A and B): eager 2.8%" in printed
    assert "B vs A: no regression found (1 inconclusive;" in printed
    assert line in markdown.read_text() and line.replace("'", "&#39;") in (out / "ab.html").read_text()


def test_with_one_worker_per_environment_the_outputs_say_the_process_variation_is_left_out(
    tree, tmp_path, capsys
):
    out = tmp_path / "out"
    assert ab.main([*_args(tree, out, "--rounds", "9", "--workers-per-env", "1")]) == EXIT_OK
    assert "worker processes: one per environment, so the intervals leave out" in capsys.readouterr().out
    rows = json.loads((out / "ab.json").read_text())["comparisons"][0]["rows"]
    assert all(row["estimate"]["process_variance"] is None for row in rows)


def test_an_interpreter_given_relative_to_the_working_folder_starts_its_worker(tree, tmp_path, monkeypatch):
    """Workers start in folders of their own: a relative ``--env`` path must still name the caller's file."""
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "python").symlink_to(PYTHON)
    monkeypatch.chdir(tmp_path)
    args = ["--env", "A=bin/python", "--env", "B=bin/python", "--src", f"A={tree}", "--src", f"B={tree}"]
    code = ab.main([*args, "--out-dir", str(tmp_path / "out"), "--rounds", "9", "--timeout", "20"])
    assert code == EXIT_OK and (tmp_path / "out" / "ab.json").is_file()


@pytest.mark.parametrize(("interleave", "block"), [("case", 4), ("round", 4)])
def test_the_interleavings_alternate_the_workers_in_a_random_order(tree, tmp_path, interleave, block):
    """Two workers per environment. ``case``: per case, the four workers' bursts are adjacent, each
    worker once, in more than one order over the rounds; ``round``: each worker times its four cases
    in a row."""
    log = tmp_path / "bursts.log"
    args = [*_args(tree, tmp_path / "out", "--rounds", "6", "--interleave", interleave)]
    ab.main([*args, "--set", f"A:FAKE_LOG={log}", "--set", f"B:FAKE_LOG={log}"])
    lines = [line.split() for line in log.read_text().splitlines()]
    bursts = sorted(
        (float(stamp), name, case) for name, case, stamp in lines if case not in ("pid", "environ")
    )
    blocks = [bursts[i : i + block] for i in range(0, len(bursts), block)]
    if interleave == "case":
        assert all(len({case for _, _, case in b}) == 1 for b in blocks)
        assert all(sorted(name for _, name, _ in b) == ["A#1", "A#2", "B#1", "B#2"] for b in blocks)
        assert len({tuple(name for _, name, _ in b) for b in blocks}) > 1
    else:
        assert all(len({name for _, name, _ in b}) == 1 for b in blocks)


def test_a_worker_that_prepared_before_the_baseline_still_times_every_case(tree, tmp_path):
    """B is done preparing and waits while the baseline prepares and sizes: it is sent the sizes then."""
    out = tmp_path / "out"
    # One round gives no interval (exit 2, nothing to decide), but every case was timed in it.
    assert ab.main([*_args(tree, out, "--rounds", "1"), "--set", "A:FAKE_PREPARE_S=0.05"]) == EXIT_BAD_INPUT
    times = json.loads((out / "ab.json").read_text())["times"]
    assert all(len(w) == 1 for label in "AB" for case in times["A"] for w in times[label][case])
    assert len(times["B"]) == 4


def test_every_worker_of_two_identical_environments_starts_with_the_same_variables_of_the_same_sizes(
    tree, tmp_path
):
    log = tmp_path / "workers.log"
    args = [*_args(tree, tmp_path / "out", "--rounds", "1", "--seed", "3")]
    ab.main([*args, "--set", f"A:FAKE_LOG={log}", "--set", f"B:FAKE_LOG={log}"])
    digests = _log_lines(log, "environ")
    assert set(digests) == {"A#1", "A#2", "B#1", "B#2"} and len(set(digests.values())) == 1


def test_four_workers_per_environment_by_default(tree, tmp_path):
    out = tmp_path / "out"
    args = [a for a in _args(tree, out, "--rounds", "9") if a not in ("--workers-per-env", "2")]
    ab.main(args)
    result = json.loads((out / "ab.json").read_text())
    assert result["workers_per_env"] == 4 and len(result["times"]["A"]["basic-b32-fit"]) == 4


def _commands(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_the_baseline_first_worker_sizes_every_case_after_all_preparing_and_the_others_take_its_size(
    tree, tmp_path
):
    log = tmp_path / "commands.jsonl"
    args = [*_args(tree, tmp_path / "out", "--rounds", "1"), "--set", f"A:FAKE_COMMANDS={log}"]
    ab.main([*args, "--set", f"B:FAKE_COMMANDS={log}", "--set", "A:FAKE_STEP_S=0.0002"])
    commands = _commands(log)
    jobs = {c["worker"]: c for c in commands if c["cmd"] == "job"}
    assert {name for name, job in jobs.items() if job["proposes"]} == {"A#1"}
    work = [c for c in commands if c["cmd"] != "job"]
    last_prepare = max(i for i, c in enumerate(work) if c["cmd"] == "prepare")
    sizes = [c for c in work[last_prepare + 1 :] if c["cmd"] == "size"]
    assert len(sizes) == sum(c["cmd"] == "size" for c in work) == 4 * 4
    proposed = [c for c in sizes if c["worker"] == "A#1"]
    assert len(proposed) == 4 and all(c["calls"] is None for c in proposed)
    # the proposer answers calls = burst / call = 0.02 / 0.0002 = 100 (the default 20 ms); the others get that
    assert {c["calls"] for c in sizes if c["worker"] != "A#1"} == {100}
    assert sizes[:4] == proposed


def test_the_workers_of_an_environment_prepare_the_cases_from_different_starts(tree, tmp_path):
    log = tmp_path / "commands.jsonl"
    args = [*_args(tree, tmp_path / "out", "--rounds", "1"), "--set", f"A:FAKE_COMMANDS={log}"]
    ab.main([*args, "--set", f"B:FAKE_COMMANDS={log}"])
    order = {}
    for command in _commands(log):
        if command["cmd"] == "prepare":
            order.setdefault(command["worker"], []).append(command["case"])
    assert order["A#1"] == order["B#1"] and sorted(order["A#1"]) == sorted(order["A#2"])
    assert order["A#2"] == order["A#1"][2:] + order["A#1"][:2] == order["B#2"]


def test_each_environment_has_its_own_xla_cache_shared_by_its_workers(tree, tmp_path):
    log = tmp_path / "commands.jsonl"
    args = [*_args(tree, tmp_path / "out", "--rounds", "1"), "--set", f"A:FAKE_COMMANDS={log}"]
    ab.main([*args, "--set", f"B:FAKE_COMMANDS={log}", "--set", "B:TF_XLA_FLAGS=--tf_xla_auto_jit=2"])
    flags = {c["worker"]: c["TF_XLA_FLAGS"] for c in _commands(log) if c["cmd"] == "job"}
    caches = {name: value.split(f"{XLA_CACHE_FLAG}=")[-1] for name, value in flags.items()}
    assert caches["A#1"] == caches["A#2"] != caches["B#1"] == caches["B#2"]
    assert len(caches["A#1"]) == len(caches["B#1"]) and Path(caches["A#1"]).name == "xla-00"
    assert flags["B#1"].startswith("--tf_xla_auto_jit=2 ")
    assert not Path(caches["A#1"]).exists()  # removed with the staging folder


def test_an_environment_that_names_its_own_xla_cache_keeps_it(tree, tmp_path):
    log, own = tmp_path / "commands.jsonl", f"{XLA_CACHE_FLAG}={tmp_path / 'mine'}"
    args = [*_args(tree, tmp_path / "out", "--rounds", "1"), "--set", f"A:FAKE_COMMANDS={log}"]
    ab.main([*args, "--set", f"A:TF_XLA_FLAGS={own}"])
    assert {c["TF_XLA_FLAGS"] for c in _commands(log) if c["cmd"] == "job"} == {own}


class _FakeClock:
    """``time.monotonic`` for ``ab_run`` alone: it moves only when a burst is timed, by ``burst_s``."""

    def __init__(self, burst_s: float):
        self.now, self.burst_s = 1000.0, burst_s

    def monotonic(self) -> float:
        return self.now


def test_the_run_stops_before_a_round_that_would_end_after_the_deadline(tree, monkeypatch):
    clock = _FakeClock(burst_s=0.25)
    timed_burst = ab_run._burst

    def burst(worker, case, timeout):
        clock.now += clock.burst_s
        return timed_burst(worker, case, timeout)

    monkeypatch.setattr(ab_run, "time", clock)
    monkeypatch.setattr(ab_run, "_burst", burst)
    environments = [
        Environment(label, PYTHON, source=tree, variables={"FAKE_SLEEP_S": "0.0001"}) for label in ("A", "B")
    ]
    measured = ab_run.run_interleaved(
        environments,
        patterns=["basic-b32-*"],
        job={"quick": True, "device": "CPU:0", "seed": 0, "burst_s": 0.001},
        deadline=clock.now + 10.0,
        timeout=20,
        workers_per_env=2,
    )
    # A round is 2 cases x 2 environments x 2 workers = 8 bursts = 2 s of the fake clock, so the
    # 10 s budget holds 5 rounds exactly; a sixth would end after the deadline.
    assert len(measured.cases) == 2
    assert measured.round_s == [2.0] * 5
    assert measured.stop_reason.startswith("budget")


def test_the_run_says_how_many_rounds_it_made_and_why_it_stopped(tree, tmp_path, capsys):
    ab.main(_args(tree, tmp_path / "out", "--rounds", "3"))
    result = json.loads((tmp_path / "out" / "ab.json").read_text())
    assert result["rounds"] == 3 and result["stop_reason"] == "3 rounds done"
    out = capsys.readouterr().out
    assert "3 rounds (case interleaving)" in out and "stopped: 3 rounds done" in out


def test_a_case_refused_in_b_is_named_and_fails_the_comparison(tree, tmp_path, capsys):
    code = ab.main([*_args(tree, tmp_path / "out", "--rounds", "3"), "--set", "B:FAKE_REFUSE=basic-b32-fit"])
    assert code == EXIT_REGRESSION
    assert (
        "refused: basic-b32-fit in B: mode of basic-b32-fit disagrees with the eager step"
        in capsys.readouterr().out
    )


def test_the_checks_table_has_a_row_per_environment_and_case_naming_a_refusal(tree, tmp_path):
    out = tmp_path / "out"
    ab.main([*_args(tree, out, "--rounds", "3"), "--set", "B:FAKE_REFUSE=basic-b32-fit"])
    checks = (out / "ab.html").read_text().split('<h2 id="prepared">')[1]
    rows = checks.split('<tr><td class="text">')[1:]
    assert len(rows) == 2 * 4  # A and B, the stand-in's 4 cases
    refused = [r for r in rows if "refused" in r]
    assert len(refused) == 1 and refused[0].startswith('B</td><td class="text">basic-b32-fit')
    assert "mode of basic-b32-fit disagrees with the eager step (worker B#1)" in refused[0]
    assert sum("passed in A#1" in r for r in rows) == 4


def test_a_run_that_compares_no_case_decides_nothing_and_exits_2(tree, tmp_path, capsys):
    args = _args(tree, tmp_path / "out", "--rounds", "3", "--cases", "basic-b32-fit")
    code = ab.main([*args, "--set", "A:FAKE_REFUSE=basic-b32-fit"])
    assert code == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert err.startswith("tfbench-ab: error: no round was timed") and err.count("\n") == 1
    assert json.loads((tmp_path / "out" / "ab.json").read_text())["rounds"] == 0


def test_a_run_too_short_for_any_interval_decides_nothing_and_exits_2(tree, tmp_path, capsys):
    # 4 cases, ALL and 3 modes: 8 rows at 0.05 / 8 each; the signed-rank interval needs 2^(1-n) <= 0.00625.
    code = ab.main(_args(tree, tmp_path / "out", "--rounds", "8"))
    assert code == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert err == (
        "tfbench-ab: error: 8 rounds give no interval: 8 rows decided together, each at 0.0063, need 9 rounds; "
        "nothing to decide: raise --budget or narrow --cases\n"
    )
    assert json.loads((tmp_path / "out" / "ab.json").read_text())["rounds"] == 8
    assert ab.main(_args(tree, tmp_path / "again", "--rounds", "9")) == EXIT_OK


def test_a_case_refused_in_a_is_named_and_left_out(tree, tmp_path, capsys):
    code = ab.main([*_args(tree, tmp_path / "out", "--rounds", "9"), "--set", "A:FAKE_REFUSE=basic-b32-fit"])
    assert code == EXIT_OK
    result = json.loads((tmp_path / "out" / "ab.json").read_text())
    assert "basic-b32-fit" not in [row["name"] for row in result["comparisons"][0]["rows"]]
    assert "refused: basic-b32-fit in A" in capsys.readouterr().out


def test_a_case_that_b_does_not_have_is_named_and_left_out_without_failing(tree, tmp_path, capsys):
    lacking = "quadratic-b--eager,quadratic-b--function,basic-b32-function"
    code = ab.main([*_args(tree, tmp_path / "out", "--rounds", "9"), "--set", f"B:FAKE_CASES={lacking}"])
    assert code == EXIT_OK
    assert "refused: basic-b32-fit in B: not in B's benchmark matrix" in capsys.readouterr().out


def test_the_self_test_detects_the_injected_slowdown_and_no_change_between_a_and_a(tree, tmp_path, capsys):
    out = tmp_path / "out"
    args = ["--self-test", "--env", f"A={PYTHON}", "--src", f"A={tree}", "--set", "A:FAKE_NOISE=0.3"]
    code = ab.main([*args, "--rounds", "12", "--out-dir", str(out), "--timeout", "20"])
    assert code == EXIT_OK
    result = json.loads((out / "ab.json").read_text())["self_test"]
    assert result["missed"] == [] and result["false_alarms"] == [] and result["injected_detected"]
    assert [e["inject"] for e in json.loads((out / "ab.json").read_text())["environments"]] == [0.0, 0.0, 0.1]


def _bad(args: list[str], capsys) -> str:
    assert ab.main(args) == EXIT_BAD_INPUT
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    return captured.err


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        (["--env", "C"], "--env"),
        (["--env", "A=python"], "--env"),
        (["--env", "C=/nonexistent/python"], "--env"),
        (["--env", "C=__FILE__"], "--env"),
        (["--src", "B=/"], "--src"),
        (["--src", "C=__TREE__"], "--src"),
        (["--set", "B:1KEY=x"], "--set"),
        (["--set", "C:KEY=x"], "--set"),
        (["--set", "B:PYTHONPATH=/x"], "--set"),
        (["--inject", "B:0"], "--inject"),
        (["--inject", "B:lots"], "--inject"),
        (["--inject", "B:2"], "--inject"),
        (["--budget", "0"], "--budget"),
        (["--rounds", "0"], "--rounds"),
        (["--threshold", "1"], "--threshold"),
        (["--alpha", "0.7"], "--alpha"),
        (["--burst-ms", "0"], "--burst-ms"),
        (["--timeout", "-1"], "--timeout"),
        (["--device", "TPU:0"], "--device"),
        (["--workers-per-env", "0"], "--workers-per-env"),
        (["--workers-per-env", "17"], "--workers-per-env"),
        (["--cases", "basic-b32-nothing"], "--cases"),
        (["--self-test"], "--self-test"),
    ],
    ids=lambda value: value if isinstance(value, str) else "_".join(value),
)
def test_bad_input_is_one_line_naming_the_argument_and_writes_nothing(tree, tmp_path, capsys, extra, named):
    extra = [e.replace("__FILE__", str(FAKE_WORKER)).replace("__TREE__", str(tree)) for e in extra]
    error = _bad([*_args(tree, tmp_path / "out", "--rounds", "1"), *extra], capsys)
    assert error.startswith("tfbench-ab: error: ") and f"`{named}`" in error
    assert not (tmp_path / "out").exists()


def test_a_single_environment_is_refused(tree, tmp_path, capsys):
    error = _bad(_args(tree, tmp_path / "out", labels=("A",)), capsys)
    assert "`--env` must be given at least twice" in error


def test_an_output_that_names_an_interpreter_is_refused(tree, tmp_path, capsys):
    (tmp_path / "python").symlink_to(PYTHON)
    args = [
        "--env",
        f"A={tmp_path / 'python'}",
        "--env",
        f"B={PYTHON}",
        "--src",
        f"A={tree}",
        "--src",
        f"B={tree}",
    ]
    error = _bad([*args, "--out-dir", str(tmp_path / "out"), "--markdown", str(tmp_path / "python")], capsys)
    assert f"{tmp_path / 'python'}: this output would replace an input" in error
    assert (tmp_path / "python").is_symlink() and not (tmp_path / "out").exists()


def test_an_environment_without_a_package_is_named_with_its_interpreter(tree, tmp_path, capsys):
    error = _bad([*_args(tree, tmp_path / "out"), "--set", "B:FAKE_MISSING=tensorflow"], capsys)
    assert f"environment B: {PYTHON} lacks the package 'tensorflow'" in error


def test_the_real_worker_under_a_bare_interpreter_names_the_missing_package(tmp_path, capsys):
    """A virtual environment without NumPy or TensorFlow runs this project's real worker."""
    subprocess.run([PYTHON, "-m", "venv", "--without-pip", str(tmp_path / "bare")], check=True)
    bare = tmp_path / "bare" / "bin" / "python"
    error = _bad(["--env", f"A={bare}", "--env", f"B={bare}", "--out-dir", str(tmp_path / "out")], capsys)
    assert f"environment A: {bare} lacks the package 'numpy'" in error


def test_an_old_worker_protocol_is_refused(tree, tmp_path, capsys):
    error = _bad([*_args(tree, tmp_path / "out"), "--set", "B:FAKE_PROTOCOL=0"], capsys)
    assert "protocol 0" in error


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (
            ["--set", "B:FAKE_CRASH=burst"],
            r"environment B \(worker \d, pid (\d+), .*exit code 3\); last stderr line: fake worker: crashed at burst",
        ),
        (
            ["--set", "B:FAKE_CRASH=start"],
            r"environment B \(worker \d, pid (\d+), .*exit code 3\).* exited before answering 'start'",
        ),
        (
            ["--set", "B:FAKE_HANG=prepare", "--timeout", "0.5"],
            r"environment B \(worker \d, pid (\d+), .* did not answer 'prepare [^']+' within 0.5 s",
        ),
        (
            ["--set", "B:FAKE_HANG=burst", "--timeout", "0.5"],
            r"environment B \(worker \d, pid (\d+), .* did not answer 'burst [^']+' within 0.5 s",
        ),
    ],
    ids=["crash-in-a-burst", "crash-at-start", "hang-in-prepare", "hang-in-a-burst"],
)
def test_a_failing_worker_is_named_and_no_worker_outlives_the_run(tree, tmp_path, capsys, fault, expected):
    log = tmp_path / "workers.log"
    args = [
        *_args(tree, tmp_path / "out", "--rounds", "2"),
        "--set",
        f"A:FAKE_LOG={log}",
        "--set",
        f"B:FAKE_LOG={log}",
    ]
    error = _bad([*args, *fault], capsys)
    match = re.search(expected, error)
    assert match, error
    assert int(match[1]) in _pids(log)
    assert all(_gone(pid) for pid in _pids(log)) and len(_pids(log)) == 4
    assert not (tmp_path / "out").exists()


def test_a_run_without_a_round_gives_insufficient_rounds_in_every_row_and_output():
    cases = ["basic-b32-fit", "basic-b32-function"]
    environments = [Environment(label, Path(PYTHON)) for label in "AB"]
    measured = Measurements(
        environments, 2, cases=cases, times={k: {c: [[], []] for c in cases} for k in "AB"}
    )
    (comparison,) = compare(measured, threshold=0.05)
    assert {r.verdict for r in [*comparison.rows, *comparison.aggregates]} == {INSUFFICIENT}
    text = format_text(Outcome(measured, [comparison], 0.05, 0.05, 0.95, 1.0))
    assert (
        "ALL (2 cases, geometric mean)" in text and "spread is not estimated (fewer than two rounds)" in text
    )
