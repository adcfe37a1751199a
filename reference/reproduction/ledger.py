"""The two ledgers of a reproduction run: claims of the document with computed verdicts, and defects.

A claim is data: where the document says it, the Chinese quote and its translation, how the run
tests it, the pytest tests that check it, and code that reads the run's numbers. It comes in three
kinds, by what its outcome depends on:

- ``Claim``, **deterministic: one run**: formulas, closed forms, schedule values, defects; its
  outcome does not depend on a seed. ``holds(numbers)`` is a predicate.
- ``EffectClaim``, **over seeds**: its outcome depends on random initialization, batch order or
  dropout. Each ``Effect`` is one number per seed (a paired difference of two arms trained from
  the same seed, or a single quantity against a threshold); its mean gets a 95 % Student ``t``
  interval over the seeds (``reference.reproduction.intervals``), which lies on the claimed side
  of the reference (supported), on the other side (opposed) or contains it (undecided). Every
  effect supported: supported; one opposed: opposed; otherwise undecided.
- ``CheckClaim``, **checked on every seed**: a mechanism that must hold on every run (a callback
  stops where it should, a file has one row per epoch). ``check(seed numbers)`` is True, False,
  or None when the run did not exercise it (early stopping never triggered). A failure on any
  seed opposes the claim; otherwise one seed where it held supports it; otherwise undecided.

The per-seed numbers of a section are ``numbers["per_seed"][i]`` for seed ``numbers["seeds"][i]``.
The verdict, computed and never written by hand::

    not supported, below a version limit of the claim -> "differs on this version"
    opposed                                           -> "contradicted"
    undecided                                         -> "inconclusive at this scale"
    supported, and some needed defect present         -> "reproduced only after fixing D5, D6"
    supported, and no needed defect present           -> "reproduced"

A defect is "present" when the document's code, run live on the installed TensorFlow, fails or
computes the wrong value; on a TensorFlow where it works again, the claim's verdict becomes
"reproduced" by itself.

A claim can declare ``version_limits`` (``reference.reproduction.version_limits``): the release of
Keras or TensorFlow before which it cannot hold, and why. On an installed release older than that, an
outcome that is not supported (opposed or undecided) becomes "differs on this version", labelled with
the package, the release found and the reason; a supported outcome stays reproduced.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from reference.reproduction.intervals import ABOVE, BELOW, Interval, side, t_interval
from reference.reproduction.version_limits import VersionDifference, VersionLimit, differences
from reference.validation import check_choice

__all__ = [
    "AFTER_FIX",
    "CLAIMED_SIDES",
    "CONTRADICTED",
    "DETERMINISTIC",
    "DIFFERS",
    "INCONCLUSIVE",
    "KINDS",
    "ON_EVERY_SEED",
    "OPPOSED",
    "OUTCOMES",
    "OVER_SEEDS",
    "PER_SEED",
    "REPRODUCED",
    "SEEDS",
    "SUPPORTED",
    "UNDECIDED",
    "VERDICTS",
    "CheckClaim",
    "Claim",
    "ClaimResult",
    "ClaimText",
    "DefectResult",
    "Effect",
    "EffectClaim",
    "EffectResult",
    "Numbers",
    "check_outcome",
    "error_line",
    "evaluate",
    "verdict_counts",
    "verdict_for",
]

REPRODUCED = "reproduced"
AFTER_FIX = "reproduced only after fixing"
CONTRADICTED = "contradicted"
INCONCLUSIVE = "inconclusive at this scale"
DIFFERS = "differs on this version"
VERDICTS = (REPRODUCED, AFTER_FIX, CONTRADICTED, INCONCLUSIVE, DIFFERS)

DETERMINISTIC = "deterministic: one run"
OVER_SEEDS = "over seeds: 95% t interval"
ON_EVERY_SEED = "checked on every seed"
KINDS = (DETERMINISTIC, OVER_SEEDS, ON_EVERY_SEED)

SUPPORTED = "supported"
OPPOSED = "opposed"
UNDECIDED = "undecided"
OUTCOMES = (SUPPORTED, OPPOSED, UNDECIDED)
CLAIMED_SIDES = {">": ABOVE, "<": BELOW}

# The keys of a section's per-seed numbers.
SEEDS = "seeds"
PER_SEED = "per_seed"

Numbers = Mapping[str, Any]


@dataclass(frozen=True, kw_only=True)
class ClaimText:
    """What the ledger says about a claim, whatever its verdict.

    Where the document makes it (``section``, ``source``), the Chinese ``quote`` and its
    ``translation``, how the run tests it (``method``), the pytest ids of the tests that check it
    (``tests``, built by ``citations.cite``), the defects whose fix the document's own code needs
    for it (``needs``), the figures that show it (``figures``) and the releases before which it
    cannot hold (``version_limits``, module docstring).
    """

    id: str
    section: str
    source: str
    quote: str
    translation: str
    method: str
    tests: tuple[str, ...]
    needs: tuple[str, ...] = ()
    figures: tuple[str, ...] = ()
    version_limits: tuple[VersionLimit, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Claim(ClaimText):
    """A deterministic claim: ``holds`` and ``evidence`` read the numbers of the claim's section."""

    holds: Callable[[Numbers], bool]
    evidence: Callable[[Numbers], str]


