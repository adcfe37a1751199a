"""Section 4, 训练循环 (training loops): the basic eager loop and the advanced trainer, with their claims.

The basic loop is ``train_eager`` on the ``basic`` data (1000 samples, not standardized, 100 epochs,
batch 32). The advanced trainer is ``train_trainer`` (the document's ``AdvancedTrainer`` made to
work: D5, D6) with Adam on ``ExponentialDecay(0.001, 100, 0.96)``, 200 epochs, patience 15; the
same run with a constant rate of 0.001 tests the summary's claim about schedules.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from reference.data import load_classification
from reference.loop import STOP_EARLY, History, clip_gradients, objective_for
from reference.models import build_model, document_model
from reference.reproduction.captures import capture_d5, capture_d6, capture_d11, capture_d12
from reference.reproduction.citations import cite
from reference.reproduction.figures import plot_training_curves, plot_validation_comparison
from reference.reproduction.ledger import Claim
from reference.reproduction.progress import Progress
from reference.reproduction.results import SectionResult, Table, fmt
from reference.reproduction.scale import Scale
from reference.trainer import Trainer
from reference.training import train_eager, train_trainer

__all__ = ["CLAIMS", "DEFECT_IDS", "run"]

LEARNED_ACCURACY = 0.8  # "learns the task": validation accuracy well above chance (0.5)
CLIP_NORM = 1.0
EXPLODE = 100.0  # inputs scaled by this make every first-layer gradient large
RESTORE_RTOL = 1e-4


def _summary(history: History) -> dict:
    return {
        **history.as_dict(),
        "best_val_loss": float(np.min(history.val_loss)),
        "best_val_accuracy": float(np.max(history.val_accuracy)),
        "final_val_accuracy": float(history.val_accuracy[-1]),
        "epochs_run": len(history.loss),
    }


def _advanced(scale: Scale, split, optimizer, progress: Progress, label: str) -> tuple[dict, keras.Model]:
    keras.utils.set_random_seed(scale.seed)
    model = build_model(document_model("advanced"))
    history = train_trainer(
        model,
        split,
        epochs=scale.advanced_epochs,
        batch_size=scale.batch_size,
        optimizer=optimizer,
        patience=scale.advanced_patience,
        seed=scale.seed,
        callbacks=[progress.epochs(scale.advanced_epochs, label)],
    )
    restored = float(objective_for(model).loss(split.y_test, model(split.x_test, training=False)))
    return {**_summary(history), "restored_val_loss": restored}, model


def _clipping(scale: Scale, split) -> dict:
    keras.utils.set_random_seed(scale.seed)
    trainer = Trainer(build_model(document_model("advanced")), keras.optimizers.Adam())
    x = tf.constant(split.x_train[: scale.batch_size] * EXPLODE)
    _, _, gradients = trainer.loss_and_gradients(x, tf.constant(split.y_train[: scale.batch_size]))
    clipped = clip_gradients(gradients, "per_tensor", CLIP_NORM)
    before = [float(tf.norm(g)) for g in gradients]
    after = [float(tf.norm(g)) for g in clipped]
    cosines = [
        float(tf.reduce_sum(g * c) / (tf.norm(g) * tf.norm(c)))
        for g, c in zip(gradients, clipped, strict=True)
        if float(tf.norm(g)) > 0
    ]
    return {
        "max_before": max(before),
        "max_after": max(after),
        "min_cosine": min(cosines),
        "tensors_clipped": sum(b > CLIP_NORM for b in before),
    }


DEFECT_IDS = ("D5", "D6", "D11", "D12")  # the defects this section captures, in its SectionResult.defects


def run(scale: Scale, workdir: Path, progress: Progress) -> SectionResult:
    """The basic loop, the advanced trainer with its schedule and with a constant rate, gradient clipping."""
    basic_split = load_classification("basic", n_samples=scale.basic_samples)
    keras.utils.set_random_seed(scale.seed)
    basic = train_eager(
        build_model(document_model("basic")),
        basic_split,
        epochs=scale.basic_epochs,
        batch_size=scale.batch_size,
        seed=scale.seed,
        callbacks=[progress.epochs(scale.basic_epochs, "basic eager loop")],
    )
    split = load_classification("advanced", n_samples=scale.advanced_samples)
    schedule = keras.optimizers.schedules.ExponentialDecay(
        initial_learning_rate=0.001, decay_steps=100, decay_rate=0.96
    )
    advanced, _ = _advanced(
        scale, split, keras.optimizers.Adam(learning_rate=schedule), progress, "advanced trainer"
    )
    constant, _ = _advanced(
        scale, split, keras.optimizers.Adam(learning_rate=0.001), progress, "advanced, constant lr"
    )
    seeding = capture_d12()
    numbers = {
        "seeding": seeding.numbers,
        "basic": _summary(basic),
        "advanced": advanced,
        "constant": constant,
        "clipping": _clipping(scale, split),
        "patience": scale.advanced_patience,
    }
    section = SectionResult("training", numbers)
    rows = []
    for name, run_numbers in (
        ("basic eager loop", numbers["basic"]),
        ("advanced, ExponentialDecay", advanced),
        ("advanced, constant 0.001", constant),
    ):
        rows.append(
            (
                name,
                str(run_numbers["epochs_run"]),
                fmt(run_numbers["loss"][0]),
                fmt(run_numbers["loss"][-1]),
                fmt(run_numbers["best_val_loss"]),
                fmt(run_numbers["final_val_accuracy"]),
                str(run_numbers["best_epoch"]),
                run_numbers["stopped_reason"],
            )
        )
    section.tables.append(
        Table(
            "Training runs",
            (
                "run",
                "epochs run",
                "first loss",
                "last loss",
                "best val loss",
                "final val acc",
                "best epoch",
                "stopped by",
            ),
            tuple(rows),
        )
    )
    section.figures["basic_loop"] = plot_training_curves(basic, "Basic eager loop")
    section.figures["advanced_trainer"] = plot_training_curves(
        History(**{k: advanced[k] for k in History.__dataclass_fields__}),
        "Advanced trainer",
        best_epoch=advanced["best_epoch"],
    )
    section.figures["schedule_vs_constant"] = plot_validation_comparison(
        {
            name: History(**{k: numbers[key][k] for k in History.__dataclass_fields__})
            for name, key in (("ExponentialDecay", "advanced"), ("constant 0.001", "constant"))
        },
        "Advanced trainer",
    )
    section.defects += [capture_d5(), capture_d6(), capture_d11(), seeding]
    return section


def _early_stopped(r: dict, patience: int) -> bool:
    return r["stopped_reason"] == STOP_EARLY and r["stopped_epoch"] == r["best_epoch"] + patience


def _restored(r: dict) -> bool:
    return abs(r["restored_val_loss"] - r["best_val_loss"]) <= RESTORE_RTOL * r["best_val_loss"]


CLAIMS = [
    Claim(
        id="T1",
        section="training",
        source="训练基础概念",
        quote="深度学习模型的训练是一个迭代优化过程,通过最小化损失函数来学习数据中的模式。",
        translation="Training is an iterative optimization that learns the data's patterns by minimizing the loss.",
        method="The basic eager loop's training loss: last epoch below the first.",
        tests=cite("training::test_equivalent_runs_actually_learn_so_the_comparison_is_not_vacuous"),
        holds=lambda n: n["basic"]["loss"][-1] < n["basic"]["loss"][0],
        evidence=lambda n: (
            f"training loss {n['basic']['loss'][0]:.4f} -> {n['basic']['loss'][-1]:.4f} over {n['basic']['epochs_run']} epochs"
        ),
        figures=("basic_loop",),
    ),
    Claim(
        id="T2",
        section="training",
        source="基本训练循环",
        quote='def basic_training_loop(): """演示基本的训练循环"""',
        translation="The basic training loop (GradientTape, Adam 0.001, 100 epochs, batch 32) learns the classification task.",
        method=f"Final validation accuracy of the basic loop above {LEARNED_ACCURACY}.",
        tests=cite("training::test_the_basic_eager_loop_reaches_the_stated_validation_accuracy"),
        holds=lambda n: n["basic"]["final_val_accuracy"] > LEARNED_ACCURACY,
        evidence=lambda n: (
            f"final validation accuracy {n['basic']['final_val_accuracy']:.4f} (best {n['basic']['best_val_accuracy']:.4f})"
        ),
        figures=("basic_loop",),
    ),
    Claim(
        id="T3",
        section="training",
        source="高级训练技巧",
        quote="# 梯度裁剪 gradients = [tf.clip_by_norm(grad, 1.0) for grad in gradients]",
        translation="Gradient clipping bounds the norm of every gradient tensor by 1.0 (keeping its direction).",
        method=f"Gradients of the advanced model on a batch scaled by {EXPLODE:g}: largest tensor norm before and after clipping.",
        tests=cite(
            "training::test_per_tensor_clipping_bounds_every_gradient_norm_and_keeps_directions",
            "training::test_a_trainer_step_moves_each_variable_by_at_most_the_clip_norm",
        ),
        holds=lambda n: (
            n["clipping"]["max_before"] > CLIP_NORM
            and n["clipping"]["max_after"] <= CLIP_NORM * (1 + 1e-5)
            and n["clipping"]["min_cosine"] > 1 - 1e-5
        ),
        evidence=lambda n: (
            f"largest norm {n['clipping']['max_before']:.4g} -> {n['clipping']['max_after']:.6f}; "
            f"{n['clipping']['tensors_clipped']} tensors clipped; min cosine {n['clipping']['min_cosine']:.6f}"
        ),
    ),
    Claim(
        id="T4",
        section="training",
        source="高级训练技巧",
        quote='# 早停检查 ... if patience_counter >= patience: print(f"早停在第 {epoch} 轮")',
        translation="Early stopping ends training once the validation loss has not improved for `patience` (15) epochs.",
        method="The advanced trainer (ExponentialDecay): stopped by early stopping exactly patience epochs after its best epoch.",
        tests=cite("training::test_trainer_stops_patience_epochs_after_the_best_and_restores_it"),
        holds=lambda n: _early_stopped(n["advanced"], n["patience"]),
        evidence=lambda n: (
            f"stopped at epoch {n['advanced']['stopped_epoch']} ({n['advanced']['stopped_reason']}), best epoch {n['advanced']['best_epoch']}, patience {n['patience']}"
        ),
        needs=("D5", "D6"),
        figures=("advanced_trainer",),
    ),
    Claim(
        id="T5",
        section="training",
        source="高级训练技巧",
        quote="# 保存最佳模型 ... # 加载最佳模型 self.model.load_weights('best_model_weights.h5')",
        translation="The trainer keeps the weights of the best validation epoch and restores them at the end.",
        method="Validation loss of the returned model against the best validation loss logged.",
        tests=cite(
            "training::test_trainer_stops_patience_epochs_after_the_best_and_restores_it",
            "training::test_a_checkpoint_round_trip_restores_the_weights",
        ),
        holds=lambda n: _restored(n["advanced"]),
        evidence=lambda n: (
            f"returned model's validation loss {n['advanced']['restored_val_loss']:.6f}, best logged {n['advanced']['best_val_loss']:.6f}"
        ),
        needs=("D5", "D6"),
        figures=("advanced_trainer",),
    ),
    Claim(
        id="T6",
        section="training",
        source="高级训练技巧",
        quote="advanced_model, advanced_history = advanced_training_demo()",
        translation="The advanced trainer (batch norm, dropout, clipping, decaying rate, early stopping) learns the task.",
        method=f"Best validation accuracy of the advanced trainer above {LEARNED_ACCURACY}.",
        tests=cite("training::test_trainer_and_fit_follow_the_eager_loops_trajectory"),
        holds=lambda n: n["advanced"]["best_val_accuracy"] > LEARNED_ACCURACY,
        evidence=lambda n: f"best validation accuracy {n['advanced']['best_val_accuracy']:.4f}",
        needs=("D5", "D6"),
        figures=("advanced_trainer",),
    ),
    Claim(
        id="T7",
        section="training",
        source="总结",
        quote="学习率调度:动态调整学习率提升训练效果",
        translation="Adjusting the learning rate during training (a schedule) improves the result.",
        method="The advanced trainer with ExponentialDecay(0.001, 100, 0.96) vs the same run at a constant 0.001: best validation loss.",
        tests=cite("training::test_logged_learning_rate_is_the_schedule_at_the_steps_done"),
        holds=lambda n: n["advanced"]["best_val_loss"] <= n["constant"]["best_val_loss"],
        evidence=lambda n: (
            f"best validation loss: schedule {n['advanced']['best_val_loss']:.4f}, constant {n['constant']['best_val_loss']:.4f}; "
            f"best accuracy {n['advanced']['best_val_accuracy']:.4f} vs {n['constant']['best_val_accuracy']:.4f}"
        ),
        needs=("D5", "D6"),
        figures=("schedule_vs_constant",),
    ),
    Claim(
        id="T8",
        section="training",
        source="训练基础概念",
        quote="# 设置随机种子 tf.random.set_seed(42) np.random.seed(42)",
        translation="Setting the random seeds makes a run repeatable.",
        method=(
            "Two builds of the basic model after seeding: max |difference| of the first kernel (document's seeding "
            "and keras.utils.set_random_seed)."
        ),
        tests=cite(
            "document_training::test_d12_keras_set_random_seed_repeats_the_build_and_the_dropout_mask"
        ),
        holds=lambda n: n["seeding"]["ours_max_difference"] == 0.0,
        evidence=lambda n: (
            f"max |difference|: document's seeding {n['seeding']['document_max_difference']:.3g}, "
            f"keras.utils.set_random_seed {n['seeding']['ours_max_difference']:.3g}"
        ),
        needs=("D12",),
    ),
]
