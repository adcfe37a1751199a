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
runners of ``MODES``, the readers sort by it. A mode's name says what it is (``Mode``): its family
(``eager``, ``function``, ``xla``, ``fit``, ``trainer``, ``fused``), ``_xla`` for XLA, ``_spe<k>`` for
``k`` steps per call, ``_mixed`` for the device's mixed-precision policy.

An epoch case (``bench_epoch.py``) has the id ``epoch/<data set>/b<batch>/<way>/<callbacks>/<device>``
(``epoch/basic/b32/trainer_spe32/callbacks/CPU:0``; ``nocallbacks`` without them): not a step
case, so ``parse_case_id`` gives ``None`` for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "BOUND_MODES",
    "DEVICE_KINDS",
    "EPOCH_WAYS",
    "MODES",
    "MODE_SPECS",
    "CaseId",
    "Mode",
    "batch_label",
    "benchmark_key",
    "calibration_case_id",
    "case_id",
    "case_key_without_device",
    "case_label",
    "device_kind",
    "distributed_mode",
    "epoch_case_id",
    "float32_twin",
    "mode_rank",
    "parse_case_id",
    "parse_case_label",
]


@dataclass(frozen=True)
class Mode:
    """What a mode name stands for.

    Attributes:
        name: the mode's name in case ids.
        family: ``eager``, ``function`` (one ``tf.function`` call per step), ``xla`` (the same with
            ``jit_compile=True``), ``fit`` (Keras's train function), ``trainer`` (``reference.Trainer``)
            or ``fused`` (many steps in one ``tf.function`` loop on one resident batch).
        jit: compiled with XLA.
        steps_per_execution: steps per call for ``fit`` and ``trainer`` (``compile(steps_per_execution=k)``,
            ``Trainer(steps_per_execution=k)``), drawn from a data set iterator.
        mixed: the device's mixed-precision policy instead of float32 (``benchmarks.precision``).
    """

    name: str
    family: str
    jit: bool = False
    steps_per_execution: int = 1
    mixed: bool = False

    @property
    def needs_model(self) -> bool:
        """``fit``, the ``Trainer`` and a mixed policy need a Keras model (the quadratic has none)."""
        return self.family in ("fit", "trainer") or self.mixed


_LADDER = (
    Mode("eager", "eager"),
    Mode("function", "function"),
    Mode("xla", "xla", jit=True),
    Mode("fit", "fit"),
    Mode("fit_mixed", "fit", mixed=True),
    Mode("fit_xla", "fit", jit=True),
    Mode("fit_spe8", "fit", steps_per_execution=8),
    Mode("fit_spe32", "fit", steps_per_execution=32),
    Mode("trainer", "trainer"),
    Mode("trainer_spe32", "trainer", steps_per_execution=32),
    Mode("fused", "fused"),
    Mode("fused_mixed", "fused", mixed=True),
    Mode("fused_xla", "fused", jit=True),
)
MODE_SPECS: dict[str, Mode] = {mode.name: mode for mode in _LADDER}
MODES = tuple(MODE_SPECS)
# Steps on one batch that never leaves the device: the bound of the ladder, not a way to train on a data set.
BOUND_MODES = tuple(m.name for m in _LADDER if m.family == "fused")
# The ways of the epoch benchmark: the document's three, then fit and the Trainer with 32 steps per call.
EPOCH_WAYS = ("eager", "trainer", "fit", "fit_spe32", "trainer_spe32")
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


def float32_twin(mode: str) -> str | None:
    """The float32 mode a ``_mixed`` mode is compared with (``fit_mixed`` -> ``fit``); ``None`` otherwise."""
    spec = MODE_SPECS.get(mode)
    return mode.removesuffix("_mixed") if spec is not None and spec.mixed else None


def epoch_case_id(dataset: str, batch_size: int, way: str, callbacks: bool, device: str) -> str:
    """The id of an epoch case: ``"epoch/basic/b32/fit/callbacks/CPU:0"``."""
    return f"epoch/{dataset}/b{batch_size}/{way}/{'callbacks' if callbacks else 'nocallbacks'}/{device}"


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
