"""Fixtures of the benchmark suites; the hooks live in ``benchmarks.plugin`` (registered by the root conftest)."""

import pytest

BENCH_SEED = 42


@pytest.fixture
def bench_seed() -> int:
    """Seeds the weights, the synthetic batch and the calibration matrices of every case."""
    return BENCH_SEED
