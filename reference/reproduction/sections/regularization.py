"""Section 5, 正则化技术 (regularization): dropout / batch norm, then L1 / L2, with their claims.

Both comparisons are ``reference.regularization.run_comparison`` (``fit`` at full scale, Adam 0.001,
batch 32, seed 42) on the document's data, standardized with the training statistics (D10 fixed).
"""

from __future__ import annotations

import functools
from pathlib import Path

from reference.regularization import (
    COMPARISONS,
    generalization_gap,
    near_zero_fraction,
    plot_loss_curves,
    plot_weight_comparison,
    run_comparison,
    weight_norms,
)
from reference.reproduction.captures import capture_d10
from reference.reproduction.citations import cite
from reference.reproduction.ledger import Claim
from reference.reproduction.progress import Progress
from reference.reproduction.results import SectionResult, Table, fmt
from reference.reproduction.scale import Scale
from reference.training import TRAINING_WAYS

__all__ = ["CLAIMS", "DEFECT_IDS", "run"]

OVERFIT_GAP = 0.1  # validation minus training loss (last 5 epochs) that counts as overfitting
SPARSITY_MARGIN = 0.1  # extra fraction of near-zero weights that counts as "sparser"


def _compare(comparison: str, samples: int | None, epochs: int, scale: Scale, progress: Progress):
    """``run_comparison`` one configuration at a time, with a progress bar over them and over epochs."""
    results = {}
    configs = list(COMPARISONS[comparison].configs)
    for name in progress.steps(configs, f"{COMPARISONS[comparison].data} configurations"):
        train = functools.partial(
            TRAINING_WAYS[scale.regularization_loop], callbacks=[progress.epochs(epochs, name)]
        )
        results |= run_comparison(
            comparison,
            configurations=[name],
            n_samples=samples,
            epochs=epochs,
            batch_size=scale.batch_size,
            seed=scale.seed,
            train=train,
        )
    return results


DEFECT_IDS = ("D10",)  # the defects this section captures, in its SectionResult.defects


def run(scale: Scale, workdir: Path, progress: Progress) -> SectionResult:
    """Train the four dropout/batch-norm models and the four weight-regularized models."""
    dropout = _compare("dropout_bn", scale.dropout_samples, scale.dropout_epochs, scale, progress)
    weight = _compare("weight", scale.weight_samples, scale.weight_epochs, scale, progress)
    numbers = {
        "dropout_bn": {
            name: {
                **r.history.as_dict(),
                "gap": generalization_gap(r.history, last=min(5, len(r.history.loss))),
                "final_val_accuracy": r.history.val_accuracy[-1],
            }
            for name, r in dropout.items()
        },
        "weight": {},
    }
    for name, r in weight.items():
        l1_norm, l2_norm = weight_norms(r.first_layer_kernel)
        numbers["weight"][name] = {
            **r.history.as_dict(),
            "near_zero": near_zero_fraction(r.first_layer_kernel),
            "l1_norm": l1_norm,
            "l2_norm": l2_norm,
        }
    section = SectionResult("regularization", numbers)
    section.tables.append(
        Table(
            f"Dropout and batch normalization ({scale.dropout_epochs} epochs)",
            ("model", "final train loss", "final val loss", "loss gap (last 5)", "final val accuracy"),
            tuple(
                (n, fmt(v["loss"][-1]), fmt(v["val_loss"][-1]), fmt(v["gap"]), fmt(v["final_val_accuracy"]))
                for n, v in numbers["dropout_bn"].items()
            ),
        )
    )
    section.tables.append(
        Table(
            f"Weight regularization ({scale.weight_epochs} epochs): first-layer kernel",
            ("model", "near-zero fraction (|w| < 1e-3)", "L1 norm", "L2 norm", "final val loss"),
            tuple(
                (n, fmt(v["near_zero"]), fmt(v["l1_norm"]), fmt(v["l2_norm"]), fmt(v["val_loss"][-1]))
                for n, v in numbers["weight"].items()
            ),
        )
    )
    section.figures["dropout_batchnorm"] = plot_loss_curves(dropout)
    section.figures["weight_regularization"] = plot_weight_comparison(weight)
    section.defects.append(capture_d10())
    return section


def _gap_claim(id_: str, name: str, label: str) -> Claim:
    return Claim(
        id=id_,
        section="regularization",
        source="总结 / Dropout和批量归一化",
        quote="正则化技术:防止过拟合,提高模型泛化能力",
        translation=f"{label} reduces overfitting.",
        method=f"Gap = mean validation loss - mean training loss over the last 5 epochs: {label} vs no regularization.",
        tests=cite(
            "regularization::test_dropout_narrows_the_train_validation_loss_gap",
            "regularization::test_batch_norm_narrows_the_loss_gap_at_this_scale",
        ),
        holds=lambda n: n["dropout_bn"][name]["gap"] < n["dropout_bn"]["none"]["gap"],
        evidence=lambda n: (
            f"gap {n['dropout_bn'][name]['gap']:.4f} vs {n['dropout_bn']['none']['gap']:.4f} without regularization"
        ),
        figures=("dropout_batchnorm",),
    )


