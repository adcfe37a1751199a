"""Data-parallel steps under tf.distribute reproduce the single-device update; workers fail loudly and die."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

import numpy as np
import pytest

from benchmarks.distributed import cluster as cluster_module
from benchmarks.distributed.cluster import Cluster, WorkerError, pick_free_ports
from benchmarks.distributed.harness import DISTRIBUTED_UPDATE_RTOL
from benchmarks.distributed.step import (
    Case,
    distribute_batch,
    max_relative_update_error,
    single_device_update,
)

LOSS_RTOL = 1e-5
# A killed worker must be reported long before the command deadline (which only catches hangs).
FAILURE_BOUND_S = 20.0
# The stand-in for a hung worker sleeps and never answers: any deadline shows it is enforced.
HANG_DEADLINE_S = 0.5

pytestmark = pytest.mark.slow


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split()[2] != "Z"


def _assert_reproduces_single_device_update(cluster: Cluster, case: Case) -> None:
    answers = cluster.check(case)
    for answer in answers:
        arrays = np.load(answer["path"])
        n = answer["tensors"]
        initial = [arrays[f"arr_{i}"] for i in range(n)]
        after = [arrays[f"arr_{i}"] for i in range(n, 2 * n)]
        loss, single = single_device_update(case, initial)
        assert answer["loss"] == pytest.approx(loss, rel=LOSS_RTOL)
        assert max_relative_update_error(initial, after, single) <= DISTRIBUTED_UPDATE_RTOL


@pytest.fixture
def mirrored(bench_clusters):
    """The session's MirroredStrategy cluster over 2 logical CPU devices (shared with the smoke pass)."""
    return bench_clusters("mirrored", logical_devices=2)


@pytest.fixture
def multiworker(bench_clusters):
    """The session's 2-worker MultiWorkerMirroredStrategy cluster (the kill test below ends it; the
    pool starts another for the next user)."""
    return bench_clusters("multiworker", workers=2)


@pytest.mark.parametrize("workload", ["basic", "callbacks"])
def test_two_logical_devices_under_mirrored_strategy_reproduce_the_single_device_update(mirrored, workload):
    assert mirrored.replicas == 2
    _assert_reproduces_single_device_update(mirrored, Case(workload, 64))


def test_two_workers_under_multiworker_mirrored_strategy_reproduce_the_single_device_update(multiworker):
    assert multiworker.replicas == 2
    _assert_reproduces_single_device_update(multiworker, Case("basic", 64))


def test_a_disagreeing_update_is_caught_by_the_tolerance():
    """The check can fail: an update scaled by 1.01 (a 1% wrong learning rate) exceeds DISTRIBUTED_UPDATE_RTOL."""
    initial = [np.zeros(3)]
    single = [np.array([1.0, -2.0, 0.5])]
    assert max_relative_update_error(initial, [1.01 * single[0]], single) > DISTRIBUTED_UPDATE_RTOL


def test_a_worker_killed_mid_run_fails_the_run_within_the_bound_and_leaves_no_process(multiworker):
    case = Case("basic", 64)
    pids = multiworker.pids
    threading.Timer(0.5, os.kill, (pids[1], signal.SIGKILL)).start()
    started = time.monotonic()
    with pytest.raises(WorkerError, match=r"worker 1 of 2 \(multiworker, pid \d+\).*exited with code -9"):
        multiworker.run(case, steps=10_000_000)
    assert time.monotonic() - started < FAILURE_BOUND_S
    assert not any(_alive(pid) for pid in pids)


