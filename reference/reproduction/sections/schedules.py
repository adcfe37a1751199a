"""Section 3, 学习率调度 (learning-rate schedules): the 2x2 figure, the warmup + cosine schedule.

The schedules are evaluated at the document's steps and compared with their closed forms written
here in float64 (KERAS3_NOTES.md, "Schedules").
"""

from __future__ import annotations

import math
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from matplotlib.figure import Figure

from reference.document import WARMUP_ARGUMENTS, DocumentWarmupCosineDecay
from reference.monitor import current_learning_rate
from reference.reproduction.captures import capture_d2, capture_d3, capture_d4, capture_d17
from reference.reproduction.citations import cite
from reference.reproduction.ledger import Claim
from reference.reproduction.progress import Progress
from reference.reproduction.results import SectionResult, Table, fmt
from reference.reproduction.scale import Scale
from reference.schedules import (
    BUILTIN_SCHEDULE_NAMES,
    SCHEDULES,
    WarmupCosineDecay,
    make_schedule,
    plot_schedules,
    schedule_values,
)

__all__ = ["CLAIMS", "DEFECT_IDS", "run"]

CLOSED_FORM_RTOL = 1e-5
OPTIMIZER_STEPS = 150  # updates of the optimizer driven by the warmup + cosine schedule


def _closed_form(name: str, steps: np.ndarray) -> np.ndarray:
    """The document's schedule ``name`` at ``steps``, in float64, from its formula."""
    s = steps.astype(np.float64)
    if name == "exponential":
        return 0.1 * 0.96 ** np.floor(s / 100)
    if name == "polynomial":
        return (0.1 - 0.01) * (1 - np.minimum(s, 1000) / 1000) ** 0.5 + 0.01
    if name == "piecewise":
        return np.select([s <= 100, s <= 200, s <= 300], [0.1, 0.05, 0.01], 0.005)
    if name == "cosine":
        return 0.1 * 0.5 * (1 + np.cos(math.pi * np.minimum(s, 1000) / 1000))
    w, total, peak, low = WARMUP_ARGUMENTS.values()
    progress = np.clip((s - w) / (total - w), 0.0, 1.0)
    return np.where(s < w, peak * s / w, low + (peak - low) * 0.5 * (1 + np.cos(math.pi * progress)))


def _max_rel_error(values: np.ndarray, expected: np.ndarray) -> float:
    return float(np.max(np.abs(values - expected) / np.maximum(np.abs(expected), 1e-12)))


def _document_warmup_curve(steps: np.ndarray) -> np.ndarray:
    """The document's schedule called step by step with Python ints, as its plot does (float() avoids D17)."""
    schedule = DocumentWarmupCosineDecay(**WARMUP_ARGUMENTS)
    return np.array([float(schedule(int(step))) for step in steps])


def _warmup_in_optimizer() -> dict:
    schedule = WarmupCosineDecay(**WARMUP_ARGUMENTS)
    optimizer, variable = keras.optimizers.Adam(schedule), keras.Variable([1.0])
    rates = []
    for _ in range(OPTIMIZER_STEPS):
        optimizer.apply_gradients([(tf.constant([1.0]), variable)])
        rates.append(current_learning_rate(optimizer))
    expected = _closed_form("warmup_cosine", np.arange(1, OPTIMIZER_STEPS + 1))
    return {
        "rates": rates,
        "max_rel_error": _max_rel_error(np.asarray(rates), expected),
        "iterations": int(optimizer.iterations),
    }


def _plot_beyond_total(steps: np.ndarray, document: np.ndarray, ours: np.ndarray) -> Figure:
    figure = Figure(figsize=(10, 5), layout="constrained")
    ax = figure.add_subplot()
    ax.plot(steps, document, linewidth=2, label="document's WarmupCosineDecay")
    ax.plot(steps, ours, linewidth=2, linestyle="--", label="reference.schedules.WarmupCosineDecay")
    ax.axvline(WARMUP_ARGUMENTS["total_steps"], color="gray", linestyle=":", label="total_steps")
    ax.set(title="Warmup + cosine past total_steps (D3)", xlabel="Step", ylabel="Learning rate")
    ax.grid(True, alpha=0.3)
    ax.legend()
    return figure


