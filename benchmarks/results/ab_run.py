"""One interleaved A/B run: start the workers, prepare every case in each, then time randomized rounds.

1. Start: every environment's worker imports TensorFlow and reports its versions and case matrix.
   The cases are the ``--cases`` patterns matched against the first environment's matrix.
2. Prepare (outside any timing, the workers side by side): each worker builds, traces, compiles and
   checks one case at a time (``benchmarks.ab_worker``); then every worker sizes the case as the
   baseline proposed (steps per call, calls per burst), so all compare the same work. A case whose
   check fails in an environment, or that its matrix lacks, is refused there and named; it is timed
   only where it passed.
3. Rounds, one worker timing at a time, the others waiting on their stdin. ``interleave="case"``
   (default): in each round the cases come in a random order and, per case, the environments time
   back-to-back bursts in a random order, so the bursts a ratio compares are a fraction of a second
   apart. ``interleave="round"``: in each round the environments take turns in a random order, each
   timing a burst of every case (in its own random order); a ratio then compares bursts a whole
   sweep apart.

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
from benchmarks.results.ab_workers import Worker, WorkerError, WorkerInputError, Workers

__all__ = ["INTERLEAVINGS", "Measurements", "run_interleaved"]

INTERLEAVINGS = ("case", "round")
LOGGER = logging.getLogger("tfbench.ab")


@dataclass
class Measurements:
    """What a run measured: per environment and case, one step time (seconds) per round."""

    environments: list[Environment]
    workers: dict[str, dict] = field(default_factory=dict)
    cases: list[str] = field(default_factory=list)
    prepared: dict[str, dict[str, dict]] = field(default_factory=dict)
    times: dict[str, dict[str, list[float]]] = field(default_factory=dict)
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

    def passed(self, label: str, case: str) -> bool:
        """Whether ``case`` passed its check in ``label`` and was sized there (ready to time)."""
        answer = self.prepared.get(label, {}).get(case, {})
        return bool(answer.get("passed") and answer.get("sized"))

    def refusal(self, label: str, case: str) -> dict | None:
        """Why ``case`` was not timed in ``label`` (``None`` if it was ready): ``{"kind", "reason"}``.

        Kinds: ``check`` (its mode check failed, or preparing it raised), ``matrix`` (that
        environment's benchmark matrix lacks it), ``budget`` (not prepared before the deadline).
        """
        answer = self.prepared.get(label, {}).get(case)
        if answer is not None and not answer.get("passed"):
            return {"kind": answer.get("kind", "check"), "reason": str(answer.get("message", "refused"))}
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
    for worker, answer in zip(workers.workers, workers.hello(), strict=True):
        _check_protocol(worker, answer)
        measured.workers[worker.label] = {k: v for k, v in answer.items() if k not in ("ok", "cases")}
        measured.workers[worker.label]["matrix"] = list(answer["cases"])
    measured.cases = select_cases(patterns, measured.workers[measured.labels[0]]["matrix"])


def _prepare(workers: Workers, measured: Measurements, deadline: float, timeout: float) -> None:
    """Each worker prepares its cases in turn; once the baseline has, every worker sizes the case alike."""
    baseline = workers.workers[0]
    queues = {
        w: [("prepare", c) for c in measured.cases if c in measured.workers[w.label]["matrix"]]
        for w in workers.workers
    }
    for worker in workers.workers:
        measured.prepared[worker.label] = {
            case: {"passed": False, "kind": "matrix", "message": f"not in {worker.label}'s benchmark matrix"}
            for case in measured.cases
            if ("prepare", case) not in queues[worker]
        }
    sizes: dict[str, dict] = {}
    asked: dict[Worker, tuple[str, str]] = {}

    def send_next(worker: Worker) -> None:
        while queues[worker] and time.monotonic() < deadline:
            kind, case = queues[worker].pop(0)
            if kind == "size" and not measured.prepared[worker.label][case].get("passed"):
                continue
            command = {"cmd": kind, "case": case} | (sizes[case] if kind == "size" else {})
            worker.send(command, f"{kind} {case}", timeout)
            asked[worker] = (kind, case)
            return

    for worker in workers.workers:
        send_next(worker)
    while asked:
        worker, answer = workers.next_answer(list(asked))
        kind, case = asked.pop(worker)
        answer.pop("ok")
        if kind == "size":
            measured.prepared[worker.label][case].update(sized=True, call_s=answer["call_s"], **sizes[case])
        else:
            measured.prepared[worker.label][case] = answer
            if not answer["passed"]:
                LOGGER.warning("%s refused in %s: %s", case, worker.label, answer.get("message"))
            elif worker is baseline:
                sizes[case] = {"steps": answer["steps"], "calls": answer["calls"]}
                for queue in queues.values():
                    queue.append(("size", case))
        for idle in [w for w in workers.workers if w not in asked]:
            send_next(idle)


def _burst(worker: Worker, case: str, timeout: float) -> float:
    answer = worker.ask({"cmd": "burst", "case": case}, f"burst {case}", timeout)
    step_s = float(answer["step_s"])
    if not step_s > 0 or not math.isfinite(step_s):
        raise WorkerError(f"{worker.describe()} answered a step time of {step_s!r} for {case}")
    return step_s


def _round(
    workers: dict[str, Worker],
    timed: dict[str, list[str]],
    rng: random.Random,
    interleave: str,
    timeout: float,
) -> dict[str, dict[str, float]]:
    """One round: ``{label: {case: step_s}}`` in the interleaving's random order."""
    result: dict[str, dict[str, float]] = {label: {} for label in timed}
    if interleave == "case":
        cases = sorted({c for cs in timed.values() for c in cs})
        for case in rng.sample(cases, len(cases)):
            labels = [label for label in timed if case in timed[label]]
            for label in rng.sample(labels, len(labels)):
                result[label][case] = _burst(workers[label], case, timeout)
    else:
        for label in rng.sample(list(timed), len(timed)):
            for case in rng.sample(timed[label], len(timed[label])):
                result[label][case] = _burst(workers[label], case, timeout)
    return result


def _first_round_estimate(measured: Measurements, timed: dict[str, list[str]]) -> float:
    total = 0.0
    for label, cases in timed.items():
        for case in cases:
            answer = measured.prepared[label][case]
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
) -> Measurements:
    """Start, prepare and time (module docstring); the workers are closed before it returns or raises.

    Args:
        environments: the baseline first.
        patterns: ``--cases`` patterns (none: the whole matrix).
        job: what every worker gets (``quick``, ``device``, ``seed``, ``burst_s``).
        deadline: ``time.monotonic()`` by which the rounds must be over.
        max_rounds: stop after this many rounds (``None``: only the deadline).
        interleave: ``"case"`` or ``"round"``.
        seed: the random order of cases and environments.
        timeout: seconds each wait on a worker may take (start, one prepare, one burst).

    Raises:
        ValueError: a case pattern that matches nothing; ``WorkerInputError``: an environment that
            cannot run the worker (missing package, device, protocol).
        WorkerError: a worker crashed, failed or hung.
    """
    measured = Measurements(list(environments), interleave=interleave, start_s=time.monotonic())
    rng = random.Random(seed)
    with Workers(environments, job, timeout=timeout) as workers:
        LOGGER.info("starting %d workers", len(environments))
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
        measured.times = {lab: {c: [] for c in cases} for lab, cases in timed.items()}
        by_label = {w.label: w for w in workers.workers}
        estimate = _first_round_estimate(measured, timed)
        while comparable:
            if max_rounds is not None and measured.rounds >= max_rounds:
                measured.stop_reason = f"{max_rounds} rounds done"
                break
            if time.monotonic() + estimate > deadline:
                measured.stop_reason = "budget: another round would not end in time"
                break
            started = time.monotonic()
            for label, steps in _round(by_label, timed, rng, interleave, timeout).items():
                for case, step_s in steps.items():
                    measured.times[label][case].append(step_s)
            measured.round_s.append(time.monotonic() - started)
            estimate = max(measured.round_s[-3:])
            LOGGER.info("round %d done in %.1f s", measured.rounds, measured.round_s[-1])
        if not comparable:
            measured.stop_reason = "no case passed its check in the baseline and another environment"
    return measured
