"""The steps of a publication (``reference.files.Outputs``): renames, their undoing, locks, recovery.

Private to ``reference.files``, whose docstring states the guarantees these steps give. A
publication's record is its manifest: ``[kind, destination, staged, backup, existed]`` per entry,
and the staging folders it used; ``undo`` needs nothing else (and the file system's state), so the
same code undoes a failed publication in its process and a killed one from another process.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

__all__ = [
    "FILE",
    "FOLDER",
    "LOCK",
    "MANIFEST",
    "PAUSE_ENV",
    "PRIMARY",
    "REMOVE",
    "STAGING_PREFIX",
    "STALE_AFTER_S",
    "TEST_PAUSE_S",
    "Entry",
    "apply",
    "check_kind",
    "claim",
    "folder_locked",
    "lock",
    "make_folders",
    "pause_for_tests",
    "recover_locked",
    "roll_back",
    "signals_held",
    "undo",
    "write_json",
]

STAGING_PREFIX = ".tfsuite-staging-"
PAUSE_ENV = "TFSUITE_TEST_PAUSE"
TEST_PAUSE_S = 600.0  # a test signals the paused command long before; its cleanup kills it anyway
STALE_AFTER_S = 24 * 3600.0
MANIFEST = "manifest.json"
LOCK = "lock"
PRIMARY = "primary"  # in the other staging folders of a publication: the path of the first one
FILE, FOLDER, REMOVE = "file", "folder", "remove"


@dataclass(frozen=True)
class Entry:
    """One destination of a publication: its kind, where it goes, where it is staged, its backup."""

    kind: str
    destination: Path
    staged: Path
    backup: Path


# Publication steps --------------------------------------------------------------------------------


def check_kind(entry: Entry) -> None:
    """A file destination must not be a folder, a folder destination not a file."""
    path = entry.destination
    if entry.kind != FOLDER and path.is_dir() and not path.is_symlink():
        raise IsADirectoryError(errno.EISDIR, "is a folder; this output must be a file", str(path))
    if entry.kind == FOLDER and os.path.lexists(path) and not (path.is_dir() and not path.is_symlink()):
        raise NotADirectoryError(errno.ENOTDIR, "is a file; this output must be a folder", str(path))


def apply(entry: Entry, existed: bool) -> None:
    if entry.kind == FILE:
        if existed:
            try:
                os.link(entry.destination, entry.backup, follow_symlinks=False)
            except OSError:  # no hard links here: move it aside (the name is missing for a moment)
                os.rename(entry.destination, entry.backup)
        os.replace(entry.staged, entry.destination)
    else:
        if existed:
            os.rename(entry.destination, entry.backup)
        if entry.kind == FOLDER:
            os.rename(entry.staged, entry.destination)


def undo(records: list[list]) -> None:
    """Put back what ``records`` (the manifest) replaced, from the file system's state alone."""
    for kind, destination, staged, backup, existed in reversed(records):
        published = not os.path.lexists(staged)
        if existed:
            if not os.path.lexists(backup):
                continue  # not started
            if kind == FOLDER and published and os.path.lexists(destination):
                os.rename(destination, staged)
            os.replace(backup, destination)
        elif kind != REMOVE and published and os.path.lexists(destination):
            os.rename(destination, staged)


def write_json(path: Path, document: dict) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(document), encoding="utf-8")
    os.replace(temporary, path)


# Staging folders, locks and recovery ---------------------------------------------------------------


def make_folders(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents; returns those created (outermost first).

    Raises:
        NotADirectoryError: a component is a file (named in the error).
    """
    missing = []
    current = folder
    while not os.path.lexists(current):
        missing.append(current)
        current = current.parent
    if not current.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "is a file, not a folder", str(current))
    created = []
    for path in reversed(missing):
        try:
            path.mkdir()
        except FileExistsError:
            continue
        created.append(path)
    return created


def lock(path: Path, *, create: bool = False) -> int:
    """An open descriptor of ``path`` locked exclusively; ``BlockingIOError`` if another holds it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT if create else os.O_RDONLY, 0o666)
    if fcntl is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise
    return fd


@contextlib.contextmanager
def folder_locked(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``folder`` itself (no-op where folders cannot be locked)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        yield
        return
    try:
        if fcntl is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def claim(staging: Path) -> int | None:
    """A locked descriptor of ``staging``'s lock file if its process is gone (-1: no lock file), else None."""
    if fcntl is None:
        return -1 if time.time() - staging.stat().st_mtime > STALE_AFTER_S else None
    try:
        return lock(staging / LOCK)
    except FileNotFoundError:
        return -1
    except OSError:
        return None


def recover_locked(folder: Path) -> list[Path]:
    removed = []
    for staging in sorted(folder.glob(f"{STAGING_PREFIX}*")):
        if not staging.is_dir() or staging.is_symlink():
            continue
        fd = claim(staging)
        if fd is None:
            continue
        try:
            primary = staging / PRIMARY
            if primary.exists():
                roll_back(Path(primary.read_text(encoding="utf-8")))
            roll_back(staging)
        except OSError:
            continue  # e.g. a read-only folder: nothing can be changed, so nothing is half done by us
        finally:
            if fd >= 0:
                os.close(fd)
        shutil.rmtree(staging, ignore_errors=True)
        removed.append(staging)
    return removed


def roll_back(staging: Path) -> None:
    """Undo the half-done publication whose manifest is in ``staging``, then remove all its staging folders."""
    manifest = staging / MANIFEST
    if not manifest.exists():
        return
    document = json.loads(manifest.read_text(encoding="utf-8"))
    undo(document["entries"])
    manifest.unlink()
    for path in document["stagings"]:
        shutil.rmtree(path, ignore_errors=True)


# Signals and the test pause ------------------------------------------------------------------------


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM off for the block (main thread only); deliver them after it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = {}
    for number in (signal.SIGINT, signal.SIGTERM):
        handler = signal.getsignal(number)
        if handler is not None:
            previous[number] = signal.signal(number, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        for number in received:
            signal.raise_signal(number)


def pause_for_tests(point: str) -> None:
    """Create the ready file and sleep at ``point`` when ``TFSUITE_TEST_PAUSE`` asks for it."""
    wanted, _, ready = os.environ.get(PAUSE_ENV, "").partition(":")
    if wanted == point and ready:
        Path(ready).write_text(str(os.getpid()), encoding="utf-8")
        time.sleep(TEST_PAUSE_S)
