"""Data-parallel training steps under tf.distribute: no strategy, MirroredStrategy, MultiWorkerMirroredStrategy.

Each case first checks that one distributed step gives the single-device update on the same global
batch (``benchmarks.distributed.harness``): a distributed step that disagrees fails and is never
timed. Workers run in their own processes (``benchmarks.distributed.cluster``) for every strategy,
so the three are timed the same way.
"""

from benchmarks.devices import visible_devices
from benchmarks.distributed.harness import run_distributed_case


def test_distributed_step_matches_single_device_then_is_timed(bench_timing, distributed_case, bench_clusters):
    strategy, workload, global_batch = distributed_case
    device = next((d for d in visible_devices() if d.kind == "GPU"), visible_devices()[0])
    run_distributed_case(bench_timing, bench_clusters(strategy), workload, global_batch, device)
