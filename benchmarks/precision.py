"""The precision dimension: float32, or the device's mixed-precision policy for the ``_mixed`` modes.

A ``_mixed`` mode builds its model with a Keras mixed policy (float32 weights, 16-bit compute, the
output layer in float32: ``reference.models.build_model``). Which policy is ``--bench-precision``'s
choice (``PRECISION_CHOICES``):

| choice | GPU | CPU |
|---|---|---|
| ``auto`` (default) | ``mixed_float16`` | ``mixed_bfloat16`` with native bfloat16, else skipped |
| ``mixed_bfloat16`` | from compute capability 8.0 | with native bfloat16 |
| ``mixed_float16`` | every GPU | skipped: no fast float16 on CPUs |
| ``float32`` | no ``_mixed`` case | no ``_mixed`` case |

Native bfloat16 on a CPU: the ``avx512_bf16`` or ``amx_bf16`` flags on x86, ``bf16`` on Arm
(``/proc/cpuinfo``); TensorFlow's oneDNN kernels use them, elsewhere bfloat16 is emulated and slower
than float32, which would measure the emulation, not mixed precision. A case on a device that
cannot run the chosen policy is skipped with the reason; a chosen policy that no visible device
can run is refused when the session starts (``check_choice``: a usage error, exit 2).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

__all__ = [
    "CPU_BF16_FLAGS",
    "PRECISION_CHOICES",
    "case_policy",
    "check_choice",
    "cpu_flags",
    "unsupported_reason",
]

PRECISION_CHOICES = ("auto", "float32", "mixed_bfloat16", "mixed_float16")
CPU_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16", "bf16"})
BF16_GPU_CAPABILITY = (8, 0)


def cpu_flags(cpuinfo: str | Path = "/proc/cpuinfo") -> frozenset[str]:
    """The CPU's feature flags (``flags`` on x86, ``Features`` on Arm); empty where there is no cpuinfo."""
    path = Path(cpuinfo)
    if not path.is_file():
        return frozenset()
    for line in path.read_text(errors="replace").splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return frozenset(value.split())
    return frozenset()


def unsupported_reason(
    policy: str,
    device_kind: str,
    *,
    flags: frozenset[str] | None = None,
    compute_capability: tuple[int, int] | None = None,
) -> str | None:
    """Why ``device_kind`` (``"CPU"``/``"GPU"``) cannot run ``policy`` natively, or ``None`` if it can."""
    if policy == "float32":
        return None
    if device_kind == "GPU":
        if policy == "mixed_bfloat16" and (compute_capability or (0, 0)) < BF16_GPU_CAPABILITY:
            return f"mixed_bfloat16 needs a GPU of compute capability 8.0 or more (this one: {compute_capability})"
        return None
    if policy == "mixed_float16":
        return "mixed_float16 runs on GPUs; CPUs have no fast float16 arithmetic"
    present = CPU_BF16_FLAGS & (cpu_flags() if flags is None else flags)
    if not present:
        return (
            "this CPU has no native bfloat16 (none of the cpuinfo flags "
            f"{', '.join(sorted(CPU_BF16_FLAGS))}): TensorFlow would emulate it"
        )
    return None


def case_policy(mixed: bool, choice: str, device_kind: str, **support) -> tuple[str, str | None]:
    """``(policy, skip reason)`` of a case: ``float32`` for a float32 mode, else the choice's mixed policy.

    ``support`` goes to ``unsupported_reason`` (``flags``, ``compute_capability``). The reason is
    ``None`` when the device can run the policy.
    """
    if not mixed:
        return "float32", None
    if choice == "float32":
        return "float32", "--bench-precision float32: no mixed-precision case"
    policy = choice if choice != "auto" else ("mixed_float16" if device_kind == "GPU" else "mixed_bfloat16")
    return policy, unsupported_reason(policy, device_kind, **support)


def check_choice(choice: object, devices: Sequence[tuple[str, tuple[int, int] | None]]) -> str:
    """``choice`` if it is one of ``PRECISION_CHOICES`` and a named policy runs on one of ``devices``.

    ``devices``: ``(kind, compute capability or None)`` of every visible device.

    Raises:
        ValueError: an unknown choice, or a mixed policy that no device can run (the message names
            ``--bench-precision``, the value and why).
    """
    if choice not in PRECISION_CHOICES:
        raise ValueError(
            f"--bench-precision must be one of {', '.join(PRECISION_CHOICES)}. Received: {choice!r}"
        )
    if choice in ("auto", "float32"):
        return choice
    reasons = [unsupported_reason(choice, kind, compute_capability=cc) for kind, cc in devices]
    if all(reasons):
        raise ValueError(
            f"--bench-precision {choice} is not supported by any device here: {'; '.join(reasons)}"
        )
    return choice
