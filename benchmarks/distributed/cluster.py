"""Start, drive and stop benchmark worker processes on this machine.

``Cluster(strategy="multiworker", workers=2)`` starts two ``benchmarks.distributed.worker``
processes with a ``TF_CONFIG`` naming loopback ports picked free by the OS; ``mirrored`` and
``none`` start one. Every wait has a deadline: a worker that exits, never starts or stops
answering raises ``WorkerError`` naming it (index, pid, exit code, last line of its stderr), and
``close()`` (also on ``with`` exit, on error and at interpreter exit) kills every worker's process
group, so none outlives the run. ``start()`` is ``launch()`` (the processes start importing
TensorFlow, a few seconds) then ``wait_started()``: a caller can launch several clusters and let
them boot together (``benchmarks.distributed.pool``).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from benchmarks.distributed.step import Case
from benchmarks.distributed.worker import PREFIX

__all__ = [
    "COMMAND_TIMEOUT_S",
    "STARTUP_TIMEOUT_S",
    "STRATEGIES",
    "WORKER_COMMAND",
    "Cluster",
    "WorkerError",
    "pick_free_ports",
]

STRATEGIES = ("none", "mirrored", "multiworker")
STARTUP_TIMEOUT_S = 180.0
COMMAND_TIMEOUT_S = 120.0
_PEER_EXIT_GRACE_S = 2.0
# What a worker runs (tests put a stand-in here).
WORKER_COMMAND = (sys.executable, "-m", "benchmarks.distributed.worker")


class WorkerError(RuntimeError):
    """A worker died, never started, failed a command or did not answer in time."""


def pick_free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """``count`` distinct ports the OS reports free on ``host`` (all bound at once, then released).

    Another process may take a port between its release here and the worker's bind; the
    worker then fails to start and the run reports it, it does not hang.
    """
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for s in sockets:
            s.bind((host, 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


class Cluster:
    """Worker processes for one strategy, answering ``check`` and ``run`` commands in lockstep."""

    def __init__(
        self,
        strategy: str,
        *,
        workers: int = 1,
        logical_devices: int = 2,
        startup_timeout: float = STARTUP_TIMEOUT_S,
        command_timeout: float = COMMAND_TIMEOUT_S,
        command: list[str] | None = None,
    ):
        if strategy not in STRATEGIES:
            raise ValueError(f"Unknown strategy={strategy!r}; valid: {list(STRATEGIES)}")
        if workers < 1 or (strategy != "multiworker" and workers != 1):
            raise ValueError(
                f"Argument `workers` must be 1 for {strategy!r} and >= 1 for 'multiworker'. Received: workers={workers}"
            )
        if logical_devices < 1:
            raise ValueError(
                f"Argument `logical_devices` must be >= 1. Received: logical_devices={logical_devices}"
            )
        for name, value in (("startup_timeout", startup_timeout), ("command_timeout", command_timeout)):
            if not value > 0:
                raise ValueError(f"Argument `{name}` must be > 0. Received: {name}={value}")
        self.strategy, self.n_workers, self.logical_devices = strategy, workers, logical_devices
        self.startup_timeout, self.command_timeout = startup_timeout, command_timeout
        self.command = list(command or WORKER_COMMAND)
        self.processes: list[subprocess.Popen] = []
        self.replicas = 0
        self.closed = False
        self._workdir = tempfile.TemporaryDirectory(prefix="tfbench-cluster-")
        self._buffers: list[bytes] = []

    def __enter__(self) -> Cluster:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # Lifecycle ------------------------------------------------------------------------------

    def _env(self, index: int, addresses: list[str]) -> dict:
        job = {
            "strategy": self.strategy,
            "logical_devices": self.logical_devices,
            "out_dir": self._workdir.name,
        }
        env = dict(os.environ, TFBENCH_JOB=json.dumps(job), PYTHONUNBUFFERED="1")
        env.pop("TF_CONFIG", None)
        if self.strategy == "multiworker":
            cluster = {"cluster": {"worker": addresses}, "task": {"type": "worker", "index": index}}
            env["TF_CONFIG"] = json.dumps(cluster)
        return env

    def start(self) -> None:
        """Start the workers and wait until every one has answered (``launch``, then ``wait_started``)."""
        self.launch()
        self.wait_started()

    @property
    def alive(self) -> bool:
        """Launched, not closed, and every worker process still running."""
        return bool(self.processes) and not self.closed and all(p.poll() is None for p in self.processes)

    def launch(self) -> None:
        """Start the worker processes without waiting for them."""
        if self.processes:
            raise RuntimeError(f"the {self.strategy} cluster was launched already")
        addresses = [f"127.0.0.1:{port}" for port in pick_free_ports(self.n_workers)]
        atexit.register(self.close)
        for index in range(self.n_workers):
            stderr = open(Path(self._workdir.name) / f"worker{index}.log", "wb")  # noqa: SIM115
            self.processes.append(
                subprocess.Popen(
                    self.command,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=stderr,
                    env=self._env(index, addresses),
                    cwd=Path(__file__).resolve().parents[2],
                    start_new_session=True,
                )
            )
            stderr.close()
        self._buffers = [b""] * self.n_workers

    def wait_started(self) -> None:
        """Wait until every launched worker has answered (no-op once started).

        Raises:
            WorkerError: a worker exited or did not answer within ``startup_timeout``.
        """
        if self.replicas:
            return
        answers = self._collect("start", self.startup_timeout)
        self.replicas = int(answers[0]["replicas"])

    def close(self) -> None:
        """Kill every worker's process group and reap the workers.

        Nothing in a worker needs saving once it has answered, and a worker told to quit takes
        0.7-1.5 s to shut TensorFlow down, so none is waited for. A second call does nothing.
        """
        if self.closed:
            return
        self.closed = True
        for process in self.processes:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            for stream in (process.stdin, process.stdout):
                with contextlib.suppress(OSError, ValueError):
                    stream.close()
        atexit.unregister(self.close)
        self._workdir.cleanup()

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.processes]

    # Commands -------------------------------------------------------------------------------

    def check(self, case: Case) -> list[dict]:
        """One step from fresh weights on every worker; each answer has the loss and an npz path."""
        return self._request({"cmd": "check", "case": asdict(case)}, f"check {case.key}")

    def run(self, case: Case, steps: int) -> float:
        """``steps`` synchronous steps on every worker; returns the loss (copied to the host)."""
        answers = self._request(
            {"cmd": "run", "case": asdict(case), "steps": steps}, f"run {case.key} x{steps}"
        )
        return float(answers[0]["loss"])

    def _request(self, command: dict, what: str) -> list[dict]:
        line = (json.dumps(command) + "\n").encode()
        for index, process in enumerate(self.processes):
            try:
                process.stdin.write(line)
                process.stdin.flush()
            except (BrokenPipeError, OSError):
                self._fail(index, f"could not be sent {what!r}")
        return self._collect(what, self.command_timeout)

    def _describe(self, index: int) -> str:
        process = self.processes[index]
        log = Path(self._workdir.name) / f"worker{index}.log"
        lines = log.read_text(errors="replace").strip().splitlines() if log.exists() else []
        last = next((ln for ln in reversed(lines) if ln.strip()), "")
        tail = f"; last stderr line: {last.strip()}" if last else ""
        return f"worker {index} of {self.n_workers} ({self.strategy}, pid {process.pid}){tail}"

    def _fail(self, index: int, problem: str) -> None:
        message = f"{self._describe(index)} {problem}"
        self.close()
        raise WorkerError(message)

    def _collect(self, what: str, timeout: float) -> list[dict]:
        """One ``@@`` answer from every worker before the deadline, or ``WorkerError``."""
        answers: dict[int, dict] = {}
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as selector:
            for index, process in enumerate(self.processes):
                os.set_blocking(process.stdout.fileno(), False)
                selector.register(process.stdout, selectors.EVENT_READ, index)
            while len(answers) < len(self.processes):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    waiting = min(set(range(len(self.processes))) - set(answers))
                    self._fail(waiting, f"did not answer {what!r} within {timeout:g} s")
                for key, _ in selector.select(timeout=min(remaining, 0.5)):
                    index = key.data
                    chunk = key.fileobj.read()
                    if not chunk:
                        selector.unregister(key.fileobj)
                        continue
                    self._buffers[index] += chunk
                    self._parse(index, answers, what)
                for index, process in enumerate(self.processes):
                    if index not in answers and process.poll() is not None:
                        self._fail(index, f"exited with code {process.returncode} before answering {what!r}")
        return [answers[i] for i in range(len(self.processes))]

    def _parse(self, index: int, answers: dict, what: str) -> None:
        *lines, self._buffers[index] = self._buffers[index].split(b"\n")
        for raw in lines:
            text = raw.decode(errors="replace")
            if not text.startswith(PREFIX):
                continue
            answer = json.loads(text[len(PREFIX) :])
            if not answer.get("ok"):
                self._fail_naming_the_cause(index, f"failed {what!r}: {answer.get('error')}", what)
            answers[index] = answer

    def _fail_naming_the_cause(self, index: int, problem: str, what: str) -> None:
        """A worker whose collective failed usually reports it before its dead peer is seen to exit.

        The dead peer is the cause, so it is named first (waiting up to ``_PEER_EXIT_GRACE_S`` for it).
        """
        deadline = time.monotonic() + _PEER_EXIT_GRACE_S
        while True:
            dead = [i for i, p in enumerate(self.processes) if i != index and p.poll() is not None]
            if dead or time.monotonic() >= deadline:
                break
            time.sleep(0.05)
        if not dead:
            self._fail(index, problem)
        peer = dead[0]
        code = self.processes[peer].returncode
        self._fail(
            peer,
            f"exited with code {code} before answering {what!r}; "
            f"then worker {index} {problem.splitlines()[0]}",
        )
