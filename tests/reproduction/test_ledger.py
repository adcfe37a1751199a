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

from reference.data import DOCUMENT_DATASETS
from reference.reproduction.cli import UsageError, parse_sections
from reference.reproduction.defects import DEFECTS, result
from reference.reproduction.index import write_index
from reference.reproduction.ledger import (
    AFTER_FIX,
    NOT_REPRODUCED,
    REPRODUCED,
    Claim,
    DefectResult,
    error_line,
    evaluate,
    verdict_for,
)
from reference.reproduction.report import plain
from reference.reproduction.scale import FULL, QUICK, SECTION_NAMES
from reference.reproduction.sections import SECTIONS

ROOT = Path(__file__).resolve().parents[2]
CJK = re.compile(r"[\u4e00-\u9fff]")
ALL_CLAIMS = [claim for module in SECTIONS.values() for claim in module.CLAIMS]


def _epochs(n: int, best: int) -> list[float]:
    """A validation-loss curve of n epochs with its minimum at ``best``."""
    return [1.0 - 0.01 * e if e <= best else 1.0 - 0.01 * best + 0.001 * (e - best) for e in range(n)]


RATES = [0.001 * 0.9**e for e in range(8)]
CUT_RATES = [*RATES[:6], RATES[6] * 0.5, RATES[7] * 0.5]

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
        "basic": {
            "loss": [0.7, 0.3],
            "final_val_accuracy": 0.85,
            "best_val_accuracy": 0.86,
            "epochs_run": 100,
        },
        "advanced": {
            "stopped_reason": "early_stopping",
            "stopped_epoch": 40,
            "best_epoch": 25,
            "restored_val_loss": 0.25,
            "best_val_loss": 0.25,
            "best_val_accuracy": 0.9,
        },
        "constant": {"best_val_loss": 0.26, "best_val_accuracy": 0.89},
        "clipping": {"max_before": 5.0, "max_after": 1.0, "min_cosine": 1.0, "tensors_clipped": 3},
        "patience": 15,
    },
    "regularization": {
        "dropout_bn": {
            name: {"gap": gap, "final_val_accuracy": acc, "loss": [0.5, 0.1], "val_loss": [0.6, 0.4]}
            for name, gap, acc in (
                ("none", 0.3, 0.8),
                ("dropout", 0.05, 0.85),
                ("batch_norm", 0.1, 0.8),
                ("both", 0.0, 0.84),
            )
        },
        "weight": {
            name: {"near_zero": zero, "l2_norm": norm}
            for name, zero, norm in (
                ("none", 0.002, 6.0),
                ("l1", 0.4, 5.0),
                ("l2", 0.002, 4.0),
                ("l1_l2", 0.4, 3.0),
            )
        },
    },
    "callbacks": {
        "demos": {
            "document": {
                "epochs_run": 30,
                "best_epoch": 19,
                "val_loss": _epochs(30, 19),
                "val_accuracy": [0.9, 0.95],
                "restored_val_loss": min(_epochs(30, 19)),
                "checkpoint_accuracy": 0.95,
                "test_rows": 360,
                "tensorboard": {"histogram_tags": 6, "min_histogram_entries": 30, "has_graph": True},
                "csv_rows": 30,
                "csv_columns": ["epoch", "loss"],
            }
        },
        "plateau": {"cut_epoch": 5, "document": {"used": RATES}, "ours": {"used": CUT_RATES}},
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
        "best_epoch": 3,
        "val_loss_rise": 0.1,
        "gap_at_best": 0.0,
        "gap_end": 0.2,
        "smoothed_roughness": 0.01,
        "raw_roughness": 0.05,
    },
}


def _set(path: str, value):
    def change(numbers: dict) -> None:
        *parents, last = path.split(".")
        for key in parents:
            numbers = numbers[int(key)] if isinstance(numbers, list) else numbers[key]
        numbers[last] = value

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
    "T1": _set("basic.loss", [0.3, 0.7]),
    "T2": _set("basic.final_val_accuracy", 0.6),
    "T3": _set("clipping.max_after", 1.5),
    "T4": _set("advanced.stopped_epoch", 39),
    "T5": _set("advanced.restored_val_loss", 0.3),
    "T6": _set("advanced.best_val_accuracy", 0.7),
    "T7": _set("constant.best_val_loss", 0.2),
    "T8": _set("seeding.ours_max_difference", 0.1),
    "R1": _set("dropout_bn.none.gap", 0.08),
    "R2": _set("dropout_bn.dropout.gap", 0.4),
    "R3": _set("dropout_bn.batch_norm.gap", 0.4),
    "R4": _set("dropout_bn.both.gap", 0.4),
    "R5": lambda n: [
        _set(f"dropout_bn.{k}.final_val_accuracy", 0.7)(n) for k in ("dropout", "batch_norm", "both")
    ],
    "R6": _set("weight.l1.near_zero", 0.05),
    "R7": _set("weight.l2.l2_norm", 7.0),
    "R8": _set("weight.l1_l2.l2_norm", 7.0),
    "C1": _set("demos.document.epochs_run", 50),
    "C2": _set("demos.document.restored_val_loss", 1.0),
    "C3": _set("plateau.ours.used", RATES),
    "C4": _set("plateau.document.used", CUT_RATES),
    "C5": _set("demos.document.checkpoint_accuracy", 0.9),
    "C6": _set("demos.document.tensorboard.histogram_tags", 4),
    "C7": _set("demos.document.tensorboard.has_graph", False),
    "C8": _set("demos.document.csv_rows", 29),
    "C9": _set("custom.random.epoch_times", [0.0] * 20),
    "C10": _set("custom.digits.stopped_epoch", None),
    "M1": _set("loss", [math.nan] * 10),
    "M2": _set("val_loss_rise", 0.0),
    "M3": _set("smoothed_roughness", 0.1),
    "M4": _set("gradient_norm", [1e4] * 10),
    "M5": _set("learning_rate", [0.002] * 10),
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


