"""Case ids: built, parsed back, matched across runs; the one mode ladder."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from benchmarks.results.cases import (
    MODES,
    CaseId,
    batch_label,
    benchmark_key,
    calibration_case_id,
    case_id,
    distributed_mode,
    mode_rank,
    parse_case_id,
)

NAMES = st.text(
    st.characters(whitelist_categories=("Ll", "Lu", "Nd"), whitelist_characters="_:-"), min_size=1
)


def test_case_ids_are_stable_strings():
    assert case_id("basic", 32, "fused_xla", "GPU:1") == "basic/b32/fused_xla/GPU:1"
    assert case_id("quadratic", None, "eager", "CPU:0") == "quadratic/b-/eager/CPU:0"
    assert case_id("basic", 256, distributed_mode("mirrored", 2), "CPU:0") == "basic/b256/mirroredx2/CPU:0"
    assert calibration_case_id(512, "CPU:0") == "calibration/matmul512/CPU:0"


@given(
    workload=NAMES.filter(lambda s: s != "-"),
    batch=st.none() | st.integers(1, 10**6),
    mode=NAMES,
    device=NAMES,
)
def test_a_case_id_parses_back_into_its_parts(workload, batch, mode, device):
    assert parse_case_id(case_id(workload, batch, mode, device)) == CaseId(workload, batch, mode, device)


@pytest.mark.parametrize("text", ["calibration/matmul512/CPU:0", "basic/b32/xla", "basic/32/xla/CPU:0", ""])
def test_an_id_that_is_not_a_step_case_parses_to_none(text):
    assert parse_case_id(text) is None


def test_batch_label_is_the_size_or_a_dash():
    assert batch_label(2048) == "2048" and batch_label(None) == "-"


def test_the_ladder_runs_from_eager_to_fused_xla_and_unknown_modes_sort_last():
    assert MODES[:3] == ("eager", "function", "xla") and MODES[-1] == "fused_xla"
    assert [m for m in MODES if not m.startswith(("fit_", "trainer", "fused_mixed"))] == [
        "eager",
        "function",
        "xla",
        "fit",
        "fused",
        "fused_xla",
    ]
    assert sorted(["fused", "mirroredx2", "eager", "xla"], key=mode_rank) == [
        "eager",
        "xla",
        "fused",
        "mirroredx2",
    ]


def test_a_strategy_missing_from_the_case_id_is_added_to_the_key():
    assert benchmark_key("basic/b32/xla/CPU:0", "none") == "basic/b32/xla/CPU:0"
    assert benchmark_key("basic/b32/mirroredx2/CPU:0", "mirrored") == "basic/b32/mirroredx2/CPU:0"
    assert benchmark_key("basic/b32/xla/CPU:0", "mirrored") == "basic/b32/xla/CPU:0[mirrored]"