DEFECT_IDS = ("D2", "D3", "D4", "D17")  # the defects this section captures, in its SectionResult.defects


def run(scale: Scale, workdir: Path, progress: Progress) -> SectionResult:
    """The four built-ins over the document's steps, the warmup curve, the schedule inside an optimizer."""
    steps = np.arange(scale.schedule_steps)
    builtins = {}
    for name in BUILTIN_SCHEDULE_NAMES:
        values = schedule_values(make_schedule(name), steps).astype(np.float64)
        builtins[name] = {
            "max_rel_error": _max_rel_error(values, _closed_form(name, steps)),
            "non_increasing": bool(np.all(np.diff(values) <= 0)),
            "first": float(values[0]),
            "last": float(values[-1]),
        }
    # One pass of the document's step-by-step loop serves the curve shown and the one past total_steps.
    beyond = np.arange(2 * WARMUP_ARGUMENTS["total_steps"] + 1)
    document_curve = _document_warmup_curve(np.arange(max(scale.warmup_steps_shown, len(beyond))))
    warm_steps = np.arange(scale.warmup_steps_shown)
    document = document_curve[: len(warm_steps)]
    expected = _closed_form("warmup_cosine", warm_steps)
    peak = int(np.argmax(document))
    warmup = {
        "document_max_rel_error": _max_rel_error(document[1:], expected[1:]),
        "document_at_0": float(document[0]),
        "peak_step": peak,
        "peak": float(document[peak]),
        "last": float(document[-1]),
        "rises_until_peak": bool(np.all(np.diff(document[: peak + 1]) > 0)),
        "falls_after_peak": bool(np.all(np.diff(document[peak:]) <= 0)),
    }
    numbers = {"builtins": builtins, "warmup": warmup, "in_optimizer": _warmup_in_optimizer()}
    section = SectionResult("schedules", numbers)
    section.tables.append(
        Table(
            f"The four schedules over steps 0..{scale.schedule_steps - 1} vs their closed forms",
            (
                "schedule",
                "at step 0",
                f"at step {scale.schedule_steps - 1}",
                "max rel. error",
                "never increases",
            ),
            tuple(
                (
                    SCHEDULES[n].title,
                    fmt(b["first"]),
                    fmt(b["last"]),
                    fmt(b["max_rel_error"], ".1e"),
                    fmt(b["non_increasing"]),
                )
                for n, b in builtins.items()
            ),
        )
    )
    section.figures["schedules"] = plot_schedules(scale.schedule_steps, scale.warmup_steps_shown)
    section.figures["warmup_cosine_past_total_steps"] = _plot_beyond_total(
        beyond,
        document_curve[: len(beyond)],
        schedule_values(WarmupCosineDecay(**WARMUP_ARGUMENTS), beyond),
    )
    section.defects += [capture_d2(), capture_d3(), capture_d4(), capture_d17()]
    return section


def _builtin_claim(id_: str, name: str, zh: str, en: str, tests: tuple[str, ...]) -> Claim:
    return Claim(
        id=id_,
        section="schedules",
        source="学习率调度",
        quote=zh,
        translation=en,
        method=f"{SCHEDULES[name].title} with the document's arguments over the plotted steps, against its closed form; never increasing.",
        tests=tests,
        holds=lambda n: (
            n["builtins"][name]["max_rel_error"] < CLOSED_FORM_RTOL and n["builtins"][name]["non_increasing"]
        ),
        evidence=lambda n: (
            f"max rel. error {n['builtins'][name]['max_rel_error']:.1e}; {n['builtins'][name]['first']:.4g} -> {n['builtins'][name]['last']:.4g}"
        ),
        figures=("schedules",),
    )


