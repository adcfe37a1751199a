"""Declared fields (``benchmarks.results.fields``): types without coercion, paths in every message."""

from __future__ import annotations

import pytest

from benchmarks.results.fields import Field, FieldError, check

POINT = Field("object", fields={"x": Field("integer", required=True), "y": Field("number", nullable=True)})


@pytest.mark.parametrize(
    ("value", "spec"),
    [
        (True, Field("integer")),
        (False, Field("number")),
        (1.0, Field("integer")),
        ("1", Field("integer")),
        (float("inf"), Field("number")),
        (float("nan"), Field("number", nullable=True)),
        (None, Field("string")),
        (0, Field("boolean")),
    ],
    ids=[
        "true-integer",
        "false-number",
        "float-integer",
        "text-integer",
        "inf",
        "nan",
        "null",
        "zero-boolean",
    ],
)
def test_a_value_of_another_json_type_is_never_taken_for_the_declared_one(value, spec):
    with pytest.raises(FieldError, match=r"^top level: expected "):
        check(value, spec)


def test_a_missing_required_key_is_named_with_its_path():
    with pytest.raises(FieldError, match=r"^points\[1\]\.x: missing, expected an integer$"):
        check(
            {"points": [{"x": 1}, {"y": 2.0}]}, Field("object", fields={"points": Field("list", items=POINT)})
        )


def test_keys_an_object_does_not_declare_are_not_read():
    check({"x": 1, "comment": ["anything", None]}, POINT)


def test_every_value_of_an_object_with_free_keys_is_checked_and_an_odd_key_is_quoted():
    peaks = Field("object", values=Field("number", low=0, low_open=True))
    with pytest.raises(FieldError, match=r"^\['GPU:0 \(A100\)'\]: expected a finite number > 0, got -1$"):
        check({"CPU:0": 1e9, "GPU:0 (A100)": -1}, peaks)


def test_a_long_string_is_shortened_in_the_message():
    with pytest.raises(FieldError) as raised:
        check("x" * 1000, Field("integer"))
    assert len(str(raised.value)) < 100
