"""The reproduction's ledgers without training: verdict logic, every claim's predicate on crafted
numbers both ways, the test ids the ledgers cite, the command-line parsing and the index."""

from __future__ import annotations

import ast
import copy
import functools
import math
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from packaging.version import Version

from reference.data import DOCUMENT_DATASETS
from reference.loop import STOP_EARLY
from reference.reproduction import cli
from reference.reproduction.cli import UsageError, parse_scale, parse_sections
from reference.reproduction.defects import DEFECTS, result
from reference.reproduction.index import write_index
from reference.reproduction.ledger import (
    AFTER_FIX,
    CONTRADICTED,
    DETERMINISTIC,
    DIFFERS,
    INCONCLUSIVE,
    ON_EVERY_SEED,
    OPPOSED,
    OVER_SEEDS,
    REPRODUCED,
    SUPPORTED,
    UNDECIDED,
    CheckClaim,
    Claim,
    DefectResult,
    Effect,
    EffectClaim,
    error_line,
    evaluate,
    verdict_for,
)
from reference.reproduction.report import plain
from reference.reproduction.scale import FULL, QUICK, SECTION_NAMES
from reference.reproduction.sections import SECTIONS
from reference.reproduction.sections.callbacks import TAGS_BY_PATH_SINCE
from reference.reproduction.version_limits import PACKAGES, VersionLimit, installed_releases
from reference.versions import installed_version, keras_at_least

ROOT = Path(__file__).resolve().parents[2]
CJK = re.compile(r"[\u4e00-\u9fff]")
ALL_CLAIMS = [claim for module in SECTIONS.values() for claim in module.CLAIMS]
LIMITED_CLAIMS = [claim for claim in ALL_CLAIMS if claim.version_limits]
# Releases at which no claim's version limit applies: each package at the newest release a limit names.
UNLIMITED = {
    package: max(
        (limit.since for c in ALL_CLAIMS for limit in c.version_limits if limit.package == package),
        key=Version,
        default="0",
    )
    for package in PACKAGES
}


def _epochs(n: int, best: int) -> list[float]:
    """A validation-loss curve of n epochs with its minimum at ``best``."""
    return [1.0 - 0.01 * e if e <= best else 1.0 - 0.01 * best + 0.001 * (e - best) for e in range(n)]


RATES = [0.001 * 0.9**e for e in range(11)]  # the plateau: EarlyStopping(patience=10) ends it after epoch 10
CUT_RATES = [*RATES[:6], *(r * 0.5 for r in RATES[6:])]

# Numbers for which every claim of the section holds (shapes as the sections produce them).
GOOD = {
    "losses": {
        "values": {
            **{
                k: v
                for name, v in {
                    "bce": 0.2027,
                    "bce_logits": 0.2044,
                    "mse": 0.022,
                    "mae": 0.14,
                    "huber": 0.011,
                    "msle": 0.00157,
                }.items()
                for k in (name, f"{name}_formula")
            },
            "sparse_ce": [0.3, 0.2],
            "categorical_ce": [0.3, 0.2],
            "ce_formula": [0.3, 0.2],
        },
        "stability": {"extreme_on_logits": 50.0, "extreme_on_probabilities": 16.1},
        "robustness": {"mse_growth": 18000.0, "huber_growth": 800.0},
        "focal": {
            "weight_easy": 0.0025,
            "weight_hard": 0.2,
            "ours": 0.0036,
            "definition": 0.0036,
            "keras_builtin": 0.0036,
            "document": 0.00294,
            "bce_mean": 0.2027,
        },
    },
    "optimizers": {
        "runs": {
            "sgd": {"initial": 8.0, "final": 1e-9, "max_x": 1.99, "rises": 0},
            "sgd_momentum": {"initial": 8.0, "final": 0.02, "max_x": 3.4, "rises": 22},
            "adam": {"initial": 8.0, "final": 0.017, "max_x": 2.2, "rises": 5},
            "rmsprop": {"initial": 8.0, "final": 0.0, "max_x": 2.0, "rises": 1},
            "adagrad": {"initial": 8.0, "final": 0.05, "max_x": 1.9, "rises": 0},
        },
        "adam_first_step": {"1": 0.1, "1000": 0.1},
    },
    "schedules": {
        "builtins": {
            name: {"max_rel_error": 1e-7, "non_increasing": True, "first": 0.1, "last": 0.05}
            for name in ("exponential", "polynomial", "piecewise", "cosine")
        },
        "warmup": {
            "document_max_rel_error": 1e-7,
            "rises_until_peak": True,
            "falls_after_peak": True,
            "peak_step": 100,
            "peak": 0.001,
            "last": 1e-4,
        },
        "in_optimizer": {"max_rel_error": 1e-7, "iterations": 150},
    },
    "training": {
        "seeding": {"document_max_difference": 0.5, "ours_max_difference": 0.0},
        "clipping": {"max_before": 5.0, "max_after": 1.0, "min_cosine": 1.0, "tensors_clipped": 3},
    },
    "regularization": {},
    "callbacks": {
        "plateau": {"cut_epoch": 5, "epochs": 12, "document": {"used": RATES}, "ours": {"used": CUT_RATES}},
    },
    "monitoring": {},
}

