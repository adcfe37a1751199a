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
| ``onednn`` | ``True`` when TensorFlow runs its oneDNN CPU kernels, ``None`` when it cannot say |
| ``onednn_source`` | how that was found: TensorFlow's ``IsMklEnabled()`` and ``TF_ENABLE_ONEDNN_OPTS`` |
| ``tf_enable_onednn_opts``, ``tf_xla_flags``, ``xla_flags`` | ``TF_ENABLE_ONEDNN_OPTS``, ``TF_XLA_FLAGS``, ``XLA_FLAGS`` as set (``None``: unset) |
| ``intra_op_threads``, ``inter_op_threads`` | the threads of TensorFlow's two CPU pools, resolved (``effective_threads``) |
| ``intra_op_threads_source``, ``inter_op_threads_source`` | which rule gave that number |
| ``gpus`` | per GPU TensorFlow sees: ``index``, ``name``, ``compute_capability``, ``memory_bytes`` (``nvidia-smi``, matched by name; ``None`` without it) |
| ``gpu_driver`` | the NVIDIA driver version (``nvidia-smi``), ``None`` without one |
| ``nvidia_smi_gpus`` | every GPU ``nvidia-smi`` lists (``name``, ``memory_bytes``), also those TensorFlow does not use; ``None`` without ``nvidia-smi`` |
| ``git`` | ``{"id", "dirty"}`` of the checkout, or ``None`` outside one |

