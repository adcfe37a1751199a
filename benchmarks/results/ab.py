"""``tfbench-ab``: compare environments (TensorFlow versions, flags, source trees) by interleaved rounds.

    tfbench-ab --env A=.venv/bin/python --env B=/work/venvs/tf219/bin/python --quick --cases '*-function,*-fit' --budget 300
    tfbench-ab --env A=python --env B=python --set B:TF_ENABLE_ONEDNN_OPTS=0 --cases '*-b32-*'
    tfbench-ab --env main=python --src main=../main --env pr=python --cases 'basic-*'
    tfbench-ab --self-test --quick --cases '*-function,*-fit' --budget 600

``--workers-per-env`` worker processes per environment (default ``DEFAULT_WORKERS_PER_ENV``) build
and check every selected case (``benchmarks.results.ab_run``); then randomized interleaved rounds
time short bursts, one worker at a time. Each environment after the first is compared with the
first (``benchmarks.results.ab_compare``): per case and aggregated, the ratio of step times with an
interval that counts both the round-to-round and the process-to-process variation
(``benchmarks.results.ab_statistics``), and the gate's verdict (beyond ``--threshold`` AND
significant). ``--self-test`` compares A with A and with A plus a known injected slowdown, and
reports false alarms, detection and the minimal detectable effect per case and mode.

Outputs: the table on stdout; ``OUT_DIR/ab.json`` (every number, the raw step times) and
``OUT_DIR/ab.html`` (self-contained, with a figure per comparison), both published together, and
``OUT_DIR/index.html`` refreshed; ``--markdown PATH`` too when asked. Exit status
(``benchmarks.results.cli``): 0 no regression (the self-test: passed); 1 a regression, or a case
refused in B that A timed (the self-test: failed); 2 bad input, or a worker that crashed or hung
(one line on stderr naming it, no output written, no process left).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from benchmarks.results.ab_compare import compare, exit_code, self_test
from benchmarks.results.ab_environments import Environment, parse_environments
from benchmarks.results.ab_report import Outcome, document, format_markdown, format_text, render_html
from benchmarks.results.ab_run import INTERLEAVINGS, LOGGER, run_interleaved
from benchmarks.results.ab_statistics import signed_rank_critical
from benchmarks.results.cli import EXIT_BAD_INPUT, EXIT_OK, EXIT_REGRESSION, Parser, command
from reference.files import published_together
from reference.reproduction.index import INDEX_NAME, render_index
from reference.validation import check_float, check_int, fail

__all__ = [
    "DEFAULT_BUDGET_S",
    "DEFAULT_BURST_MS",
    "DEFAULT_THRESHOLD",
    "DEFAULT_WORKERS_PER_ENV",
    "OUTPUT_RESERVE_S",
    "main",
    "self_test_environments",
]

DEFAULT_BUDGET_S = 300.0
DEFAULT_BURST_MS = 20.0
DEFAULT_THRESHOLD = 0.05
DEFAULT_SLOWDOWN = 0.10
# Worker processes per environment: the process-to-process variation needs two or more to be seen at
# all; more workers shrink its share of the interval but cost preparing time (README, "What it detects here").
DEFAULT_WORKERS_PER_ENV = 4
MAX_WORKERS_PER_ENV = 16
# Seconds kept at the end of the budget for the statistics, the figures and the files (measured: 1-3 s).
OUTPUT_RESERVE_S = 5.0
_DEVICE = re.compile(r"(CPU|GPU):\d+")


def _parser() -> Parser:
    parser = Parser(
        prog="tfbench-ab",
        description=(
            "Compare environments (interpreters, TensorFlow versions, variables, source trees) by randomized "
            "interleaved rounds of training-step bursts. Exit 0 no regression, 1 regression, 2 bad input or a "
            "failed worker."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            "Test facility: --inject LABEL:FRACTION makes every timed step of that environment take FRACTION "
            "longer (a busy wait after each call, proportional to its own duration); --self-test uses it."
        ),
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="LABEL=PYTHON",
        help="an environment (repeat; the first is the baseline A); PYTHON is a path or a name on PATH",
    )
    parser.add_argument(
        "--src",
        action="append",
        default=[],
        metavar="LABEL=DIR",
        help="the project checkout whose benchmarks/ and reference/ LABEL runs (default: this one)",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="LABEL:KEY=VALUE",
        help="an environment variable for LABEL's worker only, e.g. B:TF_ENABLE_ONEDNN_OPTS=0",
    )
    parser.add_argument(
        "--inject",
        action="append",
        default=[],
        metavar="LABEL:FRACTION",
        help="test facility: every timed step of LABEL takes FRACTION longer (0.10: 10%%)",
    )
    parser.add_argument(
        "--cases",
        action="append",
        default=[],
        metavar="PATTERNS",
        help="case labels or wildcards, comma-separated (basic-b32-function, '*-b32-fit', 'basic-*')",
    )
    parser.add_argument(
        "--quick", action="store_true", help="the quick matrix (batch 32 and 2048) instead of the full one"
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=DEFAULT_BUDGET_S,
        help="seconds for the whole run, start to written outputs (default: %(default)g)",
    )
    parser.add_argument(
        "--rounds", type=int, default=None, help="stop after this many rounds (default: the budget decides)"
    )
    parser.add_argument(
        "--workers-per-env",
        type=int,
        default=DEFAULT_WORKERS_PER_ENV,
        metavar="W",
        help="worker processes per environment; 1 leaves the process-to-process variation out of the "
        "intervals (default: %(default)s)",
    )
    parser.add_argument(
        "--threshold",
        type=float,
        default=DEFAULT_THRESHOLD,
        help="smallest step-time change that fails (default: %(default)g)",
    )
    parser.add_argument(
        "--alpha", type=float, default=0.05, help="1 - the intervals' level (default: %(default)g)"
    )
    parser.add_argument(
        "--power",
        type=float,
        default=0.95,
        help="power of the minimal detectable effect (default: %(default)g)",
    )
    parser.add_argument(
        "--interleave",
        default="case",
        choices=INTERLEAVINGS,
        help="case: per case, the environments' bursts back to back (default); round: each environment times every case in turn",
    )
    parser.add_argument(
        "--burst-ms",
        type=float,
        default=DEFAULT_BURST_MS,
        help="timed milliseconds per burst (default: %(default)g)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="weights, batches and the random order (default: %(default)s)"
    )
    parser.add_argument(
        "--device", default="CPU:0", help="the device the steps run on (default: %(default)s)"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=120.0,
        help="seconds any wait on a worker may take: start, one prepare, one burst (default: %(default)g)",
    )
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="compare A with A and with A plus --self-test-slowdown (A: the one --env, or this Python)",
    )
    parser.add_argument(
        "--self-test-slowdown",
        type=float,
        default=DEFAULT_SLOWDOWN,
        help="the slowdown injected in the self-test (default: %(default)g)",
    )
    parser.add_argument(
        "--out-dir",
        type=Path,
        default=Path("reports"),
        help="where ab.json and ab.html go (default: %(default)s)",
    )
    parser.add_argument("--markdown", type=Path, default=None, help="also write the tables as Markdown here")
    parser.add_argument(
        "--progress", action="store_true", help="progress lines on stderr (default: only on a terminal)"
    )
    return parser


def self_test_environments(base: Environment, slowdown: float) -> list[Environment]:
    """``A``, ``A`` again and ``A`` with ``slowdown`` injected: the self-test's three environments."""
    return [
        base,
        replace(base, label=f"{base.label}-again"),
        replace(base, label=f"{base.label}-slow", inject=slowdown),
    ]


