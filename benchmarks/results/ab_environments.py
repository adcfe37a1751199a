"""What ``tfbench-ab`` compares: environments (interpreter, source tree, variables, injected slowdown) and cases.

Command-line syntax, each option repeatable; a label is letters, digits and ``_ . + -``:

| option | meaning |
|---|---|
| ``--env LABEL=PYTHON`` | an environment: a Python interpreter (a path, or a name on ``PATH``); the first is the baseline A |
| ``--src LABEL=DIR`` | the project tree whose ``benchmarks/`` and ``reference/`` that environment's worker imports (default: this one) |
| ``--set LABEL:KEY=VALUE`` | an environment variable for that environment's worker only (``TF_ENABLE_ONEDNN_OPTS=0``, ``XLA_FLAGS=...``) |
| ``--inject LABEL:FRACTION`` | the test facility: every timed step of that environment takes ``FRACTION`` longer (``0.10``) |

``--cases`` takes case labels of the benchmark matrix (``basic-b32-function``), comma-separated or
repeated, with shell-style wildcards (``*-b32-fit``, ``basic-*``); each pattern must match a case.
"""

from __future__ import annotations

import fnmatch
import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from reference.validation import fail

__all__ = [
    "PROJECT_ROOT",
    "RESERVED_VARIABLES",
    "Environment",
    "parse_environments",
    "select_cases",
]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
RESERVED_VARIABLES = ("PYTHONPATH", "PYTHONHOME")
MAX_INJECT = 1.0
_LABEL = r"[A-Za-z0-9][A-Za-z0-9_.+-]*"
_ENV = re.compile(rf"(?P<label>{_LABEL})=(?P<value>.+)")
_SET = re.compile(rf"(?P<label>{_LABEL}):(?P<key>[A-Za-z_][A-Za-z0-9_]*)=(?P<value>.*)", re.DOTALL)
_INJECT = re.compile(rf"(?P<label>{_LABEL}):(?P<value>.+)")
_WORKER_FILES = ("benchmarks/ab_worker.py", "reference/__init__.py")


@dataclass(frozen=True)
class Environment:
    """One compared environment; the worker runs ``python -m benchmarks.ab_worker`` from ``source``."""

    label: str
    python: Path
    source: Path = PROJECT_ROOT
    variables: dict[str, str] = field(default_factory=dict)
    inject: float = 0.0

    def as_dict(self) -> dict:
        return {
            "label": self.label,
            "python": str(self.python),
            "source": str(self.source),
            "variables": dict(self.variables),
            "inject": self.inject,
        }


def _interpreter(text: str, spec: str) -> Path:
    found = shutil.which(text) if os.sep not in text else text
    path = Path(found) if found else Path(text)
    if not path.is_file() or not os.access(path, os.X_OK):
        fail(
            "--env", "LABEL=PYTHON naming an executable Python interpreter (a path, or a name on PATH)", spec
        )
    # Absolute, for workers that start in another folder; not resolved: a venv's python is a symlink to
    # the base interpreter, and only the link's own path makes Python find the venv's site-packages.
    return Path(os.path.abspath(path))


def _source(text: str, spec: str) -> Path:
    path = Path(text).expanduser()
    if not all((path / name).is_file() for name in _WORKER_FILES):
        fail(
            "--src", f"LABEL=DIR naming a checkout of this project (with {' and '.join(_WORKER_FILES)})", spec
        )
    return path.resolve()


def _by_label(specs: Sequence[str], pattern: re.Pattern, option: str, requirement: str, labels) -> list:
    matches = []
    for spec in specs:
        match = pattern.fullmatch(spec)
        if match is None:
            fail(option, requirement, spec)
        if labels is not None and match["label"] not in labels:
            fail(option, f"{requirement} with the label of an --env ({', '.join(labels)})", spec)
        matches.append(match)
    return matches


def _inject_fraction(text: str, spec: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value <= MAX_INJECT:
        fail("--inject", f"LABEL:FRACTION with a fraction in (0, {MAX_INJECT:g}]", spec)
    return value


def parse_environments(
    envs: Sequence[str],
    *,
    sources: Sequence[str] = (),
    sets: Sequence[str] = (),
    injects: Sequence[str] = (),
) -> list[Environment]:
    """The environments of ``--env``, ``--src``, ``--set`` and ``--inject`` (module docstring).

    Raises:
        ValueError: fewer than two environments, a repeated label, a malformed option, an interpreter
            that is not an executable file, a source folder that is not a checkout of this project, a
            label no ``--env`` names, an override of a variable the command sets itself
            (``RESERVED_VARIABLES``), or an injected fraction outside (0, 1].
    """
    env_matches = _by_label(envs, _ENV, "--env", "LABEL=PYTHON", None)
    labels = [m["label"] for m in env_matches]
    if len(labels) < 2:
        fail(
            "--env", "given at least twice (the baseline A first, then each compared environment)", list(envs)
        )
    if len(set(labels)) != len(labels):
        fail("--env", "given once per label", list(envs))
    pythons = {m["label"]: _interpreter(m["value"], m.string) for m in env_matches}
    roots = {
        m["label"]: _source(m["value"], m.string)
        for m in _by_label(sources, _ENV, "--src", "LABEL=DIR", labels)
    }
    variables: dict[str, dict[str, str]] = {label: {} for label in labels}
    for match in _by_label(sets, _SET, "--set", "LABEL:KEY=VALUE", labels):
        if match["key"] in RESERVED_VARIABLES:
            fail(
                "--set",
                f"a variable other than {', '.join(RESERVED_VARIABLES)} (the command sets them)",
                match.string,
            )
        variables[match["label"]][match["key"]] = match["value"]
    fractions = {
        m["label"]: _inject_fraction(m["value"], m.string)
        for m in _by_label(injects, _INJECT, "--inject", "LABEL:FRACTION", labels)
    }
    return [
        Environment(
            label,
            pythons[label],
            roots.get(label, PROJECT_ROOT),
            variables[label],
            fractions.get(label, 0.0),
        )
        for label in labels
    ]


def select_cases(patterns: Sequence[str], matrix: Sequence[str]) -> list[str]:
    """The labels of ``matrix`` (in its order) that match any of ``patterns`` (comma-separated allowed).

    No pattern selects the whole matrix.

    Raises:
        ValueError: a pattern that matches no case of ``matrix``.
    """
    wanted = [p.strip() for text in patterns for p in text.split(",") if p.strip()]
    if not wanted:
        return list(matrix)
    for pattern in wanted:
        if not any(fnmatch.fnmatchcase(label, pattern) for label in matrix):
            shown = ", ".join(matrix[:6]) + (", ..." if len(matrix) > 6 else "")
            fail("--cases", f"case labels or patterns of the benchmark matrix ({shown})", pattern)
    return [label for label in matrix if any(fnmatch.fnmatchcase(label, p) for p in wanted)]
