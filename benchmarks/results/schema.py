"""The result file ``reports/benchmarks.json``: pytest-benchmark's JSON plus our keys (schema 1).

pytest-benchmark's own layout is kept whole (``machine_info``, ``commit_info``, ``datetime``,
``version``, ``benchmarks[]`` with ``group``, ``name``, ``fullname``, ``params``, ``options``,
``stats`` including the raw per-round samples ``stats.data``). Our additions:

``machine_info.environment``: CPU model and cores, memory, OS, Python, NumPy, TensorFlow, Keras,
TensorFlow's build (CUDA/cuDNN), oneDNN and XLA flags, thread pools, GPUs, git commit.

``tfbench`` (top level): ``schema`` (1), ``settings`` (the ``Settings`` used: ``full``/``quick``),
``duration_s`` (the session so far), ``calibration``: ``{device: {"peak_flops", "case", "matmul_n"}}``
(the best matmul FLOP/s measured on that device in this run).

``benchmarks[].extra_info`` (every case):
  ``schema``, ``case`` (stable id ``workload/b<batch>/<mode>/<device>``, e.g. ``basic/b32/xla/CPU:0``;
  calibration: ``calibration/matmul<n>/<device>``), ``kind`` (``training_step`` | ``calibration``),
  ``workload``, ``mode``, ``batch_size`` (null for the quadratic and calibration), ``device``
  (``CPU:0``), ``device_label``, ``device_description``, ``strategy`` (``"none"``; a later
  tf.distribute dimension sets it and ``replicas``), ``replicas``, ``settings``, ``time_unit``
  (``"seconds per step"``: ``stats`` are per step, a fused round's time divided by
  ``steps_per_round``), ``steps_per_round``, ``samples_per_step``, ``flops_per_step``,
  ``trace_s`` (tracing, null for ``fit`` which traces in its first call), ``first_call_s`` (first
  call: compilation plus one step), ``jit_compile``, ``calibration_peak_flops`` (null without a
  calibration of that device in the run);
  training cases also: ``flops_breakdown`` and ``check`` (the mode check: losses, errors,
  tolerances, ``on_dropout_free_twin``); calibration cases: ``matmul_n``;
  ``pass`` and ``passes``: a timed run times each case once per pass (``Settings.passes``), each
  pass its own entry; readers pool them (``benchmarks.analysis.pooled_passes``, which adds
  ``pass_rounds``).

Derived numbers (steps/s = 1 / median, samples/s, FLOP/s, efficiency = FLOP/s / peak, speedups)
are computed by the report from these fields, never stored twice.
"""

from __future__ import annotations

import numpy as np

SCHEMA_VERSION = 1


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
