"""Section 1, 损失函数 (loss functions): the document's examples, their formulas, and its claims.

Every value is computed twice: by the loss as the document calls it (``keras.losses`` through
``reference.losses``) and by its formula in float64 NumPy written here; the claims compare them.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from reference import losses
from reference.document import FOCAL_Y_PRED, FOCAL_Y_TRUE, document_focal_loss
from reference.reproduction.captures import capture_d1, capture_d14, focal_definition
from reference.reproduction.citations import cite
from reference.reproduction.figures import plot_focal_curves, plot_logits_stability, plot_loss_values
from reference.reproduction.ledger import Claim
from reference.reproduction.progress import Progress
from reference.reproduction.results import SectionResult, Table, fmt
from reference.reproduction.scale import Scale

__all__ = ["CLAIMS", "DEFECT_IDS", "run"]

DOC_LOGITS = np.array([-2.2, 2.2, 1.4, -1.4, 0.8], np.float32)
SPARSE_LABELS = np.array([0, 1, 2, 1, 0])
MULTICLASS_LOGITS = np.array(
    [[2.0, 0.5, 0.1], [0.1, 2.5, 0.2], [0.2, 0.3, 2.1], [0.8, 1.9, 0.4], [1.8, 0.6, 0.3]], np.float32
)
REG_TRUE = np.array([1.0, 2.0, 3.0, 4.0, 5.0], np.float32)
REG_PRED = np.array([1.1, 1.9, 3.2, 3.8, 5.1], np.float32)
OUTLIER = 50.0  # the last prediction replaced by this value
EXTREME_LOGIT = 50.0
FORMULA_RTOL = 1e-5


def _bce(y: np.ndarray, p: np.ndarray) -> float:
    y, p = y.astype(np.float64), p.astype(np.float64)
    return float(np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p))))


def _log_softmax(z: np.ndarray) -> np.ndarray:
    z = z.astype(np.float64)
    return z - z.max(-1, keepdims=True) - np.log(np.exp(z - z.max(-1, keepdims=True)).sum(-1, keepdims=True))


def _huber(y: np.ndarray, p: np.ndarray, delta: float = 1.0) -> float:
    e = np.abs(p.astype(np.float64) - y.astype(np.float64))
    return float(np.mean(np.where(e <= delta, 0.5 * e**2, delta * e - 0.5 * delta**2)))


def _rel(a: float, b: float) -> float:
    return abs(a - b) / max(abs(b), 1e-12)


def _document_values() -> dict:
    sigmoid = 1 / (1 + np.exp(-DOC_LOGITS.astype(np.float64)))
    sparse = losses.sparse_categorical_crossentropy_from_logits(SPARSE_LABELS, MULTICLASS_LOGITS).numpy()
    onehot = np.eye(3, dtype=np.float32)[SPARSE_LABELS]
    dense = losses.categorical_crossentropy_from_logits(onehot, MULTICLASS_LOGITS).numpy()
    ce_formula = -_log_softmax(MULTICLASS_LOGITS)[np.arange(5), SPARSE_LABELS]
    y, p = REG_TRUE.astype(np.float64), REG_PRED.astype(np.float64)
    return {
        "bce": float(losses.binary_crossentropy(FOCAL_Y_TRUE, FOCAL_Y_PRED)),
        "bce_formula": _bce(FOCAL_Y_TRUE, FOCAL_Y_PRED),
        "bce_logits": float(losses.binary_crossentropy_from_logits(FOCAL_Y_TRUE, DOC_LOGITS)),
        "bce_logits_formula": _bce(FOCAL_Y_TRUE, sigmoid),
        "sparse_ce": sparse.tolist(),
        "categorical_ce": dense.tolist(),
        "ce_formula": ce_formula.tolist(),
        "mse": float(losses.mean_squared_error(REG_TRUE, REG_PRED)),
        "mse_formula": float(np.mean((p - y) ** 2)),
        "mae": float(losses.mean_absolute_error(REG_TRUE, REG_PRED)),
        "mae_formula": float(np.mean(np.abs(p - y))),
        "huber": float(losses.huber(REG_TRUE, REG_PRED)),
        "huber_formula": _huber(REG_TRUE, REG_PRED),
        "msle": float(losses.mean_squared_logarithmic_error(REG_TRUE, REG_PRED)),
        "msle_formula": float(np.mean((np.log1p(p) - np.log1p(y)) ** 2)),
    }


def _stability() -> dict:
    """BCE of label 1 vs logit z: the probability path (a NumPy copy, so Keras clips) vs logits."""
    z = np.linspace(-EXTREME_LOGIT, EXTREME_LOGIT, 201, dtype=np.float32)[:, None]
    ones = np.ones_like(z)
    on_probabilities = losses.binary_crossentropy(ones, tf.math.sigmoid(z).numpy()).numpy()
    on_logits = losses.binary_crossentropy_from_logits(ones, z).numpy()
    return {
        "logits": z.ravel().tolist(),
        "on_probabilities": on_probabilities.tolist(),
        "on_logits": on_logits.tolist(),
        "extreme_on_probabilities": float(on_probabilities[0]),
        "extreme_on_logits": float(on_logits[0]),
    }


def _robustness() -> dict:
    outlier = REG_PRED.copy()
    outlier[-1] = OUTLIER
    mse = [float(losses.mean_squared_error(REG_TRUE, p)) for p in (REG_PRED, outlier)]
    huber = [float(losses.huber(REG_TRUE, p)) for p in (REG_PRED, outlier)]
    return {"mse_growth": mse[1] / mse[0], "huber_growth": huber[1] / huber[0], "mse": mse, "huber": huber}


def _focal() -> dict:
    """Our focal loss on one positive example, easy (p = 0.9) and hard (p = 0.1), and on the document's data."""
    ones = np.ones(1, np.float32)
    ratios = {}
    for name, p in (("easy", 0.9), ("hard", 0.1)):
        pred = np.array([p], np.float32)
        ratios[name] = float(losses.focal_loss(ones, pred)) / float(losses.binary_crossentropy(ones, pred))
    builtin = keras.losses.BinaryFocalCrossentropy(apply_class_balancing=True, alpha=0.25, gamma=2.0)
    return {
        "weight_easy": ratios["easy"],
        "weight_hard": ratios["hard"],
        "ours": float(losses.focal_loss(FOCAL_Y_TRUE, FOCAL_Y_PRED)),
        "document": float(document_focal_loss()(tf.constant(FOCAL_Y_TRUE), tf.constant(FOCAL_Y_PRED))),
        "definition": focal_definition(FOCAL_Y_TRUE, FOCAL_Y_PRED),
        "keras_builtin": float(builtin(FOCAL_Y_TRUE, FOCAL_Y_PRED)),
        "bce_mean": float(np.mean(losses.binary_crossentropy(FOCAL_Y_TRUE[:, None], FOCAL_Y_PRED[:, None]))),
    }