Threads. ``tf.config.threading.get_*_parallelism_threads()`` return what was configured, and 0
means "TensorFlow chooses". What it chooses (``tensorflow/core/common_runtime/process_util.cc``
for the inter-op pool, ``local_device.cc`` for the intra-op pool) is, in order: the configured
number if > 0; else ``TF_NUM_INTEROP_THREADS`` / ``TF_NUM_INTRAOP_THREADS`` if an integer > 0;
else ``port::NumSchedulableCPUs()``, the CPUs in this process's affinity mask
(``os.sched_getaffinity``). Not modelled: builds with oneDNN on OpenMP (``ENABLE_ONEDNN_OPENMP``;
the pip wheels use TensorFlow's own pool) size the inter-op pool from ``OMP_NUM_THREADS``, and the
experimental NUMA affinity option divides the intra-op pool by the NUMA nodes.

oneDNN. On Linux, TensorFlow turns its oneDNN kernels on by default only on CPUs with
neural-network instructions (AVX512_VNNI, AVX512_BF16, AVX_VNNI, AMX), and ``TF_ENABLE_ONEDNN_OPTS``
(``0``/``1``/``false``/``true``) overrides that; any other value keeps the default. The record takes
TensorFlow's own answer, ``IsMklEnabled()`` (``tensorflow/core/util/port.cc``), rather than guessing.

The benchmark result files store it as ``machine_info.environment``; the reproduction shows it as
text (``describe_environment``). Until this module, the reproduction named ``os`` ``platform``,
``machine`` ``processor``, ``cpu_cores_usable`` ``cpus``, and stored the GPU count as ``gpus``;
files written before this version stored ``onednn_opts`` (a fixed text) and the thread getters'
raw 0. ``describe_environment`` reads result files written before and after alike (it shows
whatever keys a file has). TensorFlow is imported only by ``collect_environment`` and
``gpu_details``, so the report commands that describe a saved environment stay free of it.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import matplotlib
import numpy as np

from reference.nvidia_smi import nvidia_smi_gpus
from reference.validation import check_instance, check_int, check_path

__all__ = [
    "THREAD_ENV",
    "collect_environment",
    "cpu_model",
    "describe_environment",
    "effective_threads",
    "git_commit",
    "gpu_details",
    "memory_bytes",
    "onednn_state",
    "schedulable_cpus",
]

_BUILD_KEYS = ("is_cuda_build", "is_rocm_build", "is_tensorrt_build", "cuda_version", "cudnn_version")
# The pool -> the environment variable TensorFlow reads when the pool is not configured.
THREAD_ENV = {"intra_op": "TF_NUM_INTRAOP_THREADS", "inter_op": "TF_NUM_INTEROP_THREADS"}
_ENV_KEYS = {
    "tf_enable_onednn_opts": "TF_ENABLE_ONEDNN_OPTS",
    "tf_xla_flags": "TF_XLA_FLAGS",
    "xla_flags": "XLA_FLAGS",
}


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


def schedulable_cpus() -> int:
    """The CPUs this process may run on (``sched_getaffinity``; ``os.cpu_count()`` where it is missing)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def effective_threads(configured: int, variable: str, value: str | None, cpus: int) -> tuple[int, str]:
    """The threads TensorFlow gives a pool, and the rule that gave them (module docstring).

    ``configured`` if > 0; else ``value`` of the environment variable ``variable`` if it is an
    integer > 0; else ``cpus``, the schedulable CPUs.

    Raises:
        ValueError: ``configured`` not an integer >= 0, ``variable`` not a string, ``value`` neither a
            string nor None, ``cpus`` not an integer >= 1.
    """
    configured = check_int("configured", configured, low=0)
    check_instance("variable", variable, str, "the name of an environment variable")
    check_instance("value", value, (str, type(None)), "the variable's text, or None when unset")
    cpus = check_int("cpus", cpus, low=1)
    if configured > 0:
        return configured, "tf.config.threading (set by the program)"
    try:
        from_env = int(value) if value is not None else 0
    except ValueError:
        from_env = 0
    if from_env > 0:
        return from_env, f"{variable}={value.strip()}"
    unset = f"{variable} unset" if value is None else f"{variable}={value!r} ignored"
    return cpus, f"TensorFlow's default ({unset}): the CPUs this process may run on (sched_getaffinity)"


def onednn_state() -> tuple[bool | None, str]:
    """Whether TensorFlow runs its oneDNN kernels, from ``IsMklEnabled()``, and how that was decided."""
    variable = os.environ.get("TF_ENABLE_ONEDNN_OPTS")
    try:
        from tensorflow.python.util import _pywrap_util_port

        enabled = bool(_pywrap_util_port.IsMklEnabled())
    except (ImportError, AttributeError):
        return None, "unknown: this TensorFlow has no _pywrap_util_port.IsMklEnabled()"
    if variable is None:
        return enabled, "IsMklEnabled() (TF_ENABLE_ONEDNN_OPTS unset: the build's default for this CPU)"
    return enabled, f"IsMklEnabled() (TF_ENABLE_ONEDNN_OPTS={variable})"


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


def _gpus(tf, smi: list[dict] | None) -> list[dict]:
    memory = {}
    for gpu in reversed(smi or []):
        memory[gpu["name"]] = gpu["memory_bytes"]
    found = []
    for index, _ in enumerate(tf.config.list_physical_devices("GPU")):
        details = gpu_details(index)
        capability = details.get("compute_capability")
        name = details.get("device_name", "GPU")
        found.append(
            {
                "index": index,
                "name": name,
                "compute_capability": ".".join(map(str, capability)) if capability else None,
                "memory_bytes": memory.get(name),
            }
        )
    return found


def _threads(tf) -> dict:
    cpus = schedulable_cpus()
    configured = {
        "intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
        "inter_op": tf.config.threading.get_inter_op_parallelism_threads(),
    }
    found = {}
    for pool, variable in THREAD_ENV.items():
        threads, source = effective_threads(configured[pool], variable, os.environ.get(variable), cpus)
        found[f"{pool}_threads"] = threads
        found[f"{pool}_threads_source"] = source
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
    onednn, onednn_source = onednn_state()
    smi = nvidia_smi_gpus()
    return {
        "cpu_model": cpu_model(),
        "machine": platform.machine(),
        "cpu_cores_logical": os.cpu_count(),
        "cpu_cores_usable": schedulable_cpus(),
        "memory_bytes": memory_bytes(),
        "os": platform.platform(),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "matplotlib": matplotlib.__version__,
        "tensorflow_build": {key: build.get(key) for key in _BUILD_KEYS},
        "onednn": onednn,
        "onednn_source": onednn_source,
        **{key: os.environ.get(variable) for key, variable in _ENV_KEYS.items()},
        **_threads(tf),
        "gpus": _gpus(tf, smi),
        "gpu_driver": smi[0]["driver"] if smi else None,
        "nvidia_smi_gpus": None
        if smi is None
        else [{k: g[k] for k in ("name", "memory_bytes")} for g in smi],
        "git": git_commit(cwd),
    }


def _gib(value: object) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value / 2**30:.1f} GiB"
    return _text(value)


def _text(value: object) -> str:
    if isinstance(value, dict):
        return (
            ", ".join(f"{k}={_gib(v) if k == 'memory_bytes' else _text(v)}" for k, v in value.items()) or "-"
        )
    if isinstance(value, list):
        return "; ".join(_text(v) for v in value) or "none"
    return "-" if value is None else str(value)


def _described(key: str, value: object) -> str:
    if key == "memory_bytes":
        return _gib(value)
    if key in _ENV_KEYS and value is None:
        return "unset"
    if key in ("gpu_driver", "nvidia_smi_gpus") and value is None:
        return "no nvidia-smi"
    if key == "onednn" and isinstance(value, bool):
        return "on" if value else "off"
    if key.endswith("_op_threads") and value == 0:
        return "0 (TensorFlow's choice, not resolved in this record)"
    return _text(value)


def describe_environment(environment: dict) -> dict[str, str]:
    """Each key's value as one line of text: memory in GiB, nested fields as ``key=value``, an empty list
    ``none``, an unset variable ``unset``, oneDNN ``on``/``off``.

    Raises:
        ValueError: ``environment`` is not a dict.
    """
    check_instance("environment", environment, dict, "a dict (as collect_environment returns)")
    return {key: _described(key, value) for key, value in environment.items()}
