"""The worker processes of ``tfbench-ab``: start them, ask them, stop them; every wait has a deadline.

``Workers(environments, job, workers_per_env=W)`` launches ``W`` processes ``python -m
benchmarks.ab_worker`` per environment (named ``LABEL#1``, ``LABEL#2``, ...), all at once in a random
order (so that no environment always starts first), each under the environment's interpreter, with ``PYTHONPATH`` naming only a staging folder that links the
environment's ``benchmarks/`` and ``reference/`` (so nothing else of this interpreter's path leaks
in), in a session of its own, its stderr in a log file, and sends it its job as the first line;
the baseline's first worker is the one that proposes each case's size (``proposes`` in its job), each
environment's first the one that checks. Workers of identical environments get the same variables
with values of the same sizes (staging folders ``path-00``, ``path-01``, ...; XLA caches ``xla-00``,
``xla-01``, ... one per environment; the same ``PYTHONHASHSEED``): only what ``--set`` gives differs.

The ideas are those of ``benchmarks.distributed.cluster``: answers are ``@@`` JSON lines, and a
worker that exits, fails a command or does not answer in time raises ``WorkerError`` naming it
(label, worker, pid, exit code, last line of its stderr). ``close()`` (also on ``with`` exit and at
interpreter exit) kills every worker's process group and removes the staging folder, so no process
outlives the command. A worker whose parent dies without closing it reads the end of its stdin and
exits.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import random
import selectors
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks.ab_worker import PREFIX
from benchmarks.results.ab_environments import RESERVED_VARIABLES, Environment

__all__ = [
    "STAGED_PACKAGES",
    "XLA_CACHE_FLAG",
    "Worker",
    "WorkerError",
    "WorkerInputError",
    "Workers",
    "worker_name",
]

STAGED_PACKAGES = ("benchmarks", "reference")
_POLL_S = 0.5
XLA_CACHE_FLAG = "--tf_xla_persistent_cache_directory"


class WorkerError(OSError):
    """A worker died, failed a command or did not answer in time (an ``OSError``: the commands end with exit 2)."""


class WorkerInputError(ValueError):
    """A worker's environment cannot run the worker: a missing package, an unknown device (bad input)."""


