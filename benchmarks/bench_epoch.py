"""Seconds per epoch of the document's ways of training on its own data sets, callbacks off and on.

Each case first checks that its way's first epoch trains the eager loop's first epoch (same
weights after it, ``benchmarks.epochs``): a fast but wrong way fails here and is never timed.
"""

from benchmarks.harness import run_epoch_case


def test_first_epoch_matches_the_eager_loop_then_epochs_are_timed(
    bench_timing, epoch_case, bench_device, bench_seed, bench_epoch_references, tmp_path
):
    dataset, way, callbacks = epoch_case
    run_epoch_case(
        bench_timing,
        dataset,
        way,
        callbacks,
        bench_device,
        seed=bench_seed,
        workdir=tmp_path,
        references=bench_epoch_references,
    )