@dataclass(frozen=True, kw_only=True)
class Effect:
    """One number per seed and where the claim puts it: ``measure(seed numbers) claimed reference``.

    ``label`` names the quantity (``difference in final validation accuracy, L1 - none``), ``unit``
    its unit (``percentage points``, ``nats``); ``claimed`` is ``>`` or ``<``; ``reference`` is 0
    for a paired difference and the threshold for a single quantity.
    """

    label: str
    unit: str
    measure: Callable[[Numbers], float]
    claimed: str = ">"
    reference: float = 0.0

    def __post_init__(self):
        check_choice("claimed", self.claimed, CLAIMED_SIDES)


@dataclass(frozen=True, kw_only=True)
class EffectClaim(ClaimText):
    """A claim decided over seeds by the intervals of its ``effects`` (module docstring)."""

    effects: tuple[Effect, ...]


@dataclass(frozen=True, kw_only=True)
class CheckClaim(ClaimText):
    """A mechanism checked on every seed: ``check`` gives True, False or None (not exercised), and
    ``describe`` what one seed's run showed."""

    check: Callable[[Numbers], bool | None]
    describe: Callable[[Numbers], str]


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


def _signed(value: float) -> str:
    return f"{value:+.4g}" if math.isfinite(value) else str(value)


@dataclass(frozen=True)
class EffectResult:
    """An effect over seeds: the value of every seed, the interval of their mean and its outcome.

    ``interval`` is None when some value is not finite (the outcome is then undecided).
    """

    label: str
    unit: str
    claimed: str
    reference: float
    seeds: tuple[int, ...]
    values: tuple[float, ...]
    interval: Interval | None
    outcome: str

    @property
    def agreeing(self) -> int:
        """How many seeds put the value on the claimed side of the reference (k of N)."""
        if self.claimed == ">":
            return sum(v > self.reference for v in self.values)
        return sum(v < self.reference for v in self.values)

    def summary(self) -> str:
        """One line: the mean with its unit, the interval, the claim, k of N, every seed's value."""
        per_seed = ", ".join(f"{s}: {_signed(v)}" for s, v in zip(self.seeds, self.values, strict=True))
        if self.interval is None:
            where = "no interval (a seed's value is not finite)"
        elif self.interval.n == 1:
            where = "no interval from one seed"
        else:
            low, high = self.interval.low, self.interval.high
            where = f"{self.interval.confidence:.0%} t interval [{_signed(low)}, {_signed(high)}]"
        mean = sum(self.values) / len(self.values)
        return (
            f"{self.label}: {_signed(mean)} {self.unit}, {where}, claimed {self.claimed} {self.reference:g}; "
            f"{self.agreeing} of {len(self.values)} seeds {self.claimed} {self.reference:g} (seed: value {per_seed})"
        )

    def as_dict(self) -> dict:
        return {
            "label": self.label,
            "unit": self.unit,
            "claimed": self.claimed,
            "reference": self.reference,
            "seeds": list(self.seeds),
            "values": list(self.values),
            "interval": None if self.interval is None else self.interval.as_dict(),
            "agreeing": self.agreeing,
            "n": len(self.values),
            "outcome": self.outcome,
        }


@dataclass(frozen=True, kw_only=True)
class ClaimResult(ClaimText):
    """A claim with its verdict for this run.

    ``kind`` is one of ``KINDS``; ``outcome`` one of ``OUTCOMES``, what the numbers said before any
    version limit; ``seeds`` the seeds it was decided on (the first seed alone for a deterministic
    claim that reads a seeded run, none for the others); ``effects`` its effects over seeds;
    ``checks`` the outcome of a checked claim on each seed (True, False, None); ``differs_on`` the
    version limits that applied, with the release found (they made the verdict ``DIFFERS`` unless
    the outcome was supported).
    """

    verdict: str
    fixed_by: tuple[str, ...]
    evidence: str
    kind: str
    outcome: str
    seeds: tuple[int, ...] = ()
    effects: tuple[EffectResult, ...] = ()
    checks: tuple[bool | None, ...] = ()
    differs_on: tuple[VersionDifference, ...] = ()

    @property
    def label(self) -> str:
        """The verdict as the ledger prints it, e.g. ``reproduced only after fixing D5, D6`` or
        ``differs on Keras 3.8.0: the 3 layers' histogram tags collide before 3.14``."""
        if self.verdict == DIFFERS:
            return "differs on " + "; ".join(map(str, self.differs_on))
        return f"{self.verdict} {', '.join(self.fixed_by)}" if self.fixed_by else self.verdict

    def as_dict(self) -> dict:
        text = {f.name: getattr(self, f.name) for f in fields(ClaimText)}
        return {
            **text,
            "version_limits": [asdict(limit) for limit in self.version_limits],
            "verdict": self.verdict,
            "label": self.label,
            "outcome": self.outcome,
            "differs_on": [asdict(d) for d in self.differs_on],
            "fixed_by": list(self.fixed_by),
            "kind": self.kind,
            "seeds": list(self.seeds),
            "evidence": self.evidence,
            "effects": [e.as_dict() for e in self.effects],
            "checks": list(self.checks),
        }


