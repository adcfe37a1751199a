"""Files written whole or not at all: one file alone, or every file of an output together. No TensorFlow here.

One file: ``atomic_path`` / ``write_text_atomic`` write a temporary file in the target's folder, then
``os.replace`` it onto the target: a reader sees the old file or the new one, never a partial one.

Several files and folders that form one output (a report, its JSON, its figures, the index):
``published_together`` yields an ``Outputs``; every file is written into a hidden staging folder
``.tfsuite-staging-<pid>-<random>/`` inside its destination's folder (same file system, so a rename
moves it), and the whole set is published when the block ends. What a reader of the destination
folders can see:

- **Before publication** (writing, an error, SIGINT or SIGTERM, SIGKILL, a full disk): nothing outside
  the staging folders has changed; every previous output is byte-identical.
- **Publication** writes no data, only renames: a manifest is written (atomically) into the first
  staging folder, then each destination is put in place by one ``rename``. A file replaced is first
  hard-linked into the staging folder as its backup, so the destination never disappears; a folder
  replaced is moved into the staging folder. Each rename is atomic; the set is not: during the
  publication (microseconds) a reader opening two of the files can see one new and one old.
- **An error or a SIGINT/SIGTERM during publication** (``KeyboardInterrupt``; e.g. a destination that
  became a folder): the renames done are undone from the backups, with SIGINT and SIGTERM held off
  while undoing, and the error propagates: the previous files are back, byte-identical.
- **A SIGKILL during publication** leaves a mix of old and new files, and the manifest that lists
  them. The next ``Outputs`` that stages into the same folder (any command), or ``recover(folder)``,
  undoes it from the manifest and the backups before anything else: the previous output comes back,
  byte-identical. Until then the hidden staging folder is the sign of it.
- **Stale staging folders** of dead processes are removed by the next run in that folder: each
  staging folder holds a lock file that its process locks (``flock``) for its whole life, and the
  kernel drops the lock when the process dies, however it dies; a folder whose lock can be taken is
  stale. Without ``fcntl`` (Windows), a staging folder older than ``STALE_AFTER_S`` is taken as stale.
- Publications into the same folder are serialized by a lock on the folder itself.

Not covered: power loss (nothing is fsynced: the guarantees are about processes that stop), other
programs writing the same files, file systems without ``rename`` or ``flock`` semantics (some network
file systems).

No output may be an input: ``Outputs(inputs=...)`` refuses a destination that is an input, also
through a symbolic or a hard link (``same_file``), a folder destination that holds an input, and a
destination named twice (``SameFileError``, a ``ValueError``).

The steps themselves (renames, undo, locks, recovery) are in ``reference._publication``.

For tests only: ``TFSUITE_TEST_PAUSE=<point>:<ready file>`` makes a publication create ``<ready file>``
and sleep ``TEST_PAUSE_S`` at ``<point>``: ``staged`` (every file written, nothing published) or
``publishing`` (after the first of several renames), so that a test can send a signal there.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from reference import _publication

__all__ = [
    "PAUSE_ENV",
    "STAGING_PREFIX",
    "STALE_AFTER_S",
    "TEST_PAUSE_S",
    "Outputs",
    "SameFileError",
    "atomic_path",
    "published_together",
    "recover",
    "same_file",
    "write_text_atomic",
]

STAGING_PREFIX = _publication.STAGING_PREFIX
PAUSE_ENV = _publication.PAUSE_ENV
TEST_PAUSE_S = _publication.TEST_PAUSE_S
STALE_AFTER_S = _publication.STALE_AFTER_S


class SameFileError(ValueError):
    """An output path that is an input path, or that names the same file as another output."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, keep_suffix: str = "") -> Iterator[Path]:
    """Yield a fresh temporary path next to ``path``; on success it replaces ``path``.

    ``keep_suffix`` ends the temporary name (Keras picks the format from ``.keras`` or
    ``.weights.h5``). The folder is created if needed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=f".tmp{keep_suffix}")
    os.close(handle)
    temporary = Path(name)
    try:
        os.chmod(temporary, 0o666 & ~_umask())
        yield temporary
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` whole or not at all; returns ``path``."""
    with atomic_path(path) as temporary:
        temporary.write_text(text, encoding="utf-8")
    return Path(path)


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Whether ``a`` and ``b`` name one file: the same path once links are resolved, or hard links."""
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _inside(path: str | os.PathLike, folder: str | os.PathLike) -> bool:
    return os.path.realpath(path).startswith(os.path.realpath(folder) + os.sep)


def _named(error: OSError, path: str | os.PathLike) -> OSError:
    """The same error, naming ``path`` (the destination, not a hidden staging path)."""
    return OSError(error.errno, error.strerror or str(error), str(path))


@dataclass(frozen=True)
class _Staging:
    folder: Path
    path: Path
    lock: int


class Outputs:
    """The files and folders of one output, staged, then published together (see the module docstring).

    Register every destination once, as early as possible (``file``, ``folder``, ``remove``;
    ``write_text`` and ``write_bytes`` write a registered file, or a file inside a registered folder,
    and register a file no one named yet): registration refuses an output that is an input, an
    output named twice, a file destination that is a folder (and the reverse), and creates the
    staging folder, so that an unwritable destination fails before any work.
    """

    def __init__(self, *, inputs: Iterable[str | os.PathLike] = ()):
        self._entries: list[_publication.Entry] = []
        self._stagings: dict[Path, _Staging] = {}
        self._created: list[Path] = []
        self._token = f"{os.getpid()}-{secrets.token_hex(4)}"
        self._closed = False
        self._inputs = [Path(path) for path in inputs]

    def file(self, destination: str | os.PathLike) -> Path:
        """The staged path of the file ``destination``: write it there (or let a library write it)."""
        return self._entry(destination, _publication.FILE).staged

    def folder(self, destination: str | os.PathLike) -> Path:
        """A staged folder (created) that replaces the folder ``destination`` as a whole."""
        entry = self._entry(destination, _publication.FOLDER)
        entry.staged.mkdir(exist_ok=True)
        return entry.staged

    def remove(self, destination: str | os.PathLike) -> None:
        """Remove the file ``destination`` when the output is published (kept as it is otherwise)."""
        self._entry(destination, _publication.REMOVE)

    def scratch(self, folder: str | os.PathLike) -> Path:
        """A private working folder in ``folder``'s staging folder: never published, removed with it."""
        path = self._staging(Path(os.path.abspath(folder))).path / "scratch"
        path.mkdir(exist_ok=True)
        return path

    def write_bytes(self, destination: str | os.PathLike, data: bytes) -> Path:
        """Stage ``data`` as the file ``destination`` (or a file inside a staged folder); errors name it."""
        staged = self._staged_file(destination)
        try:
            staged.parent.mkdir(parents=True, exist_ok=True)
            staged.write_bytes(data)
        except OSError as error:
            raise _named(error, destination) from error
        return Path(destination)

    def write_text(self, destination: str | os.PathLike, text: str) -> Path:
        """Stage ``text`` (UTF-8) as the file ``destination``; errors name it."""
        return self.write_bytes(destination, text.encode("utf-8"))

    def _destination_of(self, error: OSError) -> OSError:
        """``error``, naming the destination when it names a staged path (e.g. from a library's write)."""
        if error.filename is None:
            return error
        for entry in self._entries:
            staged = str(entry.staged)
            if error.filename == staged or str(error.filename).startswith(staged + os.sep):
                return _named(error, str(entry.destination) + str(error.filename)[len(staged) :])
        return error

    def publish(self) -> list[Path]:
        """Put every staged destination in place together (module docstring); returns the destinations.

        Raises:
            OSError: a rename failed; the renames done were undone, the previous files are back.
        """
        self._check_open()
        try:
            _publication.pause_for_tests("staged")
            entries = [
                e for e in self._entries if e.kind != _publication.REMOVE or os.path.lexists(e.destination)
            ]
            for entry in entries:
                if entry.kind != _publication.REMOVE and not os.path.lexists(entry.staged):
                    raise FileNotFoundError(errno.ENOENT, "was never written", str(entry.destination))
            with contextlib.ExitStack() as stack:
                for folder in sorted(self._stagings):
                    stack.enter_context(_publication.folder_locked(folder))
                for entry in entries:
                    _publication.check_kind(entry)
                if self._stagings:
                    self._publish_locked(entries)
        except BaseException:
            self.discard()
            raise
        self._closed = True
        return [entry.destination for entry in self._entries]

    def discard(self) -> None:
        """Remove the staging folders and the (empty) folders this output created; publish nothing."""
        if not self._closed:
            self._close()
        for folder in reversed(self._created):
            with contextlib.suppress(OSError):
                folder.rmdir()

    # Internals ---------------------------------------------------------------------------------

    def _publish_locked(self, entries: list[_publication.Entry]) -> None:
        existed = [os.path.lexists(entry.destination) for entry in entries]
        records = [
            [e.kind, str(e.destination), str(e.staged), str(e.backup), was]
            for e, was in zip(entries, existed, strict=True)
        ]
        manifest = next(iter(self._stagings.values())).path / _publication.MANIFEST
        _publication.write_json(
            manifest, {"entries": records, "stagings": [str(s.path) for s in self._stagings.values()]}
        )
        done = False
        try:
            for index, (entry, was) in enumerate(zip(entries, existed, strict=True)):
                _publication.apply(entry, was)
                if index == 0 and len(entries) > 1:
                    _publication.pause_for_tests("publishing")
            with _publication.signals_held():
                manifest.unlink()
                done = True
                self._close()
        except BaseException as error:
            if not done:
                with _publication.signals_held():
                    _publication.undo(records)
                    manifest.unlink(missing_ok=True)
                    self._close()
            if isinstance(error, OSError):
                raise self._destination_of(error) from error
            raise

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("this output was already published or discarded")

    def _refuse_input(self, entry: _publication.Entry, source: Path) -> None:
        if same_file(entry.destination, source) or (
            entry.kind == _publication.FOLDER and _inside(source, entry.destination)
        ):
            raise SameFileError(
                f"{entry.destination}: this output would replace an input ({source}); choose another output path"
            )

    def _entry(self, destination: str | os.PathLike, kind: str) -> _publication.Entry:
        self._check_open()
        path = Path(os.path.abspath(destination))
        for entry in self._entries:
            if same_file(entry.destination, path):
                raise SameFileError(f"{path}: named twice as an output ({entry.destination})")
        _publication.check_kind(_publication.Entry(kind, path, path, path))
        if path.name.startswith(STAGING_PREFIX) or not path.name:
            raise SameFileError(f"{path}: not a name an output can have")
        for entry in self._entries:
            if _inside(path, entry.destination) or _inside(entry.destination, path):
                raise SameFileError(f"{path}: inside another output, or holding one ({entry.destination})")
        staging = self._staging(path.parent)
        entry = _publication.Entry(
            kind, path, staging.path / "new" / path.name, staging.path / "old" / path.name
        )
        for source in self._inputs:
            self._refuse_input(entry, source)
        self._entries.append(entry)
        return entry

    def _staged_file(self, destination: str | os.PathLike) -> Path:
        path = Path(os.path.abspath(destination))
        for entry in self._entries:
            if entry.kind == _publication.FILE and same_file(entry.destination, path):
                return entry.staged
            if entry.kind == _publication.FOLDER and _inside(path, entry.destination):
                return entry.staged / os.path.relpath(path, entry.destination)
        return self.file(path)

    def _staging(self, folder: Path) -> _Staging:
        if folder in self._stagings:
            return self._stagings[folder]
        self._created += _publication.make_folders(folder)
        path = folder / f"{STAGING_PREFIX}{self._token}"
        with _publication.folder_locked(folder):
            _publication.recover_locked(folder)
            try:
                path.mkdir()
                (path / "new").mkdir()
                (path / "old").mkdir()
                lock = _publication.lock(path / _publication.LOCK, create=True)
                if self._stagings:
                    (path / _publication.PRIMARY).write_text(
                        str(next(iter(self._stagings.values())).path), encoding="utf-8"
                    )
            except OSError as error:
                shutil.rmtree(path, ignore_errors=True)
                raise _named(error, folder) from error
        staging = _Staging(folder, path, lock)
        self._stagings[folder] = staging
        return staging

    def _close(self) -> None:
        self._closed = True
        for staging in self._stagings.values():
            shutil.rmtree(staging.path, ignore_errors=True)
            os.close(staging.lock)


@contextlib.contextmanager
def published_together(*, inputs: Iterable[str | os.PathLike] = ()) -> Iterator[Outputs]:
    """``with published_together(inputs=[...]) as outputs:`` stage files; all are published at the end.

    An exception in the block (``KeyboardInterrupt`` included) discards the staged files and
    propagates; an ``OSError`` names the destination rather than the staged path.
    """
    outputs = Outputs(inputs=inputs)
    try:
        yield outputs
        outputs.publish()
    except OSError as error:
        outputs.discard()
        raise outputs._destination_of(error) from error
    except BaseException:
        outputs.discard()
        raise


def recover(folder: str | os.PathLike) -> list[Path]:
    """Undo a publication into ``folder`` that a killed process left half done, and remove the
    staging folders of dead processes there; returns the staging folders removed."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    with _publication.folder_locked(folder):
        return _publication.recover_locked(folder)