class Worker:
    """One environment's worker process, its answers, and what it was last asked (with a deadline)."""

    def __init__(
        self, environment: Environment, index: int, process: subprocess.Popen, log: Path, timeout: float
    ):
        self.environment, self.index, self.process, self.log = environment, index, process, log
        self._buffer = b""
        self._answers: list[dict] = []
        self._closed_output = False
        self.pending: tuple[str, float, float] | None = ("start", time.monotonic() + timeout, timeout)
        os.set_blocking(process.stdout.fileno(), False)

    @property
    def label(self) -> str:
        return self.environment.label

    @property
    def name(self) -> str:
        """``LABEL#N``: the environment's label and the worker's number in it (from 1)."""
        return worker_name(self.label, self.index)

    def describe(self) -> str:
        """``environment B (worker 2, pid 123, /venv/bin/python, exit code 1); last stderr line: ...``."""
        code = self.process.poll()
        state = f", exit code {code}" if code is not None else ""
        lines = self.log.read_text(errors="replace").splitlines() if self.log.exists() else []
        last = next((line.strip() for line in reversed(lines) if line.strip()), "")
        tail = f"; last stderr line: {last}" if last else "; nothing on stderr"
        return (
            f"environment {self.label} (worker {self.index + 1}, pid {self.process.pid}, "
            f"{self.environment.python}{state}){tail}"
        )

    def send(self, command: dict, what: str, timeout: float) -> None:
        """Send ``command``; its answer is due within ``timeout`` seconds (``receive``)."""
        self.pending = (what, time.monotonic() + timeout, timeout)
        try:
            self.process.stdin.write((json.dumps(command) + "\n").encode())
            self.process.stdin.flush()
        except (BrokenPipeError, OSError) as error:
            raise WorkerError(f"{self.describe()} could not be sent {what!r}") from error

    def _read(self) -> None:
        try:
            chunk = self.process.stdout.read()
        except (BlockingIOError, OSError):
            return
        if chunk == b"":
            self._closed_output = True
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=1.0)
        if not chunk:
            return
        *lines, self._buffer = (self._buffer + chunk).split(b"\n")
        for raw in lines:
            text = raw.decode(errors="replace")
            if text.startswith(PREFIX):
                self._answers.append(json.loads(text[len(PREFIX) :]))

    def ready(self) -> bool:
        """Whether ``receive`` would return or raise at once: an answer, an exit or a passed deadline."""
        self._read()
        overdue = self.pending is not None and time.monotonic() >= self.pending[1]
        ended = self._closed_output or self.process.poll() is not None
        return bool(self._answers) or ended or overdue

    def receive(self, *, accept_failure: bool = False) -> dict:
        """The answer to what was sent last, before its deadline.

        Raises:
            WorkerError: the worker exited or passed the deadline, or (unless ``accept_failure``)
                answered ``ok: false``.
        """
        what, deadline, timeout = self.pending or ("nothing", time.monotonic(), 0.0)
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            while not self.ready():
                selector.select(timeout=max(min(deadline - time.monotonic(), _POLL_S), 0.0))
        if not self._answers:
            if self.process.poll() is not None or self._closed_output:
                raise WorkerError(f"{self.describe()} exited before answering {what!r}")
            raise WorkerError(f"{self.describe()} did not answer {what!r} within {timeout:g} s")
        self.pending = None
        answer = self._answers.pop(0)
        if not answer.get("ok") and not accept_failure:
            raise WorkerError(f"{self.describe()} failed {what!r}: {answer.get('error')}")
        return answer

    def ask(self, command: dict, what: str, timeout: float) -> dict:
        self.send(command, what, timeout)
        return self.receive()


def _stage(environment: Environment, folder: Path, index: int) -> Path:
    staged = folder / f"path-{index:02d}"
    staged.mkdir()
    for package in STAGED_PACKAGES:
        (staged / package).symlink_to(environment.source / package, target_is_directory=True)
    return staged


def _worker_env(environment: Environment, path: Path, seed: int, xla_cache: Path) -> dict:
    """This process's variables, ``PYTHONPATH`` the staging folder, ``PYTHONHASHSEED`` the run's seed,
    then the environment's own variables (which may override the hash seed), and ``TF_XLA_FLAGS``
    naming ``xla_cache``, the environment's persistent XLA compilation cache, unless they name one.

    The workers of one environment compile the same programs; from the cache, the second compiles
    none of what the first already did (measured: one worker's preparing of the quick matrix, 55 to
    41 CPU-seconds). The cache is the environment's own, so what it loads was compiled by the same
    TensorFlow with the same flags.
    """
    env = {k: v for k, v in os.environ.items() if k not in RESERVED_VARIABLES}
    env.update(
        PYTHONPATH=str(path), PYTHONUNBUFFERED="1", PYTHONDONTWRITEBYTECODE="1", PYTHONHASHSEED=str(seed)
    )
    env.update(environment.variables)
    flags = env.get("TF_XLA_FLAGS", "")
    if XLA_CACHE_FLAG not in flags:
        env["TF_XLA_FLAGS"] = f"{flags} {XLA_CACHE_FLAG}={xla_cache}".strip()
    return env


def worker_name(label: str, index: int) -> str:
    """``LABEL#N`` for the worker of index ``index`` (from 0) of environment ``label``."""
    return f"{label}#{index + 1}"


