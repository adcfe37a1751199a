"""Execution modes and the correctness gate that runs before any timing."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import keras
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from benchmarks import harness, modes
from benchmarks.checks import MIXED_LOSS_RTOL, MIXED_UPDATE_RTOL, MODE_UPDATE_RTOL, check_mode
from benchmarks.devices import Device
from benchmarks.harness import ModeMismatchError, Timing
from benchmarks.modes import CORE_MODES, build_runner, modes_for, training_matrix
from benchmarks.precision import unsupported_reason
from benchmarks.results.cases import MODES
from benchmarks.settings import (
    FULL,
    QUICK,
    SMOKE,
    choose_fused_steps,
    choose_rounds,
    env_quick,
    resolve_settings,
)
from benchmarks.workloads import build_problem, get_workload

SEED = 7
# SGD(0.1) on sum((x-2)^2) from x = 0: x_k = 2 - 2 * 0.8^k, loss before step k+1 = 2 * (2 * 0.8^k)^2.
QUADRATIC_RTOL = 1e-5


def _wrong_learning_rate(problem, factor: float):
    """The same step with an optimizer whose learning rate is off by ``factor``."""
    lr = float(keras.ops.convert_to_numpy(problem.optimizer.learning_rate))
    optimizer = type(problem.optimizer)(learning_rate=lr * factor)
    optimizer.build(problem.variables)
    return build_runner("function", replace(problem, optimizer=optimizer))


@pytest.mark.parametrize("mode", modes_for(False))
def test_every_mode_of_the_quadratic_passes_the_check(mode):
    problem = build_problem("quadratic", None, seed=SEED)
    check = check_mode(problem, build_runner(mode, problem))
    assert check.passed, check.message()


@pytest.mark.parametrize("mode", ["function", "fit", "fused"])
def test_graph_modes_of_the_basic_mlp_with_dropout_pass_the_check(mode):
    problem = build_problem("basic", 32, seed=SEED)
    check = check_mode(problem, build_runner(mode, problem))
    assert check.passed, check.message()


@pytest.mark.parametrize("workload", ["quadratic", "basic"])
@pytest.mark.parametrize("factor", [0.5, 0.9, 1.1, 2.0])
def test_a_mode_with_a_wrong_learning_rate_fails_the_check(workload, factor):
    problem = build_problem(workload, None if workload == "quadratic" else 32, seed=SEED, dropout=False)
    check = check_mode(problem, _wrong_learning_rate(problem, factor))
    assert not check.passed
    assert check.update_rel_err > MODE_UPDATE_RTOL


def test_a_wrong_mode_fails_its_benchmark_case_before_anything_is_timed(monkeypatch):
    timed = []
    fake = SimpleNamespace(
        enabled=True, extra_info={}, group=None, stats=None, pedantic=lambda *a, **k: timed.append(a)
    )
    monkeypatch.setattr(harness, "build_runner", lambda mode, problem: _wrong_learning_rate(problem, 2.0))
    with pytest.raises(ModeMismatchError, match="quadratic/b-/function/CPU:0"):
        harness.run_training_case(
            Timing(fake, FULL),
            get_workload("quadratic"),
            None,
            "function",
            Device("CPU", 0, "cpu"),
            seed=SEED,
        )
    assert timed == []


def test_check_leaves_the_problem_in_its_initial_state():
    problem = build_problem("advanced", 32, seed=SEED)
    before = problem.snapshot()
    check_mode(problem, build_runner("fused", problem))
    for a, b in zip(before, problem.snapshot(), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("mode", ["fused", "fused_xla"])
def test_fused_runner_takes_n_sgd_steps_of_the_closed_form(mode):
    steps = 5
    problem = build_problem("quadratic", None, seed=SEED)
    loss = float(build_runner(mode, problem).run(steps).numpy())
    expected_x = 2 - 2 * 0.8**steps
    expected_last_loss = 2 * (2 * 0.8 ** (steps - 1)) ** 2
    np.testing.assert_allclose(problem.variables[0].numpy(), [expected_x] * 2, rtol=QUADRATIC_RTOL)
    assert loss == pytest.approx(expected_last_loss, rel=QUADRATIC_RTOL)


def test_per_step_runner_refuses_more_than_one_step():
    problem = build_problem("quadratic", None, seed=SEED)
    with pytest.raises(ValueError, match="Argument `steps`"):
        build_runner("function", problem).run(3)


def test_fit_mode_needs_a_keras_model():
    problem = build_problem("quadratic", None, seed=SEED)
    with pytest.raises(ValueError, match="Argument `mode` cannot be 'fit'"):
        build_runner("fit", problem)


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda: build_runner("turbo", build_problem("quadratic", None, seed=SEED)), "mode"),
        (lambda: get_workload("resnet"), "name"),
        (lambda: build_problem("quadratic", 32, seed=SEED), "batch_size"),
        (lambda: build_problem("basic", 0, seed=SEED), "batch_size"),
    ],
    ids=["unknown-mode", "unknown-workload", "quadratic-with-batch", "batch-zero"],
)
def test_bad_arguments_raise_value_error_naming_the_argument(call, argument):
    with pytest.raises(ValueError, match=f"Argument `{argument}`"):
        call()


@given(round_s=st.floats(0, 10, allow_nan=False), settings=st.sampled_from([FULL, QUICK]))
def test_rounds_stay_within_the_settings_bounds(round_s, settings):
    assert settings.min_rounds <= choose_rounds(round_s, settings) <= settings.max_rounds


@given(step_s=st.floats(0, 10, allow_nan=False), settings=st.sampled_from([FULL, QUICK, SMOKE]))
def test_fused_steps_stay_within_the_settings_bounds(step_s, settings):
    assert settings.fused_min_steps <= choose_fused_steps(step_s, settings) <= settings.fused_max_steps


def test_settings_are_smoke_unless_timed_and_quick_on_request(monkeypatch):
    assert resolve_settings(timed=False, quick=True) is SMOKE
    assert resolve_settings(timed=True, quick=True) is QUICK
    assert resolve_settings(timed=True, quick=False) is FULL
    monkeypatch.setenv("TFBENCH_QUICK", "yes")
    assert env_quick()
    monkeypatch.setenv("TFBENCH_QUICK", "0")
    assert not env_quick()


def test_fit_is_a_mode_only_of_workloads_with_a_keras_model():
    assert "fit" not in modes_for(False) and "fit" in modes_for(True)


def test_the_trainer_modes_need_a_keras_model():
    problem = build_problem("quadratic", None, seed=SEED)
    with pytest.raises(ValueError, match="Argument `mode` cannot be 'trainer_spe32'"):
        build_runner("trainer_spe32", problem)


def test_a_k_step_mode_that_trains_on_one_batch_k_times_fails_the_check(monkeypatch):
    problem = build_problem("basic", 32, seed=SEED, dropout=False)
    one_batch = modes._host_iterator
    monkeypatch.setattr(modes, "_host_iterator", lambda problem, steps: one_batch(problem, 1))
    check = check_mode(problem, build_runner("fit_spe8", problem))
    assert check.steps == 8 and not check.passed
    assert check.update_rel_err > MODE_UPDATE_RTOL


def test_a_k_step_mode_is_checked_against_k_eager_steps_on_k_different_batches():
    problem = build_problem("basic", 32, seed=SEED, dropout=False)
    xs, _ = problem.batches(8)
    assert xs.shape == (8, 32, 20)
    np.testing.assert_array_equal(xs[0], problem.x.numpy())
    assert len({x.tobytes() for x in xs}) == 8


@pytest.mark.skipif(
    unsupported_reason("mixed_bfloat16", "CPU") is not None, reason="this CPU has no native bfloat16"
)
def test_a_mixed_mode_with_twice_the_learning_rate_fails_the_mixed_check():
    problem = build_problem("basic", 32, seed=SEED, dropout=False, dtype_policy="mixed_bfloat16")
    check = check_mode(
        problem, _wrong_learning_rate(problem, 2.0), loss_rtol=MIXED_LOSS_RTOL, update_rtol=MIXED_UPDATE_RTOL
    )
    assert check.dtype_policy == "mixed_bfloat16" and not check.passed
    assert check.update_rel_err > MIXED_UPDATE_RTOL


def test_the_smoke_matrix_runs_every_knob_once_and_the_timed_matrix_everywhere():
    smoke = training_matrix(SMOKE.batch_sizes, knob_workloads=SMOKE.knob_workloads)
    timed = training_matrix(FULL.batch_sizes)
    knobs = [m for m in MODES if m not in CORE_MODES]
    assert sorted(m for w, _, m in smoke if m in knobs) == sorted(knobs)
    assert {w.name for w, _, m in smoke if m in knobs} == {"basic"}
    assert {(w.name, m) for w, _, m in timed if m in knobs} == {
        (w, m) for w in ("basic", "advanced", "callbacks") for m in knobs
    }


def test_without_mixed_precision_the_matrix_has_no_mixed_mode():
    assert not [m for _, _, m in training_matrix(QUICK.batch_sizes, mixed=False) if m.endswith("_mixed")]


def test_the_quadratic_runs_the_modes_that_need_no_keras_model():
    assert modes_for(False) == ("eager", "function", "xla", "fused", "fused_xla")
