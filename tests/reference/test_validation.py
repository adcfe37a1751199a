"""The argument checks every public function uses: what passes, what is refused, and the message shape."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reference.validation import (
    check_array,
    check_bool,
    check_choice,
    check_float,
    check_instance,
    check_int,
    check_mapping,
    check_path,
    check_str,
)

MESSAGE = re.compile(
    r"^Argument `(?P<name>\w+)` must be (?P<requirement>.+)\. "
    r"Received: (?P=name)(?P<at>\[[\d, ]*\]|\.\w+)?=(?P<value>.+)$"
)


def _message(call) -> re.Match:
    with pytest.raises(ValueError) as raised:
        call()
    match = MESSAGE.match(str(raised.value))
    assert match, str(raised.value)
    return match


@pytest.mark.parametrize(
    ("value", "expected"),
    [(3, 3), (np.int64(3), 3), (np.uint8(0), 0), (-2, -2)],
    ids=["int", "numpy int64", "numpy uint8", "negative"],
)
def test_python_and_numpy_integers_pass_as_plain_ints(value, expected):
    checked = check_int("steps", value)
    assert checked == expected and type(checked) is int


@pytest.mark.parametrize(
    "value",
    [True, np.bool_(False), 100.0, np.float32(2), "3", None, 1 + 0j],
    ids=["bool", "numpy bool", "integral float", "numpy float", "str", "None", "complex"],
)
def test_integers_refuse_bools_floats_and_strings(value):
    match = _message(lambda: check_int("steps", value))
    assert match["name"] == "steps" and match["requirement"].startswith("an integer")


@pytest.mark.parametrize(
    ("kwargs", "bad", "requirement"),
    [
        ({"low": 1}, 0, "an integer >= 1"),
        ({"high": 10}, 11, "an integer <= 10"),
        ({"low": 1, "high": 100}, 101, "an integer in [1, 100]"),
    ],
)
def test_integer_bounds_are_inclusive_and_named(kwargs, bad, requirement):
    assert check_int("n", kwargs.get("low", kwargs.get("high")), **kwargs) is not None
    assert _message(lambda: check_int("n", bad, **kwargs))["requirement"] == requirement


@pytest.mark.parametrize("value", [math.nan, np.float32("nan"), math.inf, -math.inf])
def test_floats_refuse_nan_and_infinities_by_default(value):
    assert _message(lambda: check_float("lr", value))["requirement"] == "a finite number"


def test_infinities_pass_only_when_asked_and_nan_never():
    assert check_float("clip", math.inf, finite=False) == math.inf
    assert _message(lambda: check_float("clip", math.nan, finite=False))["value"] == "nan"


@given(st.floats(allow_nan=False, allow_infinity=False, width=32))
@settings(max_examples=60, deadline=None)
def test_an_open_lower_bound_refuses_exactly_the_values_at_or_below_it(x):
    if x > 0:
        assert check_float("lr", np.float32(x), low=0, low_open=True) == float(np.float32(x))
    else:
        assert _message(lambda: check_float("lr", x, low=0, low_open=True))["requirement"] == (
            "a finite number > 0"
        )


@pytest.mark.parametrize(
    ("kwargs", "requirement"),
    [
        ({"low": 0, "high": 1}, "a finite number in [0, 1]"),
        ({"low": 0, "high": 1, "low_open": True}, "a finite number in (0, 1]"),
        ({"low": 0, "high": 1, "high_open": True}, "a finite number in [0, 1)"),
        ({"high": 1, "high_open": True}, "a finite number < 1"),
    ],
)
def test_range_messages_name_open_and_closed_ends(kwargs, requirement):
    assert _message(lambda: check_float("beta", 2.5, **kwargs))["requirement"] == requirement


@pytest.mark.parametrize("value", [True, "0.5", None, [0.5]])
def test_floats_refuse_bools_strings_and_containers(value):
    _message(lambda: check_float("rate", value))


def test_bool_accepts_only_true_and_false():
    assert check_bool("shuffle", np.bool_(True)) is True
    for bad in (1, 0, "yes", None):
        assert _message(lambda bad=bad: check_bool("shuffle", bad))["requirement"] == "True or False"


def test_choice_names_every_option_and_compares_types():
    assert check_choice("clip", "global", ("per_tensor", "global")) == "global"
    match = _message(lambda: check_choice("clip", "norm", ("per_tensor", "global")))
    assert match["requirement"] == "one of 'per_tensor', 'global'" and match["value"] == "'norm'"
    _message(lambda: check_choice("passes", True, (1, 2)))


def test_paths_refuse_empty_and_non_path_values_and_check_kind(tmp_path):
    assert check_path("out", str(tmp_path)) == tmp_path
    for bad in ("", None, 3):
        _message(lambda bad=bad: check_path("out", bad))
    (tmp_path / "file").write_text("x")
    assert _message(lambda: check_path("out", tmp_path / "file", kind="dir"))["requirement"] == (
        "a folder, not a file"
    )
    assert _message(lambda: check_path("data", tmp_path / "none", exists=True))["requirement"] == (
        "an existing path"
    )
    assert check_path("data", Path(tmp_path / "file"), exists=True, kind="file").is_file()


def test_optional_checks_let_none_through_and_say_so():
    assert check_int("patience", None, optional=True) is None
    assert check_float("weight_decay", None, optional=True) is None
    assert check_path("weights_path", None, optional=True) is None
    assert check_str("name", None, optional=True) is None
    assert _message(lambda: check_int("patience", -1, low=0, optional=True))["requirement"] == (
        "an integer >= 0 or None"
    )
    _message(lambda: check_int("patience", None))


def test_numpy_floats_are_shown_as_written_not_widened():
    assert _message(lambda: check_float("p", np.float32(-0.3), low=0))["value"] == "-0.3"


def test_strings_must_be_non_empty_strings():
    assert check_str("monitor", "val_loss") == "val_loss"
    for bad in ("", None, 3, b"val_loss"):
        assert _message(lambda bad=bad: check_str("monitor", bad))["requirement"] == "a non-empty string"


def test_instance_names_the_type_asked_for():
    assert check_instance("path", Path("x"), Path, "a Path") == Path("x")
    assert _message(lambda: check_instance("path", "x", Path, "a Path"))["requirement"] == "a Path"


def test_mappings_must_be_non_empty_and_hold_the_type_asked_for():
    assert check_mapping("configs", {"a": 1}, int, "a mapping of ints") == {"a": 1}
    for bad in ({}, [1], {"a": "1"}):
        assert _message(lambda bad=bad: check_mapping("configs", bad, int, "a mapping of ints"))[
            "requirement"
        ] == ("a mapping of ints")


@pytest.mark.parametrize(
    ("value", "kwargs", "at", "shown"),
    [
        (np.array([[0.2, -0.3]], np.float32), {"low": 0, "high": 1}, "[0, 1]", "-0.3"),
        (np.array([0.5, 1.7]), {"low": 0, "high": 1}, "[1]", "1.7"),
        (np.array([[1.0, 2.0], [3.0, np.nan]]), {}, "[1, 1]", "nan"),
        (np.array([1.0, -np.inf]), {}, "[1]", "-inf"),
        (np.array([0.0, 1.5, 2.0]), {"integral": True}, "[1]", "1.5"),
        (np.array([0, 3, 1]), {"low": 0, "high": 3, "high_open": True}, "[1]", "3"),
        (np.array([1, 0]), {"dtype": "float"}, ".dtype", "int64"),
        (np.array([0.5]), {"dtype": "integer"}, ".dtype", "float64"),
        (np.array([True, False]), {}, ".dtype", "bool"),
        (np.array(["a"]), {}, ".dtype", "<U1"),
        (np.zeros(3), {"ndim": 2}, ".shape", "(3,)"),
        (5.0, {"high": 1}, None, "5.0"),
    ],
    ids=[
        "below-low",
        "above-high",
        "nan",
        "infinity",
        "fraction",
        "open-end",
        "integer-for-float",
        "float-for-integer",
        "bool",
        "str",
        "ndim",
        "scalar",
    ],
)
def test_arrays_name_the_first_element_or_attribute_that_fails(value, kwargs, at, shown):
    match = _message(lambda: check_array("y", value, **kwargs))
    assert (match["at"], match["value"]) == (at, shown)


def test_arrays_pass_whole_floats_infinities_when_asked_and_return_the_array():
    labels = check_array("y", [0.0, 2.0], integral=True, low=0)
    assert isinstance(labels, np.ndarray) and labels.tolist() == [0.0, 2.0]
    assert check_array("z", np.array([np.inf]), finite=False).tolist() == [np.inf]
    assert _message(lambda: check_array("z", np.array([np.nan]), finite=False))["value"] == "nan"
