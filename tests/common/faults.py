"""Faults for the command tests: small tmpfs mounts (read-only or full), a folder's bytes, a paused command.

Tests run as root, so ``chmod`` cannot make a folder read-only: a small ``tmpfs`` is mounted instead
(``mount`` needs the privilege; without it the test is skipped with the reason) and always unmounted.
``run_paused`` starts a command with ``TFSUITE_TEST_PAUSE`` (``reference.files``) so that it stops at
a known point of its publication, then sends it a signal there; ``sigint_when_paused`` does the same
with a real SIGINT to this process. ``Killed`` is a command that starts TensorFlow: it is started
(``start_if_used``) some tests before the one that kills it, so that it reaches its pause while they
run. Not at the end of collection: the timing tests that run first must not share the CPU with it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from reference.files import PAUSE_ENV

__all__ = [
    "Finished",
    "Killed",
    "Paused",
    "fill",
    "folder_bytes",
    "one_error_line",
    "run_paused",
    "sigint_when_paused",
    "start_if_used",
    "started_early",
    "tmpfs",
]

MOUNT_SIZE = "64k"
PAUSE_WAIT_S = 60.0
ROOT = Path(__file__).resolve().parents[2]


def _mount(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["mount", *args], capture_output=True, text=True, check=False)


@contextlib.contextmanager
def tmpfs(
    folder: Path,
    *,
    read_only: bool = False,
    full: bool = False,
    prepare: Callable[[Path], object] | None = None,
) -> Iterator[Path]:
    """A ``MOUNT_SIZE`` tmpfs mounted on ``folder`` (created): ``prepare(folder)`` writes into it first,
    then it is filled up (``full``) or made read-only (``read_only``). Skips the test if ``mount`` fails."""
    folder.mkdir(parents=True, exist_ok=True)
    mounted = _mount("-t", "tmpfs", "-o", f"size={MOUNT_SIZE}", "tmpfs", str(folder))
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs (needs root): {mounted.stderr.strip()}")
    try:
        if prepare is not None:
            prepare(folder)
        if full:
            fill(folder)
        if read_only:
            remounted = _mount("-o", "remount,ro", str(folder))
            if remounted.returncode != 0:
                pytest.skip(f"cannot remount a tmpfs read-only: {remounted.stderr.strip()}")
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def fill(folder: Path) -> None:
    """Write ``folder/filler`` until the file system is full."""
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        while True:
            os.write(fd, b"\0" * 512)
    except OSError:
        pass
    finally:
        os.close(fd)


def folder_bytes(folder: Path) -> dict[str, str]:
    """Every file (hidden ones too) and folder under ``folder``: relative path -> SHA-256, or ``dir``."""
    found = {}
    for path in sorted(folder.rglob("*")):
        key = str(path.relative_to(folder))
        found[key] = "dir" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def one_error_line(stderr: str, prog: str) -> bool:
    """Whether ``stderr`` is exactly one line ``<prog>: error: ...`` (no traceback)."""
    return stderr.count("\n") == 1 and stderr.startswith(f"{prog}: error: ") and "Traceback" not in stderr


@dataclass(frozen=True)
class Finished:
    """A command that ran to its end: its exit code and its output."""

    returncode: int
    stdout: str
    stderr: str


class Paused:
    """A command started with ``TFSUITE_TEST_PAUSE=<point>:<ready>``, to be signalled once it pauses there."""

    def __init__(
        self, command: Sequence[str], point: str, ready: Path, *, env: dict | None = None, cwd: Path = ROOT
    ):
        self.command, self.point, self.ready = list(command), point, ready
        self.process = subprocess.Popen(
            self.command,
            cwd=cwd,
            env={**os.environ, **(env or {}), PAUSE_ENV: f"{point}:{ready}"},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def signal(self, sent: signal.Signals) -> Finished:
        """Wait until the command pauses, send it ``sent``, wait for its end."""
        deadline = time.monotonic() + PAUSE_WAIT_S
        while not self.ready.exists() and self.process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        paused = self.ready.exists()
        self.process.send_signal(sent if paused else signal.SIGKILL)
        out, err = self.process.communicate(timeout=PAUSE_WAIT_S)
        assert paused, (
            f"{self.command} never paused at {self.point!r} (exit {self.process.returncode}): {err[-2000:]}"
        )
        return Finished(self.process.returncode, out, err)

    def close(self) -> None:
        """Kill the command if it still runs."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()


def run_paused(
    command: Sequence[str], point: str, sent: signal.Signals, ready: Path, *, env: dict | None = None
) -> Finished:
    """Run ``command`` until it pauses at ``point`` of its publication, send it ``sent``, wait for its end.

    ``ready`` is the file the command creates when it pauses (its folder must exist).
    """
    return Paused(command, point, ready, env=env).signal(sent)


@contextlib.contextmanager
def sigint_when_paused(point: str, ready: Path, monkeypatch) -> Iterator[None]:
    """Within the block, a publication in this process pauses at ``point`` and this process gets a real
    SIGINT there (Python raises ``KeyboardInterrupt`` in the main thread, in the pause)."""
    monkeypatch.setenv(PAUSE_ENV, f"{point}:{ready}")
    done = threading.Event()

    def interrupt_once_paused() -> None:
        while not done.is_set():
            if ready.exists():
                os.kill(os.getpid(), signal.SIGINT)
                return
            time.sleep(0.01)

    watcher = threading.Thread(target=interrupt_once_paused, daemon=True)
    watcher.start()
    try:
        yield
    finally:
        done.set()
        watcher.join()
    assert ready.exists(), f"nothing paused at {point!r}"


@dataclass
class Killed:
    """A command over a folder of previous outputs, to be killed between two renames of its publication."""

    out: Path
    before: dict[str, str]
    paused: Paused
    finished: Finished | None = None

    @classmethod
    def start(cls, command: Callable[[Path], Sequence[str]], previous: Callable[[Path], object]) -> Killed:
        """Write ``previous(out)`` into a fresh folder ``out``, then start ``command(out)`` (``Paused``) in
        the temporary folder that holds ``out``."""
        folder = Path(tempfile.mkdtemp(prefix="tfsuite-killed-"))
        out = folder / "out"
        out.mkdir()
        previous(out)
        return cls(out, folder_bytes(out), Paused(command(out), "publishing", folder / "ready", cwd=folder))

    def kill(self) -> Finished:
        """SIGKILL once paused between two renames (the result is kept: a second call returns it)."""
        if self.finished is None:
            self.finished = self.paused.signal(signal.SIGKILL)
        return self.finished

    def close(self) -> None:
        self.paused.close()
        shutil.rmtree(self.out.parent, ignore_errors=True)


_EARLY = pytest.StashKey[dict]()


def start_if_used(session: pytest.Session, fixture: str, start: Callable[[], Killed]) -> None:
    """``start()`` now if a collected test uses ``fixture``; its test gets it from ``started_early``."""
    if any(fixture in getattr(item, "fixturenames", ()) for item in session.items):
        started_early(session.config, fixture, start)


def started_early(config: pytest.Config, fixture: str, start: Callable[[], Killed]) -> Killed:
    """What ``start_if_used`` started for ``fixture``, or ``start()`` now; closed at the end of the session."""
    early = config.stash.setdefault(_EARLY, {})
    if fixture not in early:
        early[fixture] = start()
        config.add_cleanup(early[fixture].close)
    return early[fixture]
