"""Training-step throughput of the document's workloads in every execution mode, on every device.

Each case first checks that one call in its mode equals as many eager steps (loss and weight
update, ``benchmarks.checks``): a fast but wrong mode fails here and is never timed.
"""

from benchmarks.harness import run_training_case


def test_training_step_matches_eager_then_is_timed(
    bench_timing, training_case, bench_device, bench_seed, bench_references
):
    workload, batch_size, mode = training_case
    run_training_case(
        bench_timing, workload, batch_size, mode, bench_device, seed=bench_seed, references=bench_references
    )
