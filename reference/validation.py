"""Argument checks: every public function and command validates what the user passes through these.

One message shape everywhere, after Keras's own::

    Argument `decay_steps` must be an integer >= 1. Received: decay_steps=0

Rules the checks share:

- an integer is a Python or NumPy integer; ``bool`` is refused (``True`` is not a batch size), and so is a
  float, even an integral one (``100.0`` steps hides a bug upstream);
- a float is any real number (Python, NumPy, integers included) that is finite unless ``finite=False``;
  NaN is refused everywhere, also where infinities are allowed;
- a range is ``low``/``high`` with ``open`` ends named in the message: ``> 0``, ``in [0, 1]``, ``in (0, 1]``;
- a value outside the domain is refused, never clipped into a plausible one.

Each check returns the value as a plain Python ``int``/``float``/``str``/``Path``, so callers store what
they checked.
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

__all__ = [
    "check_bool",
    "check_choice",
    "check_float",
    "check_int",
    "check_path",
    "fail",
    "received",
]


def received(value: Any) -> str:
    """The value as the message shows it: numbers plainly (``0.5``, ``nan``), anything else by ``repr``."""
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, numbers.Real):
        return str(value.item() if isinstance(value, np.generic) else value)
    if isinstance(value, os.PathLike):
        return repr(os.fspath(value))
    return repr(value)


def fail(name: str, requirement: str, value: Any) -> NoReturn:
    """Raise ``ValueError("Argument `name` must be <requirement>. Received: name=<value>")``."""
    raise ValueError(f"Argument `{name}` must be {requirement}. Received: {name}={received(value)}")


def _bounds_text(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    if low is not None and high is not None:
        return f"in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    if low is not None:
        return f"{'>' if low_open else '>='} {low}"
    if high is not None:
        return f"{'<' if high_open else '<='} {high}"
    return ""


def _outside(x: float, low, high, low_open: bool, high_open: bool) -> bool:
    below = low is not None and (x <= low if low_open else x < low)
    above = high is not None and (x >= high if high_open else x > high)
    return below or above


def check_int(name: str, value: Any, *, low: int | None = None, high: int | None = None) -> int:
    """``value`` as an ``int`` in ``[low, high]`` (either end optional); ``bool`` and floats refused."""
    requirement = " ".join(filter(None, ("an integer", _bounds_text(low, high, False, False))))
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Integral):
        fail(name, requirement, value)
    if _outside(int(value), low, high, False, False):
        fail(name, requirement, value)
    return int(value)


def check_float(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    finite: bool = True,
) -> float:
    """``value`` as a ``float`` within the bounds; NaN always refused, infinities unless ``finite=False``.

    ``low_open``/``high_open`` exclude the end itself: ``check_float("lr", lr, low=0, low_open=True)``
    asks for ``lr > 0``.
    """
    kind = "a finite number" if finite else "a number (not NaN)"
    requirement = " ".join(filter(None, (kind, _bounds_text(low, high, low_open, high_open))))
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        fail(name, requirement, value)
    x = float(value)
    if math.isnan(x) or (finite and math.isinf(x)) or _outside(x, low, high, low_open, high_open):
        fail(name, requirement, value)
    return x


def check_bool(name: str, value: Any) -> bool:
    """``value`` as a ``bool``; only ``True``/``False`` (and NumPy's) pass, not ``0``/``1`` or strings."""
    if not isinstance(value, bool | np.bool_):
        fail(name, "True or False", value)
    return bool(value)


def check_choice(name: str, value: Any, choices: Iterable[Any]) -> Any:
    """``value`` if it is one of ``choices`` (compared with ``==``, types must match too)."""
    options = tuple(choices)
    if not any(type(value) is type(option) and value == option for option in options):
        fail(name, f"one of {', '.join(map(received, options))}", value)
    return value


def check_path(name: str, value: Any, *, exists: bool = False, kind: str | None = None) -> Path:
    """``value`` as a ``Path``: a non-empty ``str`` or ``os.PathLike``.

    Args:
        exists: the path must exist.
        kind: ``"file"`` or ``"dir"``: if the path exists, it must be of this kind.
    """
    if kind not in (None, "file", "dir"):
        fail("kind", "one of None, 'file', 'dir'", kind)
    if not isinstance(value, str | os.PathLike) or not os.fspath(value):
        fail(name, "a non-empty path (str or os.PathLike)", value)
    path = Path(value)
    if exists and not path.exists():
        fail(name, "an existing path", value)
    if kind == "file" and path.exists() and not path.is_file():
        fail(name, "a file, not a folder", value)
    if kind == "dir" and path.exists() and not path.is_dir():
        fail(name, "a folder, not a file", value)
    return path
