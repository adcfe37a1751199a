"""Result files in the benchmark schema, built from NumPy samples (for the report, gate, compare and history tests).

Per-step samples are ``median * factor * exp(spread * z)``: ``z`` standard normal draws
(``seed``) or, with ``quantiles=True``, the ``n`` evenly spaced normal quantiles, so the sample
median is exactly ``median * factor`` (``n`` odd) and a ``factor`` is an exact shift.
``jitter`` multiplies each training case's times by its own ``exp(jitter * z_case)`` (one draw per
case and run, ``jitter_seed``): a shared machine's drift between runs, which rounds cannot show.

This machine has no GPU: ``relabel_device`` simulates a run on another device by renaming the device
of a CPU document (same numbers), ``with_devices`` joins such documents into one run of a box with
several devices.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from scipy.stats import norm

from benchmarks.results.schema import annotate

MEDIANS = {"eager": 20e-3, "function": 2e-3, "xla": 1e-3, "fused": 0.5e-3}
CALIBRATION_N = 512
PEAK_FLOPS = 50e9
FLOPS_PER_SAMPLE = 10_000
FUSED_STEPS = 8
TRACE_S = 0.2
FIRST_CALL_S = 0.5
CHECK = {"loss_rel_err": 0.0, "update_rel_err": 1e-6}
EPOCH_ROWS = 800


def _samples(median: float, rounds: int, spread: float, rng: np.random.Generator, quantiles: bool) -> list:
    z = norm.ppf((np.arange(rounds) + 0.5) / rounds) if quantiles else rng.standard_normal(rounds)
    return (median * np.exp(spread * z)).tolist()


def _entry(info: dict, samples: list) -> dict:
    return {
        "group": "g",
        "name": f"test[{info['case']}]",
        "fullname": f"bench.py::test[{info['case']}]",
        "params": None,
        "extra_info": {"schema": 1, "strategy": "none", "replicas": 1, "settings": "quick", **info},
        "stats": {"median": float(np.median(samples)), "rounds": len(samples), "data": samples},
    }


def distributed_replicas(strategy: str) -> int:
    """Replicas of a synthetic distributed case: 1 without a strategy, else 2."""
    return 1 if strategy == "none" else 2


def result_document(
    *,
    seed: int = 0,
    rounds: int = 21,
    spread: float = 0.02,
    quantiles: bool = False,
    medians: dict[str, float] | None = None,
    slow: dict[str, float] | None = None,
    calibration_slow: float = 1.0,
    calibration_spread: float | None = None,
    workload: str = "basic",
    batches: tuple[int, ...] = (32, 2048),
    modes: tuple[str, ...] | None = None,
    strategies: tuple[str, ...] = (),
    node: str = "test-node",
    cpu_model: str = "Test CPU",
    device_label: str = "CPU:0",
    tensorflow: str = "2.21.0",
    branch: str = "main",
    commit: str = "0123456789abcdef0123456789abcdef01234567",
    when: str = "2026-01-01T12:00:00+00:00",
    calibration: bool = True,
    jitter: float = 0.0,
    jitter_seed: int = 0,
    epochs: dict[str, float] | None = None,
    callbacks_cost: float = 1.5,
) -> dict:
    """A result file like the plugin writes.

    Training cases: every mode of ``medians`` (default ``MEDIANS``; ``modes`` picks some) at every
    batch size, median ``medians[mode] * batch / 32``. ``slow`` multiplies the step times of the listed
    modes (``"*"``: every mode) or strategies; ``calibration_slow`` the calibration's
    (``calibration_spread``: its own spread). Distributed cases: one per batch and strategy,
    ``<strategy>x<replicas>`` (``distributed_replicas``), timed like ``function`` times ``slow``.
    Epoch cases: one per way of ``epochs`` (way -> median seconds per epoch) on the data set ``workload``
    at batch 32, callbacks off, and on with the median times ``callbacks_cost``.
    """
    medians = MEDIANS if medians is None else medians
    modes = tuple(medians) if modes is None else modes
    rng = np.random.default_rng(seed)
    drift = np.random.default_rng(jitter_seed)
    slow = slow or {}
    common = {"workload": workload, "device": "CPU:0", "device_label": device_label}
    benchmarks = []
    if calibration:
        flops = 2 * CALIBRATION_N**3
        info = common | {
            "case": f"calibration/matmul{CALIBRATION_N}/CPU:0",
            "kind": "calibration",
            "workload": "matmul",
            "mode": "function",
            "batch_size": None,
            "steps_per_round": 1,
            "flops_per_step": flops,
            "matmul_n": CALIBRATION_N,
        }
        spread_c = spread if calibration_spread is None else calibration_spread
        median = flops / PEAK_FLOPS * calibration_slow
        benchmarks.append(_entry(info, _samples(median, rounds, spread_c, rng, quantiles)))
    for batch in batches:
        for mode in modes:
            factor = slow.get(mode, slow.get("*", 1.0))
            info = common | {
                "case": f"{workload}/b{batch}/{mode}/CPU:0",
                "kind": "training_step",
                "mode": mode,
                "batch_size": batch,
                "samples_per_step": batch,
                "steps_per_round": FUSED_STEPS if mode.startswith("fused") else 1,
                "flops_per_step": FLOPS_PER_SAMPLE * batch,
                "trace_s": TRACE_S,
                "first_call_s": FIRST_CALL_S,
                "check": CHECK,
            }
            median = medians[mode] * batch / 32 * factor * float(np.exp(jitter * drift.standard_normal()))
            benchmarks.append(_entry(info, _samples(median, rounds, spread, rng, quantiles)))
    for batch in batches:
        for strategy in strategies:
            replicas = distributed_replicas(strategy)
            info = common | {
                "case": f"{workload}/b{batch}/{strategy}x{replicas}/CPU:0",
                "kind": "distributed_step",
                "mode": "function",
                "strategy": strategy,
                "replicas": replicas,
                "batch_size": batch,
                "samples_per_step": batch,
                "steps_per_round": 1,
                "flops_per_step": FLOPS_PER_SAMPLE * batch,
                "check": {"update_rel_err": CHECK["update_rel_err"]},
            }
            median = MEDIANS["function"] * batch / 32 * slow.get(strategy, 1.0)
            benchmarks.append(_entry(info, _samples(median, rounds, spread, rng, quantiles)))
    for callbacks in (False, True) if epochs else ():
        for way, seconds in epochs.items():
            info = common | {
                "case": f"epoch/{workload}/b32/{way}/{'callbacks' if callbacks else 'nocallbacks'}/CPU:0",
                "kind": "epoch",
                "mode": way,
                "batch_size": 32,
                "samples_per_step": EPOCH_ROWS,
                "steps_per_round": 2,
                "flops_per_step": 0,
                "first_call_s": FIRST_CALL_S,
                "callbacks": callbacks,
                "check": {"update_rel_err": CHECK["update_rel_err"], "loss_rel_err": None},
            }
            median = seconds * (callbacks_cost if callbacks else 1.0)
            benchmarks.append(_entry(info, _samples(median, rounds, spread, rng, quantiles)))
    document = {
        "machine_info": {
            "node": node,
            "environment": {"cpu_model": cpu_model, "tensorflow": tensorflow, "python": "3.12.0"},
        },
        "commit_info": {"id": commit, "dirty": False, "branch": branch, "project": "tf-training-suite"},
        "datetime": when,
        "version": "5.3.1",
        "benchmarks": benchmarks,
    }
    return annotate(document, settings={"name": "quick"}, duration_s=10.0)


def write_result(path: Path, document: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def relabel_device(document: dict, new: str, *, old: str = "CPU:0", description: str | None = None) -> dict:
    """A copy of a result document whose ``old`` device is called ``new`` everywhere (case ids, device,
    label, test names, calibration): a simulated run on another device, with the same numbers."""
    copy = json.loads(json.dumps(document))
    label = new if description is None else f"{new} ({description})"
    for bench in copy["benchmarks"]:
        info = bench.get("extra_info") or {}
        if info.get("device") != old:
            continue
        info["case"] = info["case"].removesuffix(f"/{old}") + f"/{new}"
        info["device"], info["device_label"] = new, label
        if description is not None:
            info["device_description"] = description
        for key in ("name", "fullname"):
            if isinstance(bench.get(key), str):
                bench[key] = bench[key].replace(old, label)
    calibration = (copy.get("tfbench") or {}).get("calibration") or {}
    if old in calibration:
        peak = calibration.pop(old)
        calibration[new] = peak | {"case": peak["case"].removesuffix(f"/{old}") + f"/{new}"}
    return copy


def with_devices(*documents: dict) -> dict:
    """One run holding the cases of ``documents`` (each on its own device: see ``relabel_device``), as a
    box with a CPU and a GPU writes it; the machine and commit are the first document's."""
    merged = json.loads(json.dumps(documents[0]))
    for document in documents[1:]:
        merged["benchmarks"] += json.loads(json.dumps(document["benchmarks"]))
        merged["tfbench"]["calibration"] |= document["tfbench"]["calibration"]
    return merged
