"""``reports/index.html``: links to the reports that exist in a reports folder.

``render_index(reports_dir, publishing=...)`` is cheap (no TensorFlow) so that any command writing
a report (the reproduction, the benchmark report, the comparison) publishes the index together
with its report (``reference.files.published_together``): ``publishing`` names the reports that
are being published with it and count as present.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path

import jinja2

from reference.files import published_together

__all__ = ["DATA_FILES", "INDEX_NAME", "REPORTS", "render_index", "write_index"]

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


def render_index(reports_dir: str | os.PathLike, *, publishing: Iterable[str] = ()) -> str:
    """The index page of ``reports_dir``: every report of ``REPORTS`` present there or in ``publishing``."""
    folder, publishing = Path(reports_dir), set(publishing)
    now = datetime.now(timezone.utc)

    def present(name: str) -> bool:
        return name in publishing or (folder / name).is_file()

    def modified(name: str) -> str:
        when = (
            now
            if name in publishing
            else datetime.fromtimestamp((folder / name).stat().st_mtime, timezone.utc)
        )
        return when.strftime("%Y-%m-%d %H:%M UTC")

    reports = [
        {"file": name, "title": title, "purpose": purpose, "modified": modified(name)}
        for name, (title, purpose) in REPORTS.items()
        if present(name)
    ]
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("reference.reproduction", "templates"), autoescape=True
    )
    return environment.get_template("index.html.j2").render(
        reports=reports,
        data=[name for name in DATA_FILES if present(name)],
        missing=[{"file": name, "title": title} for name, (title, _) in REPORTS.items() if not present(name)],
    )


def write_index(reports_dir: str | os.PathLike) -> Path:
    """Publish ``reports_dir/index.html`` alone (``render_index``); returns its path.

    Raises:
        OSError: ``reports_dir`` cannot be written.
    """
    path = Path(reports_dir) / INDEX_NAME
    with published_together() as outputs:
        outputs.write_text(path, render_index(reports_dir))
    return path
