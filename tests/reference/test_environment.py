"""The one environment collector (``reference.environment``): its keys, JSON types, and their text."""

from __future__ import annotations

import json

import keras
import pytest
import tensorflow as tf

from reference.environment import collect_environment, describe_environment

# The benchmark collector's keys, plus what only the reproduction's had: matplotlib and the architecture
# (its "platform", "processor", "cpus" and GPU count are os, machine, cpu_cores_usable and gpus here).
KEYS = {
    "cpu_model",
    "machine",
    "cpu_cores_logical",
    "cpu_cores_usable",
    "memory_bytes",
    "os",
    "python",
    "numpy",
    "tensorflow",
    "keras",
    "matplotlib",
    "tensorflow_build",
    "onednn_opts",
    "xla_flags",
    "intra_op_threads",
    "inter_op_threads",
    "gpus",
    "git",
}


@pytest.fixture(scope="module")
def environment() -> dict:
    return collect_environment()


def test_the_collector_has_the_keys_of_both_former_collectors(environment):
    assert set(environment) == KEYS


def test_the_environment_is_plain_json(environment):
    assert json.loads(json.dumps(environment)) == environment


def test_versions_and_cores_are_this_process(environment):
    assert (environment["tensorflow"], environment["keras"]) == (tf.__version__, keras.__version__)
    assert 1 <= environment["cpu_cores_usable"] <= environment["cpu_cores_logical"]
    assert len(environment["gpus"]) == len(tf.config.list_physical_devices("GPU"))


def test_each_value_is_described_in_one_line_of_text():
    described = describe_environment(
        {
            "memory_bytes": 3 * 2**30,
            "tensorflow_build": {"is_cuda_build": False, "cuda_version": None},
            "gpus": [],
            "git": None,
            "cpus": "2",
        }
    )
    assert described == {
        "memory_bytes": "3.0 GiB",
        "tensorflow_build": "is_cuda_build=False, cuda_version=-",
        "gpus": "none",
        "git": "-",
        "cpus": "2",
    }
