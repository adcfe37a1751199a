"""``reports/index.html``: links to the reports that exist in a reports folder.

``write_index(reports_dir)`` is cheap (no TensorFlow) so that any command writing a report (the
reproduction, the benchmark report, the comparison) can call it afterwards.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

import jinja2

from reference.files import write_text_atomic

__all__ = ["DATA_FILES", "INDEX_NAME", "REPORTS", "write_index"]

INDEX_NAME = "index.html"
# File name -> (title, what it answers); listed in this order when the file exists.
REPORTS: dict[str, tuple[str, str]] = {
    "reproduction.html": (
        "Reproduction of the document",
        "Does each technique of the document work as it says on this TensorFlow? Claims and defects ledgers.",
    ),
    "benchmarks.html": ("Training-step benchmarks", "How fast is each way of running a training step here?"),
    "compare.html": ("Comparison of runs", "What changed between two runs or TensorFlow versions?"),
    "ab.html": (
        "A/B comparison of environments",
        "Is the training step faster or slower in B than in A (another TensorFlow, flags, code)? "
        "Interleaved rounds, intervals, verdicts.",
    ),
}
DATA_FILES = ("reproduction.json", "benchmarks.json", "ab.json")


def write_index(reports_dir: str | os.PathLike) -> Path:
    """Write ``reports_dir/index.html`` linking every report of ``REPORTS`` present there.

    Returns:
        The path of the index.

    Raises:
        OSError: ``reports_dir`` does not exist or cannot be written.
    """
    folder = Path(reports_dir)
    reports = [
        {"file": name, "title": title, "purpose": purpose, "modified": _modified(folder / name)}
        for name, (title, purpose) in REPORTS.items()
        if (folder / name).is_file()
    ]
    data = [name for name in DATA_FILES if (folder / name).is_file()]
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("reference.reproduction", "templates"), autoescape=True
    )
    page = environment.get_template("index.html.j2").render(
        reports=reports,
        data=data,
        missing=[
            {"file": name, "title": title}
            for name, (title, _) in REPORTS.items()
            if not (folder / name).is_file()
        ],
    )
    return write_text_atomic(folder / INDEX_NAME, page)


def _modified(path: Path) -> str:
    return datetime.fromtimestamp(path.stat().st_mtime, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
