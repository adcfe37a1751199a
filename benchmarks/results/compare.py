"""Side-by-side comparison of two or more runs (machines, devices, TensorFlow builds): HTML, CSV and JSON.

    tfbench-compare laptop.json gpu-box.json [...] -o reports/compare.html
    tfbench-compare last:main laptop --label main --label laptop

Arguments are result files or history references (``benchmarks.results.history``). The page shows:

- **Best device per case** (``benchmarks.results.best_device``): for each run, the device where a
  case (workload, batch size, mode, strategy; the device left out) is fastest, its margin over the
  run's other device, each run's ratio to the first run's best with its interval, and which run
  (and device) won, or "inconclusive". A CPU laptop and a GPU box meet here, and a run with only
  GPU cases compares with one with only CPU cases.
- **Per device** the same case on the same device: each run's throughput (samples/s; steps/s for
  the batch-free quadratic) and its ratio against the first run,

      ratio_k = throughput_k / throughput_1 = median(t_1) / median(t_k),

  with the percentile-bootstrap interval of ``benchmarks.results.analysis.bootstrap_speedup``;
  then each device's calibration peak.
- The machines (node, CPU as pytest-benchmark's ``machine_info.cpu`` records it: brand,
  architecture, count, clock; devices) and the environments side by side
  (``benchmarks.results.report.environment_rows``) with the rows that differ highlighted.

``compare.csv`` and ``compare.json`` beside the page (``-o``'s name with those suffixes) hold the
same numbers (``benchmarks.results.compare_export``). The page is self-contained (figures
embedded, no URL) and Jinja2 escapes every string from the files. Bad input (missing, empty,
corrupt, other schema, a device that is not ``CPU:<n>``/``GPU:<n>``/``TPU:<n>``, no case shared
with the first run, an output named ``.csv``/``.json`` or that is one of the runs, an output that
cannot be written) prints one line and exits with 2 (``benchmarks.results.cli``) without writing
anything. The page, the CSV, the JSON and the folder's ``index.html`` are published together
(``reference.files``): all new, or all as they were.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from benchmarks.results.best_device import check_devices
from benchmarks.results.cases import case_key_without_device
from benchmarks.results.cli import EXIT_OK, Parser, command
from benchmarks.results.compare_export import compare_csv, compare_json
from benchmarks.results.compare_page import render_page
from benchmarks.results.compare_rows import comparison, default_labels
from benchmarks.results.history import HISTORY_DIR, Run, load_run
from benchmarks.results.schema import ResultInputError
from reference.files import published_together
from reference.reproduction.index import INDEX_NAME, render_index

__all__ = ["DEFAULT_OUTPUT", "compare_outputs", "main", "render_compare", "write_compare"]

DEFAULT_OUTPUT = Path("reports") / "compare.html"
DATA_SUFFIXES = (".csv", ".json")


def render_compare(runs: list[Run], labels: list[str]) -> str:
    """The comparison page's HTML text."""
    return render_page(comparison(runs, labels))


def _check_comparable(runs: list[Run]) -> None:
    """Raise ``ResultInputError`` unless every run shares a case (on any device) with the first."""

    def cases(run: Run) -> set[str]:
        return {case_key_without_device(k) for k in run.benchmarks} - {None}

    first = cases(runs[0])
    for run in runs[1:]:
        if not first & cases(run):
            raise ResultInputError(f"{run.path} has no benchmark case in common with {runs[0].path}")


def compare_outputs(output: str | Path) -> dict[str, Path]:
    """The page ``output`` and its data files and index: ``{"html", "csv", "json", "index"}``.

    Raises:
        ValueError: ``output`` ends in ``.csv`` or ``.json`` (the page would be one of its data files).
    """
    output = Path(output)
    if output.suffix.lower() in DATA_SUFFIXES:
        raise ValueError(
            f"Argument `output` must not end in {' or '.join(DATA_SUFFIXES)} (the CSV and JSON are written "
            f"beside the page). Received: output={str(output)!r}"
        )
    return {
        "html": output,
        "csv": output.with_suffix(".csv"),
        "json": output.with_suffix(".json"),
        "index": output.parent / INDEX_NAME,
    }


def write_compare(
    references: list[str],
    output: str | Path = DEFAULT_OUTPUT,
    *,
    labels: list[str] | None = None,
    history_dir: str | Path = HISTORY_DIR,
) -> Path:
    """Load the runs ``references`` name; publish the page ``output``, its CSV and JSON, and the folder's index.

    Raises:
        ValueError: fewer than two references, ``labels`` of another length, ``output`` a ``.csv``/``.json``.
        ResultInputError: a reference names no valid result file, a device is unknown, or the runs share no case.
        SameFileError: an output is one of the runs' files.
        OSError: an output cannot be written (named in the error).
    """
    if len(references) < 2:
        raise ValueError(
            f"Argument `references` must name at least 2 runs. Received: references={references!r}"
        )
    if labels is not None and len(labels) != len(references):
        raise ValueError(
            f"Argument `labels` must have one label per run ({len(references)}). Received: labels={labels!r}"
        )
    paths = compare_outputs(output)
    runs = [load_run(reference, history_dir) for reference in references]
    for run in runs:
        check_devices(run)
    _check_comparable(runs)
    found = comparison(runs, labels or default_labels(runs))
    names = [paths[kind].name for kind in ("html", "csv", "json")]
    with published_together(inputs=[run.path for run in runs]) as outputs:
        for path in paths.values():
            outputs.file(path)
        outputs.write_text(paths["html"], render_page(found))
        outputs.write_text(paths["csv"], compare_csv(found))
        outputs.write_text(paths["json"], compare_json(found))
        outputs.write_text(paths["index"], render_index(paths["index"].parent, publishing=names))
    return paths["html"]


@command("tfbench-compare")
def main(argv: Sequence[str] | None = None) -> int:
    """Command line (``tfbench-compare``): the page's path on stdout; exit 2 on bad input."""
    parser = Parser(prog="tfbench-compare", description="Compare benchmark runs side by side.")
    parser.add_argument(
        "references", nargs="+", help="result files or history references; the first is the reference"
    )
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        help="the HTML page; the CSV and JSON go beside it (default: %(default)s)",
    )
    parser.add_argument("--label", action="append", default=None, help="a label per run, in order (repeat)")
    parser.add_argument("--history-dir", type=Path, default=HISTORY_DIR, help="default: %(default)s")
    args = parser.parse_args(argv)
    path = write_compare(args.references, args.output, labels=args.label, history_dir=args.history_dir)
    sys.stdout.write(f"{path}\n")
    return EXIT_OK
