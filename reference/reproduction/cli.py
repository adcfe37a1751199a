"""``python -m reference.reproduction`` (console script ``tfrepro``): run the document, write the report.

    python -m reference.reproduction [--sections losses,optimizers,...] [--quick] [--out-dir reports]
                                     [--quiet] [--strict] [--list-sections]

Writes ``<out-dir>/reproduction.html``, ``reproduction.json``, ``reproduction/*.png`` and
``index.html``, published together (``reference.files``): a reader sees the previous report or
the new one. Exit codes (``benchmarks.results.cli``, the same as the benchmark commands): 0 done
(even when claims are not reproduced: the ledger is the output), 1 with ``--strict`` when some
claim is not reproduced, 2 a bad option, an output folder that cannot be written (checked before
TensorFlow starts), a write that fails (full disk), or an interruption (SIGINT, SIGTERM): one line
``tfrepro: error: ...`` on stderr, the previous report byte-identical. The demos' own files go to a
scratch folder inside the staging folder, removed with it.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from benchmarks.results import cli as _commands
from reference.files import Outputs, published_together
from reference.reproduction.report import plan_report, write_report
from reference.reproduction.scale import SCALES, SECTION_NAMES, SECTION_TITLES
from reference.validation import check_path

__all__ = ["EXIT_NOT_REPRODUCED", "EXIT_OK", "EXIT_USAGE", "UsageError", "main", "parse_sections"]

EXIT_OK = _commands.EXIT_OK
EXIT_NOT_REPRODUCED = _commands.EXIT_REGRESSION
EXIT_USAGE = _commands.EXIT_BAD_INPUT


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
    parser = _commands.Parser(
        prog="tfrepro",
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


@_commands.command("tfrepro")
def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns its exit code."""
    args = _build_parser().parse_args(argv)
    if args.list_sections:
        for name in SECTION_NAMES:
            print(f"{name}\t{SECTION_TITLES[name][0]} ({SECTION_TITLES[name][1]})")
        return EXIT_OK
    sections = parse_sections(args.sections)
    out = check_path("out_dir", args.out_dir, kind="dir")
    with published_together() as outputs:
        paths = plan_report(outputs, out)  # a destination that cannot be written: refused before TensorFlow
        summary, not_reproduced = _run(sections, args, outputs, paths)
    print(summary)
    return EXIT_NOT_REPRODUCED if args.strict and not_reproduced else EXIT_OK


def _run(
    sections: list[str], args: argparse.Namespace, outputs: Outputs, paths: dict[str, Path]
) -> tuple[str, int]:
    """Run the sections and stage the report in ``outputs`` at ``paths`` (``plan_report``); returns
    the summary line and the count of claims not reproduced."""
    from reference.runtime import import_tensorflow

    import_tensorflow()
    from reference.reproduction.ledger import NOT_REPRODUCED
    from reference.reproduction.progress import Progress
    from reference.reproduction.runner import run_reproduction

    scale = SCALES["quick" if args.quick else "full"]
    workdir = outputs.scratch(paths["html"].parent) / "work"
    result = run_reproduction(sections, scale, workdir, progress=Progress(quiet=args.quiet))
    write_report(result, paths, outputs)
    counts = ", ".join(f"{count} {verdict}" for verdict, count in result.counts.items())
    summary = (
        f"{len(result.claims)} claims ({counts}), {len(result.defects)} defects, "
        f"{result.seconds:.0f} s -> {paths['html']}"
    )
    return summary, result.counts[NOT_REPRODUCED]