# One seed's numbers, for which every claim of the section holds (shapes as the sections produce them).
ONE_SEED = {
    "training": {
        "patience": 15,
        "basic": {"loss": [0.7, 0.3], "final_val_accuracy": 0.85, "val_loss_rise": 0.1, "gap_widening": 0.2},
        "advanced": {
            "stopped_reason": STOP_EARLY,
            "stopped_epoch": 40,
            "best_epoch": 25,
            "epochs_run": 41,
            "restored_val_loss": 0.25,
            "best_val_loss": 0.25,
            "returned_val_accuracy": 0.9,
        },
        "constant": {"restored_val_loss": 0.26},
    },
    "regularization": {
        "dropout_bn": {
            name: {"gap": gap, "final_val_accuracy": acc}
            for name, gap, acc in (
                ("none", 0.3, 0.8),
                ("dropout", 0.05, 0.85),
                ("batch_norm", 0.1, 0.82),
                ("both", 0.0, 0.84),
            )
        },
        "weight": {
            name: {
                "near_zero": zero,
                "l1_norm": l1,
                "l2_norm": l2,
                "final_val_cross_entropy": ce,
                "final_val_accuracy": acc,
            }
            for name, zero, l1, l2, ce, acc in (
                ("none", 0.002, 500.0, 6.0, 0.5, 0.8),
                ("l1", 0.4, 20.0, 5.0, 0.4, 0.82),
                ("l2", 0.002, 100.0, 4.0, 0.45, 0.81),
                ("l1_l2", 0.4, 15.0, 3.0, 0.42, 0.83),
            )
        },
    },
    "callbacks": {
        "document": {
            "epochs": 50,
            "epochs_run": 30,
            "best_epoch": 19,
            "val_loss": _epochs(30, 19),
            "val_accuracy": [0.9, 0.95, 0.94],
            "restored_val_loss": min(_epochs(30, 19)),
            "checkpoint_accuracy": 0.95,
            "test_rows": 360,
            "tensorboard": {
                "histogram_tags": 6,
                "min_histogram_entries": 30,
                "image_tags": 6,
                "min_image_entries": 30,
                "has_graph": True,
            },
            "csv_rows": 30,
        },
        "custom": {
            "random": {
                "epoch_times": [0.1] * 20,
                "epochs_run": 20,
                "val_accuracy": [0.5] * 20,
                "stopped_epoch": None,
            },
            "digits": {
                "stopped_epoch": 7,
                "epochs_run": 8,
                "val_accuracy": [0.5, 0.8, 0.9, 0.92, 0.93, 0.94, 0.95, 0.96],
            },
        },
    },
    "monitoring": {
        **{key: [0.5] * 10 for key in ("loss", "accuracy", "val_loss", "val_accuracy")},
        "learning_rate": [0.001] * 10,
        "gradient_norm": [0.7] * 10,
        "epochs": 10,
        "val_loss_rise": 0.1,
        "gap_widening": 0.2,
        "smoothed_roughness": 0.01,
        "raw_roughness": 0.05,
    },
}
SEEDS = [42, 43, 44]
for _section, _numbers in ONE_SEED.items():
    GOOD[_section] |= {"seeds": SEEDS, "per_seed": [copy.deepcopy(_numbers) for _ in SEEDS]}


def _set(path: str, value):
    def change(numbers: dict) -> None:
        *parents, last = path.split(".")
        for key in parents:
            numbers = numbers[int(key)] if isinstance(numbers, list) else numbers[key]
        numbers[last] = value

    return change


def _each(path: str, value):
    """``_set`` on the numbers of every seed."""

    def change(numbers: dict) -> None:
        for seed_numbers in numbers["per_seed"]:
            _set(path, value)(seed_numbers)

    return change


