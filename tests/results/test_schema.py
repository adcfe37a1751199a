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


@pytest.mark.parametrize(
    ("samples", "problem"),
    [([], "no raw samples"), ([1.0, 0.0], "non-positive"), ([1.0, float("nan")], "non-finite")],
    ids=["empty", "zero", "nan"],
)
def test_a_case_without_usable_samples_is_refused_naming_it(samples, problem):
    document = result_document(modes=("eager",), batches=(32,), calibration=False)
    document["benchmarks"][0]["stats"]["data"] = samples
    with pytest.raises(ResultInputError, match=rf"basic/b32/eager/CPU:0\) has .*{problem}"):
        parse_results(document)
