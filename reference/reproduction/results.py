"""What one section of the reproduction produces: numbers, tables, figures, defects, notes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from matplotlib.figure import Figure

from reference.reproduction.ledger import DefectResult

__all__ = ["SectionResult", "Table", "fmt", "spread"]


@dataclass(frozen=True)
class Table:
    """A table of the report: a title, column names and rows of already formatted cells."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    note: str = ""

    def as_dict(self) -> dict:
        return {"title": self.title, "columns": list(self.columns), "rows": [list(r) for r in self.rows]}


@dataclass
class SectionResult:
    """The outcome of one section: ``numbers`` feed the claims' predicates and the JSON.

    ``figures`` maps a file stem (``optimizers`` -> ``optimizers.png``) to a matplotlib
    ``Figure``; the report saves and closes them. ``notes`` are facts the reader needs (which
    data stood in for MNIST...), ``warnings`` the warnings the section's code raised; ``seconds``
    and ``cpu_seconds`` its wall and CPU time (CPU time of every thread of the process: on a shared
    machine it moves less than the wall time).
    """

    name: str
    numbers: dict[str, Any] = field(default_factory=dict)
    tables: list[Table] = field(default_factory=list)
    figures: dict[str, Figure] = field(default_factory=dict)
    defects: list[DefectResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    cpu_seconds: float = 0.0


def fmt(value: Any, spec: str = ".4g") -> str:
    """A number formatted for a table cell (``-`` for None)."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    return format(float(value), spec)


def spread(values: Sequence[float], spec: str = ".4g") -> str:
    """``mean [min, max]`` of ``values`` for a table cell (one value: the value alone)."""
    values = [float(v) for v in values]
    mean = sum(values) / len(values)
    if len(values) == 1:
        return format(mean, spec)
    return f"{mean:{spec}} [{min(values):{spec}}, {max(values):{spec}}]"
