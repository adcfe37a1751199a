"""Declared fields of a decoded JSON document, each checked with its type; an error names the field's path.

    benchmarks[3].extra_info.batch_size: expected an integer >= 1 or null, got 'big'

A ``Field`` says what one value must be: its kind (``integer``, ``number``, ``string``, ``boolean``,
``object``, ``list``, ``any``), whether it may be ``null`` or missing, a lower bound, a set of
choices, and for containers what is inside (``fields`` of an object by key, ``values`` of an object
whatever the key, ``items`` of a list). Rules: a boolean is never an integer or a number; a number
is finite (JSON's ``NaN`` and ``Infinity`` extensions, or ``1e999``, are refused); keys an object
does not declare are not read, so they are not checked.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Field", "FieldError", "check"]

_KINDS = {
    "integer": ("an integer", lambda v: isinstance(v, int) and not isinstance(v, bool)),
    "number": (
        "a finite number",
        lambda v: isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v),
    ),
    "string": ("a string", lambda v: isinstance(v, str)),
    "boolean": ("true or false", lambda v: isinstance(v, bool)),
    "object": ("an object", lambda v: isinstance(v, dict)),
    "list": ("a list", lambda v: isinstance(v, list)),
    "any": ("any value", lambda v: True),
}
_SHOWN_CHARACTERS = 40


class FieldError(ValueError):
    """A value that is not what its field declares; the message starts with the field's path."""


@dataclass(frozen=True)
class Field:
    """What one value of the document must be (see the module docstring)."""

    kind: str
    required: bool = False
    nullable: bool = False
    low: float | None = None
    low_open: bool = False
    choices: tuple = ()
    non_empty: bool = False
    fields: Mapping[str, Field] = field(default_factory=dict)
    values: Field | None = None
    items: Field | None = None

    def __post_init__(self):
        if self.kind not in _KINDS:
            raise ValueError(f"Argument `kind` must be one of {list(_KINDS)}. Received: kind={self.kind!r}")

    def describe(self) -> str:
        """``an integer >= 1 or null``, ``one of 'a', 'b'``, ``a non-empty list``, ..."""
        if self.choices:
            text = "one of " + ", ".join(map(_shown, self.choices))
        else:
            text = _KINDS[self.kind][0]
            if self.non_empty:
                text = text.replace("a ", "a non-empty ", 1)
        if self.low is not None:
            text += f" {'>' if self.low_open else '>='} {self.low:g}"
        return text + (" or null" if self.nullable else "")

    def accepts(self, value: Any) -> bool:
        """Whether ``value`` itself (not what it holds) is of this field."""
        if value is None:
            return self.nullable
        if not _KINDS[self.kind][1](value) or (self.choices and value not in self.choices):
            return False
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        return not (self.non_empty and not value)


def _shown(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= _SHOWN_CHARACTERS else text[: _SHOWN_CHARACTERS - 3] + "..."


def _join(path: str, key: str) -> str:
    if key.isidentifier():
        return f"{path}.{key}" if path else key
    return f"{path}[{key!r}]"


def check(value: Any, spec: Field, path: str = "") -> None:
    """Check ``value`` and everything it holds against ``spec``.

    Raises:
        FieldError: ``<path>: expected <what>, got <value>`` for the first value that is not what its
            field declares, ``<path>: missing, expected <what>`` for a required key that is absent.
    """
    if not spec.accepts(value):
        raise FieldError(f"{path or 'top level'}: expected {spec.describe()}, got {_shown(value)}")
    if isinstance(value, dict):
        for key, inner in spec.fields.items():
            if key in value:
                check(value[key], inner, _join(path, key))
            elif inner.required:
                raise FieldError(f"{_join(path, key)}: missing, expected {inner.describe()}")
        if spec.values is not None:
            for key, inner_value in value.items():
                check(inner_value, spec.values, _join(path, str(key)))
    if isinstance(value, list) and spec.items is not None:
        for index, item in enumerate(value):
            check(item, spec.items, f"{path}[{index}]")