# Worker 0 reports its collective failing at once; worker 1 (the cause) dies 0.3 s later.
_PEER_DIES_AFTER_REPORT = """
import json, os, signal, sys, time
index = json.loads(os.environ["TF_CONFIG"])["task"]["index"]
print('@@{"ok": true, "replicas": 2}', flush=True)
for line in sys.stdin:
    if json.loads(line)["cmd"] == "quit":
        break
    if index == 0:
        print('@@{"ok": false, "error": "UnavailableError: Collective ops is aborted"}', flush=True)
    else:
        time.sleep(0.3)
        os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_dead_peer_is_named_as_the_cause_even_when_the_survivor_reports_first():
    cluster = Cluster("multiworker", workers=2, command=[sys.executable, "-c", _PEER_DIES_AFTER_REPORT])
    cluster.start()
    with pytest.raises(
        WorkerError,
        match=r"worker 1 of 2 \(multiworker, pid \d+\).*exited with code -9.*then worker 0 failed",
    ):
        cluster.run(Case("basic", 64), steps=1)
    assert not any(_alive(pid) for pid in cluster.pids)


def test_a_worker_that_never_starts_is_named_with_its_exit_code():
    cluster = Cluster("none", command=[sys.executable, "-c", "import sys; sys.exit(3)"])
    with pytest.raises(WorkerError, match=r"worker 0 of 1 \(none, pid \d+\) exited with code 3"):
        cluster.start()
    assert not any(_alive(pid) for pid in cluster.pids)


def test_a_worker_that_hangs_at_start_is_reported_at_the_deadline_and_killed():
    cluster = Cluster(
        "none",
        startup_timeout=HANG_DEADLINE_S,
        command=[sys.executable, "-c", "import time; time.sleep(600)"],
    )
    started = time.monotonic()
    with pytest.raises(WorkerError, match=rf"did not answer 'start' within {HANG_DEADLINE_S:g} s"):
        cluster.start()
    assert time.monotonic() - started < HANG_DEADLINE_S + FAILURE_BOUND_S
    assert not any(_alive(pid) for pid in cluster.pids)


def test_free_ports_are_distinct_and_bindable():
    ports = pick_free_ports(4)
    assert len(set(ports)) == 4
    import socket

    for port in ports:
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"strategy": "parameter_server"}, "strategy"),
        ({"strategy": "mirrored", "workers": 2}, "workers"),
        ({"strategy": "multiworker", "workers": 0}, "workers"),
        ({"strategy": "mirrored", "logical_devices": 0}, "logical_devices"),
        ({"strategy": "none", "command_timeout": 0}, "command_timeout"),
    ],
    ids=["unknown-strategy", "mirrored-two-workers", "zero-workers", "zero-devices", "zero-timeout"],
)
def test_bad_cluster_arguments_raise_value_error_naming_the_argument(kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        Cluster(**kwargs)


def test_a_global_batch_not_divisible_by_the_replicas_is_refused():
    class ThreeReplicas:
        num_replicas_in_sync = 3

    with pytest.raises(ValueError, match="global_batch=64"):
        distribute_batch(Case("basic", 64), ThreeReplicas())


@pytest.mark.parametrize(("workload", "batch"), [("resnet", 64), ("basic", 0)], ids=["workload", "batch"])
def test_bad_cases_raise_value_error_naming_the_argument(workload, batch):
    with pytest.raises(ValueError, match=workload if workload == "resnet" else "global_batch"):
        Case(workload, batch)


# A stand-in worker: answers the start, then waits for "quit" (no TensorFlow, starts in milliseconds).
_IDLE_WORKER = """
import sys
print('@@{"ok": true, "replicas": 1}', flush=True)
for line in sys.stdin:
    if '"quit"' in line:
        break
"""
# Tests that share the "none" cluster: the second kills its worker, the third gets a new one.
_SHARING_SESSION = """
import os
import signal
from pathlib import Path

PIDS = Path("pids.txt")


def test_first_user(bench_clusters):
    PIDS.write_text(f"{bench_clusters('none').pids[0]}\\n")


def test_second_user_shares_the_cluster_and_kills_it(bench_clusters):
    cluster = bench_clusters("none")
    assert f"{cluster.pids[0]}\\n" == PIDS.read_text()
    os.kill(cluster.pids[0], signal.SIGKILL)
    cluster.processes[0].wait(timeout=10)


def test_the_next_user_gets_a_new_cluster(bench_clusters):
    cluster = bench_clusters("none")
    pid = cluster.pids[0]
    assert str(pid) not in PIDS.read_text() and cluster.alive
    PIDS.write_text(PIDS.read_text() + f"{pid}\\n")
"""


def test_tests_share_a_cluster_a_killed_one_is_replaced_and_no_worker_outlives_the_session(
    pytester, monkeypatch
):
    monkeypatch.setattr(cluster_module, "WORKER_COMMAND", (sys.executable, "-c", _IDLE_WORKER))
    pytester.makepyfile(test_sharing=_SHARING_SESSION)
    result = pytester.runpytest_inprocess("-p", "benchmarks.plugin", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)
    pids = [int(line) for line in (pytester.path / "pids.txt").read_text().split()]
    assert len(pids) == 2 and not any(_alive(pid) for pid in pids)
