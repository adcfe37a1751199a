"""The result file's format: our keys added to pytest-benchmark's JSON, and cases read back, passes pooled."""

from __future__ import annotations

import json

import numpy as np
import pytest

from benchmarks.results.schema import (
    SCHEMA_VERSION,
    ResultInputError,
    annotate,
    calibration_peaks,
    parse_results,
)
from tests.common.synthetic_runs import result_document


def _split_into_passes(document: dict, passes: int) -> dict:
    """Each case's samples dealt into ``passes`` entries, as a run with passes writes them."""
    entries = []
    for entry in document["benchmarks"]:
        data = entry["stats"]["data"]
        for index, chunk in enumerate(np.array_split(np.asarray(data), passes)):
            split = json.loads(json.dumps(entry))
            split["extra_info"] |= {"pass": index, "passes": passes}
            split["stats"] = {"median": float(np.median(chunk)), "data": chunk.tolist()}
            entries.append(split)
    return document | {"benchmarks": entries[::-1]}  # any order: the reader sorts by pass


def test_a_case_timed_in_three_passes_reads_back_as_one_case_with_its_samples_in_pass_order():
    whole = result_document(rounds=21, seed=3)
    cases = parse_results(_split_into_passes(json.loads(json.dumps(whole)), 3)).cases
    expected = {e["extra_info"]["case"]: e["stats"]["data"] for e in whole["benchmarks"]}
    assert {c.case: c.samples.tolist() for c in cases} == expected


def test_the_same_pass_of_a_case_twice_is_refused_with_the_case_named():
    document = _split_into_passes(result_document(rounds=9), 3)
    document["benchmarks"][1]["extra_info"]["pass"] = document["benchmarks"][0]["extra_info"]["pass"]
    case = document["benchmarks"][0]["extra_info"]["case"]
    with pytest.raises(ResultInputError, match=f"case {case} appears 3 times"):
        parse_results(document)


def test_the_calibration_peak_uses_the_median_of_all_passes():
    entry = {"extra_info": {"kind": "calibration", "case": "calibration/matmul8/CPU:0", "device": "CPU:0"}}
    entry["extra_info"]["flops_per_step"] = 1000.0
    passes = [[1.0, 1.0, 1.0], [4.0, 4.0, 4.0], [2.0, 2.0, 2.0]]
    entries = [{**entry, "stats": {"data": data}} for data in passes]
    # The median of the nine pooled samples is 2.0: the peak is 1000 / 2.0, not any one pass's.
    assert calibration_peaks(entries)["CPU:0"]["peak_flops"] == pytest.approx(500.0)


def test_annotate_stores_the_schema_and_the_device_peak_in_every_case_of_ours():
    calibration = {
        "extra_info": {
            "schema": 1,
            "kind": "calibration",
            "case": "calibration/matmul8/CPU:0",
            "device": "CPU:0",
            "flops_per_step": 1000.0,
        },
        "stats": {"data": [0.5, 0.5]},
    }
    step = {"extra_info": {"schema": 1, "kind": "training_step", "device": "CPU:0"}, "stats": {"data": [1.0]}}
    foreign = {"extra_info": {}, "stats": {"data": [1.0]}}
    output = annotate(
        {"benchmarks": [calibration, step, foreign]}, settings={"name": "quick"}, duration_s=3.0
    )
    assert output["tfbench"]["schema"] == SCHEMA_VERSION == 1
    assert output["tfbench"]["settings"] == {"name": "quick"} and output["tfbench"]["duration_s"] == 3.0
    assert step["extra_info"]["calibration_peak_flops"] == pytest.approx(2000.0)
    assert "calibration_peak_flops" not in foreign["extra_info"]


def _info(document: dict, key: str, value) -> None:
    document["benchmarks"][1]["extra_info"][key] = value


