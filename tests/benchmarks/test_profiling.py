"""``--bench-profile``: patterns over case ids, and a TensorBoard trace taken outside the timed rounds."""

from __future__ import annotations

import pytest
import tensorflow as tf

from benchmarks.profiling import PROFILE_CALLS, Profiler, case_folder, parse_patterns, unmatched


def test_patterns_are_comma_separated_and_an_empty_list_is_refused_naming_the_option():
    assert parse_patterns(" basic/b32/fit/*, */b2048/*") == ("basic/b32/fit/*", "*/b2048/*")
    with pytest.raises(ValueError, match="--bench-profile"):
        parse_patterns(" , ")


def test_a_pattern_matching_no_case_is_reported_and_folders_are_safe_names():
    cases = ["basic/b32/fit/CPU:0", "basic/b32/function/CPU:0"]
    assert unmatched(["basic/b32/fit/*", "mlp/*", "*/function/*"], cases) == ["mlp/*"]
    assert case_folder("basic/b32/fit/CPU:0") == "basic_b32_fit_CPU_0"


def test_a_matching_case_gets_a_trace_file_from_its_calls(tmp_path):
    calls = []
    step = tf.function(lambda: tf.reduce_sum(tf.ones((8, 8))))

    def target():
        calls.append(1)
        return float(step())

    profiler = Profiler(("basic/*",), tmp_path)
    assert profiler.wants("basic/b32/fit/CPU:0") and not profiler.wants("mlp/b32/fit/CPU:0")
    relative = profiler.trace("basic/b32/fit/CPU:0", target)
    assert relative == "profiles/basic_b32_fit_CPU_0"
    assert len(calls) == PROFILE_CALLS
    traces = list((tmp_path / "basic_b32_fit_CPU_0").rglob("*.xplane.pb"))
    assert len(traces) == 1 and traces[0].stat().st_size > 0
