"""``--bench-profile``: a TensorBoard profiler trace of chosen cases, taken outside the timed rounds.

``pytest --benchmark-only --bench-profile "basic/b32/fit/*,basic/b32/function/*"`` traces every case
whose id (``workload/bBATCH/mode/DEVICE``, see ``benchmarks.results.cases.case_id``) matches one of
the comma-separated shell patterns. After a case's first pass is timed, ``PROFILE_CALLS`` more calls
of its timed step run under ``tf.profiler.experimental`` and the trace goes to
``<report dir>/profiles/<case folder>/``; the timing itself never runs under the profiler. The
folder is published with the report (``reference.files``), which links each trace. Open them with::

    pip install tensorboard-plugin-profile
    tensorboard --logdir reports/profiles      # then the PROFILE tab
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

__all__ = ["PROFILE_CALLS", "PROFILE_FOLDER", "Profiler", "case_folder", "parse_patterns", "unmatched"]

PROFILE_CALLS = 10
PROFILE_FOLDER = "profiles"


def parse_patterns(text: str) -> tuple[str, ...]:
    """The comma-separated patterns of ``--bench-profile``; ``ValueError`` if there is none."""
    patterns = tuple(part.strip() for part in text.split(",") if part.strip())
    if not patterns:
        raise ValueError(f"--bench-profile: expected case patterns such as 'basic/b32/fit/*', got {text!r}")
    return patterns


def case_folder(case: str) -> str:
    """The trace folder of a case: ``basic/b32/fit/CPU:0`` -> ``basic_b32_fit_CPU_0``."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", case)


def unmatched(patterns: Iterable[str], cases: Iterable[str]) -> list[str]:
    """The patterns that match none of ``cases``."""
    cases = list(cases)
    return [pattern for pattern in patterns if not any(fnmatchcase(case, pattern) for case in cases)]


@dataclass(frozen=True)
class Profiler:
    """Traces the cases matching ``patterns`` into ``folder`` (the staged ``profiles`` folder)."""

    patterns: tuple[str, ...]
    folder: Path

    def wants(self, case: str) -> bool:
        return any(fnmatchcase(case, pattern) for pattern in self.patterns)

    def trace(self, case: str, target: Callable[[], object]) -> str:
        """Run ``target`` ``PROFILE_CALLS`` times under the profiler; the trace's path relative to the
        report folder."""
        import tensorflow as tf

        name = case_folder(case)
        logdir = self.folder / name
        logdir.mkdir(parents=True, exist_ok=True)
        tf.profiler.experimental.start(str(logdir))
        try:
            for _ in range(PROFILE_CALLS):
                target()
        finally:
            tf.profiler.experimental.stop()
        return f"{PROFILE_FOLDER}/{name}"
