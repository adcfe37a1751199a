"""What the result-file commands share: their exit codes and how bad input ends them.

``tfbench-report``, ``tfbench-gate``, ``tfbench-compare`` and ``tfbench-history`` exit with

| code | meaning |
|---|---|
| 0 | done (the gate: no regression) |
| 1 | the gate found a regression |
| 2 | bad input: a missing, empty or corrupt result file, another schema, a reference that names no run, an invalid argument, a file that cannot be read or written (argparse's usage errors exit 2 too) |

``command(prog)`` wraps a command's ``main(argv) -> int``: ``ResultInputError`` and every other
``ValueError`` (invalid arguments, named as ``Argument `x` ...``) and ``OSError`` end it with one line
``<prog>: error: <message>`` on stderr (an ``OSError`` names its file) and exit 2, without a traceback.
The commands write their files atomically, so bad input leaves no partial output.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Sequence

__all__ = ["EXIT_BAD_INPUT", "EXIT_OK", "EXIT_REGRESSION", "command", "error_line"]

EXIT_OK = 0
EXIT_REGRESSION = 1
EXIT_BAD_INPUT = 2

Main = Callable[[Sequence[str] | None], int]


def error_line(error: ValueError | OSError) -> str:
    """The error as one line: ``path: reason`` for an ``OSError`` with a file name, else its message."""
    if isinstance(error, OSError) and error.filename is not None:
        text = f"{error.filename}: {error.strerror or error}"
    else:
        text = str(error)
    return " ".join(line.strip() for line in text.splitlines() if line.strip())


def command(prog: str) -> Callable[[Main], Main]:
    """Decorate ``main(argv) -> int`` so that bad input prints one line on stderr and returns ``EXIT_BAD_INPUT``."""

    def decorate(main: Main) -> Main:
        @functools.wraps(main)
        def run(argv: Sequence[str] | None = None) -> int:
            try:
                return main(argv)
            except (ValueError, OSError) as error:
                sys.stderr.write(f"{prog}: error: {error_line(error)}\n")
                return EXIT_BAD_INPUT

        return run

    return decorate