# claim id -> a change of its section's GOOD numbers that must make it fail.
BREAKS = {
    "L1": _set("values.bce", 0.3),
    "L2": _set("stability.extreme_on_logits", 16.1),
    "L3": _set("values.categorical_ce", [0.3, 0.25]),
    "L4": _set("values.huber", 0.02),
    "L5": _set("robustness.huber_growth", 18000.0),
    "L6": _set("focal.weight_easy", 0.1),
    "L7": _set("focal.ours", 0.3),
    "O1": _set("runs.adagrad.final", 9.0),
    "O2": _set("runs.adagrad.final", 1.687),
    "O3": _set("runs.sgd_momentum.rises", 0),
    "O4": _set("adam_first_step.1000", 0.5),
    "S1": _set("builtins.exponential.non_increasing", False),
    "S2": _set("builtins.polynomial.max_rel_error", 1e-2),
    "S3": _set("builtins.piecewise.max_rel_error", 1.0),
    "S4": _set("builtins.cosine.non_increasing", False),
    "S5": _set("warmup.peak_step", 99),
    "S6": _set("in_optimizer.max_rel_error", 0.5),
    "T1": _each("basic.loss", [0.3, 0.7]),
    "T2": _each("basic.final_val_accuracy", 0.6),
    "T3": _set("clipping.max_after", 1.5),
    "T4": _each("advanced.stopped_epoch", 39),
    "T5": _each("advanced.restored_val_loss", 0.3),
    "T6": _each("advanced.returned_val_accuracy", 0.7),
    "T7": _each("constant.restored_val_loss", 0.2),
    "T8": _set("seeding.ours_max_difference", 0.1),
    "T9": _each("basic.val_loss_rise", 0.0),
    "R1": _each("dropout_bn.none.gap", 0.08),
    "R2": _each("dropout_bn.dropout.gap", 0.4),
    "R3": _each("dropout_bn.batch_norm.gap", 0.4),
    "R4": _each("dropout_bn.both.gap", 0.4),
    "R5": _each("dropout_bn.dropout.final_val_accuracy", 0.7),
    "R9": _each("dropout_bn.batch_norm.final_val_accuracy", 0.7),
    "R10": _each("dropout_bn.both.final_val_accuracy", 0.7),
    "R6": _each("weight.l1.near_zero", 0.05),
    "R7": _each("weight.l2.l2_norm", 7.0),
    "R8": _each("weight.l1_l2.l2_norm", 7.0),
    "R17": _each("weight.l1.l1_norm", 600.0),
    "R11": _each("weight.l1.final_val_cross_entropy", 0.6),
    "R12": _each("weight.l1.final_val_accuracy", 0.7),
    "R13": _each("weight.l2.final_val_cross_entropy", 0.6),
    "R14": _each("weight.l2.final_val_accuracy", 0.7),
    "R15": _each("weight.l1_l2.final_val_cross_entropy", 0.6),
    "R16": _each("weight.l1_l2.final_val_accuracy", 0.7),
    "C1": _set("plateau.document.used", RATES[:8]),
    "C2": _each("document.restored_val_loss", 1.0),
    "C3": _set("plateau.ours.used", RATES),
    "C4": _set("plateau.document.used", CUT_RATES),
    "C5": _each("document.checkpoint_accuracy", 0.9),
    "C6": _each("document.tensorboard.histogram_tags", 4),
    "C7": _each("document.tensorboard.has_graph", False),
    "C11": _each("document.tensorboard.image_tags", 4),
    "C8": _each("document.csv_rows", 29),
    "C9": _each("custom.random.epoch_times", [0.0] * 20),
    "C10": _each("custom.digits.stopped_epoch", 6),
    "M1": _each("loss", [math.nan] * 10),
    "M2": _each("val_loss_rise", 0.0),
    "M3": _each("smoothed_roughness", 0.1),
    "M4": _each("gradient_norm", [1e4] * 10),
    "M5": _each("learning_rate", [0.002] * 10),
}


def _present(*ids: str, present: bool = True) -> dict[str, DefectResult]:
    return {
        i: DefectResult(
            id=i,
            title="t",
            where="w",
            document="doc",
            fixed="fixed",
            present=present,
            fix_verified=True,
            fix="fix",
            tests=(),
        )
        for i in ids
    }


# --- verdict rules ------------------------------------------------------------------------------------

# t_{0.975, 2} from a printed t table: three seeds.
T_975_2 = 4.3027


# What a synthetic claim says (its verdict does not read it).
TEXT = {"source": "s", "quote": "引用", "translation": "quote", "method": "m", "tests": ()}


def _effect_claim(*effects: Effect, needs: tuple[str, ...] = ()) -> EffectClaim:
    return EffectClaim(id="X1", section="training", **TEXT, effects=effects, needs=needs)


def _x(claimed: str = ">", reference: float = 0.0, key: str = "x") -> Effect:
    return Effect(label=key, unit="nats", measure=lambda n: n[key], claimed=claimed, reference=reference)


