"""Run the selected sections of the document at a scale, then decide every claim.

``run_reproduction`` is orchestration only: each section trains and measures (``sections``), the
claims of that section are decided on its numbers and the defects it captured (``ledger``).
"""

from __future__ import annotations

import contextlib
import logging
import time
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from reference.environment import collect_environment, describe_environment
from reference.reproduction.ledger import ClaimResult, DefectResult, evaluate, verdict_counts
from reference.reproduction.progress import Progress
from reference.reproduction.results import SectionResult
from reference.reproduction.scale import SECTION_NAMES, Scale
from reference.reproduction.sections import SECTIONS

__all__ = ["RunResult", "environment", "run_reproduction"]


@dataclass
class RunResult:
    """Everything a reproduction run produced, in document order."""

    scale: Scale
    sections: list[SectionResult]
    claims: list[ClaimResult]
    defects: list[DefectResult]
    environment: dict = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def counts(self) -> dict[str, int]:
        return verdict_counts(self.claims)


def environment() -> dict:
    """Versions and machine facts a reader needs to compare runs (``reference.environment``, as text), and the date."""
    return describe_environment(collect_environment()) | {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    }


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(
            f"{record.name} {record.levelname}: {record.getMessage().strip().splitlines()[0]}"
        )


@contextlib.contextmanager
def _collected_logs(logger_name: str = "absl"):
    """Keras's own warnings go through absl logging: collect them for the report instead of the console."""
    logger, handler = logging.getLogger(logger_name), _Collect()
    propagate = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


def _run_section(name: str, scale: Scale, workdir: Path, progress: Progress) -> SectionResult:
    """Run one section, recording its wall and CPU time and the warnings its code raised or logged."""
    start, cpu = time.perf_counter(), time.process_time()
    with warnings.catch_warnings(record=True) as caught, _collected_logs() as logged:
        warnings.simplefilter("always")
        result = SECTIONS[name].run(scale, workdir / name, progress)
    result.warnings += sorted(
        {f"{w.category.__name__}: {str(w.message).splitlines()[0]}" for w in caught} | set(logged)
    )
    result.seconds = time.perf_counter() - start
    result.cpu_seconds = time.process_time() - cpu
    return result


def _decide_claims(section: SectionResult) -> list[ClaimResult]:
    """Every claim of ``section`` decided on its numbers and defects."""
    defects = {d.id: d for d in section.defects}
    return [evaluate(claim, section.numbers, defects) for claim in SECTIONS[section.name].CLAIMS]


def run_reproduction(
    sections: Sequence[str], scale: Scale, workdir: str | Path, *, progress: Progress | None = None
) -> RunResult:
    """Run ``sections`` (in the document's order) at ``scale``; files of the demos go under ``workdir``.

    Raises:
        ValueError: an unknown section name.
    """
    unknown = [s for s in sections if s not in SECTIONS]
    if unknown:
        raise ValueError(f"Argument `sections` has unknown names {unknown}; valid: {list(SECTION_NAMES)}")
    progress = progress or Progress(quiet=True)
    start = time.perf_counter()
    ordered = [name for name in SECTION_NAMES if name in sections]
    results, claims = [], []
    for name in progress.sections(ordered):
        section = _run_section(name, scale, Path(workdir), progress)
        results.append(section)
        claims += _decide_claims(section)
    defects = sorted((d for s in results for d in s.defects), key=lambda d: int(d.id[1:]))
    env = {
        **environment(),
        "scale": scale.name,
        "seeds": ", ".join(map(str, scale.seed_list)),
        "scale_settings": asdict(scale),
    }
    return RunResult(scale, results, claims, defects, env, time.perf_counter() - start)
