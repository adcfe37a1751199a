"""Worker clusters shared by a pytest session: booted together, replaced when a test killed one, closed early.

Starting a cluster costs a few seconds (each worker imports TensorFlow). ``ClusterPool`` keeps one
cluster per configuration (strategy, workers, logical devices) for every test that asks for it
(``bench_clusters``: the smoke and timed cases of ``bench_distributed.py`` and the tests of
``tests/benchmarks/test_distributed.py``). ``launch`` starts the processes of several clusters at
once without waiting, so they import TensorFlow side by side, on both cores, while other tests run;
``get`` waits for the one it returns. A cluster that died (a test kills a worker on purpose) is
replaced by the next ``launch`` or ``get``.
"""

from __future__ import annotations

from collections.abc import Iterable

from benchmarks.distributed.cluster import Cluster

__all__ = ["ClusterPool"]


class ClusterPool:
    """Clusters by configuration; ``workers`` and ``logical_devices`` are the defaults of ``get``."""

    def __init__(self, *, workers: int = 2, logical_devices: int = 2):
        self.workers, self.logical_devices = workers, logical_devices
        self._clusters: dict[tuple[str, int, int], Cluster] = {}

    def _key(self, strategy: str, workers: int | None, logical_devices: int | None) -> tuple[str, int, int]:
        if workers is None:
            workers = self.workers if strategy == "multiworker" else 1
        return strategy, workers, self.logical_devices if logical_devices is None else logical_devices

    def _launched(self, key: tuple[str, int, int]) -> Cluster:
        cluster = self._clusters.get(key)
        if cluster is None or not cluster.alive:
            if cluster is not None:
                cluster.close()
            strategy, workers, logical_devices = key
            cluster = Cluster(strategy, workers=workers, logical_devices=logical_devices)
            cluster.launch()
            self._clusters[key] = cluster
        return cluster

    def launch(self, strategies: Iterable[str]) -> None:
        """Start, without waiting, the default cluster of each strategy that has no live one."""
        for strategy in strategies:
            self._launched(self._key(strategy, None, None))

    def get(
        self, strategy: str, *, workers: int | None = None, logical_devices: int | None = None
    ) -> Cluster:
        """A started cluster (launched now if there is no live one; waits for its workers' answers).

        Raises:
            WorkerError: a worker exited or did not answer in time.
        """
        cluster = self._launched(self._key(strategy, workers, logical_devices))
        cluster.wait_started()
        return cluster

    def close(self) -> None:
        """Close every cluster (``Cluster.close`` kills its workers)."""
        for cluster in self._clusters.values():
            cluster.close()
        self._clusters.clear()
