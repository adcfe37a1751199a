"""The version matrix: the whole test suite and the quick reproduction in fresh virtual environments.

    nox                        # every environment of reference.versions.MATRIX, then the table
    nox -s "suite(floor)"      # one environment: floor, tf2.19 or newest
    nox -s "suite(floor)" -- -x tests/reference   # arguments after -- go to pytest
    nox -s matrix              # the table again, from reports/versions/*.json, and the page

Each ``suite`` session installs the project (``-e .[dev]``) with the environment's pins into a new
virtual environment (``.nox/``), runs ``pytest`` and ``python -m reference.reproduction --quick``, and
writes what it measured to ``reports/versions/<name>.json`` (and the run's ``<name>.reproduction.json``);
it fails if pytest or the reproduction fails. ``matrix`` prints the table and, from 2 environments' runs
on, builds the reproduction across versions (``tfrepro-versions``) in ``reports/versions/``; it runs in
nox's own interpreter, so nox must be installed with the project (``pip install -e ".[dev]"``).
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from datetime import datetime, timezone
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from reference.files import write_text_atomic  # noqa: E402 - both free of TensorFlow
from reference.versions import MATRIX  # noqa: E402

RESULTS = ROOT / "reports" / "versions"
VERSIONS = "from reference.versions import installed_version as v; print(v('tensorflow'), v('keras'))"

nox.options.sessions = ["suite", "matrix"]
nox.options.default_venv_backend = "venv"


def _pytest_summary(junit: Path) -> dict:
    """Counts from pytest's JUnit XML: passed = tests - failures - errors - skipped."""
    suite = ElementTree.parse(junit).getroot()
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    counts = {key: int(suite.get(key, 0)) for key in ("tests", "failures", "errors", "skipped")}
    counts["passed"] = counts["tests"] - counts["failures"] - counts["errors"] - counts["skipped"]
    return counts


def _reproduction_summary(report: Path) -> dict:
    """Claims by verdict and defects present, from ``reproduction.json``; empty if the run wrote none."""
    if not report.is_file():
        return {}
    data = json.loads(report.read_text(encoding="utf-8"))
    defects = data.get("defects", [])
    return {
        "claims": data.get("counts", {}),
        # claims whose verdict is "differs on this version" (schema 3: the limits that applied)
        "differs_on_version": [c["id"] for c in data.get("claims", []) if c.get("differs_on")],
        "defects_present": [d["id"] for d in defects if d.get("present")],
        "defects_fix_verified": sum(bool(d.get("fix_verified")) for d in defects),
        "defects": len(defects),
    }


def _timed(run) -> tuple[object, float]:
    started = time.monotonic()
    outcome = run()
    return outcome, round(time.monotonic() - started, 1)


@nox.session
@nox.parametrize("name", list(MATRIX), ids=list(MATRIX))
def suite(session: nox.Session, name: str) -> None:
    """The test suite and the quick reproduction on one environment of the matrix."""
    _, install_s = _timed(lambda: session.install("-e", ".[dev]", *MATRIX[name]))
    tensorflow, keras = session.run("python", "-c", VERSIONS, silent=True).split()
    # Outside the project (not nox's create_tmp, which sets TMPDIR under .nox/): pytester's inner
    # sessions must not find this project's pyproject.toml above their folders.
    with tempfile.TemporaryDirectory(prefix=f"tfsuite-{name}-") as folder:
        junit, out = Path(folder) / "junit.xml", Path(folder) / "reproduction"
        pytest_args = ["-p", "no:cacheprovider", f"--junitxml={junit}", *session.posargs]
        _, pytest_s = _timed(lambda: session.run("pytest", *pytest_args, success_codes=[0, 1]))
        quick = ["-m", "reference.reproduction", "--quick", "--quiet", "--out-dir", str(out)]
        _, repro_s = _timed(lambda: session.run("python", *quick, success_codes=[0, 1, 2]))
        pytest = _pytest_summary(junit) if junit.is_file() else {}
        reproduction = _reproduction_summary(out / "reproduction.json")
        RESULTS.mkdir(parents=True, exist_ok=True)
        if reproduction:  # kept for comparing the reproduction across versions
            shutil.copyfile(out / "reproduction.json", RESULTS / f"{name}.reproduction.json")
    result = {
        "name": name,
        "pins": list(MATRIX[name]),
        "tensorflow": tensorflow,
        "keras": keras,
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "seconds": {"install": install_s, "pytest": pytest_s, "reproduction": repro_s},
        "pytest": pytest,
        "reproduction": reproduction,
    }
    write_text_atomic(RESULTS / f"{name}.json", json.dumps(result, indent=1) + "\n")
    if not pytest or pytest["failures"] or pytest["errors"] or not result["reproduction"]:
        session.error(f"failed: {_row(result)}")


def _pytest_text(pytest: dict) -> str:
    if not pytest:
        return "wrote no report"
    labels = {"failures": "failed", "passed": "passed", "skipped": "skipped", "errors": "errors"}
    return ", ".join(
        f"{pytest[key]} {label}" for key, label in labels.items() if pytest[key] or key == "passed"
    )


def _row(result: dict) -> str:
    repro, seconds = result["reproduction"], result["seconds"]
    claims = ", ".join(f"{n} {verdict}" for verdict, n in repro.get("claims", {}).items()) or "no report"
    if repro.get("differs_on_version"):
        claims += f" ({' '.join(repro['differs_on_version'])})"
    present = sorted(repro.get("defects_present", []), key=lambda defect: (len(defect), defect))  # D9 < D10
    cells = [
        result["name"],
        result["tensorflow"],
        result["keras"],
        _pytest_text(result["pytest"]),
        claims,
        f"{len(present)} present ({' '.join(present)})" if repro else "-",
        " / ".join(f"{seconds[key]:.0f}" for key in ("install", "pytest", "reproduction")),
    ]
    return "| " + " | ".join(cells) + " |"


HEADER = (
    "| environment | TensorFlow | Keras | pytest | quick reproduction: claims | defects "
    "| seconds: install / pytest / reproduction |"
)


def _across_versions(session: nox.Session) -> None:
    """Build the reproduction across versions from the matrix's ``<name>.reproduction.json`` (2 or more)."""
    runs = [RESULTS / f"{name}.reproduction.json" for name in MATRIX]
    runs = [str(path) for path in runs if path.is_file()]
    if len(runs) < 2:
        print(f"reproduction across versions: {len(runs)} run in {RESULTS}, 2 needed; not built")
        return
    try:
        from reference.reproduction.across_versions import main as across_versions
    except ImportError as error:
        session.error(f"cannot build the reproduction across versions ({error}): pip install -e '.[dev]'")
    if across_versions([*runs, "--out-dir", str(RESULTS)]) != 0:  # prints the page's path, or the error
        session.error("the reproduction across versions was not built")


@nox.session(python=False)
def matrix(session: nox.Session) -> None:
    """Print the table of the environments measured (``reports/versions/*.json``), save it as ``matrix.md``,
    and build the reproduction across versions (``reproduction-versions.html``) from their runs."""
    found = [RESULTS / f"{name}.json" for name in MATRIX if (RESULTS / f"{name}.json").is_file()]
    if not found:
        session.error(f"no results in {RESULTS}: run `nox -s suite` first")
    results = [json.loads(path.read_text(encoding="utf-8")) for path in found]
    table = "\n".join([HEADER, "|---|---|---|---|---|---|---|", *map(_row, results)]) + "\n"
    write_text_atomic(RESULTS / "matrix.md", table)
    print(table)
    _across_versions(session)
