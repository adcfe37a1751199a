"""Run one distributed case by hand, on each machine of a real cluster.

    TF_CONFIG='{"cluster": {"worker": ["host-a:12345", "host-b:12345"]}, "task": {"type": "worker", "index": 0}}' \\
        python -m benchmarks.distributed.run --workload basic --global-batch 2048 --steps 200

Start the same command on every machine (``task.index`` 0, 1, ...). Every worker checks one step
against the single-device update on the same global batch, then times ``--steps`` steps and
prints one line: the update error, global and per-replica samples/s. Without ``TF_CONFIG`` it
uses ``MirroredStrategy`` over the local GPUs (or the CPU). Exit 1 when the check fails, 2 on
bad arguments or a bad ``TF_CONFIG`` (one line on stderr naming the field, checked before
TensorFlow starts: ``benchmarks.results.cli``).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Sequence

from benchmarks.results.cli import Parser, command
from benchmarks.results.fields import Field, FieldError, check
from reference.validation import check_int

__all__ = ["TF_CONFIG_FIELDS", "WORKLOAD_NAMES", "check_tf_config", "main"]

PROG = "python -m benchmarks.distributed.run"
WORKLOAD_NAMES = ("basic", "callbacks")  # benchmarks.distributed.step.WORKLOADS, without importing TensorFlow
TF_CONFIG_FIELDS = Field(
    "object",
    fields={
        "cluster": Field(
            "object",
            required=True,
            non_empty=True,
            values=Field("list", non_empty=True, items=Field("string")),
        ),
        "task": Field(
            "object",
            required=True,
            fields={"type": Field("string", required=True), "index": Field("integer", required=True, low=0)},
        ),
    },
)


def check_tf_config(text: str) -> dict:
    """``TF_CONFIG`` decoded and checked: a cluster of ``host:port`` lists, a task that is one of them.

    Raises:
        ValueError: the first problem, naming the field (``TF_CONFIG.task.index: ...``).
    """
    try:
        config = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(
            f"TF_CONFIG: not valid JSON ({error.msg} at character {error.pos}): {text[:60]!r}"
        ) from None
    try:
        check(config, TF_CONFIG_FIELDS, "TF_CONFIG")
    except FieldError as error:
        raise ValueError(str(error)) from None
    for job, addresses in config["cluster"].items():
        for index, address in enumerate(addresses):
            host, _, port = address.rpartition(":")
            if not host or not port.isdigit():
                raise ValueError(f"TF_CONFIG.cluster.{job}[{index}]: expected 'host:port', got {address!r}")
    task = config["task"]
    if task["type"] not in config["cluster"]:
        raise ValueError(
            f"TF_CONFIG.task.type: {task['type']!r} is not a job of the cluster {list(config['cluster'])}"
        )
    if task["index"] >= len(config["cluster"][task["type"]]):
        raise ValueError(
            f"TF_CONFIG.task.index: {task['index']} is past the {len(config['cluster'][task['type']])} "
            f"addresses of job {task['type']!r}"
        )
    return config


def _parser() -> Parser:
    parser = Parser(prog=PROG, description=__doc__.split("\n")[0])
    parser.add_argument("--workload", choices=WORKLOAD_NAMES, default="basic")
    parser.add_argument("--global-batch", type=int, default=2048)
    parser.add_argument("--steps", type=int, default=200)
    return parser


@command(PROG)
def main(argv: Sequence[str] | None = None) -> int:
    """Command line (module docstring); the exit code."""
    args = _parser().parse_args(argv)
    check_int("global_batch", args.global_batch, low=1)
    check_int("steps", args.steps, low=1)
    if "TF_CONFIG" in os.environ:
        check_tf_config(os.environ["TF_CONFIG"])
    from reference.runtime import import_tensorflow

    tf = import_tensorflow()
    import numpy as np

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
    if args.global_batch % strategy.num_replicas_in_sync:
        raise ValueError(
            f"Argument `global_batch` must be divisible by the {strategy.num_replicas_in_sync} replicas. "
            f"Received: global_batch={args.global_batch}"
        )
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
