"""``python -m reference.reproduction`` (console script ``tfrepro``): run the document, write the report.

    python -m reference.reproduction [--sections losses,optimizers,...] [--quick] [--seeds N]
                                     [--out-dir reports] [--quiet] [--strict] [--list-sections]

Writes ``<out-dir>/reproduction.html``, ``reproduction.json``, ``reproduction/*.png`` and
``index.html``, published together (``reference.files``): a reader sees the previous report or
the new one. ``--seeds N`` (1 to 100; default 5, 2 with ``--quick``) measures every stochastic
claim on seeds 42, 43, ..., 42 + N - 1. Exit codes (``benchmarks.results.cli``, the same as the
benchmark commands): 0 done (even when claims are contradicted or inconclusive: the ledger is the
output), 1 with ``--strict`` when some claim is contradicted (an inconclusive claim is a lack of
seeds or epochs, not evidence against the document, so it does not fail ``--strict``; nor does a
claim that differs on this version, ``reference.reproduction.version_limits``), 2 a bad
option, an output folder that cannot be written (checked before TensorFlow starts), a write that
fails (full disk), or an interruption (SIGINT, SIGTERM): one line ``tfrepro: error: ...`` on
stderr, the previous report byte-identical. The demos' own files go to a scratch folder inside
the staging folder, removed with it.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
from collections.abc import Sequence
from pathlib import Path

from benchmarks.results import cli as _commands
from reference.files import Outputs, published_together
from reference.reproduction.report import plan_report, write_report
from reference.reproduction.scale import MAX_SEEDS, SCALES, SECTION_NAMES, SECTION_TITLES, Scale
from reference.validation import check_int, check_path

__all__ = [
    "EXIT_CONTRADICTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "UsageError",
    "main",
    "parse_scale",
    "parse_sections",
]

EXIT_OK = _commands.EXIT_OK
EXIT_CONTRADICTED = _commands.EXIT_REGRESSION
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


def parse_scale(quick: bool, seeds: str | None) -> Scale:
    """The scale of the run: ``QUICK`` or ``FULL``, with ``seeds`` seeds when given (its default otherwise).

    Raises:
        ValueError: ``seeds`` is not a whole number from 1 to ``MAX_SEEDS`` (the message names it).
    """
    scale = SCALES["quick" if quick else "full"]
    if seeds is None:
        return scale
    text = seeds.strip()
    count = check_int("seeds", int(text) if re.fullmatch(r"[+-]?\d+", text) else seeds, low=1, high=MAX_SEEDS)
    return dataclasses.replace(scale, seeds=count)


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
    parser.add_argument(
        "--seeds",
        help=f"seeds per stochastic claim, 1 to {MAX_SEEDS} (default: {SCALES['full'].seeds}, "
        f"{SCALES['quick'].seeds} with --quick)",
    )
    parser.add_argument("--out-dir", default="reports", help="folder of the reports (default: reports)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--strict", action="store_true", help="exit 1 when some claim is contradicted")
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
    scale = parse_scale(args.quick, args.seeds)
    out = check_path("out_dir", args.out_dir, kind="dir")
    with published_together() as outputs:
        paths = plan_report(outputs, out)  # a destination that cannot be written: refused before TensorFlow
        summary, contradicted = _run(sections, scale, args, outputs, paths)
    print(summary)
    return EXIT_CONTRADICTED if args.strict and contradicted else EXIT_OK


def _run(
    sections: list[str], scale: Scale, args: argparse.Namespace, outputs: Outputs, paths: dict[str, Path]
) -> tuple[str, int]:
    """Run the sections and stage the report in ``outputs`` at ``paths`` (``plan_report``); returns
    the summary line and the count of claims contradicted."""
    from reference.runtime import import_tensorflow

    import_tensorflow()
    from reference.reproduction.ledger import CONTRADICTED
    from reference.reproduction.progress import Progress
    from reference.reproduction.runner import run_reproduction

    workdir = outputs.scratch(paths["html"].parent) / "work"
    result = run_reproduction(sections, scale, workdir, progress=Progress(quiet=args.quiet))
    write_report(result, paths, outputs)
    counts = ", ".join(f"{count} {verdict}" for verdict, count in result.counts.items())
    summary = (
        f"{len(result.claims)} claims over {scale.seeds} seed{'s' if scale.seeds > 1 else ''} ({counts}), "
        f"{len(result.defects)} defects, {result.seconds:.0f} s -> {paths['html']}"
    )
    return summary, result.counts[CONTRADICTED]
