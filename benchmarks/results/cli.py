"""What the commands share: their exit codes, their argument parser, and how bad input ends them.

``tfbench-report``, ``tfbench-gate``, ``tfbench-compare``, ``tfbench-history``, ``tfrepro`` and
``python -m benchmarks.distributed.run`` exit with

| code | meaning |
|---|---|
| 0 | done (the gate: no regression) |
| 1 | the gate found a regression; ``tfrepro --strict``: a claim is contradicted |
| 2 | bad input: a bad option or argument, a missing, empty or corrupt file, a field of the wrong type, another schema, a reference that names no run, an output that is an input, a file that cannot be read or written (read-only folder, full disk, a folder where a file goes, a file where a folder goes), or an interruption (SIGINT, SIGTERM) |

``command(prog)`` wraps a command's ``main(argv) -> int``: every ``ValueError`` (invalid arguments,
named as ``Argument `x` ...``; ``ResultInputError``; ``reference.files.SameFileError``), ``OSError``
and ``KeyboardInterrupt`` (SIGINT, and SIGTERM while the command runs) end it with one line
``<prog>: error: <message>`` on stderr (an ``OSError`` names its file) and exit 2, without a
traceback. ``Parser`` is ``argparse``'s parser with its errors on that one line too. The commands
publish their files all or nothing (``reference.files.published_together``), so a command that
ends this way leaves every previous output as it was.
"""

from __future__ import annotations

import argparse
import functools
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from importlib import metadata
from typing import NoReturn

__all__ = [
    "DISTRIBUTION",
    "EXIT_BAD_INPUT",
    "EXIT_OK",
    "EXIT_REGRESSION",
    "Parser",
    "UsageError",
    "command",
    "error_line",
    "suite_version",
]

EXIT_OK = 0
EXIT_REGRESSION = 1
EXIT_BAD_INPUT = 2

Main = Callable[[Sequence[str] | None], int]


class UsageError(ValueError):
    """A bad command line (unknown option, a value that is not a number, ...); the message is one line."""


DISTRIBUTION = "tf-training-suite"


def suite_version() -> str:
    """The installed distribution's version, or ``unknown`` when it runs from a checkout never installed."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


class Parser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` whose errors raise ``UsageError`` (one line, exit 2 under ``command``),
    with ``--version`` (``<prog> <version> (tf-training-suite)``) on every command."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_argument(
            "--version", action="version", version=f"%(prog)s {suite_version()} ({DISTRIBUTION})"
        )

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {self.prog} --help)")


def error_line(error: BaseException) -> str:
    """The error as one line: ``path: reason`` for an ``OSError`` with a file name, else its message."""
    if isinstance(error, KeyboardInterrupt):
        text = f"interrupted by {error.args[0] if error.args else 'SIGINT'}"
    elif isinstance(error, OSError) and error.filename is not None:
        text = f"{error.filename}: {error.strerror or error}"
    else:
        text = str(error)
    return " ".join(line.strip() for line in text.splitlines() if line.strip())


def _terminated(signum, frame) -> NoReturn:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def command(prog: str) -> Callable[[Main], Main]:
    """Decorate ``main(argv) -> int`` so that bad input prints one line on stderr and returns ``EXIT_BAD_INPUT``."""

    def decorate(main: Main) -> Main:
        @functools.wraps(main)
        def run(argv: Sequence[str] | None = None) -> int:
            in_main_thread = threading.current_thread() is threading.main_thread()
            previous = signal.signal(signal.SIGTERM, _terminated) if in_main_thread else None
            try:
                return main(argv)
            except (ValueError, OSError, KeyboardInterrupt) as error:
                sys.stderr.write(f"{prog}: error: {error_line(error)}\n")
                return EXIT_BAD_INPUT
            finally:
                if previous is not None:
                    signal.signal(signal.SIGTERM, previous)

        return run

    return decorate
