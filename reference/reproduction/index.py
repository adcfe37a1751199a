"""``reports/index.html``: links to the reports, data files and saved runs that exist in a reports folder.

``render_index(reports_dir, publishing=..., removing=...)`` is cheap (no TensorFlow) so that every
command writing into a reports folder publishes the index together with its files
(``reference.files.published_together``): the reproduction (``tfrepro``) and its page across
versions (``tfrepro-versions``), the benchmark plugin and
``tfbench-report``, ``tfbench-compare``, ``tfbench-gate`` (its text, Markdown and JSON tables) and
the gate plugin, ``tfbench-ab``, and ``tfbench-history save``/``prune`` (the saved runs of the
``history/`` folder). ``publishing`` names the files, relative to ``reports_dir``, being published
with it (they count as present, ``history/<run>.json`` included), ``removing`` those being deleted
with it (they count as absent).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path

import jinja2

from reference.files import published_together

__all__ = ["DATA_FILES", "HISTORY_NAME", "INDEX_NAME", "REPORTS", "render_index", "write_index"]

INDEX_NAME = "index.html"
HISTORY_NAME = "history"
# File name -> (title, what it answers); listed in this order when the file exists.
REPORTS: dict[str, tuple[str, str]] = {
    "reproduction.html": (
        "Reproduction of the document",
        "Does each technique of the document work as it says on this TensorFlow? Claims and defects ledgers.",
    ),
    "reproduction-versions.html": (
        "Reproduction across versions",
        "Which claims and defects change between TensorFlow and Keras releases? Claims and defects x versions.",
    ),
    "benchmarks.html": ("Training-step benchmarks", "How fast is each way of running a training step here?"),
    "gate.txt": (
        "Regression gate",
        "Did this run get slower than its baseline? One verdict per benchmark, beyond a limit and significant.",
    ),
    "compare.html": (
        "Comparison of runs",
        "How do machines, devices or TensorFlow versions compare? Each run's best device per case, "
        "ratios with intervals.",
    ),
    "ab.html": (
        "A/B comparison of environments",
        "Is the training step faster or slower in B than in A (another TensorFlow, flags, code)? "
        "Interleaved rounds, intervals, verdicts.",
    ),
}
DATA_FILES = (
    "reproduction.json",
    "reproduction-versions.json",
    "reproduction-versions.md",
    "benchmarks.json",
    "gate.md",
    "gate.json",
    "compare.csv",
    "compare.json",
    "ab.json",
)


def _saved_runs(folder: Path, publishing: set[str], removing: set[str]) -> list[str]:
    """The ``*.json`` files of ``folder/history`` after the publication, newest (by name) first."""
    history = folder / HISTORY_NAME
    names = {p.name for p in history.glob("*.json")} if history.is_dir() else set()
    prefix = f"{HISTORY_NAME}/"
    names |= {n.removeprefix(prefix) for n in publishing if n.startswith(prefix)}
    names -= {n.removeprefix(prefix) for n in removing if n.startswith(prefix)}
    return sorted(names, reverse=True)


@functools.cache
def _template() -> jinja2.Template:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("reference.reproduction", "templates"), autoescape=True
    )
    return environment.get_template("index.html.j2")


def render_index(
    reports_dir: str | os.PathLike, *, publishing: Iterable[str] = (), removing: Iterable[str] = ()
) -> str:
    """The index page of ``reports_dir``: every report of ``REPORTS`` and file of ``DATA_FILES`` present
    there or in ``publishing`` and not in ``removing``, and the saved runs of its ``history/`` folder."""
    folder, publishing, removing = Path(reports_dir), set(publishing), set(removing)
    now = datetime.now(timezone.utc)

    def present(name: str) -> bool:
        return name not in removing and (name in publishing or (folder / name).is_file())

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
    saved = _saved_runs(folder, publishing, removing)
    return _template().render(
        reports=reports,
        data=[name for name in DATA_FILES if present(name)],
        history={"folder": f"{HISTORY_NAME}/", "count": len(saved), "newest": saved[0]} if saved else None,
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