# --- verdicts ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("holds", "present", "expected"),
    [
        (True, [], (REPRODUCED, ())),
        (True, ["D5", "D6"], (AFTER_FIX, ("D5", "D6"))),
        (False, [], (NOT_REPRODUCED, ())),
        (False, ["D5"], (NOT_REPRODUCED, ())),
    ],
    ids=["holds", "holds-after-fix", "fails", "fails-with-defect"],
)
def test_verdict_for_maps_the_predicate_and_the_defects_present_to_the_three_verdicts(
    holds, present, expected
):
    assert verdict_for(holds, present) == expected


@given(holds=st.booleans(), present=st.lists(st.sampled_from(sorted(DEFECTS)), unique=True, max_size=4))
def test_a_verdict_names_exactly_the_present_defects_and_only_when_the_claim_holds(holds, present):
    verdict, fixed_by = verdict_for(holds, present)
    assert (verdict == NOT_REPRODUCED) == (not holds)
    assert fixed_by == (tuple(present) if holds else ())
    assert (verdict == AFTER_FIX) == (holds and bool(present))


def test_a_claim_whose_defect_is_gone_on_this_tensorflow_is_simply_reproduced():
    claim = Claim(
        id="X1",
        section="losses",
        source="s",
        quote="引用",
        translation="quote",
        method="m",
        tests=(),
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


def test_claims_and_defect_results_take_keyword_arguments_only():
    with pytest.raises(TypeError):
        Claim("X1", "losses", "s", "引用", "quote", "m", (), lambda n: True, lambda n: "e")
    with pytest.raises(TypeError):
        result("D1", "document", "fixed", True, True)


def test_claim_ids_are_unique_and_every_claim_has_a_crafted_break():
    ids = [claim.id for claim in ALL_CLAIMS]
    assert len(ids) == len(set(ids))
    assert set(ids) == set(BREAKS)


@pytest.mark.parametrize("claim", ALL_CLAIMS, ids=lambda c: c.id)
def test_every_claim_holds_on_numbers_that_satisfy_it_and_fails_when_its_number_is_broken(claim):
    good = copy.deepcopy(GOOD[claim.section])
    assert claim.holds(good) is True or bool(claim.holds(good))
    assert isinstance(claim.evidence(good), str)
    broken = copy.deepcopy(good)
    BREAKS[claim.id](broken)
    assert not claim.holds(broken)
    assert evaluate(claim, broken, _present(*claim.needs)).verdict == NOT_REPRODUCED
    expected = AFTER_FIX if claim.needs else REPRODUCED
    assert evaluate(claim, good, _present(*claim.needs)).verdict == expected


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


def test_the_full_scale_is_the_documents_epochs_batch_sizes_and_seed():
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
        "regularization_loop": "fit",
    }
    assert {key: getattr(FULL, key) for key in document} == document
    samples = ("basic_samples", "advanced_samples", "dropout_samples", "weight_samples", "monitored_samples")
    assert all(getattr(FULL, name) is None for name in samples)
    assert [
        DOCUMENT_DATASETS[n].n_samples
        for n in ("basic", "advanced", "regularization", "weight_regularization", "monitored")
    ] == [1000, 2000, 500, 800, 2000]


def test_the_quick_scale_trains_at_most_three_epochs_everywhere():
    epochs = [
        value for key, value in vars(QUICK).items() if key.endswith("_epochs") and key != "plateau_epochs"
    ]
    assert epochs and max(epochs) <= 3


# --- command line, JSON, index -------------------------------------------------------------------------


def test_parse_sections_keeps_the_named_sections_and_defaults_to_all():
    assert parse_sections(" losses , monitoring ") == ["losses", "monitoring"]
    assert parse_sections(None) == list(SECTION_NAMES)


@pytest.mark.parametrize("text", ["bogus", "losses,bogus", " , "], ids=["unknown", "one-unknown", "empty"])
def test_parse_sections_rejects_unknown_or_empty_lists_naming_the_valid_sections(text):
    with pytest.raises(UsageError, match="valid sections: losses, optimizers"):
        parse_sections(text)


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