def _over(values, key: str = "x", **more) -> dict:
    """Per-seed numbers with ``key`` taking ``values`` (and ``more[k]`` its own values)."""
    rows = [{key: v} for v in values]
    for other, others in more.items():
        for row, v in zip(rows, others, strict=True):
            row[other] = v
    return {"seeds": list(range(42, 42 + len(rows))), "per_seed": rows}


@pytest.mark.parametrize(
    ("outcome", "present", "expected"),
    [
        (SUPPORTED, [], (REPRODUCED, ())),
        (SUPPORTED, ["D5", "D6"], (AFTER_FIX, ("D5", "D6"))),
        (OPPOSED, [], (CONTRADICTED, ())),
        (OPPOSED, ["D5"], (CONTRADICTED, ())),
        (UNDECIDED, [], (INCONCLUSIVE, ())),
        (UNDECIDED, ["D5"], (INCONCLUSIVE, ())),
    ],
    ids=[
        "supported",
        "supported-after-fix",
        "opposed",
        "opposed-with-defect",
        "undecided",
        "undecided-with-defect",
    ],
)
def test_verdict_for_maps_the_outcome_and_the_defects_present_to_the_four_verdicts(
    outcome, present, expected
):
    assert verdict_for(outcome, present) == expected
    limited = (DIFFERS, ()) if outcome != SUPPORTED else expected
    assert verdict_for(outcome, present, version_limited=True) == limited


@given(
    outcome=st.sampled_from([SUPPORTED, OPPOSED, UNDECIDED]),
    present=st.lists(st.sampled_from(sorted(DEFECTS)), unique=True, max_size=4),
)
def test_a_verdict_names_exactly_the_present_defects_and_only_when_the_claim_is_supported(outcome, present):
    verdict, fixed_by = verdict_for(outcome, present)
    assert fixed_by == (tuple(present) if outcome == SUPPORTED else ())
    assert (verdict == AFTER_FIX) == (outcome == SUPPORTED and bool(present))


@pytest.mark.parametrize(
    ("values", "claimed", "reference", "expected"),
    [
        ([3.0, 4.0, 5.0], ">", 0.0, REPRODUCED),  # 4 +- 4.3027 / sqrt(3) = [1.52, 6.48]
        ([1.0, 2.0, 3.0], ">", 0.0, INCONCLUSIVE),  # 2 +- 2.484 = [-0.48, 4.48]
        ([-5.0, -4.0, -3.0], ">", 0.0, CONTRADICTED),
        ([-5.0, -4.0, -3.0], "<", 0.0, REPRODUCED),
        ([3.0, 4.0, 5.0], "<", 0.0, CONTRADICTED),
        ([83.0, 84.0, 85.0], ">", 80.0, REPRODUCED),  # a threshold: [81.52, 86.48] above 80
        ([79.0, 80.0, 81.0], ">", 80.0, INCONCLUSIVE),
        ([75.0, 76.0, 77.0], ">", 80.0, CONTRADICTED),
    ],
    ids=[
        "above-0",
        "across-0",
        "below-0",
        "below-0-claimed-below",
        "above-0-claimed-below",
        "above-80",
        "across-80",
        "below-80",
    ],
)
def test_an_effect_is_decided_by_where_its_t_interval_lies_against_the_reference(
    values, claimed, reference, expected
):
    decided = evaluate(_effect_claim(_x(claimed, reference)), _over(values), {})
    assert decided.verdict == expected
    (effect,) = decided.effects
    half = T_975_2 * 1.0 / math.sqrt(3)  # s = 1 for three consecutive numbers
    mean = sum(values) / 3
    assert (effect.interval.low, effect.interval.high) == pytest.approx((mean - half, mean + half), abs=1e-4)


def test_k_of_n_counts_the_seeds_strictly_on_the_claimed_side():
    decided = evaluate(_effect_claim(_x()), _over([1.0, -1.0, 2.0, 0.0, 3.0]), {})
    assert decided.effects[0].agreeing == 3 and "3 of 5 seeds > 0" in decided.evidence


def test_the_evidence_gives_the_mean_with_its_unit_the_interval_and_every_seeds_value():
    decided = evaluate(_effect_claim(_x()), _over([3.0, 4.0, 5.0]), {})
    assert decided.evidence.startswith("x: +4 nats, 95% t interval [+1.516, +6.484], claimed > 0")
    assert "(seed: value 42: +3, 43: +4, 44: +5)" in decided.evidence


def test_one_seed_leaves_every_effect_inconclusive():
    decided = evaluate(_effect_claim(_x()), _over([100.0]), {})
    assert decided.verdict == INCONCLUSIVE and "no interval from one seed" in decided.evidence


def test_a_value_that_is_not_finite_leaves_its_effect_without_interval_and_inconclusive():
    decided = evaluate(_effect_claim(_x()), _over([1.0, math.nan, 2.0]), {})
    assert decided.verdict == INCONCLUSIVE and decided.effects[0].interval is None


