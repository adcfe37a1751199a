"""Run one distributed case by hand, on each machine of a real cluster.

    TF_CONFIG='{"cluster": {"worker": ["host-a:12345", "host-b:12345"]}, "task": {"type": "worker", "index": 0}}' \\
        python -m benchmarks.distributed.run --workload basic --global-batch 2048 --steps 200

Start the same command on every machine (``task.index`` 0, 1, ...). Every worker checks one step
against the single-device update on the same global batch, then times ``--steps`` steps and
prints one line: the update error, global and per-replica samples/s. Without ``TF_CONFIG`` it
uses ``MirroredStrategy`` over the local GPUs (or the CPU). Exit 1 when the check fails, 2 on
bad arguments.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from benchmarks.distributed.step import WORKLOADS

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.distributed.run", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--workload", choices=WORKLOADS, default="basic")
    parser.add_argument("--global-batch", type=int, default=2048)
    parser.add_argument("--steps", type=int, default=200)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.global_batch <= 0 or args.steps <= 0:
        sys.stderr.write(
            f"error: --global-batch and --steps must be > 0 (got {args.global_batch}, {args.steps})\n"
        )
        return 2
    import numpy as np
    import tensorflow as tf

    from benchmarks.distributed.harness import DISTRIBUTED_UPDATE_RTOL
    from benchmarks.distributed.step import (
        Case,
        build_replicated,
        distribute_batch,
        make_distributed_step,
        max_relative_update_error,
        single_device_update,
    )

    if "TF_CONFIG" in os.environ:
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    else:
        strategy = tf.distribute.MirroredStrategy()
    case = Case(args.workload, args.global_batch)
    model, optimizer = build_replicated(case, strategy)
    step = make_distributed_step(case, strategy, model, optimizer)
    x, y = distribute_batch(case, strategy)
    initial = [w.numpy() for w in model.weights]
    step(x, y).numpy()
    _, single = single_device_update(case, initial)
    error = max_relative_update_error(initial, [w.numpy() for w in model.weights], single)
    start = time.perf_counter()
    for _ in range(args.steps):
        loss = step(x, y)
    loss.numpy()
    seconds = (time.perf_counter() - start) / args.steps
    replicas = strategy.num_replicas_in_sync
    print(
        json.dumps(
            {
                "workload": args.workload,
                "global_batch": args.global_batch,
                "replicas": replicas,
                "update_rel_err": error,
                "check_passed": bool(np.isfinite(error) and error <= DISTRIBUTED_UPDATE_RTOL),
                "seconds_per_step": seconds,
                "global_samples_per_s": args.global_batch / seconds,
                "per_replica_samples_per_s": args.global_batch / seconds / replicas,
            }
        )
    )
    return 0 if error <= DISTRIBUTED_UPDATE_RTOL else 1


if __name__ == "__main__":
    sys.exit(main())