# A result file with one field changed -> the start of the message (path: what was expected, what came).
# benchmarks[0] is the calibration case, benchmarks[1] basic/b32/eager/CPU:0, benchmarks[2] its xla twin.
WRONG_FIELDS = {
    "batch-size-a-string": (
        lambda d: _info(d, "batch_size", "big"),
        "benchmarks[1].extra_info.batch_size: expected an integer >= 1 or null, got 'big'",
    ),
    "batch-size-true": (
        lambda d: _info(d, "batch_size", True),
        "benchmarks[1].extra_info.batch_size: expected an integer >= 1 or null, got true",
    ),
    "batch-size-a-float": (
        lambda d: _info(d, "batch_size", 32.0),
        "benchmarks[1].extra_info.batch_size: expected an integer >= 1 or null, got 32.0",
    ),
    "steps-per-round-zero": (
        lambda d: _info(d, "steps_per_round", 0),
        "benchmarks[1].extra_info.steps_per_round: expected an integer >= 1, got 0",
    ),
    "flops-nan": (
        lambda d: _info(d, "flops_per_step", float("nan")),
        "benchmarks[1].extra_info.flops_per_step: expected a finite number >= 0, got nan",
    ),
    "kind-unknown": (
        lambda d: _info(d, "kind", "training"),
        "benchmarks[1].extra_info.kind: expected one of 'training_step', 'distributed_step', 'calibration', 'epoch', got 'training'",
    ),
    "device-a-number": (
        lambda d: _info(d, "device", 0),
        "benchmarks[1].extra_info.device: expected a string, got 0",
    ),
    "replicas-a-string": (
        lambda d: _info(d, "replicas", "two"),
        "benchmarks[1].extra_info.replicas: expected an integer >= 1, got 'two'",
    ),
    "check-a-string": (
        lambda d: _info(d, "check", "ok"),
        "benchmarks[1].extra_info.check: expected an object or null, got 'ok'",
    ),
    "check-error-a-string": (
        lambda d: _info(d, "check", {"loss_rel_err": "tiny"}),
        "benchmarks[1].extra_info.check.loss_rel_err: expected a finite number >= 0 or null, got 'tiny'",
    ),
    "case-missing": (
        lambda d: d["benchmarks"][1]["extra_info"].pop("case"),
        "benchmarks[1].extra_info.case: missing, expected a string",
    ),
    "stats-a-list": (
        lambda d: d["benchmarks"][1].__setitem__("stats", [1.0]),
        "benchmarks[1].stats: expected an object, got a list",
    ),
    "no-samples": (
        lambda d: d["benchmarks"][1]["stats"].__setitem__("data", []),
        "benchmarks[1].stats.data: expected a non-empty list, got a list",
    ),
    "a-zero-sample": (
        lambda d: d["benchmarks"][1]["stats"]["data"].__setitem__(2, 0.0),
        "benchmarks[1].stats.data[2]: expected a finite number > 0, got 0.0",
    ),
    "a-sample-true": (
        lambda d: d["benchmarks"][1]["stats"]["data"].__setitem__(0, True),
        "benchmarks[1].stats.data[0]: expected a finite number > 0, got true",
    ),
    "an-entry-a-string": (
        lambda d: d["benchmarks"].append("x"),
        "benchmarks[3]: expected an object, got 'x'",
    ),
    "machine-info-a-string": (
        lambda d: d.__setitem__("machine_info", "box"),
        "machine_info: expected an object or null, got 'box'",
    ),
    "environment-a-list": (
        lambda d: d["machine_info"].__setitem__("environment", [1, 2]),
        "machine_info.environment: expected an object or null, got a list",
    ),
    "node-an-object": (
        lambda d: d["machine_info"].__setitem__("node", {"name": "x"}),
        "machine_info.node: expected a string or null, got an object",
    ),
    "commit-info-a-list": (
        lambda d: d.__setitem__("commit_info", ["x"]),
        "commit_info: expected an object or null, got a list",
    ),
    "datetime-a-number": (
        lambda d: d.__setitem__("datetime", 5),
        "datetime: expected a string or null, got 5",
    ),
    "settings-a-string": (
        lambda d: d["tfbench"].__setitem__("settings", "quick"),
        "tfbench.settings: expected an object or null, got 'quick'",
    ),
    "calibration-a-list": (
        lambda d: d["tfbench"].__setitem__("calibration", [1]),
        "tfbench.calibration: expected an object or null, got a list",
    ),
    "peak-a-string": (
        lambda d: d["tfbench"]["calibration"]["CPU:0"].__setitem__("peak_flops", "big"),
        "tfbench.calibration['CPU:0'].peak_flops: expected a finite number > 0, got 'big'",
    ),
    "duration-a-string": (
        lambda d: d["tfbench"].__setitem__("duration_s", "long"),
        "tfbench.duration_s: expected a finite number >= 0 or null, got 'long'",
    ),
}


@pytest.mark.parametrize(("change", "message"), WRONG_FIELDS.values(), ids=WRONG_FIELDS.keys())
def test_a_field_of_the_wrong_type_is_refused_naming_its_path(change, message):
    document = result_document(modes=("eager", "xla"), batches=(32,))
    change(document)
    with pytest.raises(ResultInputError) as raised:
        parse_results(document)
    assert str(raised.value).startswith(message)


def test_an_error_inside_a_case_of_ours_names_the_case():
    document = result_document(modes=("eager",), batches=(32,))
    _info(document, "batch_size", "big")
    with pytest.raises(ResultInputError, match=r"got 'big' \(case basic/b32/eager/CPU:0\)$"):
        parse_results(document)


def test_another_plugins_entry_is_not_read_beyond_being_an_object():
    document = result_document(modes=("eager",), batches=(32,))
    document["benchmarks"].append({"extra_info": {}, "stats": "not ours", "name": 5})
    assert [c.case for c in parse_results(document).cases] == [
        "calibration/matmul512/CPU:0",
        "basic/b32/eager/CPU:0",
    ]
