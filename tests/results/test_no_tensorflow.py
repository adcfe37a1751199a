"""The tools over result files never import TensorFlow or Keras: each module imported alone, in a fresh process."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import benchmarks.results

FORBIDDEN = ("tensorflow", "keras")
ROOT = Path(__file__).resolve().parents[2]
# The package's modules, and the pytest plugins that every session loads.
MODULES = (
    *(f"benchmarks.results.{m.name}" for m in pkgutil.iter_modules(benchmarks.results.__path__)),
    "benchmarks.plugin",
    "benchmarks.gate_plugin",
)
PROBE = "import importlib, json, sys; importlib.import_module(sys.argv[1]); print(json.dumps(sorted(sys.modules)))"


def _start(module: str, *, path: Path = ROOT) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", PROBE, module],
        cwd=path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _loaded(process: subprocess.Popen) -> list[str]:
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    modules = json.loads(out)
    return [name for name in FORBIDDEN if name in modules]


@pytest.fixture(scope="module")
def probes() -> dict[str, subprocess.Popen]:
    """One fresh interpreter per module, all started at once."""
    return {module: _start(module) for module in MODULES}


def test_the_package_has_the_modules_the_issue_asks_for():
    names = {m.name for m in pkgutil.iter_modules(benchmarks.results.__path__)}
    assert {
        "schema",
        "cases",
        "analysis",
        "gate",
        "gate_statistics",
        "history",
        "compare",
        "report",
        "cli",
    } <= names


@pytest.mark.parametrize("module", MODULES)
def test_importing_the_module_alone_loads_neither_tensorflow_nor_keras(probes, module):
    assert _loaded(probes[module]) == []


def test_the_probe_sees_a_tensorflow_import(tmp_path):
    (tmp_path / "tensorflow").mkdir()
    (tmp_path / "tensorflow" / "__init__.py").write_text("")
    (tmp_path / "uses_tensorflow.py").write_text("import tensorflow\n")
    assert _loaded(_start("uses_tensorflow", path=tmp_path)) == ["tensorflow"]
