"""What machine and software a benchmark run measured: stored in the result JSON, shown in the report."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from benchmarks.devices import cpu_model, gpu_details

_BUILD_KEYS = ("is_cuda_build", "is_rocm_build", "is_tensorrt_build", "cuda_version", "cudnn_version")


def memory_bytes() -> int | None:
    """Physical memory in bytes (``sysconf``), or ``None`` where unavailable."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def git_commit(cwd: str | Path | None = None) -> dict | None:
    """``{"id": <sha>, "dirty": bool}`` of the git checkout at ``cwd``, or ``None`` outside one."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()

    try:
        return {"id": git("rev-parse", "HEAD"), "dirty": bool(git("status", "--porcelain"))}
    except (OSError, subprocess.SubprocessError):
        return None


def tensorflow_build() -> dict:
    """TensorFlow's build facts that matter for speed: CUDA/cuDNN versions, ROCm, TensorRT."""
    info = dict(tf.sysconfig.get_build_info())
    return {key: info.get(key) for key in _BUILD_KEYS}


def gpus() -> list[dict]:
    """Name and compute capability of each visible GPU."""
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
    """Everything a reader needs to compare two runs' numbers (plain JSON types)."""
    return {
        "cpu_model": cpu_model(),
        "cpu_cores_logical": os.cpu_count(),
        "cpu_cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "memory_bytes": memory_bytes(),
        "os": platform.platform(),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "tensorflow_build": tensorflow_build(),
        "onednn_opts": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default (on)"),
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
        "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
        "gpus": gpus(),
        "git": git_commit(cwd),
    }
