"""One interleaved A/B run: start the workers, prepare every case in each, then time randomized rounds.

1. Start: ``workers_per_env`` worker processes per environment, launched at once in a random order
   (``benchmarks.results.ab_workers``), import TensorFlow and report their versions and case matrix.
   Several processes per environment are what lets the statistics see how much one process differs
   from another of the same environment (``benchmarks.results.ab_variance``). The cases are the
   ``--cases`` patterns matched against the first environment's matrix.
2. Prepare (outside any timing, the workers side by side): each worker builds, traces and compiles
   one case at a time (``benchmarks.ab_worker``), each environment's first worker checks it, and the
   workers of an environment start at different places in the list (``_rotated``), so that each
   compiles part of the cases and finds the rest in the environment's XLA cache (``ab_workers``).
   Then, with no other worker running, the baseline's first worker sizes each case (steps per call
   and calls per burst, from a warm call); the other workers take that size, so all compare the same
   work. A case whose check fails in an environment, or that its matrix lacks, is refused in that
   environment and named; it is timed only where it passed.
3. Rounds, one worker timing at a time, the others waiting on their stdin. Every worker times one
   burst of every case per round. ``interleave="case"`` (default): in each round the cases come in a
   random order and, per case, every worker of every environment times a burst, back to back in a
   random order, so the bursts a round compares are a fraction of a second apart.
   ``interleave="round"``: in each round the workers take turns in a random order, each timing a
   burst of every case (in its own random order); a ratio then compares bursts a whole sweep apart.

The run stops after ``max_rounds`` rounds or when the next round would end after ``deadline``
(``time.monotonic``), the estimate being the longest of the last three rounds; preparing stops
at the deadline too.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from benchmarks.ab_worker import PROTOCOL
from benchmarks.results.ab_environments import Environment, select_cases
from benchmarks.results.ab_workers import Worker, WorkerError, WorkerInputError, Workers, worker_name

__all__ = ["INTERLEAVINGS", "Measurements", "run_interleaved"]

INTERLEAVINGS = ("case", "round")
LOGGER = logging.getLogger("tfbench.ab")


@dataclass
class Measurements:
    """What a run measured: per environment, case and worker, one step time (seconds) per round.

    ``times[label][case][i][r]`` is worker ``i``'s time in round ``r``; ``workers[label]`` holds each
    worker's first answer (pid, versions), ``prepared[worker_name][case]`` each worker's prepare answer.
    """

    environments: list[Environment]
    workers_per_env: int = 1
    workers: dict[str, list[dict]] = field(default_factory=dict)
    matrix: dict[str, list[str]] = field(default_factory=dict)
    launch_order: list[str] = field(default_factory=list)
    cases: list[str] = field(default_factory=list)
    prepared: dict[str, dict[str, dict]] = field(default_factory=dict)
    times: dict[str, dict[str, list[list[float]]]] = field(default_factory=dict)
    round_s: list[float] = field(default_factory=list)
    interleave: str = "case"
    stop_reason: str = ""
    start_s: float = 0.0
    prepare_s: float = 0.0

    @property
    def labels(self) -> list[str]:
        return [e.label for e in self.environments]

    @property
    def rounds(self) -> int:
        return len(self.round_s)

    def worker_names(self, label: str) -> list[str]:
        return [worker_name(label, i) for i in range(self.workers_per_env)]

    def passed(self, label: str, case: str) -> bool:
        """Whether ``case`` passed its check in every worker of ``label`` and was sized there (ready to time)."""
        answers = [self.prepared.get(name, {}).get(case, {}) for name in self.worker_names(label)]
        return all(answer.get("passed") and answer.get("sized") for answer in answers)

    def refusal(self, label: str, case: str) -> dict | None:
        """Why ``case`` was not timed in ``label`` (``None`` if it was ready): ``{"kind", "reason"}``.

        Kinds: ``check`` (its mode check failed, or preparing it raised, in a worker), ``matrix``
        (that environment's benchmark matrix lacks it), ``budget`` (not prepared before the deadline).
        """
        for name in self.worker_names(label):
            answer = self.prepared.get(name, {}).get(case)
            if answer is not None and not answer.get("passed"):
                reason = str(answer.get("message", "refused"))
                if self.workers_per_env > 1 and answer.get("kind", "check") == "check":
                    reason = f"{reason} (worker {name})"
                return {"kind": answer.get("kind", "check"), "reason": reason}
        if self.passed(label, case):
            return None
        return {"kind": "budget", "reason": "not prepared (the budget ran out first)"}


def _check_protocol(worker: Worker, answer: dict) -> None:
    if answer.get("protocol") != PROTOCOL:
        raise WorkerInputError(
            f"environment {worker.label}: its benchmarks.ab_worker ({worker.environment.source}) speaks "
            f"protocol {answer.get('protocol')}, this command speaks {PROTOCOL}: use a checkout of the same era"
        )


def _start(workers: Workers, patterns: Sequence[str], measured: Measurements) -> None:
    measured.launch_order = list(workers.launch_order)
    for worker, answer in zip(workers.workers, workers.hello(), strict=True):
        _check_protocol(worker, answer)
        info = {"worker": worker.name} | {k: v for k, v in answer.items() if k not in ("ok", "cases")}
        measured.workers.setdefault(worker.label, []).append(info)
        measured.matrix.setdefault(worker.label, list(answer["cases"]))
    measured.cases = select_cases(patterns, measured.matrix[measured.labels[0]])


def _rotated(cases: list[str], index: int, workers_per_env: int) -> list[str]:
    """``cases`` starting ``index / workers_per_env`` of the way in: the workers of an environment
    compile different cases first, so each finds much of the rest in the environment's XLA cache."""
    start = index * len(cases) // workers_per_env
    return cases[start:] + cases[:start]


def _prepare(workers: Workers, measured: Measurements, deadline: float, timeout: float) -> None:
    """Every worker prepares its cases (side by side, in rotated orders); then, with nothing else
    running, the baseline's first worker sizes each case; then the others take that size."""
    queues = {}
    for worker in workers.workers:
        mine = [c for c in measured.cases if c in measured.matrix[worker.label]]
        queues[worker] = [("prepare", c) for c in _rotated(mine, worker.index, measured.workers_per_env)]
        measured.prepared[worker.name] = {
            case: {"passed": False, "kind": "matrix", "message": f"not in {worker.label}'s benchmark matrix"}
            for case in measured.cases
            if case not in mine
        }
    proposer = workers.workers[0]
    _serve_queues(workers, queues, measured, deadline, timeout)
    ready = [c for c in measured.cases if measured.prepared[proposer.name][c].get("passed")]
    sizes = {}
    for case in ready:
        if time.monotonic() >= deadline:
            break
        steps = measured.prepared[proposer.name][case]["steps"]
        answer = proposer.ask(
            {"cmd": "size", "case": case, "steps": steps, "calls": None}, f"size {case}", timeout
        )
        sizes[case] = {"steps": answer["steps"], "calls": answer["calls"]}
        measured.prepared[proposer.name][case].update(sized=True, call_s=answer["call_s"], **sizes[case])
    queues = {
        w: [("size", c) for c in sizes if _prepared_everywhere(measured, w.label, c)]
        for w in workers.workers
        if w is not proposer
    }
    _serve_queues(workers, queues, measured, deadline, timeout, sizes)


def _prepared_everywhere(measured: Measurements, label: str, case: str) -> bool:
    return all(measured.prepared[name][case].get("passed") for name in measured.worker_names(label))


def _serve_queues(
    workers: Workers,
    queues: dict[Worker, list[tuple[str, str]]],
    measured: Measurements,
    deadline: float,
    timeout: float,
    sizes: dict[str, dict] | None = None,
) -> None:
    """Send each worker its queue's commands one at a time, side by side, until the queues or the time run out."""
    asked: dict[Worker, tuple[str, str]] = {}

    def send_next(worker: Worker) -> None:
        if queues.get(worker) and time.monotonic() < deadline:
            kind, case = queues[worker].pop(0)
            command = {"cmd": kind, "case": case} | (sizes[case] if kind == "size" else {})
            worker.send(command, f"{kind} {case}", timeout)
            asked[worker] = (kind, case)

    for worker in queues:
        send_next(worker)
    while asked:
        worker, answer = workers.next_answer(list(asked))
        kind, case = asked.pop(worker)
        answer.pop("ok")
        if kind == "size":
            measured.prepared[worker.name][case].update(sized=True, **answer)
        else:
            measured.prepared[worker.name][case] = answer
            if not answer["passed"]:
                LOGGER.warning("%s refused in %s: %s", case, worker.name, answer.get("message"))
        send_next(worker)


def _burst(worker: Worker, case: str, timeout: float) -> float:
    answer = worker.ask({"cmd": "burst", "case": case}, f"burst {case}", timeout)
    step_s = float(answer["step_s"])
    if not step_s > 0 or not math.isfinite(step_s):
        raise WorkerError(f"{worker.describe()} answered a step time of {step_s!r} for {case}")
    return step_s


def _round(
    workers: list[Worker],
    timed: dict[str, list[str]],
    rng: random.Random,
    interleave: str,
    timeout: float,
) -> dict[tuple[str, int], dict[str, float]]:
    """One round: ``{(label, worker index): {case: step_s}}`` in the interleaving's random order."""
    result: dict[tuple[str, int], dict[str, float]] = {(w.label, w.index): {} for w in workers}
    if interleave == "case":
        cases = sorted({c for cs in timed.values() for c in cs})
        for case in rng.sample(cases, len(cases)):
            timing = [w for w in workers if case in timed[w.label]]
            for worker in rng.sample(timing, len(timing)):
                result[worker.label, worker.index][case] = _burst(worker, case, timeout)
    else:
        for worker in rng.sample(workers, len(workers)):
            cases = timed[worker.label]
            for case in rng.sample(cases, len(cases)):
                result[worker.label, worker.index][case] = _burst(worker, case, timeout)
    return result


def _first_round_estimate(measured: Measurements, timed: dict[str, list[str]]) -> float:
    total = 0.0
    for label, cases in timed.items():
        for name in measured.worker_names(label):
            for case in cases:
                answer = measured.prepared[name][case]
                total += (answer["calls"] + 1) * answer["call_s"]
    return total


def run_interleaved(
    environments: Sequence[Environment],
    *,
    patterns: Sequence[str] = (),
    job: dict,
    deadline: float,
    max_rounds: int | None = None,
    interleave: str = "case",
    seed: int = 0,
    timeout: float = 120.0,
    workers_per_env: int = 1,
) -> Measurements:
    """Start, prepare and time (module docstring); the workers are closed before it returns or raises.

    Args:
        environments: the baseline first.
        patterns: ``--cases`` patterns (none: the whole matrix).
        job: what every worker gets (``quick``, ``device``, ``seed``, ``burst_s``).
        deadline: ``time.monotonic()`` by which the rounds must be over.
        max_rounds: stop after this many rounds (``None``: only the deadline).
        interleave: ``"case"`` or ``"round"``.
        seed: the random order of the launch, the cases and the workers.
        timeout: seconds each wait on a worker may take (start, one prepare, one burst).
        workers_per_env: worker processes per environment.

    Raises:
        ValueError: a case pattern that matches nothing; ``WorkerInputError``: an environment that
            cannot run the worker (missing package, device, protocol).
        WorkerError: a worker crashed, failed or hung.
    """
    measured = Measurements(
        list(environments), workers_per_env, interleave=interleave, start_s=time.monotonic()
    )
    rng = random.Random(seed)
    with Workers(environments, job, timeout=timeout, workers_per_env=workers_per_env, seed=seed) as workers:
        LOGGER.info("starting %d workers (%d per environment)", len(workers.workers), workers_per_env)
        _start(workers, patterns, measured)
        LOGGER.info("preparing %d cases in each environment", len(measured.cases))
        _prepare(workers, measured, deadline, timeout)
        measured.prepare_s = time.monotonic() - measured.start_s
        baseline = measured.labels[0]
        comparable = [
            c
            for c in measured.cases
            if measured.passed(baseline, c) and any(measured.passed(lab, c) for lab in measured.labels[1:])
        ]
        timed = {lab: [c for c in comparable if measured.passed(lab, c)] for lab in measured.labels}
        measured.times = {
            lab: {c: [[] for _ in range(workers_per_env)] for c in cases} for lab, cases in timed.items()
        }
        estimate = _first_round_estimate(measured, timed)
        while comparable:
            if max_rounds is not None and measured.rounds >= max_rounds:
                measured.stop_reason = f"{max_rounds} rounds done"
                break
            if time.monotonic() + estimate > deadline:
                measured.stop_reason = "budget: another round would not end in time"
                break
            started = time.monotonic()
            for (label, index), steps in _round(workers.workers, timed, rng, interleave, timeout).items():
                for case, step_s in steps.items():
                    measured.times[label][case][index].append(step_s)
            measured.round_s.append(time.monotonic() - started)
            estimate = max(measured.round_s[-3:])
            LOGGER.info("round %d done in %.1f s", measured.rounds, measured.round_s[-1])
        if not comparable:
            measured.stop_reason = "no case passed its check in the baseline and another environment"
    return measured
