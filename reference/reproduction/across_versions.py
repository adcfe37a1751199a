"""``tfrepro-versions`` (``python -m reference.reproduction.across_versions``): the reproduction across versions.

    tfrepro-versions floor/reproduction.json newest/reproduction.json [...] [--out-dir reports]

Given the ``reproduction.json`` of runs on several TensorFlow and Keras releases (``tfrepro``, or the
version matrix's ``reports/versions/<name>.reproduction.json``), writes one page with the claims x
versions and the defects x versions (``reference.reproduction.across_rows``), so that "D8 appears in
TensorFlow 2.21" reads at a glance: ``<out-dir>/reproduction-versions.html`` (self-contained: no
script, no URL; Jinja2 escapes every string from the files), ``reproduction-versions.md`` and
``reproduction-versions.json`` (``reference.reproduction.across_export``), and the folder's
``index.html``, published together (``reference.files``): all new, or all as they were. No
TensorFlow is imported.

Exit codes (``benchmarks.results.cli``): 0 done (the page's path on stdout); 2 bad input, one line
``tfrepro-versions: error: <file>: ...`` on stderr and nothing written: fewer than 2 files, a file
missing, empty, not JSON, of an unknown schema or without version information, two files of the
same TensorFlow and Keras, an output that is one of the inputs, an output that cannot be written.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Sequence
from pathlib import Path

import jinja2

from benchmarks.results.cli import EXIT_OK, Parser, command
from reference.files import published_together
from reference.reproduction.across_export import NOT_RUN, grid_json, grid_markdown
from reference.reproduction.across_rows import Grid, across_versions, changes, load_reproduction
from reference.reproduction.index import INDEX_NAME, render_index
from reference.reproduction.report import VERDICT_CLASSES

__all__ = ["HTML_NAME", "JSON_NAME", "MARKDOWN_NAME", "main", "render_page", "write_across_versions"]

HTML_NAME = "reproduction-versions.html"
MARKDOWN_NAME = "reproduction-versions.md"
JSON_NAME = "reproduction-versions.json"
PROG = "tfrepro-versions"


@functools.cache
def _template() -> jinja2.Template:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("reference.reproduction", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    return environment.get_template("reproduction_versions.html.j2")


def render_page(grid: Grid) -> str:
    """The page's HTML text."""
    environments = grid.environments
    return _template().render(
        grid=grid,
        verdict_classes=VERDICT_CLASSES,
        not_run=NOT_RUN,
        claim_changes=[(row, changes(row, environments)) for row in grid.claims if row.differs],
        defect_changes=[(row, changes(row, environments)) for row in grid.defects if row.differs],
    )


def write_across_versions(files: Sequence[str | Path], out_dir: str | Path = "reports") -> Path:
    """Read ``files``, publish the page, its Markdown and JSON and the index in ``out_dir``; returns the page.

    Raises:
        ValueError: fewer than 2 files.
        ResultInputError: a file cannot be used (``load_reproduction``) or two have the same versions.
        SameFileError: an output is one of the files.
        OSError: an output cannot be written (named in the error).
    """
    if len(files) < 2:
        raise ValueError(
            f"Argument `files` must name at least 2 reproduction.json files. Received: files={list(map(str, files))!r}"
        )
    grid = across_versions([load_reproduction(path) for path in files])
    out = Path(out_dir)
    paths = {name: out / name for name in (HTML_NAME, MARKDOWN_NAME, JSON_NAME)}
    with published_together(inputs=files) as outputs:
        for path in paths.values():
            outputs.file(path)
        outputs.write_text(paths[HTML_NAME], render_page(grid))
        outputs.write_text(paths[MARKDOWN_NAME], grid_markdown(grid))
        outputs.write_text(paths[JSON_NAME], grid_json(grid))
        outputs.write_text(out / INDEX_NAME, render_index(out, publishing=list(paths)))
    return paths[HTML_NAME]


@command(PROG)
def main(argv: Sequence[str] | None = None) -> int:
    """Command line: the page's path on stdout; exit 2 on bad input (module docstring)."""
    parser = Parser(
        prog=PROG,
        description="One page of the reproduction's claims and defects across TensorFlow and Keras versions.",
    )
    parser.add_argument("files", nargs="+", help="reproduction.json files, one per TensorFlow and Keras pair")
    parser.add_argument("--out-dir", default="reports", help="folder of the page (default: reports)")
    args = parser.parse_args(argv)
    path = write_across_versions(args.files, args.out_dir)
    sys.stdout.write(f"{path}\n")
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
