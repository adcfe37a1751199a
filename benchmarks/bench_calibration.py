"""The physical reference of the run: float32 matmul throughput on each device.

Every training case's efficiency is its achieved FLOP/s over the best of these, measured on the
same device in the same run (a calibration of the machine as it is now, not a datasheet number).
"""

from benchmarks.harness import run_calibration_case


def test_matmul_throughput_sets_the_peak_reference(bench_timing, calibration_case, bench_seed):
    device, n = calibration_case
    run_calibration_case(bench_timing, n, device, seed=bench_seed)
