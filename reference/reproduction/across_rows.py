"""Reproduction runs of several environments side by side: each ``reproduction.json`` read and checked,
then one row per claim and per defect and one column per environment. No TensorFlow here.

Reading (``load_reproduction``): a file of schema 2 or 3 (``READABLE_SCHEMAS``; 3 is what
``reference.reproduction.report`` writes now, 2 lacks only the verdict "differs on this version" and
its fields), checked field by field (``REPRODUCTION_FILE``, with ``benchmarks.results.fields``): the
TensorFlow and Keras releases (``versions``, release numbers ``packaging`` can read), the claims
and the defects. Anything else raises ``ResultInputError``, one line that starts with the file.

Columns (``across_versions``): one per file, ordered by TensorFlow release, then Keras release
(``packaging.version.Version``: 2.9 before 2.16). Two files with the same TensorFlow and Keras are
refused: a column is a version. Rows: the claims, then the defects, in the order the runs list them
(the document's order). A claim's cell is its verdict and label with how many seeds agreed
(``k of N`` per effect, ``held on k of N`` for a mechanism); a defect's cell whether the document's
code failed (present) and whether the fix was verified. A row ``differs`` when the environments
that ran it do not all show the same verdict label (a claim) or the same present / fix verified (a
defect); how many seeds agreed is shown, not compared. A file whose run skipped a section shows "not
run" there, which is not a difference.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.version import InvalidVersion, Version

from benchmarks.results.fields import Field, FieldError, check
from benchmarks.results.schema import ResultInputError, read_json
from reference.reproduction.ledger import KINDS, VERDICTS
from reference.reproduction.report import VERDICT_CLASSES

__all__ = [
    "READABLE_SCHEMAS",
    "REPRODUCTION_FILE",
    "ClaimCell",
    "DefectCell",
    "Environment",
    "Grid",
    "Row",
    "across_versions",
    "changes",
    "load_reproduction",
]

READABLE_SCHEMAS = (2, 3)
_TEXT = Field("string", required=True)
_NAME = Field("string", required=True, non_empty=True)


def _objects(**fields: Field) -> Field:
    """A required list of objects with ``fields``."""
    return Field("list", required=True, items=Field("object", fields=fields))


REPRODUCTION_FILE = Field(
    "object",
    fields={
        "versions": Field(
            "object",
            required=True,
            fields={"tensorflow": _NAME, "keras": _NAME, "python": Field("string", nullable=True)},
        ),
        "scale": _NAME,
        "seeds": Field("list", required=True, items=Field("integer")),
        "claims": _objects(
            id=_NAME,
            section=_NAME,
            translation=_TEXT,
            kind=Field("string", required=True, choices=KINDS),
            verdict=Field("string", required=True, choices=VERDICTS),
            label=_NAME,
            effects=_objects(
                agreeing=Field("integer", required=True, low=0), n=Field("integer", required=True, low=1)
            ),
            checks=Field("list", required=True, items=Field("boolean", nullable=True)),
        ),
        "defects": _objects(
            id=_NAME,
            title=_TEXT,
            document=_TEXT,
            present=Field("boolean", required=True),
            fix_verified=Field("boolean", required=True),
        ),
    },
)


@dataclass(frozen=True)
class Environment:
    """One reproduction file: where it is, the releases it ran on, its scale, and its claims and
    defects by id (the JSON objects, in the file's order)."""

    path: Path
    schema: int
    tensorflow: str
    keras: str
    python: str | None
    scale: str
    seeds: tuple[int, ...]
    claims: dict[str, dict]
    defects: dict[str, dict]

    @property
    def label(self) -> str:
        return f"TF {self.tensorflow} · Keras {self.keras}"

    @property
    def order(self) -> tuple[Version, Version]:
        return Version(self.tensorflow), Version(self.keras)


@dataclass(frozen=True)
class ClaimCell:
    verdict: str
    label: str
    agree: str
    css: str

    @property
    def key(self) -> str:
        """What is compared across environments: the verdict as labelled (not the seeds agreeing)."""
        return self.label


@dataclass(frozen=True)
class DefectCell:
    present: bool
    fix_verified: bool
    document: str

    @property
    def key(self) -> str:
        """What is compared across environments: ``present, fix verified``, ``absent, fix NOT verified``, ..."""
        fix = "verified" if self.fix_verified else "NOT verified"
        return f"{'present' if self.present else 'absent'}, fix {fix}"


@dataclass(frozen=True)
class Row:
    """One claim or defect across the environments: ``cells[i]`` is None where run ``i`` did not run it."""

    id: str
    title: str
    cells: tuple[ClaimCell | DefectCell | None, ...]

    @property
    def differs(self) -> bool:
        return len({cell.key for cell in self.cells if cell is not None}) > 1


@dataclass(frozen=True)
class Grid:
    environments: tuple[Environment, ...]
    claims: tuple[Row, ...]
    defects: tuple[Row, ...]

    @property
    def scales(self) -> list[str]:
        return sorted({f"{e.scale}, {len(e.seeds)} seeds" for e in self.environments})


def _by_id(path: Path, items: list[dict], what: str) -> dict[str, dict]:
    found: dict[str, dict] = {}
    for item in items:
        if item["id"] in found:
            raise ResultInputError(f"{path}: {what} {item['id']} appears twice")
        found[item["id"]] = item
    return found


def load_reproduction(path: str | Path) -> Environment:
    """Read and check one ``reproduction.json`` (module docstring).

    Raises:
        ResultInputError: missing, a folder, empty, not UTF-8, not JSON, another schema, no
            version information, a field missing or of the wrong type (named by its path), a release
            number that is not one, a claim or defect twice; the message starts with the path.
        OSError: the file cannot be read.
    """
    path = Path(path)
    document = read_json(path, "reproduction file")
    schema = document.get("schema") if isinstance(document, dict) else None
    if schema not in READABLE_SCHEMAS or isinstance(schema, bool):
        found = "no schema field" if schema is None else f"schema {schema!r}"
        readable = " or ".join(map(str, READABLE_SCHEMAS))
        raise ResultInputError(
            f"{path}: {found}; this command reads a tfrepro reproduction.json of schema {readable}"
        )
    if not isinstance(document.get("versions"), dict):
        raise ResultInputError(f"{path}: no version information (no 'versions' object)")
    try:
        check(document, REPRODUCTION_FILE)
    except FieldError as error:
        raise ResultInputError(f"{path}: {error}") from None
    versions = document["versions"]
    for package in ("tensorflow", "keras"):
        try:
            Version(versions[package])
        except InvalidVersion:
            raise ResultInputError(
                f"{path}: versions.{package}: {versions[package]!r} is not a release number"
            ) from None
    return Environment(
        path=path,
        schema=schema,
        tensorflow=versions["tensorflow"],
        keras=versions["keras"],
        python=versions.get("python"),
        scale=document["scale"],
        seeds=tuple(document["seeds"]),
        claims=_by_id(path, document["claims"], "claim"),
        defects=_by_id(path, document["defects"], "defect"),
    )


def _agreement(claim: dict) -> str:
    """How many seeds agreed: ``2 of 2 seeds`` per effect, ``held on 1 of 2 seeds``, or ``one run``."""
    if claim["effects"]:
        return "; ".join(f"{e['agreeing']} of {e['n']} seeds" for e in claim["effects"])
    if claim["checks"]:
        return f"held on {claim['checks'].count(True)} of {len(claim['checks'])} seeds"
    return "one run"


def _claim_cell(claim: dict | None) -> ClaimCell | None:
    if claim is None:
        return None
    return ClaimCell(claim["verdict"], claim["label"], _agreement(claim), VERDICT_CLASSES[claim["verdict"]])


def _defect_cell(defect: dict | None) -> DefectCell | None:
    if defect is None:
        return None
    return DefectCell(defect["present"], defect["fix_verified"], defect["document"])


def _rows(tables: list[dict[str, dict]], title: str, cell) -> tuple[Row, ...]:
    """One row per id of ``tables`` (one table per environment), in order of first appearance."""
    keys = dict.fromkeys(key for table in tables for key in table)
    return tuple(
        Row(
            key,
            next(table[key][title] for table in tables if key in table),
            tuple(cell(table.get(key)) for table in tables),
        )
        for key in keys
    )


def across_versions(environments: Sequence[Environment]) -> Grid:
    """The grid of ``environments`` (module docstring), columns ordered by TensorFlow then Keras release.

    Raises:
        ResultInputError: two environments with the same TensorFlow and Keras (names the second file).
    """
    given = {id(e): index for index, e in enumerate(environments)}
    ordered = sorted(environments, key=lambda e: e.order)
    for first, second in itertools.pairwise(ordered):
        if first.order == second.order:
            earlier, later = sorted((first, second), key=lambda e: given[id(e)])
            raise ResultInputError(
                f"{later.path}: TensorFlow {later.tensorflow} with Keras {later.keras} again (as in "
                f"{earlier.path}): one file per version"
            )
    claims = _rows([e.claims for e in ordered], "translation", _claim_cell)
    defects = _rows([e.defects for e in ordered], "title", _defect_cell)
    return Grid(tuple(ordered), claims, defects)


def changes(row: Row, environments: Sequence[Environment]) -> list[tuple[str, list[str]]]:
    """A row said at a glance: each distinct cell (``Row.differs`` compares the same) with the
    environments that show it, e.g. ``[("present, fix verified", ["TF 2.21.0 · Keras 3.15.1"]),
    ("absent, fix verified", [...])]``."""
    grouped: dict[str, list[str]] = {}
    for cell, environment in zip(row.cells, environments, strict=True):
        if cell is not None:
            grouped.setdefault(cell.key, []).append(environment.label)
    return list(grouped.items())