CLAIMS = [
    Claim(
        id="R1",
        section="regularization",
        source="Dropout和批量归一化",
        quote="# 创建容易过拟合的数据",
        translation="The data (500 samples, 50 features, 10 informative) is easy to overfit.",
        method=f"The unregularized model's loss gap over the last 5 epochs exceeds {OVERFIT_GAP}.",
        tests=cite("regularization::test_the_loss_gap_is_validation_minus_training_over_the_last_epochs"),
        holds=lambda n: n["dropout_bn"]["none"]["gap"] > OVERFIT_GAP,
        evidence=lambda n: (
            f"gap without regularization {n['dropout_bn']['none']['gap']:.4f} (val loss {n['dropout_bn']['none']['val_loss'][-1]:.4f}, train {n['dropout_bn']['none']['loss'][-1]:.4f})"
        ),
        figures=("dropout_batchnorm",),
    ),
    _gap_claim("R2", "dropout", "Dropout"),
    _gap_claim("R3", "batch_norm", "Batch normalization"),
    _gap_claim("R4", "both", "Dropout + batch normalization"),
    Claim(
        id="R5",
        section="regularization",
        source="Dropout和批量归一化",
        quote='print("最终验证准确率比较:") / 提高模型泛化能力',
        translation="Regularization improves generalization: a regularized model ends with a higher validation accuracy.",
        method="Final validation accuracy (as the document prints it) of the best regularized model vs the unregularized one.",
        tests=cite("regularization::test_dropout_narrows_the_train_validation_loss_gap"),
        holds=lambda n: (
            max(v["final_val_accuracy"] for k, v in n["dropout_bn"].items() if k != "none")
            > n["dropout_bn"]["none"]["final_val_accuracy"]
        ),
        evidence=lambda n: ", ".join(
            f"{k} {v['final_val_accuracy']:.4f}" for k, v in n["dropout_bn"].items()
        ),
        figures=("dropout_batchnorm",),
    ),
    Claim(
        id="R6",
        section="regularization",
        source="L1和L2正则化",
        quote="'L1 (0.01)': tf.keras.regularizers.l1(0.01) ... plt.title('第一层权重分布')",
        translation="L1 regularization makes the first-layer weights sparse.",
        method=f"Fraction of first-layer weights with |w| < 1e-3: L1 vs none (margin {SPARSITY_MARGIN}).",
        tests=cite(
            "regularization::test_l1_leaves_more_near_zero_first_layer_weights_than_no_regularization"
        ),
        holds=lambda n: n["weight"]["l1"]["near_zero"] > n["weight"]["none"]["near_zero"] + SPARSITY_MARGIN,
        evidence=lambda n: (
            f"near-zero fraction: L1 {n['weight']['l1']['near_zero']:.3f}, none {n['weight']['none']['near_zero']:.3f}"
        ),
        figures=("weight_regularization",),
    ),
    Claim(
        id="R7",
        section="regularization",
        source="L1和L2正则化",
        quote="'L2 (0.01)': tf.keras.regularizers.l2(0.01) ... plt.title('权重范数比较')",
        translation="L2 regularization shrinks the weights.",
        method="First-layer L2 norm: L2 vs none.",
        tests=cite("regularization::test_l2_gives_a_smaller_first_layer_weight_norm_than_no_regularization"),
        holds=lambda n: n["weight"]["l2"]["l2_norm"] < n["weight"]["none"]["l2_norm"],
        evidence=lambda n: (
            f"L2 norm: L2 {n['weight']['l2']['l2_norm']:.3f}, none {n['weight']['none']['l2_norm']:.3f}"
        ),
        figures=("weight_regularization",),
    ),
    Claim(
        id="R8",
        section="regularization",
        source="L1和L2正则化",
        quote="'L1+L2 (0.01)': tf.keras.regularizers.l1_l2(l1=0.01, l2=0.01)",
        translation="L1+L2 regularization both sparsifies and shrinks the weights.",
        method="First-layer near-zero fraction and L2 norm: L1+L2 vs none.",
        tests=cite(
            "regularization::test_weight_norms_satisfy_l2_le_l1_le_sqrt_n_l2",
            "regularization::test_the_weight_figure_bars_are_the_first_layer_l1_and_l2_norms",
        ),
        holds=lambda n: (
            n["weight"]["l1_l2"]["near_zero"] > n["weight"]["none"]["near_zero"] + SPARSITY_MARGIN
            and n["weight"]["l1_l2"]["l2_norm"] < n["weight"]["none"]["l2_norm"]
        ),
        evidence=lambda n: (
            f"near-zero {n['weight']['l1_l2']['near_zero']:.3f} vs {n['weight']['none']['near_zero']:.3f}; "
            f"L2 norm {n['weight']['l1_l2']['l2_norm']:.3f} vs {n['weight']['none']['l2_norm']:.3f}"
        ),
        figures=("weight_regularization",),
    ),
]
