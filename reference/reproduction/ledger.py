"""The two ledgers of a reproduction run: claims of the document with computed verdicts, and defects.

A ``Claim`` is data: where the document says it, the Chinese quote and its translation, how the
run tests it, the pytest tests that check it, and two functions of the run's numbers: ``holds``
(a predicate written in code) and ``evidence`` (the numbers that decided it, as a sentence).
``needs`` names the defects whose fix the document's own code needs for the claim. The verdict
is computed, never written by hand::

    not holds(numbers)                      -> "not reproduced at this scale"
    holds, and some needed defect present   -> "reproduced only after fixing D5, D6"
    holds, and no needed defect present     -> "reproduced"

A defect is "present" when the document's code, run live on the installed TensorFlow, fails or
computes the wrong value; on a TensorFlow where it works again, the claim's verdict becomes
"reproduced" by itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

__all__ = [
    "AFTER_FIX",
    "NOT_REPRODUCED",
    "REPRODUCED",
    "VERDICTS",
    "Claim",
    "ClaimResult",
    "ClaimText",
    "DefectResult",
    "Numbers",
    "error_line",
    "evaluate",
    "verdict_counts",
    "verdict_for",
]

REPRODUCED = "reproduced"
AFTER_FIX = "reproduced only after fixing"
NOT_REPRODUCED = "not reproduced at this scale"
VERDICTS = (REPRODUCED, AFTER_FIX, NOT_REPRODUCED)

Numbers = Mapping[str, Any]


@dataclass(frozen=True, kw_only=True)
class ClaimText:
    """What the ledger says about a claim, whatever its verdict.

    Where the document makes it (``section``, ``source``), the Chinese ``quote`` and its
    ``translation``, how the run tests it (``method``) and the pytest ids of the tests that check it
    (``tests``, built by ``citations.cite``).
    """

    id: str
    section: str
    source: str
    quote: str
    translation: str
    method: str
    tests: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class Claim(ClaimText):
    """One claim of the document and how this run decides it.

    ``holds`` and ``evidence`` read the numbers of the claim's section; ``needs`` names the defects
    whose fix the document's own code needs for the claim; ``figures`` the figures that show it.
    """

    holds: Callable[[Numbers], bool]
    evidence: Callable[[Numbers], str]
    needs: tuple[str, ...] = ()
    figures: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class DefectResult:
    """One defect of the document's code, observed live on the installed TensorFlow.

    ``document`` is what the document's code did (the error's ``Type: first line`` or the wrong
    value), ``fixed`` what the fixed code did; ``present`` is whether the document's code failed
    or was wrong in this run, ``fix_verified`` whether the fix gave the right result.
    """

    id: str
    title: str
    where: str
    document: str
    fixed: str
    present: bool
    fix_verified: bool
    fix: str
    tests: tuple[str, ...]
    numbers: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True, kw_only=True)
class ClaimResult(ClaimText):
    """A claim with its verdict for this run."""

    verdict: str
    fixed_by: tuple[str, ...]
    evidence: str
    figures: tuple[str, ...]

    @property
    def label(self) -> str:
        """The verdict as the ledger prints it, e.g. ``reproduced only after fixing D5, D6``."""
        return f"{self.verdict} {', '.join(self.fixed_by)}" if self.fixed_by else self.verdict

    def as_dict(self) -> dict:
        return {**asdict(self), "label": self.label}


def verdict_for(holds: bool, needed_present: Sequence[str]) -> tuple[str, tuple[str, ...]]:
    """The verdict and the defects it names, from the predicate and the needed defects present."""
    if not holds:
        return NOT_REPRODUCED, ()
    if needed_present:
        return AFTER_FIX, tuple(needed_present)
    return REPRODUCED, ()


def evaluate(claim: Claim, numbers: Numbers, defects: Mapping[str, DefectResult]) -> ClaimResult:
    """Decide ``claim`` on this run's ``numbers`` (of its section) and its ``defects`` (by id).

    Raises:
        KeyError: a defect the claim needs was not captured in this run.
    """
    holds = bool(claim.holds(numbers))
    present = [name for name in claim.needs if defects[name].present]
    verdict, fixed_by = verdict_for(holds, present)
    return ClaimResult(
        **{f.name: getattr(claim, f.name) for f in fields(ClaimText)},
        verdict=verdict,
        fixed_by=fixed_by,
        evidence=claim.evidence(numbers),
        figures=claim.figures,
    )


def verdict_counts(results: Sequence[ClaimResult]) -> dict[str, int]:
    """How many claims got each verdict (every verdict listed, zero included)."""
    return {verdict: sum(r.verdict == verdict for r in results) for verdict in VERDICTS}


def error_line(error: BaseException) -> str:
    """``Type: first line of the message``, as the ledger quotes a live error."""
    message = str(error).strip().splitlines()
    return f"{type(error).__name__}: {message[0] if message else ''}".rstrip(": ")
