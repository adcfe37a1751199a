"""``python -m reference.reproduction`` (console script ``tfrepro``): run the document, write the report.

    python -m reference.reproduction [--sections losses,optimizers,...] [--quick] [--out-dir reports]
                                     [--quiet] [--strict] [--list-sections]

Writes ``<out-dir>/reproduction.html``, ``reproduction.json``, ``reproduction/*.png`` and
``index.html``. Exit codes: 0 done (even when claims are not reproduced: the ledger is the
output), 1 with ``--strict`` when some claim is not reproduced, 2 bad options or an output
folder that cannot be written (one line on stderr, nothing written). Options are checked before
TensorFlow is imported.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Sequence

from reference.reproduction.files import make_staging
from reference.reproduction.scale import SCALES, SECTION_NAMES, SECTION_TITLES

__all__ = ["EXIT_NOT_REPRODUCED", "EXIT_OK", "EXIT_USAGE", "UsageError", "main", "parse_sections"]

EXIT_OK = 0
EXIT_NOT_REPRODUCED = 1
EXIT_USAGE = 2


class UsageError(ValueError):
    """A bad command-line option; its message is the one line printed."""


def parse_sections(text: str | None) -> list[str]:
    """``"losses, optimizers"`` -> ``["losses", "optimizers"]``; ``None`` -> every section.

    Raises:
        UsageError: an unknown or empty section list (the message names the valid ones).
    """
    if text is None:
        return list(SECTION_NAMES)
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in SECTION_NAMES]
    if unknown or not names:
        what = f"unknown section {', '.join(map(repr, unknown))}" if unknown else "no section given"
        raise UsageError(f"{what}; valid sections: {', '.join(SECTION_NAMES)}")
    return names


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m reference.reproduction",
        description="Run every demonstration of the document at its own scale and write the reproduction report.",
    )
    parser.add_argument(
        "--sections", help=f"comma-separated sections to run (default: all): {','.join(SECTION_NAMES)}"
    )
    parser.add_argument(
        "--quick", action="store_true", help="a tiny scale (1-3 epochs, small samples) for tests and CI"
    )
    parser.add_argument("--out-dir", default="reports", help="folder of the reports (default: reports)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--strict", action="store_true", help="exit 1 when some claim is not reproduced")
    parser.add_argument("--list-sections", action="store_true", help="print the sections and exit")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns its exit code."""
    args = _build_parser().parse_args(argv)
    if args.list_sections:
        for name in SECTION_NAMES:
            print(f"{name}\t{SECTION_TITLES[name][0]} ({SECTION_TITLES[name][1]})")
        return EXIT_OK
    try:
        sections = parse_sections(args.sections)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    try:
        staging = make_staging(args.out_dir)
    except OSError as error:
        print(
            f"error: cannot write the output directory {args.out_dir!r}: {error.strerror or error}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        return _run(sections, args, staging)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _run(sections: list[str], args: argparse.Namespace, staging) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from reference.reproduction.ledger import NOT_REPRODUCED
    from reference.reproduction.progress import Progress
    from reference.reproduction.report import write_report
    from reference.reproduction.runner import run_reproduction

    scale = SCALES["quick" if args.quick else "full"]
    result = run_reproduction(sections, scale, staging / "work", progress=Progress(quiet=args.quiet))
    paths = write_report(result, args.out_dir, staging)
    counts = ", ".join(f"{count} {verdict}" for verdict, count in result.counts.items())
    print(
        f"{len(result.claims)} claims ({counts}), {len(result.defects)} defects, {result.seconds:.0f} s -> {paths['html']}"
    )
    return EXIT_NOT_REPRODUCED if args.strict and result.counts[NOT_REPRODUCED] else EXIT_OK
