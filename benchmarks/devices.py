"""The devices TensorFlow sees, with readable ids for test ids, groups and the report.

``visible_devices()`` lists ``CPU:0`` (always) and every logical GPU. A device's ``label`` is
``"CPU:0"`` or ``"GPU:0 (NVIDIA A100-SXM4-40GB)"``; its ``short`` name (``"GPU:0"``) is the stable
key stored in results, its ``description`` the hardware name.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from pathlib import Path

import tensorflow as tf

NO_GPU_REASON = "no GPU visible to TensorFlow (tf.config.list_logical_devices('GPU') is empty)"


@dataclass(frozen=True)
class Device:
    """One logical device: ``kind`` is ``"CPU"`` or ``"GPU"``."""

    kind: str
    index: int
    description: str

    @property
    def short(self) -> str:
        return f"{self.kind}:{self.index}"

    @property
    def tf_name(self) -> str:
        """The name for ``tf.device``."""
        return f"/device:{self.kind}:{self.index}"

    @property
    def label(self) -> str:
        return self.short if self.kind == "CPU" else f"{self.short} ({self.description})"


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux, else ``platform.processor()``)."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine() or "unknown CPU"


def gpu_details(index: int) -> dict:
    """TensorFlow's details of physical GPU ``index`` (``device_name``, ``compute_capability``)."""
    physical = tf.config.list_physical_devices("GPU")
    if index >= len(physical):
        return {}
    return dict(tf.config.experimental.get_device_details(physical[index]))


def visible_devices() -> list[Device]:
    """``CPU:0`` and every logical GPU, in TensorFlow's order."""
    devices = [Device("CPU", 0, cpu_model())]
    for index, _ in enumerate(tf.config.list_logical_devices("GPU")):
        devices.append(Device("GPU", index, gpu_details(index).get("device_name", "GPU")))
    return devices
