"""The TensorFlow and Keras releases this suite is tested on, the installed ones, and the check at start.

The floors are the oldest releases the version matrix (``noxfile.py``) runs the whole suite on, as one pair
(``MATRIX["floor"]``); ``pyproject.toml`` declares the same floors (a test compares them). The newest end
of the range is whatever pip installs today (``MATRIX["newest"]`` pins nothing).

``check_installed`` runs before TensorFlow starts (``reference.runtime.import_tensorflow``) and when pytest
starts (the root ``conftest.py``): an installed release below a floor is one ``UnsupportedVersionError``
naming what was found and what is needed. Everything here reads package metadata: importing this module
never starts TensorFlow.

A test or capture whose expected result depends on the installed release asks ``tensorflow_at_least`` or
``keras_at_least`` with the release that changed it, and says why next to the call.
"""

from __future__ import annotations

import functools
from importlib import metadata

from packaging.version import Version

__all__ = [
    "KERAS_FLOOR",
    "MATRIX",
    "TENSORFLOW_FLOOR",
    "UnsupportedVersionError",
    "check_installed",
    "describe_installed",
    "installed_version",
    "keras_at_least",
    "tensorflow_at_least",
]

TENSORFLOW_FLOOR = "2.16.1"  # the first 2.16 release on PyPI; TensorFlow's first with Keras 3 as tf.keras
KERAS_FLOOR = (
    "3.8.0"  # before 3.8, ModelCheckpoint refuses the document's 'best_model.h5': its demo cannot run
)

# The version matrix: a name -> the pins installed next to the project in a fresh virtual environment.
MATRIX: dict[str, tuple[str, ...]] = {
    "floor": (f"tensorflow=={TENSORFLOW_FLOOR}", f"keras=={KERAS_FLOOR}"),
    "tf2.19": ("tensorflow==2.19.*",),  # with the Keras pip picks for it
    "newest": (),  # whatever pip installs today
}

# The names TensorFlow is published under (the first one installed counts).
TENSORFLOW_DISTRIBUTIONS = (
    "tensorflow",
    "tensorflow-cpu",
    "tensorflow-macos",
    "tensorflow-intel",
    "tf-nightly",
)
_FLOORS = {"tensorflow": TENSORFLOW_FLOOR, "keras": KERAS_FLOOR}


class UnsupportedVersionError(ValueError):
    """An installed TensorFlow or Keras is missing or older than the floor; the message names both."""


@functools.cache
def installed_version(package: str) -> Version | None:
    """The installed release of ``"tensorflow"`` (any of its distributions) or ``"keras"``; None if absent."""
    names = TENSORFLOW_DISTRIBUTIONS if package == "tensorflow" else (package,)
    for name in names:
        try:
            return Version(metadata.version(name))
        except metadata.PackageNotFoundError:
            continue
    return None


def _at_least(package: str, release: str) -> bool:
    found = installed_version(package)
    return found is not None and Version(found.base_version) >= Version(release)


def tensorflow_at_least(release: str) -> bool:
    """Whether the installed TensorFlow is ``release`` or newer (pre-releases count as their release)."""
    return _at_least("tensorflow", release)


def keras_at_least(release: str) -> bool:
    """Whether the installed Keras is ``release`` or newer (pre-releases count as their release)."""
    return _at_least("keras", release)


def describe_installed() -> str:
    """``"tensorflow 2.21.0, keras 3.15.1 (tested floors: tensorflow 2.16.1, keras 3.8.0)"``."""
    found = ", ".join(f"{name} {installed_version(name) or 'not installed'}" for name in _FLOORS)
    floors = ", ".join(f"{name} {floor}" for name, floor in _FLOORS.items())
    return f"{found} (tested floors: {floors})"


def check_installed() -> None:
    """Raise ``UnsupportedVersionError`` if TensorFlow or Keras is missing or older than its floor.

    Raises:
        UnsupportedVersionError: one message naming every installed release and every floor, with the
            command that installs supported ones.
    """
    below = [name for name, floor in _FLOORS.items() if not _at_least(name, floor)]
    if below:
        needed = " ".join(f"'{name}>={floor}'" for name, floor in _FLOORS.items())
        raise UnsupportedVersionError(
            f"unsupported {' and '.join(below)}: installed {describe_installed()}; "
            f"install supported releases with: pip install {needed}"
        )