def _focal_curves() -> tuple[np.ndarray, dict[str, np.ndarray]]:
    p_t = np.linspace(0.01, 0.99, 99, dtype=np.float32)
    ones = np.ones((p_t.size, 1), np.float32)
    curves = {"cross-entropy": losses.binary_crossentropy(ones, p_t[:, None]).numpy()}
    for gamma in (0.5, 1.0, 2.0, 5.0):
        curves[f"focal, gamma={gamma:g} (alpha=0.25)"] = losses.focal_loss(
            ones, p_t[:, None], gamma=gamma
        ).numpy()
    return p_t, curves


DEFECT_IDS = ("D1", "D14")  # the defects this section captures, in its SectionResult.defects


def run(scale: Scale, workdir: Path, progress: Progress) -> SectionResult:
    """The document's loss examples, the stability/robustness/focal measurements and their figures."""
    values = _document_values()
    numbers = {"values": values, "stability": _stability(), "robustness": _robustness(), "focal": _focal()}
    section = SectionResult("losses", numbers)
    rows = [
        (
            name,
            fmt(values[name]),
            fmt(values[f"{name}_formula"]),
            fmt(_rel(values[name], values[f"{name}_formula"]), ".1e"),
        )
        for name in ("bce", "bce_logits", "mse", "mae", "huber", "msle")
    ]
    section.tables.append(
        Table(
            "The document's printed values vs their float64 formulas",
            ("loss", "Keras", "formula", "rel. error"),
            tuple(rows),
        )
    )
    focal = numbers["focal"]
    section.tables.append(
        Table(
            "Focal loss on the document's five numbers (alpha 0.25, gamma 2)",
            ("document's code", "ours", "definition", "Keras BinaryFocalCrossentropy", "mean BCE"),
            (
                (
                    fmt(focal["document"], ".5f"),
                    fmt(focal["ours"], ".5f"),
                    fmt(focal["definition"], ".5f"),
                    fmt(focal["keras_builtin"], ".5f"),
                    fmt(focal["bce_mean"], ".5f"),
                ),
            ),
        )
    )
    section.figures["loss_values"] = plot_loss_values(
        {
            "BCE": values["bce"],
            "BCE (logits)": values["bce_logits"],
            "sparse CE": float(np.mean(values["sparse_ce"])),
            "categorical CE": float(np.mean(values["categorical_ce"])),
            "focal (ours)": focal["ours"],
        },
        {name.upper(): values[name] for name in ("mse", "mae", "huber", "msle")},
    )
    stability = numbers["stability"]
    section.figures["bce_logits_stability"] = plot_logits_stability(
        np.asarray(stability["logits"]),
        np.asarray(stability["on_probabilities"]),
        np.asarray(stability["on_logits"]),
    )
    section.figures["focal_vs_bce"] = plot_focal_curves(*_focal_curves())
    section.defects += [capture_d1(), capture_d14()]
    return section