@pytest.mark.parametrize(
    ("x", "y", "expected"),
    [
        ([3.0, 4.0, 5.0], [3.0, 4.0, 5.0], REPRODUCED),
        ([3.0, 4.0, 5.0], [1.0, 2.0, 3.0], INCONCLUSIVE),
        ([3.0, 4.0, 5.0], [-5.0, -4.0, -3.0], CONTRADICTED),
        ([1.0, 2.0, 3.0], [-5.0, -4.0, -3.0], CONTRADICTED),
    ],
    ids=["both-supported", "one-undecided", "one-opposed", "undecided-and-opposed"],
)
def test_a_claim_with_two_effects_needs_both_and_falls_with_either(x, y, expected):
    claim = _effect_claim(_x(key="x"), _x(key="y"))
    assert evaluate(claim, _over(x, y=y), {}).verdict == expected


def test_the_after_fix_qualifier_applies_to_a_claim_reproduced_over_seeds_only():
    claim = _effect_claim(_x(), needs=("D5",))
    fixed = evaluate(claim, _over([3.0, 4.0, 5.0]), _present("D5"))
    assert (fixed.verdict, fixed.label) == (AFTER_FIX, "reproduced only after fixing D5")
    undecided = evaluate(claim, _over([1.0, 2.0, 3.0]), _present("D5"))
    assert (undecided.verdict, undecided.fixed_by) == (INCONCLUSIVE, ())
    assert evaluate(claim, _over([3.0, 4.0, 5.0]), _present("D5", present=False)).verdict == REPRODUCED


def _check_claim() -> CheckClaim:
    return CheckClaim(
        id="X2", section="callbacks", **TEXT, check=lambda n: n["x"], describe=lambda n: f"x={n['x']}"
    )


@pytest.mark.parametrize(
    ("checks", "expected"),
    [
        ([True, None, True], REPRODUCED),
        ([None, None, None], INCONCLUSIVE),
        ([True, False, True], CONTRADICTED),
        ([None, False, None], CONTRADICTED),
        ([False, True, True], CONTRADICTED),
    ],
    ids=["held-where-exercised", "never-exercised", "failed-once", "failed-where-exercised", "failed-first"],
)
def test_a_mechanism_fails_on_one_failed_seed_and_needs_one_seed_that_exercised_it(checks, expected):
    decided = evaluate(_check_claim(), _over(checks), {})
    assert decided.verdict == expected and decided.checks == tuple(checks)
    assert f"held on {checks.count(True)} of 3 seeds, failed on {checks.count(False)}" in decided.evidence


# --- version limits ------------------------------------------------------------------------------


def _limited_check_claim(*limits: VersionLimit) -> CheckClaim:
    return CheckClaim(
        id="X3",
        section="callbacks",
        **TEXT,
        check=lambda n: n["x"],
        describe=lambda n: f"x={n['x']}",
        needs=("D8",),
        version_limits=limits,
    )


TAGS = VersionLimit(package="keras", since="3.14", reason="the tags collide")
OLD = {"tensorflow": "2.16.1", "keras": "3.8.0"}


@pytest.mark.parametrize(
    ("checks", "outcome"),
    [([False, False], OPPOSED), ([None, None], UNDECIDED)],
    ids=["opposed", "undecided"],
)
def test_a_claim_not_supported_on_a_release_before_its_limit_differs_on_this_version(checks, outcome):
    decided = evaluate(_limited_check_claim(TAGS), _over(checks), _present("D8"), installed=OLD)
    assert (decided.verdict, decided.outcome, decided.fixed_by) == (DIFFERS, outcome, ())
    assert decided.label == "differs on Keras 3.8.0: the tags collide before 3.14"
    written = decided.as_dict()
    assert written["differs_on"] == [
        {"package": "keras", "installed": "3.8.0", "since": "3.14", "reason": "the tags collide"}
    ]
    assert written["version_limits"] == [{"package": "keras", "since": "3.14", "reason": "the tags collide"}]


@pytest.mark.parametrize("keras", ["3.14.0", "3.14.0rc1", "3.15.1", None], ids=str)
def test_on_the_limits_release_or_later_or_an_unknown_one_the_verdict_is_the_ordinary_one(keras):
    installed = OLD | {"keras": keras}
    claim = _limited_check_claim(TAGS)
    failed = evaluate(claim, _over([False, True]), _present("D8"), installed=installed)
    assert (failed.verdict, failed.differs_on) == (CONTRADICTED, ())
    unexercised = evaluate(claim, _over([None, None]), _present("D8"), installed=installed)
    assert unexercised.verdict == INCONCLUSIVE


