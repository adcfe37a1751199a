"""One module per section of the document: ``run(scale, workdir, progress) -> SectionResult`` and ``CLAIMS``."""

from __future__ import annotations

from types import ModuleType

from reference.reproduction.sections import (
    callbacks,
    losses,
    monitoring,
    optimizers,
    regularization,
    schedules,
    training,
)

__all__ = ["SECTIONS"]

SECTIONS: dict[str, ModuleType] = {
    "losses": losses,
    "optimizers": optimizers,
    "schedules": schedules,
    "training": training,
    "regularization": regularization,
    "callbacks": callbacks,
    "monitoring": monitoring,
}
