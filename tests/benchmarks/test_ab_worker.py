"""The A/B worker in this process (TensorFlow is loaded here): its protocol, its check, its injected slowdown."""

from __future__ import annotations

import io
import json
import time

import pytest

from benchmarks import ab_worker, checks
from benchmarks.checks import MODE_LOSS_RTOL
from benchmarks.modes import CORE_MODES, training_matrix
from benchmarks.plugin import _training_params
from benchmarks.results.cases import case_label
from benchmarks.settings import QUICK

JOB = {"quick": True, "device": "CPU:0", "seed": 7, "burst_s": 0.005, "inject": 0.0, "label": "A"}
SLEEP_S = 0.002


def _serve(monkeypatch, capsys, session, commands: list[dict]) -> list[dict]:
    monkeypatch.setattr("sys.stdin", io.StringIO("".join(json.dumps(c) + "\n" for c in commands)))
    assert ab_worker._serve(session) == 0
    lines = capsys.readouterr().out.splitlines()
    return [json.loads(line[len(ab_worker.PREFIX) :]) for line in lines if line.startswith(ab_worker.PREFIX)]


def test_the_worker_offers_the_benchmark_matrix_under_its_case_labels():
    # The quick run's matrix: the six-mode ladder on every workload, the knobs on the basic MLP only.
    labels = [
        case_label(w.name, b, m)
        for w, b, m in training_matrix(QUICK.batch_sizes)
        if m in CORE_MODES or w.name == "basic"
    ]
    offered = list(ab_worker._Session(JOB).matrix)
    assert offered == labels and "basic-b32-fit_xla" in offered and "advanced-b32-fit_xla" not in offered
    assert offered == [param.id for param in _training_params(QUICK)]  # the same labels as pytest's


def test_a_prepared_case_passes_its_check_then_answers_bursts(monkeypatch, capsys):
    case = "quadratic-b--function"
    prepared, burst = _serve(
        monkeypatch,
        capsys,
        ab_worker._Session(JOB),
        [
            {"cmd": "prepare", "case": case},
            {"cmd": "size", "case": case, "steps": 1, "calls": 4},
            {"cmd": "burst", "case": case},
            {"cmd": "quit"},
        ],
    )[::2]
    assert prepared["passed"] and prepared["check"]["loss_rel_err"] <= MODE_LOSS_RTOL
    assert prepared["steps"] == 1
    assert burst["ok"] and burst["step_s"] > 0 and burst["calls"] == 4


def test_the_proposer_sizes_calls_from_its_own_warm_call_and_the_others_do_not_probe(monkeypatch, capsys):
    """Asked with ``calls: null``, the proposer answers calls = round(burst_s / call_s), at least 1; a
    worker that does not propose prepares without proposing steps (no probe compilations)."""
    case = "quadratic-b--function"
    prepared, sized = _serve(
        monkeypatch,
        capsys,
        ab_worker._Session(JOB),
        [{"cmd": "prepare", "case": case}, {"cmd": "size", "case": case, "steps": 1, "calls": None}],
    )
    assert sized["steps"] == 1 and sized["calls"] == max(1, round(JOB["burst_s"] / sized["call_s"]))
    (other,) = _serve(
        monkeypatch,
        capsys,
        ab_worker._Session(JOB | {"worker": 2, "proposes": False}),
        [{"cmd": "prepare", "case": case}],
    )
    assert prepared["steps"] == 1 and other["passed"] and other["steps"] is None


def test_a_case_whose_check_fails_is_refused_with_the_check_message(monkeypatch, capsys):
    failed = checks.ModeCheck("function", 1.0, 2.0, 0.5, 0.5, MODE_LOSS_RTOL, 0.05, False)
    monkeypatch.setattr(checks, "check_case", lambda *args, **kwargs: failed)
    session = ab_worker._Session(JOB)
    (answer,) = _serve(monkeypatch, capsys, session, [{"cmd": "prepare", "case": "quadratic-b--function"}])
    assert not answer["passed"] and answer["message"] == failed.message()
    assert "quadratic-b--function" not in session.runners


def test_only_the_first_worker_of_an_environment_checks_and_the_others_say_where(monkeypatch, capsys):
    failed = checks.ModeCheck("function", 1.0, 2.0, 0.5, 0.5, MODE_LOSS_RTOL, 0.05, False)
    monkeypatch.setattr(checks, "check_case", lambda *args, **kwargs: failed)
    prepare = [{"cmd": "prepare", "case": "quadratic-b--function"}]
    (first,) = _serve(monkeypatch, capsys, ab_worker._Session(JOB | {"worker": 1}), prepare)
    (second,) = _serve(monkeypatch, capsys, ab_worker._Session(JOB | {"worker": 2}), prepare)
    assert not first["passed"] and first["check"]["checked_in"] == "A#1"
    assert second["passed"] and second["check"] == {"checked_in": "A#1"}


@pytest.mark.parametrize("fraction", [0.0, 0.5])
def test_an_injected_slowdown_makes_every_timed_call_last_1_plus_f_times_as_long(fraction):
    session = ab_worker._Session(JOB | {"inject": fraction})
    session.prepared["sleep"] = (lambda: time.sleep(SLEEP_S), 1, 3, False)
    assert session.burst("sleep")["step_s"] >= (1 + fraction) * SLEEP_S