def test_a_claim_that_holds_on_a_release_before_its_limit_stays_reproduced():
    claim = _limited_check_claim(TAGS)
    fixed = evaluate(claim, _over([True, True]), _present("D8"), installed=OLD)
    assert (fixed.verdict, fixed.label) == (AFTER_FIX, "reproduced only after fixing D8")
    assert fixed.differs_on[0].installed == "3.8.0"  # recorded, though it changed nothing
    plain_claim = evaluate(claim, _over([True, True]), _present("D8", present=False), installed=OLD)
    assert plain_claim.verdict == REPRODUCED


def test_every_limit_that_applies_is_named_and_only_those():
    tensorflow = VersionLimit(package="tensorflow", since="2.18", reason="x differs")
    later = VersionLimit(package="keras", since="3.9", reason="y differs")
    claim = _limited_check_claim(TAGS, tensorflow, later)
    installed = {"tensorflow": "2.16.1", "keras": "3.10.0"}
    decided = evaluate(claim, _over([False, False]), _present("D8"), installed=installed)
    assert decided.label == (
        "differs on Keras 3.10.0: the tags collide before 3.14; TensorFlow 2.16.1: x differs before 2.18"
    )


@pytest.mark.parametrize(
    ("arguments", "name"),
    [
        ({"package": "torch", "since": "2.0", "reason": "r"}, "package"),
        ({"package": "keras", "since": "three", "reason": "r"}, "since"),
        ({"package": "keras", "since": "3.14", "reason": ""}, "reason"),
    ],
    ids=["unknown-package", "not-a-release", "no-reason"],
)
def test_a_version_limit_refuses_a_bad_argument_naming_it(arguments, name):
    with pytest.raises(ValueError, match=rf"^Argument `{name}` must be .* Received: {name}="):
        VersionLimit(**arguments)


def test_c6_and_c11_declare_that_tensorboard_tags_collide_before_keras_3_14():
    limited = {c.id: c.version_limits for c in LIMITED_CLAIMS}
    assert set(limited) == {"C6", "C11"} and TAGS_BY_PATH_SINCE == "3.14"
    for (limit,) in limited.values():
        assert (limit.package, limit.since) == ("keras", "3.14") and "collide" in limit.reason


def test_the_ledger_reads_the_installed_releases_as_keras_at_least_does():
    installed = installed_releases()
    assert installed["keras"] == str(installed_version("keras"))
    assert TAGS.applies(installed) is not keras_at_least("3.14")


def test_a_claim_whose_defect_is_gone_on_this_tensorflow_is_simply_reproduced():
    claim = Claim(
        id="X1",
        section="losses",
        **TEXT,
        holds=lambda n: n["ok"],
        evidence=lambda n: "e",
        needs=("D1", "D2"),
    )
    gone = evaluate(claim, {"ok": True}, {**_present("D1", present=False), **_present("D2")})
    assert (gone.verdict, gone.fixed_by, gone.label) == (
        AFTER_FIX,
        ("D2",),
        "reproduced only after fixing D2",
    )
    assert evaluate(claim, {"ok": True}, _present("D1", "D2", present=False)).label == REPRODUCED
    assert evaluate(claim, {"ok": False}, _present("D1", "D2")).verdict == CONTRADICTED


def test_claims_and_defect_results_take_keyword_arguments_only():
    with pytest.raises(TypeError):
        Claim("X1", "losses", "s", "引用", "quote", "m", (), lambda n: True, lambda n: "e")
    with pytest.raises(TypeError):
        result("D1", "document", "fixed", True, True)


def test_a_claimed_side_other_than_above_or_below_is_refused():
    with pytest.raises(ValueError, match="`claimed`"):
        Effect(label="x", unit="nats", measure=lambda n: 0.0, claimed=">=")


def test_a_claim_result_as_a_dict_keeps_every_seeds_value_and_the_interval():
    decided = evaluate(_effect_claim(_x()), _over([3.0, 4.0, 5.0]), {}).as_dict()
    (effect,) = decided["effects"]
    assert decided["seeds"] == [42, 43, 44] and effect["values"] == [3.0, 4.0, 5.0]
    assert effect["interval"]["df"] == 2 and effect["interval"]["t"] == pytest.approx(T_975_2, abs=5e-5)
    assert (effect["agreeing"], effect["n"], effect["outcome"]) == (3, 3, SUPPORTED)


# --- every claim, both ways -------------------------------------------------------------------------


def test_claim_ids_are_unique_and_every_claim_has_a_crafted_break():
    ids = [claim.id for claim in ALL_CLAIMS]
    assert len(ids) == len(set(ids))
    assert set(ids) == set(BREAKS)


