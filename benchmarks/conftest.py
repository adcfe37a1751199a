"""Fixtures of the benchmark suites; the hooks (and ``bench_clusters``, which ``tests/benchmarks`` shares)
live in ``benchmarks.plugin``, registered by the root conftest."""

import pytest

from reference.runtime import import_tensorflow

import_tensorflow()

BENCH_SEED = 42


@pytest.fixture
def bench_seed() -> int:
    """Seeds the weights, the synthetic batch and the calibration matrices of every case."""
    return BENCH_SEED


@pytest.fixture
def bench_pass() -> int:
    """The pass a case is timed in (parametrized by ``benchmarks.plugin`` when ``Settings.passes > 1``)."""
    return 0


@pytest.fixture(scope="session")
def bench_prepared() -> dict:
    """Cases built and checked in their first pass, by case id, for the later passes (``benchmarks.harness``)."""
    return {}


@pytest.fixture(scope="session")
def bench_references() -> dict:
    """The eager steps that ``k``-step modes are checked against, computed once per session
    (``benchmarks.checks``)."""
    return {}


@pytest.fixture(scope="session")
def bench_epoch_references() -> dict:
    """The eager loop's weights after its first epoch, per data set, rows, seed and device: every
    epoch case's check compares with them (``benchmarks.harness.run_epoch_case``)."""
    return {}


@pytest.fixture
def bench_timing(benchmark, bench_settings, bench_pass, bench_prepared, bench_profiler):
    """How this case is timed: pytest-benchmark's fixture, the session's settings, pass, prepared cases
    and profiler (``--bench-profile``)."""
    from benchmarks.harness import Timing

    return Timing(benchmark, bench_settings, bench_pass, bench_prepared, bench_profiler)
