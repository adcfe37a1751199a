"""The precision dimension: which device runs which mixed policy, and the option that chooses it."""

from __future__ import annotations

import pytest

from benchmarks.precision import (
    PRECISION_CHOICES,
    case_policy,
    check_choice,
    cpu_flags,
    unsupported_reason,
)

BF16_CPU = frozenset({"avx2", "avx512f", "avx512_bf16"})
PLAIN_CPU = frozenset({"avx2", "avx512f"})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("processor\t: 0\nflags\t\t: fpu avx2 amx_bf16\n", {"fpu", "avx2", "amx_bf16"}),
        ("processor\t: 0\nFeatures\t: fp asimd bf16\n", {"fp", "asimd", "bf16"}),
        ("processor\t: 0\n", set()),
    ],
    ids=["x86", "arm", "none"],
)
def test_cpu_flags_are_read_from_the_flags_or_features_line(tmp_path, text, expected):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(text)
    assert cpu_flags(cpuinfo) == expected


def test_a_machine_without_cpuinfo_has_no_flags(tmp_path):
    assert cpu_flags(tmp_path / "missing") == frozenset()


@pytest.mark.parametrize(
    ("policy", "kind", "support", "supported"),
    [
        ("mixed_bfloat16", "CPU", {"flags": BF16_CPU}, True),
        ("mixed_bfloat16", "CPU", {"flags": PLAIN_CPU}, False),
        ("mixed_float16", "CPU", {"flags": BF16_CPU}, False),
        ("mixed_float16", "GPU", {"compute_capability": (7, 0)}, True),
        ("mixed_bfloat16", "GPU", {"compute_capability": (7, 5)}, False),
        ("mixed_bfloat16", "GPU", {"compute_capability": (8, 0)}, True),
        ("float32", "CPU", {"flags": PLAIN_CPU}, True),
    ],
    ids=["bf16-cpu", "plain-cpu", "fp16-cpu", "fp16-gpu", "bf16-turing", "bf16-ampere", "float32"],
)
def test_a_policy_runs_where_the_hardware_has_it(policy, kind, support, supported):
    assert (unsupported_reason(policy, kind, **support) is None) == supported


def test_the_reason_for_a_cpu_without_bfloat16_names_the_flags_it_looked_for():
    reason = unsupported_reason("mixed_bfloat16", "CPU", flags=PLAIN_CPU)
    assert "avx512_bf16" in reason and "amx_bf16" in reason


@pytest.mark.parametrize(
    ("mixed", "choice", "kind", "expected"),
    [
        (False, "mixed_float16", "GPU", ("float32", None)),
        (True, "auto", "GPU", ("mixed_float16", None)),
        (True, "auto", "CPU", ("mixed_bfloat16", None)),
        (True, "mixed_bfloat16", "CPU", ("mixed_bfloat16", None)),
    ],
)
def test_a_case_takes_float32_or_the_choices_policy_for_its_device(mixed, choice, kind, expected):
    assert case_policy(mixed, choice, kind, flags=BF16_CPU, compute_capability=(8, 0)) == expected


def test_choosing_float32_skips_every_mixed_case_with_the_reason():
    policy, reason = case_policy(True, "float32", "CPU", flags=BF16_CPU)
    assert policy == "float32" and reason.startswith("--bench-precision float32")


@pytest.mark.parametrize(
    ("choice", "devices", "message"),
    [
        ("fp8", [("CPU", None)], "--bench-precision must be one of auto, float32, mixed_bfloat16, mixed_float16. Received: 'fp8'"),
        ("mixed_float16", [("CPU", None)], "--bench-precision mixed_float16 is not supported by any device here: mixed_float16 runs on GPUs"),
    ],
    ids=["unknown", "fp16-without-gpu"],
)  # fmt: skip
def test_a_choice_no_device_can_run_is_refused_naming_the_option(choice, devices, message):
    with pytest.raises(ValueError) as raised:
        check_choice(choice, devices)
    assert str(raised.value).startswith(message) and "\n" not in str(raised.value)


@pytest.mark.parametrize("choice", PRECISION_CHOICES[:2])
def test_auto_and_float32_are_accepted_on_any_machine(choice):
    assert check_choice(choice, [("CPU", None)]) == choice