@pytest.mark.parametrize("claim", ALL_CLAIMS, ids=lambda c: c.id)
def test_every_claim_is_reproduced_on_numbers_that_satisfy_it_and_contradicted_when_they_are_broken(claim):
    good = copy.deepcopy(GOOD[claim.section])
    expected = AFTER_FIX if claim.needs else REPRODUCED
    decided = evaluate(claim, good, _present(*claim.needs), installed=UNLIMITED)
    assert decided.verdict == expected, decided.evidence
    broken = copy.deepcopy(good)
    BREAKS[claim.id](broken)
    decided = evaluate(claim, broken, _present(*claim.needs), installed=UNLIMITED)
    assert decided.verdict == CONTRADICTED, decided.evidence


@pytest.mark.parametrize("claim", LIMITED_CLAIMS, ids=lambda c: c.id)
def test_a_version_limited_claim_broken_on_a_release_before_its_limit_differs_and_holds_when_satisfied(claim):
    (limit,) = claim.version_limits
    older = UNLIMITED | {limit.package: "3.8.0" if limit.package == "keras" else "2.16.1"}
    broken = copy.deepcopy(GOOD[claim.section])
    BREAKS[claim.id](broken)
    decided = evaluate(claim, broken, _present(*claim.needs), installed=older)
    name = PACKAGES[limit.package]
    assert decided.verdict == DIFFERS and decided.outcome == OPPOSED and decided.fixed_by == ()
    assert decided.label == f"differs on {name} {older[limit.package]}: {limit.reason} before {limit.since}"
    good = evaluate(claim, copy.deepcopy(GOOD[claim.section]), _present(*claim.needs), installed=older)
    assert good.verdict == (AFTER_FIX if claim.needs else REPRODUCED)


@pytest.mark.parametrize("claim", [c for c in ALL_CLAIMS if isinstance(c, Claim)], ids=lambda c: c.id)
def test_a_deterministic_claim_is_decided_on_one_run_and_names_no_seeds(claim):
    decided = evaluate(claim, copy.deepcopy(GOOD[claim.section]), _present(*claim.needs))
    assert (decided.kind, decided.seeds, decided.effects, decided.checks) == (DETERMINISTIC, (), (), ())


@pytest.mark.parametrize("claim", [c for c in ALL_CLAIMS if not isinstance(c, Claim)], ids=lambda c: c.id)
def test_a_stochastic_claim_is_decided_on_every_seed_and_names_them(claim):
    decided = evaluate(claim, copy.deepcopy(GOOD[claim.section]), _present(*claim.needs))
    assert decided.kind in (OVER_SEEDS, ON_EVERY_SEED) and decided.seeds == tuple(SEEDS)
    per_seed = decided.effects or [decided]
    assert all(len(e.values if e is not decided else e.checks) == len(SEEDS) for e in per_seed)
    assert all(f"{seed}:" in decided.evidence or f"seed {seed}" in decided.evidence for seed in SEEDS)


# --- what the ledgers cite ---------------------------------------------------------------------------


@functools.cache
def _test_functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.name for node in tree.body if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
    }


CITED = sorted({t for c in ALL_CLAIMS for t in c.tests} | {t for d in DEFECTS.values() for t in d.tests})


@pytest.mark.parametrize("test_id", CITED)
def test_every_test_the_ledgers_cite_exists(test_id):
    path, name = test_id.split("::")
    assert name in _test_functions(ROOT / path), f"{test_id} does not exist"


@pytest.mark.parametrize("claim", ALL_CLAIMS, ids=lambda c: c.id)
def test_every_claim_quotes_the_document_in_chinese_and_translates_it(claim):
    assert CJK.search(claim.quote) or CJK.search(claim.source)
    assert claim.translation and not CJK.search(claim.translation)
    assert claim.tests and claim.method


@pytest.mark.parametrize("name", SECTION_NAMES)
def test_every_claim_needs_only_defects_its_own_section_captures(name):
    module = SECTIONS[name]
    assert all(set(claim.needs) <= set(module.DEFECT_IDS) for claim in module.CLAIMS)
    assert all(claim.section == name for claim in module.CLAIMS)


def test_the_defects_ledger_holds_d1_to_d17_each_captured_by_exactly_one_section():
    captured = [i for module in SECTIONS.values() for i in module.DEFECT_IDS]
    assert sorted(captured, key=lambda i: int(i[1:])) == [f"D{i}" for i in range(1, 18)] == list(DEFECTS)


# --- scales ------------------------------------------------------------------------------------------