class Workers:
    """``workers_per_env`` workers per environment, launched together; a context manager that closes them all.

    ``workers`` lists them by environment, then number (the baseline's first worker first);
    ``launch_order`` by when they were started, a random order drawn from ``seed``.
    """

    def __init__(
        self,
        environments: Sequence[Environment],
        job: dict,
        *,
        timeout: float,
        workers_per_env: int = 1,
        seed: int = 0,
    ):
        self.environments, self.job, self.timeout = list(environments), dict(job), timeout
        self.workers_per_env, self.seed = workers_per_env, seed
        self.workers: list[Worker] = []
        self.launch_order: list[str] = []
        self.closed = False
        self._folder = Path(tempfile.mkdtemp(prefix="tfbench-ab-"))

    def __enter__(self) -> Workers:
        self.launch()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def launch(self) -> None:
        """Start every worker (they import TensorFlow side by side); each must answer within ``timeout``."""
        atexit.register(self.close)
        slots = [(e, i) for e in self.environments for i in range(self.workers_per_env)]
        for position in random.Random(self.seed).sample(range(len(slots)), len(slots)):
            environment, index = slots[position]
            path = _stage(environment, self._folder, position)
            cache = self._folder / f"xla-{self.environments.index(environment):02d}"
            cache.mkdir(exist_ok=True)
            log = self._folder / f"{worker_name(environment.label, index)}.log"
            with open(log, "wb") as stderr:
                process = subprocess.Popen(
                    [str(environment.python), "-m", "benchmarks.ab_worker"],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=stderr,
                    env=_worker_env(environment, path, int(self.job.get("seed", 0)), cache),
                    cwd=path,
                    start_new_session=True,
                )
            worker = Worker(environment, index, process, log, self.timeout)
            self.workers.append(worker)  # at once: close() must find every started process
            self.launch_order.append(worker.name)
            job = self.job | {
                "inject": environment.inject,
                "label": environment.label,
                "worker": index + 1,
                "proposes": environment is self.environments[0] and index == 0,
            }
            worker.send(job, "start", self.timeout)
        rank = {e.label: n for n, e in enumerate(self.environments)}
        self.workers.sort(key=lambda w: (rank[w.label], w.index))

    def hello(self) -> list[dict]:
        """Every worker's first answer (versions, case matrix), in the order of ``workers``.

        Raises:
            WorkerInputError: an environment lacks a package the worker needs, or the device.
            WorkerError: a worker exited or did not answer within the launch timeout.
        """
        answers = []
        for worker in self.workers:
            answer = worker.receive(accept_failure=True)
            if not answer.get("ok"):
                raise self._input_error(worker, answer)
            answers.append(answer)
        return answers

    @staticmethod
    def _input_error(worker: Worker, answer: dict) -> WorkerInputError:
        python = worker.environment.python
        if answer.get("missing"):
            return WorkerInputError(
                f"environment {worker.label}: {python} lacks the package {answer['missing']!r} that the "
                f"worker needs (TensorFlow, Keras, NumPy): {answer.get('error')}"
            )
        return WorkerInputError(f"environment {worker.label} ({python}): {answer.get('error')}")

    def next_answer(self, pending: Sequence[Worker]) -> tuple[Worker, dict]:
        """The first answer of any worker in ``pending`` (each asked something with ``send``).

        Raises:
            WorkerError: a pending worker exited, failed or passed its deadline.
        """
        with selectors.DefaultSelector() as selector:
            for worker in pending:
                selector.register(worker.process.stdout, selectors.EVENT_READ)
            while True:
                for worker in pending:
                    if worker.ready():
                        return worker, worker.receive()
                earliest = min(worker.pending[1] for worker in pending)
                selector.select(timeout=max(min(earliest - time.monotonic(), _POLL_S), 0.0))

    def close(self) -> None:
        """Kill every worker's process group, reap them, remove the staging folder. A second call does nothing."""
        if self.closed:
            return
        self.closed = True
        for worker in self.workers:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(worker.process.pid, signal.SIGKILL)
            worker.process.wait()
            for stream in (worker.process.stdin, worker.process.stdout):
                with contextlib.suppress(OSError, ValueError):
                    stream.close()
        atexit.unregister(self.close)
        shutil.rmtree(self._folder, ignore_errors=True)  # removes the links, not what they point to
