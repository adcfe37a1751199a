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
from benchmarks.harness import Timing, common_info
from benchmarks.results.cases import case_id, distributed_mode
from benchmarks.settings import warm_round_s
from benchmarks.workloads import get_workload

__all__ = [
    "DISTRIBUTED_UPDATE_RTOL",
    "DistributedMismatchError",
    "check_distributed",
    "run_distributed_case",
]

# The largest relative difference between a distributed step's weight update and the single-device
# update on the same global batch. Measured on CPU (TF 2.21): 1.3e-6 for 2 logical devices and
# 2 workers; 1.2e-6 with no strategy (tf.function against eager). A learning rate off by 1% gives 1e-2.
DISTRIBUTED_UPDATE_RTOL = 1e-4
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
        "update_rtol": DISTRIBUTED_UPDATE_RTOL,
        "losses": losses,
        "passed": bool(np.isfinite(worst) and worst <= DISTRIBUTED_UPDATE_RTOL),
    }


def run_distributed_case(
    timing: Timing, cluster: Cluster, workload: str, global_batch: int, device: Device
) -> None:
    """Check, then time, the data-parallel step of ``workload`` on ``cluster``.

    Raises:
        DistributedMismatchError: the distributed update differs from the single-device one.
    """
    case = Case(workload, global_batch)
    key = case_id(workload, global_batch, distributed_mode(cluster.strategy, cluster.replicas), device.short)
    if timing.again(key):
        return
    check = check_distributed(cluster, case)
    if not check["passed"]:
        timing.refuse(
            key,
            "distributed check failed",
            DistributedMismatchError(
                f"{key}: distributed update differs from the single-device update by "
                f"{check['update_rel_err']:.3g} (relative, tolerance {DISTRIBUTED_UPDATE_RTOL:g})"
            ),
        )
    settings = timing.settings
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
    timing.first(
        key,
        group=f"distributed {workload} global b={global_batch} {device.label}",
        info=info,
        target=lambda: cluster.run(case, steps),
        steps=steps,
    )