def test_the_full_scale_is_the_documents_epochs_batch_sizes_and_first_seed_over_five_seeds():
    document = {
        "seed": 42,
        "optimizer_steps": 50,
        "schedule_steps": 500,
        "warmup_steps_shown": 1000,
        "basic_epochs": 100,
        "batch_size": 32,
        "advanced_epochs": 200,
        "advanced_patience": 15,
        "dropout_epochs": 100,
        "weight_epochs": 150,
        "callbacks_epochs": 50,
        "callbacks_batch_size": 128,
        "custom_epochs": 20,
        "custom_train": 1000,
        "custom_val": 200,
        "monitored_epochs": 100,
        "seeds": 5,
    }
    assert {key: getattr(FULL, key) for key in document} == document
    samples = ("basic_samples", "advanced_samples", "dropout_samples", "weight_samples", "monitored_samples")
    assert all(getattr(FULL, name) is None for name in samples)
    assert [
        DOCUMENT_DATASETS[n].n_samples
        for n in ("basic", "advanced", "regularization", "weight_regularization", "monitored")
    ] == [1000, 2000, 500, 800, 2000]


def test_the_quick_scale_trains_at_most_three_epochs_everywhere_over_two_seeds():
    epochs = [
        value for key, value in vars(QUICK).items() if key.endswith("_epochs") and key != "plateau_epochs"
    ]
    assert epochs and max(epochs) <= 3
    assert QUICK.seed_list == (42, 43)


# --- command line, JSON, index -------------------------------------------------------------------------


def test_parse_sections_keeps_the_named_sections_and_defaults_to_all():
    assert parse_sections(" losses , monitoring ") == ["losses", "monitoring"]
    assert parse_sections(None) == list(SECTION_NAMES)


@pytest.mark.parametrize("text", ["bogus", "losses,bogus", " , "], ids=["unknown", "one-unknown", "empty"])
def test_parse_sections_rejects_unknown_or_empty_lists_naming_the_valid_sections(text):
    with pytest.raises(UsageError, match="valid sections: losses, optimizers"):
        parse_sections(text)


@pytest.mark.parametrize(
    ("quick", "seeds", "expected"),
    [
        (False, None, 5),
        (True, None, 2),
        (False, "3", 3),
        (True, " 7 ", 7),
        (False, "1", 1),
        (False, "100", 100),
    ],
    ids=["full-default", "quick-default", "full-3", "quick-7-spaced", "one", "hundred"],
)
def test_parse_scale_takes_the_seeds_given_or_the_scales_default(quick, seeds, expected):
    scale = parse_scale(quick, seeds)
    assert scale.name == ("quick" if quick else "full") and scale.seeds == expected
    assert scale.seed_list == tuple(range(42, 42 + expected))


@pytest.mark.parametrize(
    "seeds",
    ["0", "-1", "2.5", "abc", "101", "1e2", ""],
    ids=["zero", "negative", "fraction", "word", "101", "1e2", "empty"],
)
def test_bad_seeds_exit_2_with_one_line_naming_them_and_write_nothing(seeds, tmp_path, capsys):
    out = tmp_path / "reports"
    assert cli.main(["--quick", "--seeds", seeds, "--out-dir", str(out)]) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(
        "tfrepro: error: Argument `seeds` must be an integer in [1, 100]"
    )
    assert f"Received: seeds={seeds!r}" in err or f"Received: seeds={seeds.strip()}" in err
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_plain_turns_numpy_values_into_json_values_and_non_finite_floats_into_none():
    value = {"a": np.float32(0.5), "b": np.arange(3), "c": (math.nan, math.inf, 1), 2: [np.bool_(True)]}
    assert plain(value) == {"a": 0.5, "b": [0, 1, 2], "c": [None, None, 1], "2": [True]}


@given(hnp.arrays(np.float32, hnp.array_shapes(max_dims=2, max_side=4)))
def test_plain_keeps_every_finite_array_value_and_maps_nan_and_inf_to_none(array):
    converted = plain({"a": array})["a"]
    flat = np.ravel(np.asarray(converted, dtype=object)) if array.ndim else [converted]
    for value, original in zip(flat, array.ravel(), strict=True):
        assert value == float(original) if np.isfinite(original) else value is None


def test_error_line_is_the_type_and_the_first_line_of_the_message():
    assert error_line(ValueError("first\nsecond")) == "ValueError: first"
    assert error_line(KeyError()) == "KeyError"


def test_the_index_links_exactly_the_reports_present(tmp_path):
    (tmp_path / "reproduction.html").write_text("<html></html>")
    (tmp_path / "benchmarks.html").write_text("<html></html>")
    page = write_index(tmp_path).read_text()
    assert 'href="reproduction.html"' in page and 'href="benchmarks.html"' in page
    assert 'href="compare.html"' not in page and "compare.html" in page  # listed as not generated yet
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "benchmarks.html",
        "index.html",
        "reproduction.html",
    ]
