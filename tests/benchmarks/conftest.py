"""The tests in this folder need TensorFlow: start it once, quietly, before their modules are imported.

``killed_session``: a timed pytest session of ``FAKE_BENCHMARK`` over previous reports, started in a
child process at the end of collection (it starts TensorFlow to record the environment) and paused
between two renames of its reports, for ``test_plugin.py`` to kill.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from reference.runtime import import_tensorflow
from tests.common.faults import Killed, start_early, started_early

import_tensorflow()

# A stand-in benchmark that records extra_info shaped like the harness's, without TensorFlow work.
FAKE_BENCHMARK = """
import time

def test_fake(benchmark):
    benchmark.extra_info.update({
        "schema": 1, "case": "fake/b8/function/CPU:0", "kind": "training_step", "workload": "fake",
        "mode": "function", "batch_size": 8, "device": "CPU:0", "steps_per_round": 1, "flops_per_step": 100,
    })
    benchmark.pedantic(time.sleep, args=(0.001,), rounds=4)
    print("DISABLED=%s" % benchmark.disabled)
"""
PREVIOUS_REPORTS = ("benchmarks.json", "benchmarks.html", "index.html")


def previous_reports(folder: Path) -> None:
    """What an earlier timed run published in ``folder``."""
    for name in PREVIOUS_REPORTS:
        (folder / name).write_text(f"previous {name}")


def _killed_session() -> Killed:
    def command(out: Path) -> list[str]:
        (out.parent / "test_fake.py").write_text(FAKE_BENCHMARK)
        return [
            sys.executable, "-m", "pytest", "-p", "benchmarks.plugin", "-p", "no:cacheprovider",
            "--benchmark-only", "--bench-report-dir", str(out), "test_fake.py",
        ]  # fmt: skip

    return Killed.start(command, previous_reports)


def pytest_collection_finish(session):
    start_early(session, "killed_session", _killed_session)


@pytest.fixture
def killed_session(request) -> Killed:
    """A timed session over previous reports, to be SIGKILLed between two renames of its reports."""
    return started_early(request.config, "killed_session", _killed_session)
