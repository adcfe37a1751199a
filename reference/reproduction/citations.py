"""How the ledgers cite the suite's tests: one table from a short key to a test file.

A claim or a defect names the tests that check it as pytest ids, ``path::test_name``. Every id is
built by ``cite`` from ``key::test_name`` with a key of ``TEST_FILES``, so moving a test file is a
one-line change here (``tests/reproduction/test_ledger.py`` checks that every cited test exists).
"""

from __future__ import annotations

__all__ = ["TEST_FILES", "cite"]

TEST_FILES: dict[str, str] = {
    "callbacks": "tests/reference/test_callbacks.py",
    "command": "tests/reproduction/test_command.py",
    "data": "tests/reference/test_data.py",
    "document_losses": "tests/reference/test_document_losses.py",
    "document_schedule": "tests/reference/test_document_schedule.py",
    "document_training": "tests/reference/test_document_training.py",
    "losses": "tests/reference/test_losses.py",
    "monitor": "tests/reference/test_monitor.py",
    "optimizers": "tests/reference/test_optimizers.py",
    "regularization": "tests/reference/test_regularization.py",
    "schedules": "tests/reference/test_schedules.py",
    "training": "tests/reference/test_training.py",
}


def cite(*tests: str) -> tuple[str, ...]:
    """The pytest ids (``path::test_name``) of ``tests``, each written ``key::test_name``.

    ``key`` is a key of ``TEST_FILES``: ``cite("training::test_a")`` is
    ``("tests/reference/test_training.py::test_a",)``.

    Raises:
        ValueError: no test, or one not written ``key::test_name`` with a known key.
    """
    if not tests:
        raise ValueError("Argument `tests` must name at least one test. Received: tests=()")
    ids = []
    for test in tests:
        key, _, name = test.partition("::")
        if key not in TEST_FILES or not name.startswith("test_"):
            raise ValueError(
                f"Argument `tests` must hold `key::test_name` with a key of {sorted(TEST_FILES)}. "
                f"Received: {test!r}"
            )
        ids.append(f"{TEST_FILES[key]}::{name}")
    return tuple(ids)
