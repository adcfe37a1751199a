"""One environment's worker for ``tfbench-ab``: ``python -m benchmarks.ab_worker``, driven by the command.

It runs under the environment's own interpreter with only this project's ``benchmarks`` and
``reference`` packages on ``PYTHONPATH``, so that environment needs TensorFlow (with its Keras and
NumPy) and nothing else. The job is the first line on stdin (JSON: ``quick``, ``device``, ``seed``,
``burst_s``, ``inject``, ``label``, ``worker``, ``proposes``), not a variable: the workers of two identical
environments then start with the same variables, of the same sizes (the environment's size shifts
the stack, a known source of several percent between otherwise identical processes; Mytkowicz et
al. 2009). It builds, traces, compiles and (the environment's first worker, ``worker`` 1 in the job)
checks each case once when asked (``prepare``), outside any timing, then times short bursts of it on
request. The other workers of an environment run the same code on the same inputs and skip the check
(``check: {"checked_in": "LABEL#1"}``): it is about a third of preparing (27 of 75 s for the quick
matrix here, most of it the XLA twins of the models with dropout), and every worker prepares every case.

Protocol, one JSON object a line: the job, then commands, on stdin; answers on stdout prefixed with
``@@`` (anything else on stdout is ignored)::

    -> {"quick": true, "device": "CPU:0", "seed": 0, "burst_s": 0.05, "inject": 0.0, ...}
    <- @@{"ok": true, "protocol": 1, "versions": {...}, "cases": ["basic-b32-eager", ...]}
    <- @@{"ok": false, "missing": "tensorflow", "error": "..."}        (then exit 2)
    -> {"cmd": "prepare", "case": "basic-b32-function"}
    <- @@{"ok": true, "passed": true, "steps": 1, "first_call_s": 0.41, "check": {...}}
    -> {"cmd": "size", "case": "basic-b32-function", "steps": 1, "calls": null}
    <- @@{"ok": true, "steps": 1, "calls": 70, "call_s": 0.00071}
    -> {"cmd": "burst", "case": "basic-b32-function"}
    <- @@{"ok": true, "step_s": 0.00071, "calls": 70}
    -> {"cmd": "quit"}

``prepare`` builds, traces and compiles the case (one first call) and, in the worker the command
names the proposer (``proposes`` in the job: the baseline's first worker), proposes ``steps`` per call
(fused modes: ``measure_fused_steps`` aiming at ``burst_s / FUSED_CALLS`` per call, at least 1 step,
reusing a compiled count; others 1); the other workers leave the probing out (in ``fused_xla`` each
probed count is another compilation). ``size`` fixes the size of a case: ``steps`` (compiled if new,
then warmed) and ``calls``, or, when ``calls`` is null (the proposer, asked while no other worker
runs), ``calls = clip(round(burst_s / call_s), 1, MAX_CALLS)`` from its own warm ``call_s``; the
command sends that size to every other worker, so environments compare the same work, and a burst
lasts about ``burst_s`` on a quiet machine (sized while the others prepared, bursts came out a third
as long as asked). A call longer than a burst is timed once (the rounds' signed-rank interval absorbs
the bursts that a preemption hits). A prepare that fails its mode check (``benchmarks.checks``) or
raises answers ``passed: false`` with the message, and the case is never timed here.

A burst is ``calls`` timed calls of ``steps`` steps each, each ending with a host copy of the loss,
after one untimed call when a call is shorter than ``WARM_CALL_BELOW_S`` (the first call after the
other workers ran meets cold caches; a long call hides that); ``step_s`` is the median call time
over ``steps``: a preemption that hits fewer than half of the calls does not move it.

Injected slowdown (``inject`` = ``f`` > 0, the documented test facility ``tfbench-ab --inject
LABEL:F``): each timed call is followed by a busy wait until ``(1 + f)`` times its own duration has
passed, so every timed step takes ``f`` longer whatever the machine's phase.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
import traceback
from dataclasses import replace

__all__ = [
    "FUSED_CALLS",
    "MAX_CALLS",
    "PREFIX",
    "PROTOCOL",
    "REQUIRED_PACKAGES",
    "WARM_CALL_BELOW_S",
    "main",
    "spin_until",
]

PROTOCOL = 2
PREFIX = "@@"
REQUIRED_PACKAGES = ("numpy", "tensorflow", "keras")
FUSED_CALLS = 3
MAX_CALLS = 10_000
WARM_CALL_BELOW_S = 0.01


def _answer(**payload) -> None:
    sys.stdout.write(PREFIX + json.dumps(payload) + "\n")
    sys.stdout.flush()


def spin_until(deadline: float) -> None:
    """Busy-wait (the CPU stays busy, as a slower step would keep it) until ``time.perf_counter() >= deadline``."""
    while time.perf_counter() < deadline:
        pass


def _missing_package() -> tuple[str, str] | None:
    import importlib

    for name in REQUIRED_PACKAGES:
        try:
            importlib.import_module(name)
        except ImportError as error:
            return name, f"{type(error).__name__}: {error}"
    return None


class _Session:
    """The prepared cases of one worker and how to time them."""

    def __init__(self, job: dict):
        import tensorflow as tf

        from benchmarks.results.cases import case_label
        from benchmarks.settings import FULL, QUICK

        self.tf = tf
        self.seed, self.burst_s, self.inject = int(job["seed"]), float(job["burst_s"]), float(job["inject"])
        # Every worker of an environment runs the same code on the same inputs: the first one checks
        # each case for the environment (a third of a worker's preparing), the others build and compile.
        self.label, self.checks = str(job.get("label", "")), int(job.get("worker", 1)) == 1
        self.proposes = bool(job.get("proposes", True))
        matrix = QUICK if job["quick"] else FULL
        self.settings = replace(matrix, fused_round_s=self.burst_s / FUSED_CALLS, fused_min_steps=1)
        self.device_kind = job["device"].split(":")[0]
        self.device = f"/device:{job['device']}"
        if job["device"] not in {d.name.split("device:")[-1] for d in tf.config.list_logical_devices()}:
            raise LookupError(f"device {job['device']!r} is not visible to TensorFlow here")
        from benchmarks.modes import training_matrix_of

        self.matrix = {case_label(w.name, b, m): (w, b, m) for w, b, m in training_matrix_of(self.settings)}
        self.runners: dict[str, object] = {}
        self.prepared: dict[str, tuple] = {}

    def prepare(self, label: str) -> dict:
        from benchmarks.checks import check_case
        from benchmarks.modes import build_runner
        from benchmarks.precision import case_policy
        from benchmarks.results.cases import MODE_SPECS
        from benchmarks.settings import call_seconds, round_steps
        from benchmarks.workloads import build_problem

        workload, batch, mode = self.matrix[label]
        policy, unsupported = case_policy(MODE_SPECS[mode].mixed, "auto", self.device_kind)
        if unsupported:
            return {"passed": False, "kind": "matrix", "message": unsupported}
        started = time.perf_counter()
        with self.tf.device(self.device):
            problem = build_problem(workload, batch, seed=self.seed, dtype_policy=policy)
            runner = build_runner(mode, problem)
            first_call_s = call_seconds(lambda: runner.run().numpy())
            check = {"checked_in": f"{self.label}#1"}
            if self.checks:
                result = check_case(
                    workload, batch, mode, problem, runner, device_kind=self.device_kind, seed=self.seed
                )
                check |= result.as_dict()
                if not result.passed:
                    return {"passed": False, "message": result.message(), "check": check}
            steps = round_steps(runner, self.settings, reuse_compiled=True) if self.proposes else None
        self.runners[label] = runner
        return {
            "passed": True,
            "steps": steps,
            "trace_s": runner.trace_s,
            "first_call_s": first_call_s,
            "prepare_s": time.perf_counter() - started,
            "check": check,
        }

    def size(self, label: str, steps: int, calls: int | None) -> dict:
        from benchmarks.settings import warm_round_s

        with self.tf.device(self.device):
            target = self.runners[label].timed(steps)
            call_s = warm_round_s(target)
        if calls is None:
            calls = int(min(MAX_CALLS, max(1, round(self.burst_s / max(call_s, 1e-9)))))
        self.prepared[label] = (target, steps, calls, call_s < WARM_CALL_BELOW_S)
        return {"steps": steps, "calls": calls, "call_s": call_s}

    def burst(self, label: str) -> dict:
        target, steps, calls, warm = self.prepared[label]
        times = []
        with self.tf.device(self.device):
            if warm:
                target()
            for _ in range(calls):
                start = time.perf_counter()
                target()
                if self.inject:
                    spin_until(start + (1 + self.inject) * (time.perf_counter() - start))
                times.append(time.perf_counter() - start)
        return {"step_s": statistics.median(times) / steps, "calls": calls}


def _hello(session: _Session) -> dict:
    import keras
    import numpy as np

    tf = session.tf
    return {
        "protocol": PROTOCOL,
        "pid": os.getpid(),
        "executable": sys.executable,
        "python": sys.version.split()[0],
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__, "numpy": np.__version__},
        "tensorflow_path": os.path.dirname(tf.__file__),
        "source": os.path.dirname(os.path.dirname(os.path.realpath(__file__))),
        "variables": {k: os.environ[k] for k in sorted(os.environ) if k.startswith(("TF_", "XLA_"))},
        "cases": list(session.matrix),
    }


def _serve(session: _Session) -> int:
    for line in sys.stdin:
        if not line.strip():
            continue
        command = json.loads(line)
        if command["cmd"] == "quit":
            return 0
        if command["cmd"] == "prepare":
            try:
                _answer(ok=True, **session.prepare(command["case"]))
            except Exception as error:  # the case is refused here, the worker goes on
                traceback.print_exc()
                _answer(ok=True, passed=False, message=f"{type(error).__name__}: {error}")
        elif command["cmd"] == "size":
            calls = command.get("calls")
            _answer(
                ok=True,
                **session.size(command["case"], int(command["steps"]), None if calls is None else int(calls)),
            )
        elif command["cmd"] == "burst":
            _answer(ok=True, **session.burst(command["case"]))
        else:
            _answer(ok=False, error=f"unknown command {command['cmd']!r}")
            return 1
    return 0


def main() -> int:
    job = json.loads(sys.stdin.readline())
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    missing = _missing_package()
    if missing is not None:
        _answer(ok=False, missing=missing[0], error=missing[1])
        return 2
    try:
        session = _Session(job)
    except LookupError as error:
        _answer(ok=False, error=str(error))
        return 2
    _answer(ok=True, **_hello(session))
    try:
        return _serve(session)
    except Exception as error:  # the parent needs the message, not a dead pipe
        traceback.print_exc()
        _answer(ok=False, error=f"{type(error).__name__}: {error}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
