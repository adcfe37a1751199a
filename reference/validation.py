"""Argument checks: every public function and command validates what the user passes through these.

One message shape everywhere, after Keras's own::

    Argument `decay_steps` must be an integer >= 1. Received: decay_steps=0

Rules the checks share:

- an integer is a Python or NumPy integer; ``bool`` is refused (``True`` is not a batch size), and so is a
  float, even an integral one (``100.0`` steps hides a bug upstream);
- a float is any real number (Python, NumPy, integers included) that is finite unless ``finite=False``;
  NaN is refused everywhere, also where infinities are allowed;
- a range is ``low``/``high`` with ``open`` ends named in the message: ``> 0``, ``in [0, 1]``, ``in (0, 1]``;
- ``optional=True`` lets ``None`` through (and says ``or None`` in the message);
- an array is checked element by element (``check_array``), and the message locates the first bad
  element or attribute after the name: ``Received: y_pred[0, 2]=-0.3``, ``Received: y_pred.dtype=int64``;
- a value outside the domain is refused, never clipped into a plausible one.

Each check returns the value as a plain Python ``int``/``float``/``str``/``Path`` (``check_array``: a
NumPy array), so callers store what they checked.
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

__all__ = [
    "check_array",
    "check_bool",
    "check_choice",
    "check_float",
    "check_instance",
    "check_int",
    "check_mapping",
    "check_path",
    "check_str",
    "fail",
    "received",
]


def received(value: Any) -> str:
    """The value as the message shows it: numbers and dtypes plainly (``0.5``, ``nan``, ``-0.3`` for a
    float32, ``int64``), anything else by ``repr``."""
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, numbers.Real | np.dtype):
        return str(value)
    if isinstance(value, os.PathLike):
        return repr(os.fspath(value))
    return repr(value)


def fail(name: str, requirement: str, value: Any, *, at: str = "") -> NoReturn:
    """Raise ``ValueError("Argument `name` must be <requirement>. Received: name<at>=<value>")``.

    ``at`` locates ``value`` inside the argument (``"[3, 7]"``, ``".dtype"``); empty for the argument itself.
    """
    raise ValueError(f"Argument `{name}` must be {requirement}. Received: {name}{at}={received(value)}")


def _or_none(requirement: str, optional: bool) -> str:
    return f"{requirement} or None" if optional else requirement


def _bounds_text(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    """``in [0, 1)``, ``> 0``, ``<= 10``: bounds as written, ``0.0`` shown as ``0``."""
    lo, hi = (None if b is None else f"{b:g}" for b in (low, high))
    if lo is not None and hi is not None:
        return f"in {'(' if low_open else '['}{lo}, {hi}{')' if high_open else ']'}"
    if lo is not None:
        return f"{'>' if low_open else '>='} {lo}"
    if hi is not None:
        return f"{'<' if high_open else '<='} {hi}"
    return ""


def _outside(x: float, low, high, low_open: bool, high_open: bool) -> bool:
    below = low is not None and (x <= low if low_open else x < low)
    above = high is not None and (x >= high if high_open else x > high)
    return below or above


def check_int(
    name: str, value: Any, *, low: int | None = None, high: int | None = None, optional: bool = False
) -> int | None:
    """``value`` as an ``int`` in ``[low, high]`` (either end optional); ``bool`` and floats refused."""
    if optional and value is None:
        return None
    requirement = " ".join(filter(None, ("an integer", _bounds_text(low, high, False, False))))
    requirement = _or_none(requirement, optional)
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
    optional: bool = False,
) -> float | None:
    """``value`` as a ``float`` within the bounds; NaN always refused, infinities unless ``finite=False``.

    ``low_open``/``high_open`` exclude the end itself: ``check_float("lr", lr, low=0, low_open=True)``
    asks for ``lr > 0``.
    """
    if optional and value is None:
        return None
    kind = "a finite number" if finite else "a number (not NaN)"
    requirement = " ".join(filter(None, (kind, _bounds_text(low, high, low_open, high_open))))
    requirement = _or_none(requirement, optional)
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


def check_path(
    name: str, value: Any, *, exists: bool = False, kind: str | None = None, optional: bool = False
) -> Path | None:
    """``value`` as a ``Path``: a non-empty ``str`` or ``os.PathLike``.

    Args:
        exists: the path must exist.
        kind: ``"file"`` or ``"dir"``: if the path exists, it must be of this kind.
        optional: ``None`` passes (and is returned).
    """
    if kind not in (None, "file", "dir"):
        fail("kind", "one of None, 'file', 'dir'", kind)
    if optional and value is None:
        return None
    if not isinstance(value, str | os.PathLike) or not os.fspath(value):
        fail(name, _or_none("a non-empty path (str or os.PathLike)", optional), value)
    path = Path(value)
    if exists and not path.exists():
        fail(name, "an existing path", value)
    if kind == "file" and path.exists() and not path.is_file():
        fail(name, "a file, not a folder", value)
    if kind == "dir" and path.exists() and not path.is_dir():
        fail(name, "a folder, not a file", value)
    return path


def check_str(name: str, value: Any, *, optional: bool = False) -> str | None:
    """``value`` if it is a non-empty ``str`` (``None`` too when ``optional``)."""
    if optional and value is None:
        return None
    if not isinstance(value, str) or not value:
        fail(name, _or_none("a non-empty string", optional), value)
    return value


def check_instance(name: str, value: Any, types: type | tuple[type, ...], description: str) -> Any:
    """``value`` if it is an instance of ``types``; ``description`` is what the message asks for
    (``"a keras.Model"``)."""
    if not isinstance(value, types):
        fail(name, description, value)
    return value


def check_mapping(name: str, value: Any, values: type | tuple[type, ...], description: str) -> Mapping:
    """``value`` if it is a non-empty mapping whose every value is an instance of ``values``;
    ``description`` is what the message asks for (``"a non-empty mapping of name -> ModelSpec"``)."""
    if not isinstance(value, Mapping) or not value:
        fail(name, description, value)
    for item in value.values():
        check_instance(name, item, values, description)
    return value


_ARRAY_KINDS = {
    "number": ("iuf", "numbers"),
    "float": ("f", "floating-point numbers"),
    "integer": ("iu", "integers"),
}


def _first(mask: np.ndarray) -> tuple[int, ...]:
    return tuple(int(i) for i in np.argwhere(mask)[0])


def _fail_at(name: str, requirement: str, array: np.ndarray, mask: np.ndarray) -> NoReturn:
    index = _first(mask)
    at = f"[{', '.join(map(str, index))}]" if index else ""
    fail(name, requirement, array[index], at=at)


def check_array(
    name: str,
    value: Any,
    *,
    dtype: str = "number",
    ndim: int | tuple[int, ...] | None = None,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    finite: bool = True,
    integral: bool = False,
) -> np.ndarray:
    """``value`` as a NumPy array whose every element passes: the array form of ``check_float``.

    Args:
        dtype: ``"number"`` (integers or floats), ``"float"`` or ``"integer"``: the array's kind;
            ``bool``, complex, strings and objects are refused.
        ndim: the number of dimensions, or a tuple of the numbers allowed.
        low, high, low_open, high_open: bounds of every element, as ``check_float``.
        finite: no infinity; NaN is refused either way.
        integral: every element a whole number (a float array holding ``1.0`` passes, ``1.5`` does not).

    The message locates the first element that fails: ``Received: y_pred[0, 2]=-0.3``; a wrong kind
    or dimension shows ``.dtype`` or ``.shape``. Takes anything ``np.asarray`` reads (lists, eager tensors).
    """
    kinds, text = _ARRAY_KINDS[dtype]
    try:
        array = np.asarray(value)
    except (TypeError, ValueError):
        fail(name, f"an array of {text}", value)
    if array.dtype.kind not in kinds:
        fail(name, f"an array of {text}", array.dtype, at=".dtype")
    allowed = (ndim,) if isinstance(ndim, int) else ndim
    if allowed is not None and array.ndim not in allowed:
        dims = " or ".join(map(str, allowed))
        fail(name, f"an array of {dims} dimension{'s' if allowed != (1,) else ''}", array.shape, at=".shape")
    requirement = "whole numbers" if integral else " ".join(filter(None, ("finite" if finite else "", text)))
    bounds = _bounds_text(low, high, low_open, high_open)
    if array.dtype.kind == "f":
        _check_floats(name, array, f"{requirement} {bounds}".strip(), finite=finite, integral=integral)
    if bounds:
        below = np.zeros(array.shape, bool) if low is None else (array <= low if low_open else array < low)
        above = (
            np.zeros(array.shape, bool) if high is None else (array >= high if high_open else array > high)
        )
        if np.any(below | above):
            _fail_at(name, f"{requirement} {bounds}", array, below | above)
    return array


def _check_floats(name: str, array: np.ndarray, requirement: str, *, finite: bool, integral: bool) -> None:
    for bad in (np.isnan(array), np.isinf(array) if finite else None):
        if bad is not None and np.any(bad):
            _fail_at(name, requirement, array, bad)
    if integral:
        fractional = np.isfinite(array) & (array != np.round(array))
        if np.any(fractional):
            _fail_at(name, requirement, array, fractional)
