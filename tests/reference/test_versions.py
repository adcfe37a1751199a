"""The supported releases: pyproject declares the floors of ``reference.versions``, and a release below
a floor stops pytest and the commands with one line naming what was found and what is needed."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from reference import versions
from reference.reproduction import cli
from reference.versions import KERAS_FLOOR, MATRIX, TENSORFLOW_FLOOR, UnsupportedVersionError

ROOT = Path(__file__).resolve().parents[2]


def _declared() -> dict[str, Requirement]:
    tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from Python 3.11")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = [Requirement(text) for text in project["dependencies"]]
    requirements += [Requirement(text) for text in project["optional-dependencies"]["gpu"]]
    return {f"{r.name}[{','.join(sorted(r.extras))}]" if r.extras else r.name: r for r in requirements}


def test_pyproject_declares_the_floors_of_reference_versions():
    declared = _declared()
    assert declared["tensorflow"].specifier == SpecifierSet(f">={TENSORFLOW_FLOOR}")
    assert declared["tensorflow[and-cuda]"].specifier == SpecifierSet(f">={TENSORFLOW_FLOOR}")
    assert declared["keras"].specifier == SpecifierSet(f">={KERAS_FLOOR},<4")


def test_every_environment_of_the_matrix_is_allowed_by_pyproject():
    declared = _declared()
    for pins in MATRIX.values():
        for pin in map(Requirement, pins):
            release = str(pin.specifier).removeprefix("==").replace(".*", ".0")
            assert declared[pin.name].specifier.contains(release), pin


@pytest.fixture
def installed(monkeypatch):
    """``installed({"tensorflow": "2.15.1", "keras": None})``: what package metadata reports from now on."""

    def fake(releases: dict[str, str | None]) -> None:
        def version(name):
            if releases.get(name) is None:
                raise metadata.PackageNotFoundError(name)
            return releases[name]

        monkeypatch.setattr(versions.metadata, "version", version)
        versions.installed_version.cache_clear()

    yield fake
    versions.installed_version.cache_clear()


def test_an_old_tensorflow_and_keras_are_named_with_the_floors_in_one_error(installed):
    installed({"tensorflow": "2.15.1", "keras": "2.15.0"})
    with pytest.raises(UnsupportedVersionError) as raised:
        versions.check_installed()
    message = str(raised.value)
    assert message.startswith("unsupported tensorflow and keras: installed tensorflow 2.15.1, keras 2.15.0")
    assert f"pip install 'tensorflow>={TENSORFLOW_FLOOR}' 'keras>={KERAS_FLOOR}'" in message
    assert "\n" not in message


def test_a_missing_keras_is_named_not_installed(installed):
    installed({"tensorflow": TENSORFLOW_FLOOR, "keras": None})
    with pytest.raises(UnsupportedVersionError, match=r"^unsupported keras: .*keras not installed"):
        versions.check_installed()


def test_releases_at_the_floors_pass_the_check(installed):
    installed({"tensorflow": TENSORFLOW_FLOOR, "keras": KERAS_FLOOR})
    versions.check_installed()


def test_tensorflow_published_as_tensorflow_cpu_counts(installed):
    installed({"tensorflow-cpu": "2.19.1", "keras": "3.15.1"})
    assert versions.tensorflow_at_least("2.19") and not versions.tensorflow_at_least("2.20")


@pytest.mark.parametrize(
    ("release", "asked", "expected"),
    [
        ("3.14.0", "3.14", True),
        ("3.13.9", "3.14", False),
        ("3.15.1", "3.8", True),  # compared as numbers, not as text
        ("3.14.0rc1", "3.14", True),  # a pre-release counts as its release
        (None, "3.0", False),
    ],
    ids=["equal", "older", "numeric-not-lexical", "pre-release", "not-installed"],
)
def test_keras_at_least_compares_release_numbers(installed, release, asked, expected):
    installed({"tensorflow": "2.21.0", "keras": release})
    assert versions.keras_at_least(asked) is expected


# --- in fresh interpreters: package metadata of an older Keras placed first on the path ----------


@pytest.fixture(scope="module")
def old_keras_env(tmp_path_factory) -> dict[str, str]:
    """An environment whose package metadata reports Keras 3.3.3 (the real Keras is still imported)."""
    folder = tmp_path_factory.mktemp("old_keras")
    info = folder / "keras-3.3.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: keras\nVersion: 3.3.3\n", encoding="utf-8")
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(folder), str(ROOT)])}


def _expected_line(prefix: str) -> str:
    tensorflow = versions.installed_version("tensorflow")
    return (
        f"{prefix}unsupported keras: installed tensorflow {tensorflow}, keras 3.3.3 "
        f"(tested floors: tensorflow {TENSORFLOW_FLOOR}, keras {KERAS_FLOOR}); "
        f"install supported releases with: pip install 'tensorflow>={TENSORFLOW_FLOOR}' 'keras>={KERAS_FLOOR}'\n"
    )


def test_tfrepro_with_an_old_keras_exits_2_with_one_line_before_tensorflow_starts(old_keras_env, tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "reference.reproduction", "--quick", "--out-dir", str(tmp_path / "out")],
        env=old_keras_env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stdout) == (cli.EXIT_USAGE, "")
    assert done.stderr == _expected_line("tfrepro: error: ")
    assert not (tmp_path / "out").exists()


def test_pytest_with_an_old_keras_stops_before_collecting_with_one_line(old_keras_env):
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "tests/results/test_schema.py"],
        env=old_keras_env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stdout) == (pytest.ExitCode.USAGE_ERROR, "")
    assert done.stderr == _expected_line("ERROR: tf-training-suite: ") + "\n"  # pytest ends with a blank line
