"""The one table through which the ledgers cite tests, and the ids ``cite`` builds from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from reference.reproduction.citations import TEST_FILES, cite

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("key", sorted(TEST_FILES))
def test_every_file_of_the_citation_table_is_a_test_file_of_the_suite(key):
    path = ROOT / TEST_FILES[key]
    assert path.is_file() and path.name.startswith("test_")


def test_cite_builds_the_pytest_ids_in_the_order_given():
    assert cite("training::test_a", "command::test_b") == (
        "tests/reference/test_training.py::test_a",
        "tests/reproduction/test_command.py::test_b",
    )


@pytest.mark.parametrize(
    "tests",
    [(), ("trainer::test_a",), ("training::helper",), ("test_training.py::test_a",), ("training",)],
    ids=["none", "unknown-key", "not-a-test", "a-path-not-a-key", "no-name"],
)
def test_cite_refuses_anything_but_a_known_key_and_a_test_name(tests):
    with pytest.raises(ValueError, match="`tests`"):
        cite(*tests)
