"""The by-hand distributed runner's command line: a bad ``TF_CONFIG`` or argument is one line and exit 2,
found before TensorFlow builds any strategy."""

from __future__ import annotations

import pytest

from benchmarks.distributed import run
from benchmarks.distributed.step import WORKLOADS
from benchmarks.results.cli import EXIT_BAD_INPUT
from tests.common.faults import one_error_line

GOOD_CLUSTER = '{"cluster": {"worker": ["host-a:12345", "host-b:12345"]}'
BAD_TF_CONFIGS = {
    "not-json": ("not json", "TF_CONFIG: not valid JSON"),
    "a-list": ("[1]", "TF_CONFIG: expected an object, got a list"),
    "no-cluster": ('{"task": {"type": "worker", "index": 0}}', "TF_CONFIG.cluster: missing"),
    "cluster-a-number": ('{"cluster": 3}', "TF_CONFIG.cluster: expected an object, got 3"),
    "address-without-port": (
        '{"cluster": {"worker": ["host-a"]}, "task": {"type": "worker", "index": 0}}',
        "TF_CONFIG.cluster.worker[0]: expected 'host:port', got 'host-a'",
    ),
    "index-a-string": (
        GOOD_CLUSTER + ', "task": {"type": "worker", "index": "0"}}',
        "TF_CONFIG.task.index: expected an integer >= 0, got '0'",
    ),
    "index-past-the-cluster": (
        GOOD_CLUSTER + ', "task": {"type": "worker", "index": 2}}',
        "TF_CONFIG.task.index: 2 is past the 2 addresses of job 'worker'",
    ),
    "unknown-job": (
        GOOD_CLUSTER + ', "task": {"type": "chief", "index": 0}}',
        "TF_CONFIG.task.type: 'chief' is not a job of the cluster ['worker']",
    ),
}


@pytest.mark.parametrize(("value", "message"), BAD_TF_CONFIGS.values(), ids=BAD_TF_CONFIGS.keys())
def test_a_bad_tf_config_is_one_line_naming_the_field_and_exit_2(monkeypatch, capsys, value, message):
    monkeypatch.setenv("TF_CONFIG", value)
    assert run.main(["--steps", "1", "--global-batch", "8"]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert one_error_line(err, run.PROG) and message in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--steps", "0"], "Argument `steps` must be an integer >= 1. Received: steps=0"),
        (["--global-batch", "-8"], "Argument `global_batch` must be an integer >= 1"),
        (["--global-batch", "x"], "argument --global-batch: invalid int value: 'x'"),
        (["--workload", "huge"], "argument --workload: invalid choice: 'huge'"),
    ],
    ids=["steps-zero", "batch-negative", "batch-not-a-number", "unknown-workload"],
)
def test_a_bad_argument_is_one_line_and_exit_2(monkeypatch, capsys, argv, message):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert run.main(argv) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert one_error_line(err, run.PROG) and message in err


def test_the_command_line_offers_the_workloads_of_the_distributed_step():
    assert tuple(WORKLOADS) == run.WORKLOAD_NAMES