def _environments(args) -> list[Environment]:
    if not args.self_test:
        return parse_environments(args.env, sources=args.src, sets=args.set, injects=args.inject)
    if len(args.env) > 1 or args.inject:
        fail(
            "--self-test",
            "used with at most one --env and no --inject (it builds its own environments)",
            args.env,
        )
    slowdown = check_float("--self-test-slowdown", args.self_test_slowdown, low=0, high=1, low_open=True)
    specs = args.env or [f"A={sys.executable}"]
    label = specs[0].split("=", 1)[0]
    twice = parse_environments(
        [specs[0], f"{label}-again={specs[0].split('=', 1)[-1]}"], sources=args.src, sets=args.set
    )
    return self_test_environments(twice[0], slowdown)


def _check_arguments(args, environments: list[Environment]) -> None:
    check_float("--budget", args.budget, low=0, low_open=True)
    if args.rounds is not None:
        check_int("--rounds", args.rounds, low=1)
    check_float("--threshold", args.threshold, low=0, high=1, low_open=True, high_open=True)
    check_float("--alpha", args.alpha, low=0, high=0.5, low_open=True, high_open=True)
    check_float("--power", args.power, low=0.5, high=1, low_open=True, high_open=True)
    check_float("--burst-ms", args.burst_ms, low=0, high=10_000, low_open=True)
    check_float("--timeout", args.timeout, low=0, low_open=True)
    check_int("--seed", args.seed, low=0)
    check_int("--workers-per-env", args.workers_per_env, low=1, high=MAX_WORKERS_PER_ENV)
    if not _DEVICE.fullmatch(args.device):
        fail("--device", "KIND:INDEX with KIND CPU or GPU", args.device)


