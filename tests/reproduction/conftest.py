"""The tests in this folder need TensorFlow: start it once, quietly, before their modules are imported.

The quick reproduction run that ``test_command.py`` reads takes about 15 s of one core, while most of the
suite keeps only one of the machine's cores busy. So when a collected test asks for ``quick_run``, the
command starts in a child process as soon as collection ends, and the fixture waits for it there.
``killed_reproduction``, a cheap run paused between two renames of its report for
``test_command_faults.py`` to kill, starts with the folder's first test.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from reference.runtime import import_tensorflow
from tests.common.faults import Killed, start_if_used, started_early

import_tensorflow()

QUICK_RUN_TIMEOUT_S = 600
CHEAP = ("--sections", "losses", "--quick", "--quiet")  # three figures, the JSON, the HTML, the index
PREVIOUS_REPORT = ("reproduction.html", "reproduction.json", "index.html", "reproduction/old.png")
_ROOT = Path(__file__).resolve().parents[2]
_QUICK_RUN = pytest.StashKey["QuickRun"]()


@dataclass
class QuickRun:
    """``python -m reference.reproduction --quick`` writing into ``out`` (a child process)."""

    out: Path
    process: subprocess.Popen

    @classmethod
    def start(cls) -> QuickRun:
        out = Path(tempfile.mkdtemp(prefix="tfrepro-quick-")) / "reports"
        out.mkdir()
        (out / "benchmarks.html").write_text("<html></html>")  # another command's report, for the index
        process = subprocess.Popen(
            [sys.executable, "-m", "reference.reproduction", "--quick", "--quiet", "--out-dir", str(out)],
            cwd=_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        return cls(out, process)

    def wait(self) -> tuple[int, str]:
        output, _ = self.process.communicate(timeout=QUICK_RUN_TIMEOUT_S)
        return self.process.returncode, output

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()
        shutil.rmtree(self.out.parent, ignore_errors=True)


def previous_report(out: Path) -> None:
    """A previous report in ``out``: every kind of file the command writes."""
    (out / "reproduction").mkdir()
    for name in PREVIOUS_REPORT:
        (out / name).write_text(f"previous {name}")


def _killed_reproduction() -> Killed:
    return Killed.start(
        lambda out: [sys.executable, "-m", "reference.reproduction", *CHEAP, "--out-dir", str(out)],
        previous_report,
    )


def pytest_collection_finish(session):
    if any("quick_run" in getattr(item, "fixturenames", ()) for item in session.items):
        run = QuickRun.start()
        session.config.stash[_QUICK_RUN] = run
        session.config.add_cleanup(run.close)


@pytest.fixture(scope="package", autouse=True)
def _start_killed_reproduction(request):
    """Started with this folder's first test (it starts TensorFlow), killed in ``test_command_faults.py``."""
    start_if_used(request.session, "killed_reproduction", _killed_reproduction)


@pytest.fixture
def killed_reproduction(request) -> Killed:
    """``--sections losses --quick`` over a previous report, to be SIGKILLed between two renames."""
    return started_early(request.config, "killed_reproduction", _killed_reproduction)


@pytest.fixture(scope="session")
def quick_run_process(request) -> QuickRun:
    """The background quick run started at the end of collection (or now, if collection did not start it)."""
    if _QUICK_RUN not in request.config.stash:
        request.config.stash[_QUICK_RUN] = QuickRun.start()
        request.config.add_cleanup(request.config.stash[_QUICK_RUN].close)
    return request.config.stash[_QUICK_RUN]
