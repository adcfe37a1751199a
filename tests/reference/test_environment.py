"""The one environment collector (``reference.environment``): its keys, JSON types, the resolved thread
pools and oneDNN state, the GPU facts of ``nvidia-smi``, and their text."""

from __future__ import annotations

import json
import os
import platform
import stat
from pathlib import Path

import keras
import pytest
import tensorflow as tf

from reference.environment import collect_environment, describe_environment, effective_threads
from reference.versions import tensorflow_at_least

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
    "onednn",
    "onednn_source",
    "tf_enable_onednn_opts",
    "tf_xla_flags",
    "xla_flags",
    "intra_op_threads",
    "intra_op_threads_source",
    "inter_op_threads",
    "inter_op_threads_source",
    "gpus",
    "gpu_driver",
    "nvidia_smi_gpus",
    "git",
}
# The CPU features for which TensorFlow turns oneDNN on by default on Linux (tensorflow/core/util/port.cc).
ONEDNN_DEFAULT_FLAGS = {"avx512_vnni", "avx512_bf16", "avx_vnni", "amx_tile", "amx_int8", "amx_bf16"}
# nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader,nounits on a two-GPU box.
SMI_OUTPUT = "NVIDIA A100-SXM4-40GB, 535.104.05, 40960\nNVIDIA A100-SXM4-40GB, 535.104.05, 40960\n"


@pytest.fixture(scope="module")
def environment() -> dict:
    return collect_environment()


def test_the_collector_has_the_keys_of_both_former_collectors_and_the_resolved_ones(environment):
    assert set(environment) == KEYS


def test_the_environment_is_plain_json(environment):
    assert json.loads(json.dumps(environment)) == environment


def test_versions_and_cores_are_this_process(environment):
    assert (environment["tensorflow"], environment["keras"]) == (tf.__version__, keras.__version__)
    assert 1 <= environment["cpu_cores_usable"] <= environment["cpu_cores_logical"]
    assert len(environment["gpus"]) == len(tf.config.list_physical_devices("GPU"))


def _thread_names() -> list[str]:
    return [(task / "comm").read_text().strip() for task in Path("/proc/self/task").iterdir()]


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux /proc")
def test_the_inter_op_threads_are_the_threads_of_tensorflows_inter_op_pool(environment):
    # TensorFlow names the inter-op pool "Compute" (process_util.cc); its threads show as tf_Compute.
    # The pool starts with the first op this process runs.
    tf.reduce_sum(tf.ones(4)).numpy()
    named = _thread_names().count("tf_Compute")
    if named == 0 and not tensorflow_at_least("2.21"):
        pytest.skip("this TensorFlow leaves its inter-op threads unnamed (seen on 2.16.1): nothing to count")
    assert environment["inter_op_threads"] == named


def test_unconfigured_pools_resolve_to_the_schedulable_cpus_or_the_variable(environment):
    for pool, variable in (("intra_op", "TF_NUM_INTRAOP_THREADS"), ("inter_op", "TF_NUM_INTEROP_THREADS")):
        value = os.environ.get(variable, "")
        expected = int(value) if value.strip().isdigit() and int(value) > 0 else len(os.sched_getaffinity(0))
        assert environment[f"{pool}_threads"] == expected
        assert variable in environment[f"{pool}_threads_source"]


THREAD_RULES = {
    "configured wins over the variable": ((3, "5", 2), 3),
    "the variable when not configured": ((0, "5", 2), 5),
    "the CPUs when the variable is unset": ((0, None, 2), 2),
    "the CPUs when the variable is 0": ((0, "0", 4), 4),
    "the CPUs when the variable is not a number": ((0, "many", 4), 4),
}


@pytest.mark.parametrize(("arguments", "expected"), THREAD_RULES.values(), ids=THREAD_RULES.keys())
def test_effective_threads_follow_tensorflows_order_of_rules(arguments, expected):
    configured, value, cpus = arguments
    threads, source = effective_threads(configured, "TF_NUM_INTRAOP_THREADS", value, cpus)
    assert threads == expected and source


def _cpu_flags() -> set[str]:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


@pytest.mark.skipif(
    platform.system() != "Linux" or platform.machine() != "x86_64" or "TF_ENABLE_ONEDNN_OPTS" in os.environ,
    reason="the default oneDNN rule checked here is Linux x86 with TF_ENABLE_ONEDNN_OPTS unset",
)
def test_onednn_is_on_by_default_exactly_on_cpus_with_neural_network_instructions(environment):
    assert environment["onednn"] is bool(_cpu_flags() & ONEDNN_DEFAULT_FLAGS)
    assert environment["tf_enable_onednn_opts"] is None
    assert "unset" in environment["onednn_source"]


def _fake_nvidia_smi(folder: Path, body: str) -> Path:
    script = folder / "nvidia-smi"
    script.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return folder


def test_without_nvidia_smi_the_gpu_driver_and_memory_are_recorded_as_absent(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    found = collect_environment()
    assert (found["gpu_driver"], found["nvidia_smi_gpus"]) == (None, None)
    assert describe_environment(found)["gpu_driver"] == "no nvidia-smi"


def test_nvidia_smi_gives_the_driver_and_each_gpus_memory(monkeypatch, tmp_path):
    folder = _fake_nvidia_smi(tmp_path, f"printf '{SMI_OUTPUT}'")
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    found = collect_environment()
    assert found["gpu_driver"] == "535.104.05"
    assert found["nvidia_smi_gpus"] == [{"name": "NVIDIA A100-SXM4-40GB", "memory_bytes": 40960 * 2**20}] * 2
    assert "40.0 GiB" in describe_environment(found)["nvidia_smi_gpus"]


@pytest.mark.gpu
def test_each_gpu_tensorflow_sees_has_the_memory_nvidia_smi_reports(environment):
    if environment["nvidia_smi_gpus"] is None:
        pytest.skip("no nvidia-smi on this machine")
    assert all(gpu["memory_bytes"] for gpu in environment["gpus"])


def test_each_value_is_described_in_one_line_of_text():
    described = describe_environment(
        {
            "memory_bytes": 3 * 2**30,
            "tensorflow_build": {"is_cuda_build": False, "cuda_version": None},
            "gpus": [{"index": 0, "name": "T4", "memory_bytes": 15 * 2**30}],
            "git": None,
            "cpus": "2",
            "onednn": False,
            "xla_flags": None,
            "intra_op_threads": 0,
        }
    )
    assert described == {
        "memory_bytes": "3.0 GiB",
        "tensorflow_build": "is_cuda_build=False, cuda_version=-",
        "gpus": "index=0, name=T4, memory_bytes=15.0 GiB",
        "git": "-",
        "cpus": "2",
        "onednn": "off",
        "xla_flags": "unset",
        "intra_op_threads": "0 (TensorFlow's choice, not resolved in this record)",
    }
