"""Section 5, 正则化技术 (regularization): dropout / batch norm, then L1 / L2, over seeds, with their claims.

Both comparisons are ``reference.regularization.run_comparison`` on the document's data,
standardized with the training statistics (D10 fixed), Adam 0.001, batch 32, trained by
``plain_training`` (``Trainer`` at full scale: the same updates as the document's ``fit``). For
every seed the configurations of a comparison start from that seed (same initial weights where
their layers match, same batch order), so each regularized configuration is compared with no
regularization seed by seed.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from reference.loop import regularization_loss
from reference.regularization import (
    COMPARISONS,
    generalization_gap,
    near_zero_fraction,
    run_comparison,
    weight_norms,
)
from reference.reproduction.captures import capture_d10
from reference.reproduction.citations import cite
from reference.reproduction.figures import plot_loss_bands, plot_weight_bands
from reference.reproduction.ledger import Effect, EffectClaim
from reference.reproduction.progress import Progress
from reference.reproduction.replicates import GAP_EPOCHS, over_seeds, plain_training
from reference.reproduction.results import SectionResult, Table, spread
from reference.reproduction.scale import Scale

__all__ = ["CLAIMS", "DEFECT_IDS", "run"]

OVERFIT_GAP = 0.1  # validation minus training loss (last 5 epochs) that counts as overfitting
SPARSITY_MARGIN = 10.0  # extra percentage points of near-zero weights that count as "sparser"
LABELS = {
    "dropout": "Dropout",
    "batch_norm": "Batch normalization",
    "both": "Dropout + batch normalization",
    "l1": "L1",
    "l2": "L2",
    "l1_l2": "L1+L2",
}


class _PenaltyLog(keras.callbacks.Callback):
    """The model's weight penalty ``sum(model.losses)`` at every epoch end, when the validation loss
    is computed with the same weights: ``val_loss_e - penalties[e]`` is the validation cross-entropy."""

    def __init__(self):
        super().__init__()
        self.penalties: list[float] = []

    def on_epoch_end(self, epoch, logs=None):
        self.penalties.append(float(regularization_loss(self.model)))


def _compare(comparison: str, samples: int | None, epochs: int, scale: Scale, seed: int, progress: Progress):
    """``run_comparison`` one configuration at a time from ``seed``, with a progress bar over epochs;
    returns name -> (result, the penalty of every epoch)."""
    results = {}
    for name in COMPARISONS[comparison].configs:
        penalties = _PenaltyLog()
        (result,) = run_comparison(
            comparison,
            configurations=[name],
            n_samples=samples,
            epochs=epochs,
            batch_size=scale.batch_size,
            seed=seed,
            train=plain_training(scale, [penalties, progress.epochs(epochs, f"{name}, seed {seed}")]),
        ).values()
        results[name] = result, penalties.penalties
    return results


def _one_seed(scale: Scale, seed: int, progress: Progress, kernels: dict) -> dict:
    """Both comparisons from ``seed``; the first-layer kernels go to ``kernels`` (for the figure only)."""
    dropout = _compare("dropout_bn", scale.dropout_samples, scale.dropout_epochs, scale, seed, progress)
    weight = _compare("weight", scale.weight_samples, scale.weight_epochs, scale, seed, progress)
    numbers = {
        "dropout_bn": {
            name: {
                **r.history.as_dict(),
                "gap": generalization_gap(r.history, last=min(GAP_EPOCHS, len(r.history.loss))),
                "final_val_accuracy": r.history.val_accuracy[-1],
            }
            for name, (r, _) in dropout.items()
        },
        "weight": {},
    }
    for name, (r, penalties) in weight.items():
        l1_norm, l2_norm = weight_norms(r.first_layer_kernel)
        kernels.setdefault(name, []).append(r.first_layer_kernel)
        cross_entropy = list(np.subtract(r.history.val_loss, penalties))
        numbers["weight"][name] = {
            **r.history.as_dict(),
            "penalty_per_epoch": penalties,
            "val_cross_entropy": cross_entropy,
            "near_zero": near_zero_fraction(r.first_layer_kernel),
            "l1_norm": l1_norm,
            "l2_norm": l2_norm,
            "penalty": r.penalty,
            "final_val_cross_entropy": cross_entropy[-1],
            "final_val_accuracy": r.history.val_accuracy[-1],
        }
    return numbers


DEFECT_IDS = ("D10",)  # the defects this section captures, in its SectionResult.defects


def _runs(numbers: dict, comparison: str) -> dict[str, list[dict]]:
    """Configuration -> its run on every seed."""
    names = numbers["per_seed"][0][comparison]
    return {name: [r[comparison][name] for r in numbers["per_seed"]] for name in names}


def run(scale: Scale, workdir: Path, progress: Progress) -> SectionResult:
    """Train the four dropout/batch-norm models and the four weight-regularized models, per seed."""
    kernels: dict[str, list[np.ndarray]] = {}
    numbers = over_seeds(
        scale, progress, "regularization", lambda seed: _one_seed(scale, seed, progress, kernels)
    )
    section = SectionResult("regularization", numbers)
    seeds = ", ".join(map(str, numbers["seeds"]))
    dropout, weight = _runs(numbers, "dropout_bn"), _runs(numbers, "weight")
    section.tables.append(
        Table(
            f"Dropout and batch normalization ({scale.dropout_epochs} epochs), seeds {seeds}: mean [min, max]",
            ("model", "final train loss", "final val loss", "loss gap (last 5)", "final val accuracy"),
            tuple(
                (
                    name,
                    spread([r["loss"][-1] for r in runs]),
                    spread([r["val_loss"][-1] for r in runs]),
                    spread([r["gap"] for r in runs]),
                    spread([r["final_val_accuracy"] for r in runs]),
                )
                for name, runs in dropout.items()
            ),
        )
    )
    section.tables.append(
        Table(
            f"Weight regularization ({scale.weight_epochs} epochs), seeds {seeds}: mean [min, max]",
            (
                "model",
                "near-zero fraction (|w| < 1e-3)",
                "L1 norm",
                "L2 norm",
                "final penalty",
                "final val loss (as logged)",
                "final val cross-entropy",
                "final val accuracy",
            ),
            tuple(
                (
                    name,
                    *(
                        spread([r[key] for r in runs])
                        for key in ("near_zero", "l1_norm", "l2_norm", "penalty")
                    ),
                    spread([r["val_loss"][-1] for r in runs]),
                    spread([r["final_val_cross_entropy"] for r in runs]),
                    spread([r["final_val_accuracy"] for r in runs]),
                )
                for name, runs in weight.items()
            ),
            note=(
                "Keras adds the weight penalty to every logged loss, validation included (the document's "
                "validation-loss panel shows it): the claims compare the validation cross-entropy, the logged "
                "validation loss minus the penalty."
            ),
        )
    )
    section.figures["dropout_batchnorm"] = plot_loss_bands(dropout)
    section.figures["weight_regularization"] = plot_weight_bands(weight, kernels)
    section.defects.append(capture_d10())
    return section


SAME_SEED = "regularization::test_every_configuration_starts_from_the_same_seed"
PENALTY = "regularization::test_validation_loss_minus_the_penalty_is_the_validation_cross_entropy"


def _gap_claim(id_: str, name: str) -> EffectClaim:
    return EffectClaim(
        id=id_,
        section="regularization",
        source="总结 / Dropout和批量归一化",
        quote="正则化技术:防止过拟合,提高模型泛化能力",
        translation=f"{LABELS[name]} reduces overfitting.",
        method=(
            f"Gap = mean validation loss - mean training loss over the last {GAP_EPOCHS} epochs; per seed, the gap "
            f"without regularization minus the gap with {LABELS[name]}."
        ),
        tests=cite(
            "regularization::test_dropout_narrows_the_train_validation_loss_gap",
            "regularization::test_batch_norm_narrows_the_loss_gap_at_this_scale",
            SAME_SEED,
        ),
        effects=(
            Effect(
                label=f"narrowing of the loss gap, none - {LABELS[name]}",
                unit="nats",
                measure=lambda n: n["dropout_bn"]["none"]["gap"] - n["dropout_bn"][name]["gap"],
            ),
        ),
        figures=("dropout_batchnorm",),
    )


def _accuracy_claim(
    id_: str, comparison: str, name: str, source: str, quote: str, figure: str
) -> EffectClaim:
    return EffectClaim(
        id=id_,
        section="regularization",
        source=source,
        quote=quote,
        translation=f"{LABELS[name]} improves generalization: a higher final validation accuracy than no regularization.",
        method=f"Final validation accuracy (as the document prints it), {LABELS[name]} minus none, paired by seed.",
        tests=cite(SAME_SEED),
        effects=(
            Effect(
                label=f"difference in final validation accuracy, {LABELS[name]} - none",
                unit="percentage points",
                measure=lambda n: (
                    100
                    * (
                        n[comparison][name]["final_val_accuracy"]
                        - n[comparison]["none"]["final_val_accuracy"]
                    )
                ),
            ),
        ),
        figures=(figure,),
    )


def _cross_entropy_claim(id_: str, name: str) -> EffectClaim:
    return EffectClaim(
        id=id_,
        section="regularization",
        source="L1和L2正则化 / 总结",
        quote="plt.title('验证损失') ... 正则化技术:防止过拟合,提高模型泛化能力",
        translation=f"{LABELS[name]} regularization improves generalization: a lower validation loss than no regularization.",
        method=(
            f"Validation cross-entropy after the last epoch (the logged validation loss minus the weight penalty, "
            f"which Keras adds to it), none minus {LABELS[name]}, paired by seed."
        ),
        tests=cite(SAME_SEED, PENALTY),
        effects=(
            Effect(
                label=f"difference in final validation cross-entropy, none - {LABELS[name]}",
                unit="nats",
                measure=lambda n: (
                    n["weight"]["none"]["final_val_cross_entropy"]
                    - n["weight"][name]["final_val_cross_entropy"]
                ),
            ),
        ),
        figures=("weight_regularization",),
    )


def _sparser(name: str) -> Effect:
    return Effect(
        label=f"near-zero fraction of first-layer weights (|w| < 1e-3), {LABELS[name]} - none",
        unit="percentage points",
        measure=lambda n: 100 * (n["weight"][name]["near_zero"] - n["weight"]["none"]["near_zero"]),
        reference=SPARSITY_MARGIN,
    )


def _shrunk(name: str, norm: str = "l2_norm") -> Effect:
    return Effect(
        label=f"first-layer {norm[:2].upper()} norm, none - {LABELS[name]}",
        unit="(dimensionless)",
        measure=lambda n: n["weight"]["none"][norm] - n["weight"][name][norm],
    )


WEIGHT_QUOTE = "plt.title('验证损失') ... 正则化技术:防止过拟合,提高模型泛化能力"
DROPOUT_QUOTE = 'print("最终验证准确率比较:") / 提高模型泛化能力'

CLAIMS = [
    EffectClaim(
        id="R1",
        section="regularization",
        source="Dropout和批量归一化",
        quote="# 创建容易过拟合的数据",
        translation="The data (500 samples, 50 features, 10 informative) is easy to overfit.",
        method=f"The unregularized model's loss gap over the last {GAP_EPOCHS} epochs, mean over seeds, against {OVERFIT_GAP}.",
        tests=cite("regularization::test_the_loss_gap_is_validation_minus_training_over_the_last_epochs"),
        effects=(
            Effect(
                label=f"loss gap without regularization (validation - training, last {GAP_EPOCHS} epochs)",
                unit="nats",
                measure=lambda n: n["dropout_bn"]["none"]["gap"],
                reference=OVERFIT_GAP,
            ),
        ),
        figures=("dropout_batchnorm",),
    ),
    _gap_claim("R2", "dropout"),
    _gap_claim("R3", "batch_norm"),
    _gap_claim("R4", "both"),
    _accuracy_claim("R5", "dropout_bn", "dropout", "Dropout和批量归一化", DROPOUT_QUOTE, "dropout_batchnorm"),
    _accuracy_claim(
        "R9", "dropout_bn", "batch_norm", "Dropout和批量归一化", DROPOUT_QUOTE, "dropout_batchnorm"
    ),
    _accuracy_claim("R10", "dropout_bn", "both", "Dropout和批量归一化", DROPOUT_QUOTE, "dropout_batchnorm"),
    EffectClaim(
        id="R6",
        section="regularization",
        source="L1和L2正则化",
        quote="'L1 (0.01)': tf.keras.regularizers.l1(0.01) ... plt.title('第一层权重分布')",
        translation="L1 regularization makes the first-layer weights sparse.",
        method=f"Percentage of first-layer weights with |w| < 1e-3, L1 minus none, paired by seed, against {SPARSITY_MARGIN:g} points.",
        tests=cite(
            "regularization::test_l1_leaves_more_near_zero_first_layer_weights_than_no_regularization",
            SAME_SEED,
        ),
        effects=(_sparser("l1"),),
        figures=("weight_regularization",),
    ),
    EffectClaim(
        id="R7",
        section="regularization",
        source="L1和L2正则化",
        quote="'L2 (0.01)': tf.keras.regularizers.l2(0.01) ... plt.title('权重范数比较')",
        translation="L2 regularization shrinks the weights.",
        method="First-layer L2 norm, none minus L2, paired by seed.",
        tests=cite(
            "regularization::test_l2_gives_a_smaller_first_layer_weight_norm_than_no_regularization",
            SAME_SEED,
        ),
        effects=(_shrunk("l2"),),
        figures=("weight_regularization",),
    ),
    EffectClaim(
        id="R8",
        section="regularization",
        source="L1和L2正则化",
        quote="'L1+L2 (0.01)': tf.keras.regularizers.l1_l2(l1=0.01, l2=0.01)",
        translation="L1+L2 regularization both sparsifies and shrinks the weights.",
        method=f"First-layer near-zero percentage (against {SPARSITY_MARGIN:g} points) and L2 norm: L1+L2 vs none, paired by seed; both must hold.",
        tests=cite(
            "regularization::test_weight_norms_satisfy_l2_le_l1_le_sqrt_n_l2",
            "regularization::test_the_weight_figure_bars_are_the_first_layer_l1_and_l2_norms",
            SAME_SEED,
        ),
        effects=(_sparser("l1_l2"), _shrunk("l1_l2")),
        figures=("weight_regularization",),
    ),
    EffectClaim(
        id="R17",
        section="regularization",
        source="L1和L2正则化",
        quote="'L1 (0.01)': tf.keras.regularizers.l1(0.01) ... plt.bar(x - width/2, l1_norms, width, label='L1范数') plt.title('权重范数比较')",
        translation="L1 regularization lowers the L1 norm of the first-layer weights (the norm comparison panel).",
        method="First-layer L1 norm (sum |w|), none minus L1, paired by seed.",
        tests=cite(
            "regularization::test_weight_norms_of_a_3_4_kernel_are_7_and_5",
            "regularization::test_the_weight_figure_bars_are_the_first_layer_l1_and_l2_norms",
            SAME_SEED,
        ),
        effects=(_shrunk("l1", "l1_norm"),),
        figures=("weight_regularization",),
    ),
    _cross_entropy_claim("R11", "l1"),
    _accuracy_claim("R12", "weight", "l1", "L1和L2正则化 / 总结", WEIGHT_QUOTE, "weight_regularization"),
    _cross_entropy_claim("R13", "l2"),
    _accuracy_claim("R14", "weight", "l2", "L1和L2正则化 / 总结", WEIGHT_QUOTE, "weight_regularization"),
    _cross_entropy_claim("R15", "l1_l2"),
    _accuracy_claim("R16", "weight", "l1_l2", "L1和L2正则化 / 总结", WEIGHT_QUOTE, "weight_regularization"),
]
