"""The grid of ``reference.reproduction.across_rows`` as data: Markdown tables and JSON.

``reproduction-versions.json``, schema ``SCHEMA`` (1)::

    {"schema": 1,
     "environments": [{"file", "label", "tensorflow", "keras", "python", "scale", "seeds",
                       "reproduction_schema"}, ...],            # the columns, in order
     "claims":  [{"id", "title", "differs", "cells": [{"verdict", "label", "agree"} or null, ...]}, ...],
     "defects": [{"id", "title", "differs", "cells": [{"present", "fix_verified", "document"} or null, ...]}, ...]}

``cells[i]`` belongs to ``environments[i]``; null where that run did not run the claim or capture the defect.
"""

from __future__ import annotations

import json

from reference.reproduction.across_rows import ClaimCell, DefectCell, Grid, Row

__all__ = ["NOT_RUN", "SCHEMA", "grid_json", "grid_markdown"]

SCHEMA = 1
NOT_RUN = "not run"


def _claim(cell: ClaimCell | None) -> dict | None:
    return None if cell is None else {"verdict": cell.verdict, "label": cell.label, "agree": cell.agree}


def _defect(cell: DefectCell | None) -> dict | None:
    return (
        None
        if cell is None
        else {"present": cell.present, "fix_verified": cell.fix_verified, "document": cell.document}
    )


def grid_json(grid: Grid) -> str:
    """The grid as JSON text (module docstring)."""

    def rows(rows: tuple[Row, ...], cell) -> list[dict]:
        return [
            {"id": r.id, "title": r.title, "differs": r.differs, "cells": [cell(c) for c in r.cells]}
            for r in rows
        ]

    document = {
        "schema": SCHEMA,
        "environments": [
            {
                "file": str(e.path),
                "label": e.label,
                "tensorflow": e.tensorflow,
                "keras": e.keras,
                "python": e.python,
                "scale": e.scale,
                "seeds": list(e.seeds),
                "reproduction_schema": e.schema,
            }
            for e in grid.environments
        ],
        "claims": rows(grid.claims, _claim),
        "defects": rows(grid.defects, _defect),
    }
    return json.dumps(document, indent=1, ensure_ascii=False) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _table(title: str, rows: tuple[Row, ...], labels: list[str], show) -> list[str]:
    lines = [
        f"## {title}",
        "",
        "| id | differs | " + " | ".join(map(_cell, labels)) + " |",
        "|---|---|" + "---|" * len(labels),
    ]
    for row in rows:
        cells = [NOT_RUN if c is None else _cell(show(c)) for c in row.cells]
        lines.append(f"| {row.id} | {'**differs**' if row.differs else ''} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def grid_markdown(grid: Grid) -> str:
    """The grid as Markdown: the environments, then the claims and the defects tables."""
    labels = [e.label for e in grid.environments]
    lines = [
        "# Reproduction across versions",
        "",
        "| environment | Python | scale | seeds | file |",
        "|---|---|---|---|---|",
        *(
            f"| {e.label} | {e.python or '-'} | {e.scale} | {len(e.seeds)} | {_cell(str(e.path))} |"
            for e in grid.environments
        ),
        "",
    ]
    lines += _table("Claims", grid.claims, labels, lambda c: f"{c.label} ({c.agree})")
    lines += _table("Defects", grid.defects, labels, lambda c: c.key)
    return "\n".join(lines)
