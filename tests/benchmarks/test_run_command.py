"""``tfbench-run``: the installed suite's command line (the wheel smoke of ``.ci/run`` runs it for real)."""

from __future__ import annotations

from pathlib import Path

import pytest

import benchmarks
from benchmarks import run
from benchmarks.results import report


def test_the_pytest_command_runs_the_installed_package_with_the_suite_plugins_and_our_settings(tmp_path):
    ini = tmp_path / "pytest.ini"
    args = run.pytest_arguments(
        quick=True, smoke=False, report_dir="out", settings_file=ini, extra=["-k", "x"]
    )
    assert args[:2] == ["-c", str(ini)]
    package = str(Path(benchmarks.__file__).parent)
    assert args[args.index("--confcutdir") + 1] == package
    assert args[args.index("--pyargs") + 1] == "benchmarks"
    assert args[args.index("benchmarks.plugin") - 1 : args.index("benchmarks.plugin") + 1] == [
        "-p",
        "benchmarks.plugin",
    ]
    assert "--benchmark-only" in args and "--bench-quick" in args and args[-2:] == ["-k", "x"]
    assert args[args.index("--bench-report-dir") + 1] == "out"
    smoke = run.pytest_arguments(quick=False, smoke=True, report_dir="out", settings_file=ini, extra=[])
    assert "--benchmark-only" not in smoke and "--bench-quick" not in smoke


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--quick", "--smoke"], "not allowed with argument"),
        (["--bogus"], "unrecognized arguments: --bogus"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(capsys, argv, message):
    assert run.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("tfbench-run: error: ") and message in err and err.count("\n") == 1


def test_an_install_without_its_templates_is_one_line_and_exit_2_before_pytest_starts(capsys, monkeypatch):
    monkeypatch.setitem(report.PACKAGE_TEMPLATES, "benchmarks.results", ("report.html.j2", "gone.html.j2"))
    assert run.main(["--smoke"]) == 2
    err = capsys.readouterr().err
    assert "benchmarks/results/templates/gone.html.j2 is missing" in err and err.count("\n") == 1
