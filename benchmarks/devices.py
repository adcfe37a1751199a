"""The devices TensorFlow sees, with readable ids for test ids, groups and the report.

``visible_devices()`` lists ``CPU:0`` (always) and every logical GPU. A device's ``label`` is
``"CPU:0"`` or ``"GPU:0 (NVIDIA A100-SXM4-40GB)"``; its ``short`` name (``"GPU:0"``) is the stable
key stored in results, its ``description`` the hardware name.
"""

from __future__ import annotations

from dataclasses import dataclass

import tensorflow as tf

from reference.environment import cpu_model, gpu_details

__all__ = ["NO_GPU_REASON", "Device", "visible_devices"]

NO_GPU_REASON = "no GPU visible to TensorFlow (tf.config.list_logical_devices('GPU') is empty)"


@dataclass(frozen=True)
class Device:
    """One logical device: ``kind`` is ``"CPU"`` or ``"GPU"``."""

    kind: str
    index: int
    description: str
    compute_capability: tuple[int, int] | None = None

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


def visible_devices() -> list[Device]:
    """``CPU:0`` and every logical GPU, in TensorFlow's order."""
    devices = [Device("CPU", 0, cpu_model())]
    for index, _ in enumerate(tf.config.list_logical_devices("GPU")):
        details = gpu_details(index)
        capability = details.get("compute_capability")
        devices.append(
            Device("GPU", index, details.get("device_name", "GPU"), tuple(capability) if capability else None)
        )
    return devices
