"""The machine and software a run measured: one collector for the benchmarks and the reproduction.

``collect_environment()`` returns plain JSON types under these keys:

| key | value |
|---|---|
| ``cpu_model`` | the CPU's model name (``/proc/cpuinfo``; elsewhere ``platform.processor()``) |
| ``machine`` | the architecture, ``platform.machine()`` (``x86_64``) |
| ``cpu_cores_logical`` | ``os.cpu_count()`` |
| ``cpu_cores_usable`` | the cores this process may run on (``sched_getaffinity``; ``taskset`` lowers it) |
| ``memory_bytes`` | physical memory |
| ``os`` | ``platform.platform()`` |
| ``python``, ``numpy``, ``tensorflow``, ``keras``, ``matplotlib`` | versions |
| ``tensorflow_build`` | ``is_cuda_build``, ``is_rocm_build``, ``is_tensorrt_build``, ``cuda_version``, ``cudnn_version`` |
| ``onednn_opts``, ``xla_flags`` | ``TF_ENABLE_ONEDNN_OPTS`` and ``XLA_FLAGS`` as set |
| ``intra_op_threads``, ``inter_op_threads`` | TensorFlow's thread pools (0: TensorFlow's choice) |
| ``gpus`` | per visible GPU: ``index``, ``name``, ``compute_capability`` |
| ``git`` | ``{"id", "dirty"}`` of the checkout, or ``None`` outside one |

The benchmark result files store it as ``machine_info.environment``; the reproduction shows it as
text (``describe_environment``). Until this module, the reproduction named ``os`` ``platform``,
``machine`` ``processor``, ``cpu_cores_usable`` ``cpus``, and stored the GPU count as ``gpus``;
``describe_environment`` reads result files written before and after alike (it shows whatever keys
a file has). TensorFlow is imported only by ``collect_environment``, so the report commands that
describe a saved environment stay free of it.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import matplotlib
import numpy as np

from reference.validation import check_instance, check_int, check_path

__all__ = [
    "collect_environment",
    "cpu_model",
    "describe_environment",
    "git_commit",
    "gpu_details",
    "memory_bytes",
]

_BUILD_KEYS = ("is_cuda_build", "is_rocm_build", "is_tensorrt_build", "cuda_version", "cudnn_version")


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux, else ``platform.processor()``)."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine() or "unknown CPU"


def memory_bytes() -> int | None:
    """Physical memory in bytes (``sysconf``), or ``None`` where unavailable."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def git_commit(cwd: str | Path | None = None) -> dict | None:
    """``{"id": <sha>, "dirty": bool}`` of the git checkout at ``cwd``, or ``None`` outside one.

    Raises:
        ValueError: ``cwd`` is neither None nor a path (an existing one must be a folder).
    """
    cwd = check_path("cwd", cwd, kind="dir", optional=True)

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()

    try:
        return {"id": git("rev-parse", "HEAD"), "dirty": bool(git("status", "--porcelain"))}
    except (OSError, subprocess.SubprocessError):
        return None


def gpu_details(index: int) -> dict:
    """TensorFlow's details of physical GPU ``index`` (``device_name``, ``compute_capability``).

    Raises:
        ValueError: ``index`` not an integer >= 0.
    """
    index = check_int("index", index, low=0)
    import tensorflow as tf

    physical = tf.config.list_physical_devices("GPU")
    if index >= len(physical):
        return {}
    return dict(tf.config.experimental.get_device_details(physical[index]))


def _gpus(tf) -> list[dict]:
    found = []
    for index, _ in enumerate(tf.config.list_physical_devices("GPU")):
        details = gpu_details(index)
        capability = details.get("compute_capability")
        found.append(
            {
                "index": index,
                "name": details.get("device_name", "GPU"),
                "compute_capability": ".".join(map(str, capability)) if capability else None,
            }
        )
    return found


def collect_environment(cwd: str | Path | None = None) -> dict:
    """Everything a reader needs to compare two runs' numbers (keys in the module docstring).

    Args:
        cwd: the folder whose git checkout is recorded (default: the current folder).

    Raises:
        ValueError: ``cwd`` is neither None nor a path (an existing one must be a folder).
    """
    cwd = check_path("cwd", cwd, kind="dir", optional=True)
    import keras
    import tensorflow as tf

    build = dict(tf.sysconfig.get_build_info())
    return {
        "cpu_model": cpu_model(),
        "machine": platform.machine(),
        "cpu_cores_logical": os.cpu_count(),
        "cpu_cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "memory_bytes": memory_bytes(),
        "os": platform.platform(),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "matplotlib": matplotlib.__version__,
        "tensorflow_build": {key: build.get(key) for key in _BUILD_KEYS},
        "onednn_opts": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default (on)"),
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
        "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
        "gpus": _gpus(tf),
        "git": git_commit(cwd),
    }


def _text(value: object) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={_text(v)}" for k, v in value.items()) or "-"
    if isinstance(value, list):
        return "; ".join(_text(v) for v in value) or "none"
    return "-" if value is None else str(value)


def describe_environment(environment: dict) -> dict[str, str]:
    """Each key's value as one line of text: memory in GiB, nested fields as ``key=value``, an empty list ``none``.

    Raises:
        ValueError: ``environment`` is not a dict.
    """
    check_instance("environment", environment, dict, "a dict (as collect_environment returns)")
    described = {}
    for key, value in environment.items():
        if key == "memory_bytes" and isinstance(value, int | float) and not isinstance(value, bool):
            described[key] = f"{value / 2**30:.1f} GiB"
        else:
            described[key] = _text(value)
    return described
