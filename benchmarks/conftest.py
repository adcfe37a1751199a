"""Fixtures of the benchmark suites; the hooks live in ``benchmarks.plugin`` (registered by the root conftest)."""

import pytest

BENCH_SEED = 42


@pytest.fixture
def bench_seed() -> int:
    """Seeds the weights, the synthetic batch and the calibration matrices of every case."""
    return BENCH_SEED


@pytest.fixture(scope="session")
def bench_clusters(request):
    """Worker clusters by strategy, started on first use and stopped at the end of the session."""
    from benchmarks.distributed.cluster import Cluster

    clusters: dict[str, Cluster] = {}

    def get(strategy: str) -> Cluster:
        if strategy not in clusters:
            config = request.config
            cluster = Cluster(
                strategy,
                workers=config.getoption("bench_workers") if strategy == "multiworker" else 1,
                logical_devices=config.getoption("bench_replicas"),
            )
            cluster.start()
            clusters[strategy] = cluster
        return clusters[strategy]

    yield get
    for cluster in clusters.values():
        cluster.close()
