"""Every console script answers ``--version`` with its own name and the distribution's version."""

from __future__ import annotations

from importlib import metadata

import pytest

SCRIPTS = {
    point.name: point
    for point in metadata.distribution("tf-training-suite").entry_points
    if point.group == "console_scripts"
}
COMMANDS = {
    "tfbench-report",
    "tfbench-gate",
    "tfbench-compare",
    "tfbench-history",
    "tfbench-ab",
    "tfbench-run",
    "tfrepro",
    "tfrepro-versions",
}


def test_the_installed_distribution_declares_every_command():
    assert set(SCRIPTS) >= COMMANDS


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_every_command_prints_its_name_and_version(capsys, name):
    main = SCRIPTS[name].load()
    with pytest.raises(SystemExit) as stopped:
        main(["--version"])
    assert stopped.value.code == 0
    assert capsys.readouterr().out == f"{name} {metadata.version('tf-training-suite')} (tf-training-suite)\n"