def _values_match(n, *names: str) -> bool:
    return all(_rel(n["values"][k], n["values"][f"{k}_formula"]) < FORMULA_RTOL for k in names)


CLAIMS = [
    Claim(
        id="L1",
        section="losses",
        source="分类任务损失函数",
        quote='# 二元交叉熵 ... print(f"二元交叉熵: {bce}")',
        translation="tf.keras.losses.binary_crossentropy gives the binary cross-entropy of the five example predictions.",
        method="Keras's value against -mean(y log p + (1-y) log(1-p)) in float64.",
        tests=cite("losses::test_loss_equals_its_numpy_oracle"),
        holds=lambda n: _values_match(n, "bce"),
        evidence=lambda n: f"Keras {n['values']['bce']:.6f}, formula {n['values']['bce_formula']:.6f}",
        figures=("loss_values",),
    ),
    Claim(
        id="L2",
        section="losses",
        source="分类任务损失函数",
        quote="带logits的二元交叉熵(数值更稳定)",
        translation="Binary cross-entropy computed from logits is numerically more stable.",
        method=(
            f"BCE of label 1 at logit -{EXTREME_LOGIT:g}: through sigmoid probabilities (clipped) vs from_logits=True "
            "(true value 50); and the document's logits example against its formula."
        ),
        tests=cite(
            "document_losses::test_bce_on_probabilities_saturates_near_16_where_bce_on_logits_is_exact",
            "losses::test_gradients_stay_finite_at_logits_of_plus_minus_100",
        ),
        holds=lambda n: (
            _values_match(n, "bce_logits")
            and _rel(n["stability"]["extreme_on_logits"], EXTREME_LOGIT) < 1e-6
            and n["stability"]["extreme_on_probabilities"] < 17.0
        ),
        evidence=lambda n: (
            f"at z=-{EXTREME_LOGIT:g}: from logits {n['stability']['extreme_on_logits']:.4f}, "
            f"via probabilities {n['stability']['extreme_on_probabilities']:.4f} (saturated); document's example "
            f"{n['values']['bce_logits']:.6f} vs formula {n['values']['bce_logits_formula']:.6f}"
        ),
        figures=("bce_logits_stability",),
    ),
    Claim(
        id="L3",
        section="losses",
        source="分类任务损失函数",
        quote="稀疏分类交叉熵(标签为整数) ... 分类交叉熵(标签为one-hot)",
        translation=(
            "Sparse categorical cross-entropy on integer labels and categorical cross-entropy on one-hot labels "
            "compute the same loss."
        ),
        method="Both on the document's logits, against -log softmax(z)[label] in float64.",
        tests=cite("losses::test_categorical_ce_on_one_hot_labels_equals_sparse_ce"),
        holds=lambda n: (
            np.allclose(n["values"]["sparse_ce"], n["values"]["categorical_ce"], rtol=FORMULA_RTOL, atol=1e-7)
            and np.allclose(n["values"]["sparse_ce"], n["values"]["ce_formula"], rtol=FORMULA_RTOL, atol=1e-7)
        ),
        evidence=lambda n: (
            f"max |sparse - categorical| = {np.max(np.abs(np.subtract(n['values']['sparse_ce'], n['values']['categorical_ce']))):.2g}; "
            f"values {', '.join(f'{v:.4f}' for v in n['values']['sparse_ce'])}"
        ),
    ),
    Claim(
        id="L4",
        section="losses",
        source="回归任务损失函数",
        quote="均方误差 / 平均绝对误差 / Huber损失 / 均方对数误差",
        translation="The printed MSE, MAE, Huber and MSLE of the five regression predictions are those losses.",
        method="Each Keras value against its float64 formula.",
        tests=cite("document_losses::test_document_regression_example_values_match_the_formulas"),
        holds=lambda n: _values_match(n, "mse", "mae", "huber", "msle"),
        evidence=lambda n: ", ".join(
            f"{k.upper()} {n['values'][k]:.6g} (formula {n['values'][k + '_formula']:.6g})"
            for k in ("mse", "mae", "huber", "msle")
        ),
        figures=("loss_values",),
    ),
    Claim(
        id="L5",
        section="losses",
        source="回归任务损失函数",
        quote="Huber损失(对异常值更鲁棒)",
        translation="The Huber loss is more robust to outliers.",
        method=f"Replace the last prediction by an outlier ({OUTLIER:g}): growth of MSE vs growth of Huber.",
        tests=cite(
            "document_losses::test_one_outlier_moves_mse_far_more_than_huber",
            "document_losses::test_huber_gradient_is_bounded_by_delta_while_mse_gradient_grows",
        ),
        holds=lambda n: n["robustness"]["mse_growth"] > 10 * n["robustness"]["huber_growth"],
        evidence=lambda n: (
            f"one outlier multiplies MSE by {n['robustness']['mse_growth']:.0f} and Huber by {n['robustness']['huber_growth']:.0f}"
        ),
    ),
    Claim(
        id="L6",
        section="losses",
        source="自定义损失函数",
        quote="Focal Loss用于处理类别不平衡",
        translation="The focal loss (for class imbalance) down-weights well-classified examples relative to cross-entropy.",
        method=(
            "Loss / BCE of one positive at p=0.9 (easy) and p=0.1 (hard) with our focal loss; the loss on the "
            "document's numbers against Lin et al.'s definition and Keras's BinaryFocalCrossentropy."
        ),
        tests=cite(
            "document_losses::test_our_focal_loss_matches_keras_binary_focal_crossentropy_with_class_balancing",
            "losses::test_focal_loss_never_exceeds_the_alpha_weighted_bce",
            "document_losses::test_document_focal_loss_gives_0_00294_where_the_definition_gives_0_00360",
        ),
        holds=lambda n: (
            n["focal"]["weight_easy"] * 10 < n["focal"]["weight_hard"]
            and _rel(n["focal"]["ours"], n["focal"]["definition"]) < FORMULA_RTOL
            and _rel(n["focal"]["keras_builtin"], n["focal"]["definition"]) < FORMULA_RTOL
        ),
        evidence=lambda n: (
            f"weight vs BCE: easy {n['focal']['weight_easy']:.4f}, hard {n['focal']['weight_hard']:.4f}; "
            f"on the document's numbers ours {n['focal']['ours']:.5f} = definition {n['focal']['definition']:.5f}, "
            f"the document's code {n['focal']['document']:.5f}"
        ),
        needs=("D1",),
        figures=("focal_vs_bce",),
    ),
    Claim(
        id="L7",
        section="losses",
        source="自定义损失函数",
        quote='# 对比标准交叉熵 print(f"标准二元交叉熵: ...")',
        translation="Compared with the standard binary cross-entropy, the focal loss is much smaller on these examples.",
        method="Our focal loss and the document's, against the mean BCE of the same five numbers.",
        tests=cite("losses::test_focal_loss_never_exceeds_the_alpha_weighted_bce"),
        holds=lambda n: (
            n["focal"]["ours"] < n["focal"]["bce_mean"] and n["focal"]["document"] < n["focal"]["bce_mean"]
        ),
        evidence=lambda n: (
            f"focal {n['focal']['ours']:.5f} (document's code {n['focal']['document']:.5f}) vs BCE {n['focal']['bce_mean']:.5f}"
        ),
    ),
]