def _outputs(args) -> list[Path]:
    outputs = [args.out_dir / "ab.json", args.out_dir / "ab.html", args.out_dir / INDEX_NAME]
    return outputs + ([args.markdown] if args.markdown is not None else [])


def _progress(enabled: bool) -> None:
    if enabled and not LOGGER.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("tfbench-ab: %(message)s"))
        LOGGER.addHandler(handler)
        LOGGER.setLevel(logging.INFO)


def _outcome(args, measured, environments: list[Environment], started: float) -> tuple[Outcome, int]:
    """The comparisons (and the self-test's findings) and the exit status they give."""
    comparisons = compare(measured, threshold=args.threshold, alpha=args.alpha, power=args.power)
    result = None
    if args.self_test:
        result = self_test(comparisons[0], comparisons[1], fraction=environments[2].inject, alpha=args.alpha)
        code = EXIT_OK if result.passed else EXIT_REGRESSION
    else:
        code = exit_code(comparisons)
    total_s = time.monotonic() - started
    return Outcome(measured, comparisons, args.threshold, args.alpha, args.power, total_s, result), code


@command("tfbench-ab")
def main(argv: Sequence[str] | None = None) -> int:
    """Command line (``tfbench-ab``): the tables on stdout, the exit status as in the module docstring."""
    started = time.monotonic()
    args = _parser().parse_args(argv)
    environments = _environments(args)
    _check_arguments(args, environments)
    _progress(args.progress or sys.stderr.isatty())
    job = {"quick": args.quick, "device": args.device, "seed": args.seed, "burst_s": args.burst_ms / 1000}
    # Every destination is registered (and refused if it is an interpreter or cannot be written) before
    # any worker starts; nothing is published unless the whole run succeeds.
    with published_together(inputs=[e.python for e in environments]) as outputs:
        for path in _outputs(args):
            outputs.file(path)
        measured = run_interleaved(
            environments,
            patterns=args.cases,
            job=job,
            deadline=started + args.budget - OUTPUT_RESERVE_S,
            max_rounds=args.rounds,
            interleave=args.interleave,
            seed=args.seed,
            timeout=args.timeout,
            workers_per_env=args.workers_per_env,
        )
        outcome, code = _outcome(args, measured, environments, started)
        settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
        outputs.write_text(
            args.out_dir / "ab.json",
            json.dumps(document(outcome, settings=settings, exit_code=code), indent=2),
        )
        outputs.write_text(args.out_dir / "ab.html", render_html(outcome))
        outputs.write_text(
            args.out_dir / INDEX_NAME, render_index(args.out_dir, publishing=["ab.html", "ab.json"])
        )
        if args.markdown is not None:
            outputs.write_text(args.markdown, format_markdown(outcome))
    sys.stdout.write(format_text(outcome))
    if measured.rounds == 0:
        # Nothing was compared: a "pass" would be a verdict without data (the outputs say why).
        sys.stderr.write(
            f"tfbench-ab: error: no round was timed ({measured.stop_reason or 'no case was compared'}); "
            "nothing to decide: raise --budget or narrow --cases\n"
        )
        return EXIT_BAD_INPUT
    undecided = _too_few_rounds(outcome) if code == EXIT_OK else ""  # a step wrong in B fails anyway
    if undecided:
        sys.stderr.write(
            f"tfbench-ab: error: {undecided}; nothing to decide: raise --budget or narrow --cases\n"
        )
        return EXIT_BAD_INPUT
    return code


def _too_few_rounds(outcome: Outcome) -> str:
    """Why no row of any comparison has an interval ("" if one has): the rounds the rule needs."""
    rows = [row for c in outcome.comparisons for row in [*c.rows, *c.aggregates]]
    if not rows or any(not math.isnan(row.estimate.low) for row in rows):
        return ""
    family = max(c.family for c in outcome.comparisons)
    row_alpha = outcome.alpha / family
    # The signed-rank interval exists once 2^(1-n) <= row_alpha (the normal approximation takes over at large n).
    needed = next((n for n in range(2, 1000) if signed_rank_critical(n, row_alpha) >= 0), None)
    return (
        f"{outcome.measured.rounds} rounds give no interval: {family} rows decided together, each at "
        f"{row_alpha:.2g}, need {needed or 'more'} rounds"
    )
