"""``tfbench-run``: the benchmark suite from an installed copy (a wheel), with no checkout.

    tfbench-run                  # the full timed matrix (pytest --benchmark-only)
    tfbench-run --quick          # the reduced matrix
    tfbench-run --smoke          # every case once, untimed (the smoke pass of plain pytest)
    tfbench-run -- -k "basic and b32" --bench-history-name=laptop   # anything after -- goes to pytest

It runs pytest on the installed ``benchmarks`` package (``--pyargs``) with the suite's plugins
(``-p benchmarks.plugin -p benchmarks.gate_plugin``) and a settings file of its own, so the folder it
runs in needs no ``pytest.ini`` and one there is not read. Reports go to ``./reports`` (``--report-dir``).
The exit code is pytest's: 0 done, 1 a failed case or a regression found by ``--bench-gate``, 2 bad
input (pytest's usage errors, exit 4 in pytest, included), other codes as pytest's.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from benchmarks.results.cli import EXIT_BAD_INPUT, Parser, command
from benchmarks.results.report import require_templates

__all__ = ["PROG", "main", "pytest_arguments"]

PROG = "tfbench-run"

_SETTINGS_FILE = """\
[pytest]
python_files = bench_*.py
addopts = -ra --strict-markers
filterwarnings =
    ignore::DeprecationWarning:tensorflow.*
    ignore::DeprecationWarning:keras.*
    ignore::DeprecationWarning:google.*
    ignore::DeprecationWarning:flatbuffers.*
"""


def _parser() -> Parser:
    parser = Parser(
        prog=PROG,
        description="Run the installed benchmark suite (pytest-benchmark) and write its reports.",
        epilog="Arguments after -- are passed to pytest unchanged.",
    )
    speed = parser.add_mutually_exclusive_group()
    speed.add_argument(
        "--quick", action="store_true", help="the reduced matrix (batch 32 and 2048, fewer rounds)"
    )
    speed.add_argument("--smoke", action="store_true", help="every case once, untimed; no report")
    parser.add_argument(
        "--report-dir", default="reports", metavar="DIR", help="folder of the reports (default: ./reports)"
    )
    return parser


def _package_dir() -> Path:
    spec = importlib.util.find_spec("benchmarks")
    if spec is None or not spec.submodule_search_locations:
        raise ValueError("the benchmarks package is not importable: reinstall tf-training-suite")
    return Path(next(iter(spec.submodule_search_locations)))


def pytest_arguments(*, quick: bool, smoke: bool, report_dir: str, settings_file: Path, extra: Sequence[str]):
    """The pytest command line ``tfbench-run`` runs (without the leading ``pytest``)."""
    package = _package_dir()
    args = [
        "-c",
        str(settings_file),
        "--rootdir",
        os.getcwd(),
        "--confcutdir",
        str(package),
        "-p",
        "no:cacheprovider",
        "-p",
        "benchmarks.plugin",
        "-p",
        "benchmarks.gate_plugin",
        "--pyargs",
        "benchmarks",
        "--bench-report-dir",
        report_dir,
    ]
    if not smoke:
        args.append("--benchmark-only")
    if quick:
        args.append("--bench-quick")
    return [*args, *extra]


def _split(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    argv = list(argv)
    if "--" in argv:
        cut = argv.index("--")
        return argv[:cut], argv[cut + 1 :]
    return argv, []


@command(PROG)
def main(argv: Sequence[str] | None = None) -> int:
    """Command line (module docstring); pytest's exit code."""
    own, extra = _split(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(own)
    require_templates()
    import pytest

    with tempfile.TemporaryDirectory(prefix="tfbench-run-") as folder:
        settings_file = Path(folder) / "pytest.ini"
        settings_file.write_text(_SETTINGS_FILE, encoding="utf-8")
        arguments = pytest_arguments(
            quick=args.quick,
            smoke=args.smoke,
            report_dir=args.report_dir,
            settings_file=settings_file,
            extra=extra,
        )
        code = int(pytest.main(arguments))
    return EXIT_BAD_INPUT if code == pytest.ExitCode.USAGE_ERROR else code
