"""One distributed benchmark case: check the distributed step, then time it.

1. ``cluster.check(case)``: one step from fresh weights in every worker; each worker's update is
   compared with a single-device Adam step on the same global batch from the same initial
   weights (``single_device_update``). A disagreement raises ``DistributedMismatchError`` and the
   case is never timed.
2. Two warm rounds size ``steps_per_round`` so a round lasts about ``distributed_round_s``.
3. ``benchmark.pedantic``: a round sends ``run`` to every worker and waits for all of them; the
   workers end it with a host copy of the loss. The round includes one command round trip to
   the workers (a pipe write and read, well under a millisecond), amortized over the round's steps.

Scaling efficiency is derived by the report: ``samples/s(R replicas) / (R x samples/s(1 replica))``
against the ``none`` case of the same workload and global batch.
"""

from __future__ import annotations

import numpy as np

from benchmarks.devices import Device
from benchmarks.distributed.cluster import Cluster
from benchmarks.distributed.step import Case, max_relative_update_error, single_device_update
from benchmarks.flops import step_flops
from benchmarks.harness import (
    PreparedCase,
    case_id,
    common_info,
    time_first_pass,
    time_later_pass,
    warm_round_s,
)
from benchmarks.settings import Settings
from benchmarks.workloads import get_workload

# Measured on CPU (TF 2.21): 1.3e-6 for 2 logical devices and 2 workers; 1.2e-6 with no strategy
# (tf.function against eager). A learning rate off by 1% gives 1e-2.
UPDATE_RTOL = 1e-4
MAX_STEPS_PER_ROUND = 2000


class DistributedMismatchError(AssertionError):
    """A distributed step does not compute the single-device step: the case is not timed."""


def check_distributed(cluster: Cluster, case: Case) -> dict:
    """The largest relative update error over the workers, and the losses, as a dict for extra_info."""
    errors, losses = [], []
    for answer in cluster.check(case):
        with np.load(answer["path"]) as arrays:
            n = answer["tensors"]
            initial = [arrays[f"arr_{i}"] for i in range(n)]
            after = [arrays[f"arr_{i}"] for i in range(n, 2 * n)]
        loss, single = single_device_update(case, initial)
        errors.append(max_relative_update_error(initial, after, single))
        losses.append((answer["loss"], loss))
    worst = max(errors)
    return {
        "update_rel_err": worst,
        "update_rtol": UPDATE_RTOL,
        "losses": losses,
        "passed": bool(np.isfinite(worst) and worst <= UPDATE_RTOL),
    }


def run_distributed_case(
    benchmark,
    cluster: Cluster,
    workload: str,
    global_batch: int,
    device: Device,
    settings: Settings,
    *,
    pass_index: int = 0,
    prepared: dict | None = None,
) -> None:
    """Check, then time, the data-parallel step of ``workload`` on ``cluster``.

    ``prepared`` carries the first pass to the later ones (``benchmarks.harness``): they time again.

    Raises:
        DistributedMismatchError: the distributed update differs from the single-device one.
    """
    prepared = {} if prepared is None else prepared
    case = Case(workload, global_batch)
    mode = f"{cluster.strategy}x{cluster.replicas}"
    key = case_id(workload, global_batch, mode, device.short)
    if key in prepared:
        time_later_pass(benchmark, prepared[key], pass_index, settings)
        return
    check = check_distributed(cluster, case)
    if not check["passed"]:
        prepared[key] = PreparedCase(None, failure=f"{key}: distributed check failed")
        raise DistributedMismatchError(
            f"{key}: distributed update differs from the single-device update by {check['update_rel_err']:.3g} "
            f"(relative, tolerance {UPDATE_RTOL:g})"
        )
    steps = 1
    if settings.timed:
        step_s = warm_round_s(lambda: cluster.run(case, 1))
        steps = int(min(MAX_STEPS_PER_ROUND, max(1, settings.distributed_round_s // step_s)))
    info = common_info(key, "distributed_step", device, settings) | {
        "workload": workload,
        "mode": "function",
        "strategy": cluster.strategy,
        "replicas": cluster.replicas,
        "workers": cluster.n_workers,
        "batch_size": global_batch,
        "samples_per_step": global_batch,
        "per_replica_batch": global_batch // cluster.replicas,
        "steps_per_round": steps,
        "flops_per_step": step_flops(get_workload(workload), global_batch).total,
        "trace_s": None,
        "first_call_s": None,
        "jit_compile": False,
        "check": check,
    }
    time_first_pass(
        benchmark,
        key,
        prepared,
        pass_index,
        settings,
        group=f"distributed {workload} global b={global_batch} {device.label}",
        info=info,
        target=lambda: cluster.run(case, steps),
        steps=steps,
    )