CLAIMS = [
    _builtin_claim(
        "S1",
        "exponential",
        "指数衰减 ExponentialDecay(0.1, 100, 0.96, staircase=True)",
        "Exponential decay lowers the rate by 4 % every 100 steps, in stairs.",
        cite(
            "schedules::test_exponential_decay_equals_its_closed_form_at_every_step",
            "schedules::test_staircase_exponential_is_constant_between_multiples_of_decay_steps",
        ),
    ),
    _builtin_claim(
        "S2",
        "polynomial",
        "多项式衰减 PolynomialDecay(0.1, 1000, 0.01, power=0.5)",
        "Polynomial decay goes from 0.1 towards 0.01 along a square-root curve.",
        cite("schedules::test_polynomial_decay_equals_its_closed_form_at_every_step"),
    ),
    _builtin_claim(
        "S3",
        "piecewise",
        "分段常数 PiecewiseConstantDecay([100, 200, 300], [0.1, 0.05, 0.01, 0.005])",
        "Piecewise-constant decay holds 0.1, 0.05, 0.01, 0.005 between the boundaries.",
        cite(
            "schedules::test_piecewise_constant_decay_equals_its_closed_form_at_every_step",
            "schedules::test_a_step_equal_to_a_piecewise_boundary_takes_the_earlier_value",
        ),
    ),
    _builtin_claim(
        "S4",
        "cosine",
        "余弦衰减 CosineDecay(0.1, 1000)",
        "Cosine decay follows half a cosine from 0.1 towards 0 over 1000 steps.",
        cite(
            "schedules::test_cosine_decay_equals_its_closed_form_at_every_step",
            "schedules::test_cosine_decay_never_increases",
        ),
    ),
    Claim(
        id="S5",
        section="schedules",
        source="学习率调度",
        quote="plt.title('自定义Warmup + 余弦衰减学习率调度')",
        translation="The custom schedule warms up linearly to 0.001 over 100 steps, then decays along a cosine to 0.0001 at step 1000.",
        method=(
            "The document's class called with Python ints over its 1000 plotted steps, against the closed form; its own "
            "plotting loop (schedule(step).numpy()) is run too (D17)."
        ),
        tests=cite(
            "schedules::test_warmup_cosine_equals_its_closed_form_at_every_step_up_to_twice_total_steps",
            "schedules::test_warmup_cosine_increases_during_warmup_and_never_increases_after",
            "document_schedule::test_up_to_total_steps_ours_equals_the_documents_formula",
        ),
        holds=lambda n: (
            n["warmup"]["document_max_rel_error"] < CLOSED_FORM_RTOL
            and n["warmup"]["rises_until_peak"]
            and n["warmup"]["falls_after_peak"]
            and n["warmup"]["peak_step"] == 100
        ),
        evidence=lambda n: (
            f"peak {n['warmup']['peak']:.4g} at step {n['warmup']['peak_step']}, last {n['warmup']['last']:.4g}; "
            f"max rel. error vs formula {n['warmup']['document_max_rel_error']:.1e}"
        ),
        needs=("D17",),
        figures=("schedules", "warmup_cosine_past_total_steps"),
    ),
    Claim(
        id="S6",
        section="schedules",
        source="学习率调度",
        quote="class WarmupCosineDecay(tf.keras.optimizers.schedules.LearningRateSchedule)",
        translation="The custom schedule is a learning-rate schedule an optimizer can train with.",
        method=f"{OPTIMIZER_STEPS} Adam updates driven by the schedule: the optimizer's rate after step k equals the closed form at k.",
        tests=cite(
            "schedules::test_inside_fit_the_optimizers_learning_rate_is_the_schedule_at_its_int64_iterations",
            "document_schedule::test_d2_model_fit_fails_with_the_documents_schedule_and_runs_with_ours",
        ),
        holds=lambda n: n["in_optimizer"]["max_rel_error"] < CLOSED_FORM_RTOL,
        evidence=lambda n: (
            f"{n['in_optimizer']['iterations']} updates, max rel. error of the rate {n['in_optimizer']['max_rel_error']:.1e}"
        ),
        needs=("D2",),
    ),
]