def verdict_for(
    outcome: str, needed_present: Sequence[str], *, version_limited: bool = False
) -> tuple[str, tuple[str, ...]]:
    """The verdict and the defects it names, from the outcome of the numbers, the needed defects
    present and whether a version limit of the claim applies to the installed releases (module docstring)."""
    check_choice("outcome", outcome, OUTCOMES)
    if version_limited and outcome != SUPPORTED:
        return DIFFERS, ()
    if outcome == OPPOSED:
        return CONTRADICTED, ()
    if outcome == UNDECIDED:
        return INCONCLUSIVE, ()
    if needed_present:
        return AFTER_FIX, tuple(needed_present)
    return REPRODUCED, ()


def check_outcome(checks: Sequence[bool | None]) -> str:
    """A checked claim's outcome: opposed if it failed on a seed, else supported if it held on one,
    else undecided (never exercised)."""
    if any(c is False for c in checks):
        return OPPOSED
    return SUPPORTED if any(c is True for c in checks) else UNDECIDED


def _effect_result(effect: Effect, seeds: Sequence[int], per_seed: Sequence[Numbers]) -> EffectResult:
    values = tuple(float(effect.measure(numbers)) for numbers in per_seed)
    interval = t_interval(values) if all(math.isfinite(v) for v in values) else None
    where = None if interval is None else side(interval, effect.reference)
    if where == CLAIMED_SIDES[effect.claimed]:
        outcome = SUPPORTED
    elif where in (ABOVE, BELOW):
        outcome = OPPOSED
    else:
        outcome = UNDECIDED
    return EffectResult(
        effect.label, effect.unit, effect.claimed, effect.reference, tuple(seeds), values, interval, outcome
    )


def _combined(outcomes: Sequence[str]) -> str:
    if all(o == SUPPORTED for o in outcomes):
        return SUPPORTED
    return OPPOSED if OPPOSED in outcomes else UNDECIDED


def _decide(claim: ClaimText, numbers: Numbers) -> dict:
    """The outcome of ``claim`` on ``numbers`` and what the ledger shows about it."""
    if isinstance(claim, Claim):
        holds = bool(claim.holds(numbers))
        return {
            "outcome": SUPPORTED if holds else OPPOSED,
            "evidence": claim.evidence(numbers),
            "kind": DETERMINISTIC,
        }
    seeds, per_seed = tuple(numbers[SEEDS]), numbers[PER_SEED]
    if isinstance(claim, EffectClaim):
        effects = tuple(_effect_result(e, seeds, per_seed) for e in claim.effects)
        return {
            "outcome": _combined([e.outcome for e in effects]),
            "evidence": "; ".join(e.summary() for e in effects),
            "kind": OVER_SEEDS,
            "seeds": seeds,
            "effects": effects,
        }
    checks = tuple(None if (c := claim.check(n)) is None else bool(c) for n in per_seed)
    held, failed = checks.count(True), checks.count(False)
    counts = (
        f"held on {held} of {len(checks)} seeds, failed on {failed}, not exercised on {checks.count(None)}"
    )
    runs = "; ".join(f"seed {s}: {claim.describe(n)}" for s, n in zip(seeds, per_seed, strict=True))
    return {
        "outcome": check_outcome(checks),
        "evidence": f"{counts} ({runs})",
        "kind": ON_EVERY_SEED,
        "seeds": seeds,
        "checks": checks,
    }


def evaluate(
    claim: ClaimText,
    numbers: Numbers,
    defects: Mapping[str, DefectResult],
    *,
    installed: Mapping[str, str | None] | None = None,
) -> ClaimResult:
    """Decide ``claim`` on this run's ``numbers`` (of its section), its ``defects`` (by id) and the
    ``installed`` releases (package -> release; the installed ones when None, ``version_limits``).

    Raises:
        KeyError: a defect the claim needs was not captured in this run, or an effect or checked
            claim on numbers without per-seed results.
    """
    decided = _decide(claim, numbers)
    present = [name for name in claim.needs if defects[name].present]
    differs_on = differences(claim.version_limits, installed)
    verdict, fixed_by = verdict_for(decided["outcome"], present, version_limited=bool(differs_on))
    return ClaimResult(
        **{f.name: getattr(claim, f.name) for f in fields(ClaimText)},
        verdict=verdict,
        fixed_by=fixed_by,
        differs_on=differs_on,
        **decided,
    )


def verdict_counts(results: Sequence[ClaimResult]) -> dict[str, int]:
    """How many claims got each verdict (every verdict listed, zero included)."""
    return {verdict: sum(r.verdict == verdict for r in results) for verdict in VERDICTS}


def error_line(error: BaseException) -> str:
    """``Type: first line of the message``, as the ledger quotes a live error."""
    message = str(error).strip().splitlines()
    return f"{type(error).__name__}: {message[0] if message else ''}".rstrip(": ")
