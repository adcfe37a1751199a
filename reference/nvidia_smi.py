"""The NVIDIA driver's view of the GPUs (``nvidia-smi``), for the environment record. No TensorFlow here.

TensorFlow names a GPU and its compute capability (``tf.config.experimental.get_device_details``)
but not the driver version or the memory on the card; ``nvidia-smi`` does:

    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader,nounits

prints one line per GPU, ``NVIDIA A100-SXM4-40GB, 535.104.05, 40960`` (memory in MiB). Without
``nvidia-smi`` on ``PATH`` (no NVIDIA driver: this machine), or when it fails, times out or prints
something else, the answer is ``None``: the record says "not available", never a made-up value.
"""

from __future__ import annotations

import shutil
import subprocess

from reference.validation import check_instance

__all__ = ["QUERY", "TIMEOUT_S", "nvidia_smi_gpus", "parse_nvidia_smi"]

QUERY = ("--query-gpu=name,driver_version,memory.total", "--format=csv,noheader,nounits")
TIMEOUT_S = 10.0
_MIB = 2**20


def parse_nvidia_smi(text: str) -> list[dict] | None:
    """``[{"name", "driver", "memory_bytes"}]``, one per line of ``nvidia-smi``'s CSV (``QUERY``).

    ``memory_bytes = memory.total [MiB] * 2**20``. ``None`` if a line is not ``name, driver, MiB``
    (``[N/A]`` memory, an error message): a partial answer would look complete.

    Raises:
        ValueError: ``text`` is not a string.
    """
    check_instance("text", text, str, "nvidia-smi's output as a string")
    gpus = []
    for line in text.splitlines():
        if not line.strip():
            continue
        parts = [part.strip() for part in line.rsplit(",", 2)]
        if len(parts) != 3 or not parts[0] or not parts[1] or not parts[2].isdigit():
            return None
        gpus.append({"name": parts[0], "driver": parts[1], "memory_bytes": int(parts[2]) * _MIB})
    return gpus or None


def nvidia_smi_gpus() -> list[dict] | None:
    """The GPUs ``nvidia-smi`` lists (``parse_nvidia_smi``), or ``None`` without a working ``nvidia-smi``."""
    executable = shutil.which("nvidia-smi")
    if executable is None:
        return None
    try:
        done = subprocess.run(
            [executable, *QUERY], capture_output=True, text=True, timeout=TIMEOUT_S, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return parse_nvidia_smi(done.stdout)
