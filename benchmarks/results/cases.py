"""What names a benchmark case: the execution modes in ladder order, case ids, batch labels, cross-run keys.

A case id is ``workload/b<batch>/<mode>/<device>`` (``basic/b32/fused_xla/CPU:0``; ``b-`` without a
batch size, as for the quadratic); a distributed step's mode part is ``<strategy>x<replicas>``
(``basic/b256/mirroredx2/CPU:0``), a calibration's id ``calibration/matmul<n>/<device>``. The ids are
stable across runs: the gate, the history and the comparison match benchmarks by them.

A device is ``<kind>:<index>`` with kind ``CPU``, ``GPU`` or ``TPU`` (``DEVICE_KINDS``): the short
name TensorFlow gives a logical device. A case's key without its device (``case_key_without_device``,
``basic/b32/xla``) names the same work on any device: the comparison matches each machine's best
device by it.

A case label is what the pytest parametrization shows and ``tfbench-ab --cases`` takes:
``<workload>-b<batch>-<mode>`` (``basic-b32-function``, ``quadratic-b--fused_xla``), without a device.

This module is the one source of the mode ladder: ``benchmarks.modes`` (with TensorFlow) builds the
runners of ``MODES``, the readers sort by it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "DEVICE_KINDS",
    "MODES",
    "CaseId",
    "batch_label",
    "benchmark_key",
    "calibration_case_id",
    "case_id",
    "case_key_without_device",
    "case_label",
    "device_kind",
    "distributed_mode",
    "mode_rank",
    "parse_case_id",
    "parse_case_label",
]

MODES = ("eager", "function", "xla", "fit", "fused", "fused_xla")
DEVICE_KINDS = ("CPU", "GPU", "TPU")
_DEVICE = re.compile(r"(?P<kind>[A-Z]+):(?P<index>\d+)")
NO_BATCH = "-"
_CASE_ID = re.compile(r"(?P<workload>[^/]+)/b(?P<batch>\d+|-)/(?P<mode>[^/]+)/(?P<device>[^/]+)")
_CASE_LABEL = re.compile(r"(?P<workload>[^-/]+)-b(?P<batch>\d+|-)-(?P<mode>[^-/]+)")


@dataclass(frozen=True)
class CaseId:
    """The parts of a case id; ``str()`` gives the id back."""

    workload: str
    batch_size: int | None
    mode: str
    device: str

    def __str__(self) -> str:
        return f"{self.workload}/b{batch_label(self.batch_size)}/{self.mode}/{self.device}"


def batch_label(batch_size: int | None) -> str:
    """``"32"``, or ``"-"`` for a case without a batch size."""
    return NO_BATCH if batch_size is None else str(batch_size)


def case_id(workload: str, batch_size: int | None, mode: str, device: str) -> str:
    """The stable id of a training or distributed case: ``"basic/b32/fused_xla/CPU:0"``."""
    return str(CaseId(workload, batch_size, mode, device))


def case_label(workload: str, batch_size: int | None, mode: str) -> str:
    """The label of a training case in the benchmark matrix: ``"basic-b32-function"``."""
    return f"{workload}-b{batch_label(batch_size)}-{mode}"


def parse_case_label(text: str) -> tuple[str, int | None, str] | None:
    """``(workload, batch_size, mode)`` of a case label; ``None`` if ``text`` is not one."""
    parsed = _CASE_LABEL.fullmatch(text)
    if parsed is None:
        return None
    batch = parsed["batch"]
    return parsed["workload"], None if batch == NO_BATCH else int(batch), parsed["mode"]


def calibration_case_id(n: int, device: str) -> str:
    """The id of an ``n x n`` matmul calibration: ``"calibration/matmul512/CPU:0"``."""
    return f"calibration/matmul{n}/{device}"


def distributed_mode(strategy: str, replicas: int) -> str:
    """The mode part of a distributed case's id: ``"mirroredx2"``."""
    return f"{strategy}x{replicas}"


def parse_case_id(text: str) -> CaseId | None:
    """The parts of a training or distributed case id; ``None`` for any other id (a calibration's)."""
    parsed = _CASE_ID.fullmatch(text)
    if parsed is None:
        return None
    batch = parsed["batch"]
    return CaseId(
        parsed["workload"], None if batch == NO_BATCH else int(batch), parsed["mode"], parsed["device"]
    )


def mode_rank(mode: str) -> int:
    """Position of ``mode`` in the ladder (unknown modes last)."""
    return MODES.index(mode) if mode in MODES else len(MODES)


def benchmark_key(case: str, strategy: str | None) -> str:
    """The key that matches a benchmark across runs: ``case``, plus ``[strategy]`` if the case lacks it."""
    if not strategy or strategy == "none" or strategy in case:
        return case
    return f"{case}[{strategy}]"


def device_kind(device: str) -> str:
    """``"GPU"`` of ``"GPU:0"``.

    Raises:
        ValueError: ``device`` is not ``<kind>:<index>`` with a kind of ``DEVICE_KINDS``.
    """
    parsed = _DEVICE.fullmatch(device) if isinstance(device, str) else None
    if parsed is None or parsed["kind"] not in DEVICE_KINDS:
        kinds = [f"{kind}:<n>" for kind in DEVICE_KINDS]
        raise ValueError(f"unknown device {device!r} (expected {', '.join(kinds[:-1])} or {kinds[-1]})")
    return parsed["kind"]


def case_key_without_device(key: str) -> str | None:
    """A benchmark key (``benchmark_key``) without its device: ``"basic/b32/xla"``,
    ``"basic/b256/mirroredx2[mirrored]"``; ``None`` for a calibration or any other id."""
    case, bracket, strategy = key.partition("[")
    parsed = parse_case_id(case)
    if parsed is None:
        return None
    return f"{parsed.workload}/b{batch_label(parsed.batch_size)}/{parsed.mode}{bracket}{strategy}"
