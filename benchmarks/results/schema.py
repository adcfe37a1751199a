"""The result file ``reports/benchmarks.json``: pytest-benchmark's JSON plus our keys (schema 1), written and read.

pytest-benchmark's own layout is kept whole (``machine_info``, ``commit_info``, ``datetime``,
``version``, ``benchmarks[]`` with ``group``, ``name``, ``fullname``, ``params``, ``options``,
``stats`` including the raw per-round samples ``stats.data``). Our additions:

``machine_info.environment``: the machine and software (``reference.environment``: CPU model and
cores, memory, OS, Python, NumPy, TensorFlow, Keras, TensorFlow's build, oneDNN and XLA flags,
thread pools, GPUs, git commit).

``tfbench`` (top level): ``schema`` (1), ``settings`` (the ``Settings`` used: ``full``/``quick``),
``duration_s`` (the session so far), ``calibration``: ``{device: {"peak_flops", "case", "matmul_n"}}``
(the best matmul FLOP/s measured on that device in this run).

``benchmarks[].extra_info`` (every case):
  ``schema``, ``case`` (stable id ``workload/b<batch>/<mode>/<device>``, e.g. ``basic/b32/xla/CPU:0``;
  calibration: ``calibration/matmul<n>/<device>``; ``benchmarks.results.cases``), ``kind``
  (``training_step`` | ``distributed_step`` | ``calibration``), ``workload``, ``mode``,
  ``batch_size`` (null for the quadratic and calibration), ``device`` (``CPU:0``), ``device_label``,
  ``device_description``, ``strategy`` (``"none"``, or the tf.distribute strategy of a distributed
  step) and ``replicas``, ``settings``, ``time_unit`` (``"seconds per step"``: ``stats`` are per
  step, a fused round's time divided by ``steps_per_round``), ``steps_per_round``,
  ``samples_per_step``, ``flops_per_step``, ``trace_s`` (tracing, null for ``fit`` which traces in
  its first call), ``first_call_s`` (first call: compilation plus one step), ``jit_compile``,
  ``calibration_peak_flops`` (null without a calibration of that device in the run);
  training cases also: ``flops_breakdown``, ``check`` (the mode check: losses, errors,
  tolerances, ``on_dropout_free_twin``, ``steps``, ``dtype_policy``), ``steps_per_call`` (``k`` of
  a ``k``-step mode) and ``dtype_policy`` (``float32``, or the mixed policy of a ``_mixed`` mode);
  calibration cases: ``matmul_n``; epoch cases (kind ``epoch``, ``time_unit`` ``"seconds per
  epoch"``): ``workload`` is the data set, ``mode`` the way, ``callbacks`` (bool),
  ``steps_per_round`` the epochs of one round, ``samples_per_step`` the training rows of an epoch,
  ``steps_per_epoch``, ``data_source``, ``check`` (``update_rel_err`` against the eager loop's first
  epoch);
  ``pass`` and ``passes``: a timed run times each case once per pass (``Settings.passes``), each
  pass its own entry; the reader pools them (``pooled_passes``, which adds ``pass_rounds``).

Derived numbers (steps/s = 1 / median, samples/s, FLOP/s, efficiency = FLOP/s / peak, speedups)
are computed by the readers from these fields, never stored twice.

Reading validates every field a tool reads, type included (``RESULT_FILE``, ``CASE``;
``benchmarks.results.fields``): a value of the wrong type is refused naming the file and the field,
``run.json: benchmarks[3].extra_info.batch_size: expected an integer >= 1 or null, got 'big'``,
never turned into a plausible number or a silently dropped row. Entries of ``benchmarks`` without
``extra_info.schema`` are another plugin's and are not read beyond being objects.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.results.fields import Field, FieldError, check

__all__ = [
    "CASE",
    "KINDS",
    "RESULT_FILE",
    "SCHEMA_VERSION",
    "CaseResult",
    "ResultInputError",
    "RunResults",
    "annotate",
    "calibration_peaks",
    "load_results",
    "parse_results",
    "pooled_passes",
    "read_json",
]

SCHEMA_VERSION = 1
KINDS = ("training_step", "distributed_step", "calibration", "epoch")


def _number(*, low: float = 0.0, low_open: bool = False, nullable: bool = False, required: bool = False):
    return Field("number", low=low, low_open=low_open, nullable=nullable, required=required)


def _integer(*, low: int = 1, nullable: bool = False, required: bool = False):
    return Field("integer", low=low, nullable=nullable, required=required)


def _string(*, required: bool = False, nullable: bool = False):
    return Field("string", required=required, nullable=nullable)


# One case of ours: ``benchmarks[i]`` whose ``extra_info.schema`` is set. Every field a tool reads.
CASE = Field(
    "object",
    fields={
        "extra_info": Field(
            "object",
            required=True,
            fields={
                "schema": Field("integer", required=True, choices=(SCHEMA_VERSION,)),
                "case": _string(required=True),
                "kind": Field("string", required=True, choices=KINDS),
                "workload": _string(required=True),
                "mode": _string(required=True),
                "device": _string(required=True),
                "device_label": _string(),
                "batch_size": _integer(nullable=True),
                "steps_per_round": _integer(required=True),
                "flops_per_step": _number(required=True),
                "trace_s": _number(nullable=True),
                "first_call_s": _number(nullable=True),
                "calibration_peak_flops": _number(low_open=True, nullable=True),
                "jit_compile": Field("boolean", nullable=True),
                "check": Field(
                    "object",
                    nullable=True,
                    fields={
                        "loss_rel_err": _number(nullable=True),
                        "update_rel_err": _number(nullable=True),
                    },
                ),
                "strategy": _string(),
                "replicas": _integer(),
                "pass": _integer(low=0),
                "passes": _integer(),
                "matmul_n": _integer(nullable=True),
                "profile": _string(nullable=True),
                "steps_per_call": _integer(),
                "samples_per_step": _integer(nullable=True),
                "dtype_policy": _string(),
                "callbacks": Field("boolean", nullable=True),
            },
        ),
        "stats": Field(
            "object",
            required=True,
            fields={
                "data": Field("list", required=True, non_empty=True, items=_number(low_open=True)),
            },
        ),
    },
)
# The whole file; ``benchmarks[i]`` of ours are checked against ``CASE`` as well.
RESULT_FILE = Field(
    "object",
    fields={
        "benchmarks": Field(
            "list",
            required=True,
            items=Field("object", fields={"extra_info": Field("object", nullable=True)}),
        ),
        "machine_info": Field(
            "object",
            nullable=True,
            fields={
                "node": _string(nullable=True),
                "environment": Field("object", nullable=True),
                "cpu": Field(
                    "object",
                    nullable=True,
                    fields={
                        "brand_raw": _string(nullable=True),
                        "arch": _string(nullable=True),
                        "count": _integer(nullable=True),
                        "hz_advertised_friendly": _string(nullable=True),
                        "hz_actual_friendly": _string(nullable=True),
                    },
                ),
            },
        ),
        "commit_info": Field(
            "object",
            nullable=True,
            fields={
                "id": _string(nullable=True),
                "dirty": Field("boolean", nullable=True),
                "branch": _string(nullable=True),
            },
        ),
        "datetime": _string(nullable=True),
        "tfbench": Field(
            "object",
            nullable=True,
            fields={
                "schema": Field("integer", required=True),
                "settings": Field("object", nullable=True, fields={"name": _string(nullable=True)}),
                "duration_s": _number(nullable=True),
                "calibration": Field(
                    "object",
                    nullable=True,
                    values=Field(
                        "object",
                        fields={
                            "peak_flops": _number(low_open=True, required=True),
                            "case": _string(required=True),
                            "matmul_n": _integer(nullable=True),
                        },
                    ),
                ),
            },
        ),
    },
)


class ResultInputError(ValueError):
    """A result file (or a reference to one) cannot be used; the message is one line saying why."""


# Writing ---------------------------------------------------------------------------------------


def calibration_peaks(benchmarks: list[dict]) -> dict[str, dict]:
    """Per device, the calibration case with the highest FLOP/s (``flops_per_step / median``), the
    median taken over the samples of all its passes."""
    cases: dict[str, tuple[dict, list[float]]] = {}
    for bench in benchmarks:
        info = bench.get("extra_info", {})
        if info.get("kind") == "calibration":
            cases.setdefault(info["case"], (info, []))[1].extend(bench["stats"]["data"])
    peaks: dict[str, dict] = {}
    for info, samples in cases.values():
        flops_per_s = info["flops_per_step"] / float(np.median(samples))
        best = peaks.get(info["device"])
        if best is None or flops_per_s > best["peak_flops"]:
            peaks[info["device"]] = {
                "peak_flops": flops_per_s,
                "case": info["case"],
                "matmul_n": info.get("matmul_n"),
            }
    return peaks


def annotate(output_json: dict, *, settings: dict, duration_s: float) -> dict:
    """Add the ``tfbench`` section and each case's ``calibration_peak_flops`` to pytest-benchmark's JSON."""
    benchmarks = [b for b in output_json.get("benchmarks", []) if b.get("extra_info", {}).get("schema")]
    peaks = calibration_peaks(benchmarks)
    for bench in benchmarks:
        info = bench["extra_info"]
        info["calibration_peak_flops"] = peaks.get(info["device"], {}).get("peak_flops")
    output_json["tfbench"] = {
        "schema": SCHEMA_VERSION,
        "settings": settings,
        "duration_s": duration_s,
        "calibration": peaks,
    }
    return output_json


# Reading ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseResult:
    """One benchmark case with its per-step samples (seconds)."""

    case: str
    kind: str
    workload: str
    mode: str
    batch_size: int | None
    device: str
    device_label: str
    steps_per_round: int
    samples: np.ndarray
    flops_per_step: float
    trace_s: float | None
    first_call_s: float | None
    peak_flops: float | None
    jit_compile: bool | None
    check: dict | None
    strategy: str = "none"
    replicas: int = 1
    profile: str | None = None
    dtype_policy: str = "float32"
    callbacks: bool | None = None
    samples_per_step: int | None = None

    @property
    def median_s(self) -> float:
        return float(np.median(self.samples))

    @property
    def iqr_s(self) -> float:
        q1, q3 = np.percentile(self.samples, [25, 75])
        return float(q3 - q1)

    @property
    def steps_per_s(self) -> float:
        return 1.0 / self.median_s

    @property
    def samples_per_s(self) -> float | None:
        """Samples per step (the batch; an epoch case's training rows) times steps per second."""
        samples = self.samples_per_step or self.batch_size
        return None if samples is None else samples * self.steps_per_s

    @property
    def flops_per_s(self) -> float:
        return self.flops_per_step * self.steps_per_s

    @property
    def efficiency(self) -> float | None:
        return self.flops_per_s / self.peak_flops if self.peak_flops else None


@dataclass(frozen=True)
class RunResults:
    """Everything read from one result file."""

    machine_info: dict
    commit_info: dict
    datetime: str
    meta: dict
    cases: list[CaseResult]

    @property
    def training(self) -> list[CaseResult]:
        return [c for c in self.cases if c.kind == "training_step"]

    @property
    def distributed(self) -> list[CaseResult]:
        return [c for c in self.cases if c.kind == "distributed_step"]

    @property
    def calibration(self) -> list[CaseResult]:
        return [c for c in self.cases if c.kind == "calibration"]

    @property
    def epochs(self) -> list[CaseResult]:
        """Epoch cases: ``median_s`` is seconds per epoch, ``workload`` the data set, ``mode`` the way."""
        return [c for c in self.cases if c.kind == "epoch"]

    def devices(self) -> list[str]:
        return sorted({c.device for c in self.cases})

    def workloads(self) -> list[str]:
        return list(dict.fromkeys(c.workload for c in self.training))


def _case(entry: dict) -> CaseResult:
    """A validated entry (``CASE``) as a ``CaseResult``."""
    info = entry["extra_info"]
    return CaseResult(
        case=info["case"],
        kind=info["kind"],
        workload=info["workload"],
        mode=info["mode"],
        batch_size=info.get("batch_size"),
        device=info["device"],
        device_label=info.get("device_label", info["device"]),
        steps_per_round=info["steps_per_round"],
        samples=np.asarray(entry["stats"]["data"], dtype=float),
        flops_per_step=float(info["flops_per_step"]),
        trace_s=info.get("trace_s"),
        first_call_s=info.get("first_call_s"),
        peak_flops=info.get("calibration_peak_flops"),
        jit_compile=info.get("jit_compile"),
        check=info.get("check"),
        strategy=info.get("strategy", "none"),
        replicas=info.get("replicas", 1),
        profile=info.get("profile"),
        dtype_policy=info.get("dtype_policy", "float32"),
        callbacks=info.get("callbacks"),
        samples_per_step=info.get("samples_per_step"),
    )


def _check_case(entry: dict, index: int) -> None:
    try:
        check(entry, CASE, f"benchmarks[{index}]")
    except FieldError as error:
        case = (entry.get("extra_info") or {}).get("case")
        raise ResultInputError(f"{error} (case {case})" if isinstance(case, str) else str(error)) from None


def pooled_passes(entries: list[tuple[int, dict]]) -> list[tuple[int, dict]]:
    """One entry per case: the passes of a case (``extra_info["pass"]``) with their samples pooled.

    The first pass's entry is kept (its build, trace and check), with ``stats.data`` the samples
    of every pass in pass order and ``extra_info["pass_rounds"]`` the rounds of each. Files
    without passes come back unchanged.

    Raises:
        ResultInputError: a case with the same pass twice.
    """
    by_case: dict[tuple[str, str], list[tuple[int, dict]]] = {}
    for index, entry in entries:
        info = entry["extra_info"]
        by_case.setdefault((str(info.get("case")), str(info.get("strategy", "none"))), []).append(
            (index, entry)
        )
    pooled = []
    for (case, _), group in by_case.items():
        if len(group) == 1:
            pooled.append(group[0])
            continue
        passes = [entry["extra_info"].get("pass") for _, entry in group]
        if None in passes or len(set(passes)) != len(passes):
            raise ResultInputError(
                f"case {case} appears {len(group)} times, passes {passes}: not distinct passes"
            )
        group.sort(key=lambda item: item[1]["extra_info"]["pass"])
        index, first = group[0]
        data = [entry.get("stats", {}).get("data") for _, entry in group]
        if not all(isinstance(d, list) and d for d in data):
            raise ResultInputError(
                f"benchmark #{index} ({case}) has a pass without raw samples in stats.data"
            )
        merged = dict(first)
        merged["extra_info"] = first["extra_info"] | {"pass_rounds": [len(d) for d in data]}
        merged["stats"] = dict(first.get("stats", {})) | {"data": [x for d in data for x in d]}
        pooled.append((index, merged))
    return pooled


def parse_results(document: object) -> RunResults:
    """Validate a decoded result JSON, field by field (``RESULT_FILE``, ``CASE``), and build ``RunResults``.

    Raises:
        ResultInputError: a field missing or of the wrong type (named by its path), the same pass
            of a case twice, or no case of ours.
    """
    try:
        check(document, RESULT_FILE)
    except FieldError as error:
        raise ResultInputError(str(error)) from None
    ours = [(i, b) for i, b in enumerate(document["benchmarks"]) if (b.get("extra_info") or {}).get("schema")]
    if not ours:
        raise ResultInputError("contains no tfbench benchmark case (no extra_info with a 'schema' key)")
    for index, entry in ours:
        _check_case(entry, index)
    return RunResults(
        machine_info=document.get("machine_info") or {},
        commit_info=document.get("commit_info") or {},
        datetime=document.get("datetime") or "",
        meta=document.get("tfbench") or {},
        cases=[_case(entry) for _, entry in pooled_passes(ours)],
    )


def read_json(path: str | Path, what: str = "result file") -> object:
    """The decoded JSON document of the file ``path`` (``what`` names its kind in the messages).

    Raises:
        ResultInputError: missing, a folder, empty, not UTF-8, not JSON, nested too deeply; the message
            starts with the path.
        OSError: the file cannot be read.
    """
    path = Path(path)
    if path.is_dir():
        raise ResultInputError(f"{path}: is a folder, not a {what}")
    if not path.is_file():
        raise ResultInputError(f"{path}: no such file")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        raise ResultInputError(f"{path}: not UTF-8 text (byte {error.start})") from None
    if not text.strip():
        raise ResultInputError(f"{path}: file is empty")
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ResultInputError(f"{path}: not valid JSON ({error.msg} at line {error.lineno})") from None
    except RecursionError:
        raise ResultInputError(f"{path}: not a {what} (JSON nested too deeply)") from None


def load_results(path: str | Path) -> RunResults:
    """Read and validate a result file.

    Raises:
        ResultInputError: missing, a folder, empty, not UTF-8, not JSON, nested too deeply (``read_json``),
            or not a valid result of this suite (``parse_results``); the message starts with the path.
        OSError: the file cannot be read.
    """
    document = read_json(path)
    try:
        return parse_results(document)
    except ResultInputError as error:
        raise ResultInputError(f"{path}: {error}") from None
