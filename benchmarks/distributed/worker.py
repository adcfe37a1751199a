"""A benchmark worker process: ``python -m benchmarks.distributed.worker``, driven by ``Cluster``.

The job comes in the ``TFBENCH_JOB`` environment variable (JSON: ``strategy`` is ``none``,
``mirrored`` or ``multiworker``; ``logical_devices``; ``out_dir``); ``TF_CONFIG`` names the cluster
for ``multiworker``. Logical CPU devices are configured before TensorFlow starts its runtime.

Protocol, one JSON object per line: commands on stdin, answers on stdout prefixed with ``@@``
(anything else on stdout is ignored, so stray prints cannot break it)::

    -> {"cmd": "check", "case": {"workload": "basic", "global_batch": 256}}
    <- @@{"ok": true, "loss": 0.71, "path": ".../worker0-basic-b256.npz"}
    -> {"cmd": "run", "case": {...}, "steps": 20}
    <- @@{"ok": true, "loss": 0.69}
    -> {"cmd": "quit"}
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path

__all__ = ["PREFIX", "main"]

PREFIX = "@@"


def _answer(**payload) -> None:
    sys.stdout.write(PREFIX + json.dumps(payload) + "\n")
    sys.stdout.flush()


def _configure_devices(tf, strategy: str, logical_devices: int) -> None:
    if strategy != "mirrored" or tf.config.list_physical_devices("GPU"):
        return
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * logical_devices
    )


def _make_strategy(tf, strategy: str):
    if strategy == "none":
        return tf.distribute.get_strategy()
    if strategy == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = gpus or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([d.name for d in devices])
    options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=60)
    return tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)


class _Session:
    def __init__(self, strategy, out_dir: Path, task: str):
        self.strategy, self.out_dir, self.task = strategy, out_dir, task
        self.cases: dict[str, tuple] = {}

    def _build(self, case):
        from benchmarks.distributed.step import build_replicated, distribute_batch, make_distributed_step

        model, optimizer = build_replicated(case, self.strategy)
        step = make_distributed_step(case, self.strategy, model, optimizer)
        x, y = distribute_batch(case, self.strategy)
        self.cases[case.key] = (model, step, x, y)
        return self.cases[case.key]

    def check(self, case) -> dict:
        import numpy as np

        model, step, x, y = self._build(case)
        initial = [w.numpy() for w in model.weights]
        loss = float(step(x, y).numpy())
        path = self.out_dir / f"{self.task}-{case.key}.npz"
        after = [w.numpy() for w in model.weights]
        np.savez(path, *initial, *after)
        return {"loss": loss, "path": str(path), "tensors": len(initial)}

    def run(self, case, steps: int) -> dict:
        _, step, x, y = self.cases.get(case.key) or self._build(case)
        loss = None
        for _ in range(steps):
            loss = step(x, y)
        return {"loss": float(loss.numpy())}


def main() -> int:
    job = json.loads(os.environ["TFBENCH_JOB"])
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    from benchmarks.distributed.step import Case

    _configure_devices(tf, job["strategy"], job.get("logical_devices", 1))
    strategy = _make_strategy(tf, job["strategy"])
    task = f"worker{json.loads(os.environ.get('TF_CONFIG', '{}')).get('task', {}).get('index', 0)}"
    session = _Session(strategy, Path(job["out_dir"]), task)
    devices = [d.name for d in tf.config.list_logical_devices()]
    _answer(ok=True, replicas=strategy.num_replicas_in_sync, devices=devices)
    for line in sys.stdin:
        if not line.strip():
            continue
        command = json.loads(line)
        if command["cmd"] == "quit":
            return 0
        try:
            case = Case(**command["case"])
            if command["cmd"] == "check":
                _answer(ok=True, **session.check(case))
            else:
                _answer(ok=True, **session.run(case, int(command["steps"])))
        except Exception as error:  # the parent needs the message, not a dead pipe
            traceback.print_exc()
            _answer(ok=False, error=f"{type(error).__name__}: {error}")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
