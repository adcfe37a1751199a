"""The NVIDIA driver's view of the GPUs (``reference.nvidia_smi``): parsed when complete, ``None`` otherwise."""

from __future__ import annotations

import os
import stat

import pytest

from reference.nvidia_smi import nvidia_smi_gpus, parse_nvidia_smi

MIB = 2**20


def test_each_line_gives_a_gpus_name_driver_and_memory_in_bytes():
    text = "NVIDIA GeForce RTX 4090, 550.54.15, 24564\nTesla T4, 550.54.15, 15360\n"
    assert parse_nvidia_smi(text) == [
        {"name": "NVIDIA GeForce RTX 4090", "driver": "550.54.15", "memory_bytes": 24564 * MIB},
        {"name": "Tesla T4", "driver": "550.54.15", "memory_bytes": 15360 * MIB},
    ]


def test_a_name_with_a_comma_is_kept_whole():
    assert parse_nvidia_smi("Vendor, Model X, 1.0, 8\n")[0]["name"] == "Vendor, Model X"


INCOMPLETE = {
    "memory not available": "Tesla T4, 550.54.15, [N/A]\n",
    "an error message": "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\n",
    "nothing": "\n",
    "one complete line and one not": "Tesla T4, 550.54.15, 15360\nTesla T4, 550.54.15\n",
}


@pytest.mark.parametrize("text", INCOMPLETE.values(), ids=INCOMPLETE.keys())
def test_an_incomplete_answer_is_none_rather_than_partial(text):
    assert parse_nvidia_smi(text) is None


SCRIPTS = {
    "absent": None,
    "exits with an error": "echo 'No devices were found'; exit 9",
    "prints no GPU": "exit 0",
}


@pytest.mark.parametrize("body", SCRIPTS.values(), ids=SCRIPTS.keys())
def test_without_a_working_nvidia_smi_the_answer_is_none(monkeypatch, tmp_path, body):
    if body is not None:
        script = tmp_path / "nvidia-smi"
        script.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert nvidia_smi_gpus() is None
    assert os.environ["PATH"] == str(tmp_path)
