"""The releases of Keras or TensorFlow before which a claim cannot hold: ``VersionLimit``, data on a claim.

A ``VersionLimit`` says that before release ``since`` of ``package`` the claim cannot hold, and why
(TensorBoard's histogram tags collide before Keras 3.14). It is data about a known change of the
library, found by a run on that release and read in its source, never a way to excuse a result: the
ledger (``reference.reproduction.ledger.verdict_for``) only renames a verdict the numbers already
gave, and only on a release older than ``since``:

- an outcome that is **not supported** (opposed or undecided) becomes "differs on this version",
  labelled with the package, the installed release and the reason (``differs on Keras 3.8.0: the 3
  layers' histogram tags collide before 3.14``). Undecided counts too: more seeds or epochs cannot
  reproduce a claim that this release cannot satisfy, so "inconclusive at this scale" would send the
  reader the wrong way;
- a **supported** outcome stays "reproduced" (or "reproduced only after fixing"): a claim that holds
  anyway is reported as holding;
- on ``since`` or newer, or when the package's release is unknown, the limit changes nothing.

The installed releases are read from the package metadata (``reference.versions``, as
``keras_at_least`` reads them; a pre-release counts as its release). A claim's result keeps the limits
that applied with the release found (``differences``), and ``reproduction.json`` its versions. No
TensorFlow here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from packaging.version import InvalidVersion, Version

from reference.validation import check_choice, check_str, fail
from reference.versions import installed_version

__all__ = ["PACKAGES", "VersionDifference", "VersionLimit", "differences", "installed_releases"]

PACKAGES = {"keras": "Keras", "tensorflow": "TensorFlow"}  # the packages a limit can name, as printed


@dataclass(frozen=True, kw_only=True)
class VersionLimit:
    """Before release ``since`` of ``package`` (``"keras"`` or ``"tensorflow"``) the claim cannot hold,
    because of ``reason``, which reads after "differs on Keras 3.8.0:" and before "before 3.14"."""

    package: str
    since: str
    reason: str

    def __post_init__(self):
        check_choice("package", self.package, tuple(PACKAGES))
        check_str("reason", self.reason)
        try:
            Version(self.since)
        except (InvalidVersion, TypeError):
            fail("since", "a release number such as '3.14'", self.since)

    def applies(self, installed: Mapping[str, str | None]) -> bool:
        """Whether the installed release of the package (a pre-release as its release) is older than ``since``."""
        found = installed.get(self.package)
        return found is not None and Version(Version(found).base_version) < Version(self.since)


@dataclass(frozen=True)
class VersionDifference:
    """A limit that applied in a run: ``package`` was at ``installed``, older than ``since``."""

    package: str
    installed: str
    since: str
    reason: str

    def __str__(self) -> str:
        return f"{PACKAGES[self.package]} {self.installed}: {self.reason} before {self.since}"


def installed_releases() -> dict[str, str | None]:
    """The installed release of each package of ``PACKAGES`` (None if absent), from package metadata."""
    return {package: (None if (v := installed_version(package)) is None else str(v)) for package in PACKAGES}


def differences(
    limits: Sequence[VersionLimit], installed: Mapping[str, str | None] | None = None
) -> tuple[VersionDifference, ...]:
    """The ``limits`` that apply to the ``installed`` releases (``installed_releases()`` when None)."""
    installed = installed_releases() if installed is None else installed
    return tuple(
        VersionDifference(limit.package, str(installed[limit.package]), limit.since, limit.reason)
        for limit in limits
        if limit.applies(installed)
    )
