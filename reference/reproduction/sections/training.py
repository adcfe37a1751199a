"""Section 4, 训练循环 (training loops): the basic loop and the advanced trainer over seeds, with their claims.

The basic loop is the document's (Adam 0.001, BCE, 100 epochs, batch 32) on the ``basic`` data
(1000 samples, not standardized), trained by ``plain_training`` (``Trainer`` at full scale: the same
updates as the document's eager loop from the same seed, dropout masks and batch order included, at a
fraction of its time; ``replicates``). The run checks that equality live: the first epochs of seed 42
in the document's eager loop and in the replicates' loop (``loop_check``). The advanced trainer is
``train_trainer`` (the document's ``AdvancedTrainer`` made to work: D5, D6) with Adam on
``ExponentialDecay(0.001, 100, 0.96)``, 200 epochs, patience 15; the same run with a constant rate of
0.001, from the same seed, tests the summary's claim about schedules. Every run is repeated for every
seed; gradient clipping and seeding are deterministic and run once.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from reference.data import load_classification
from reference.loop import STOP_EARLY, STOP_MAX_EPOCHS, History, clip_gradients, objective_for
from reference.models import build_model, document_model
from reference.reproduction.captures import capture_d5, capture_d6, capture_d11, capture_d12
from reference.reproduction.citations import cite
from reference.reproduction.figures import plot_training_bands, plot_validation_bands
from reference.reproduction.ledger import CheckClaim, Claim, Effect, EffectClaim
from reference.reproduction.progress import Progress
from reference.reproduction.replicates import over_seeds, overfitting, overfitting_effects, plain_training
from reference.reproduction.results import SectionResult, Table, fmt, spread
from reference.reproduction.scale import Scale
from reference.trainer import Trainer
from reference.training import train_eager, train_trainer

__all__ = ["CLAIMS", "DEFECT_IDS", "run"]

LEARNED_ACCURACY = 80.0  # "learns the task": validation accuracy (%) well above chance (50 %)
CLIP_NORM = 1.0
EXPLODE = 100.0  # inputs scaled by this make every first-layer gradient large
RESTORE_RTOL = 1e-4
RUNS = {
    "basic": "basic loop",
    "advanced": "advanced, ExponentialDecay",
    "constant": "advanced, constant 0.001",
}


def _summary(history: History) -> dict:
    returned = history.best_epoch if history.best_epoch is not None else len(history.loss) - 1
    return {
        **history.as_dict(),
        **overfitting(history.loss, history.val_loss),
        "best_val_loss": float(np.min(history.val_loss)),
        "final_val_accuracy": float(history.val_accuracy[-1]),
        "returned_val_accuracy": float(history.val_accuracy[returned]),
        "epochs_run": len(history.loss),
    }


def _advanced(scale: Scale, split, optimizer, seed: int, progress: Progress, label: str) -> dict:
    keras.utils.set_random_seed(seed)
    model = build_model(document_model("advanced"))
    history = train_trainer(
        model,
        split,
        epochs=scale.advanced_epochs,
        batch_size=scale.batch_size,
        optimizer=optimizer,
        patience=scale.advanced_patience,
        seed=seed,
        callbacks=[progress.epochs(scale.advanced_epochs, label)],
        fused=scale.fused,
    )
    restored = float(objective_for(model).loss(split.y_test, model(split.x_test, training=False)))
    # _summary's best_epoch (lowest val_loss) is the trainer's: both take the first minimum.
    return {**_summary(history), "best_epoch": history.best_epoch, "restored_val_loss": restored}


def _one_seed(scale: Scale, basic_split, split, seed: int, progress: Progress) -> dict:
    """The basic loop and both advanced runs, from ``seed``."""
    keras.utils.set_random_seed(seed)
    train = plain_training(scale, [progress.epochs(scale.basic_epochs, f"basic loop, seed {seed}")])
    basic = train(
        build_model(document_model("basic")),
        basic_split,
        epochs=scale.basic_epochs,
        batch_size=scale.batch_size,
        seed=seed,
    )
    schedule = keras.optimizers.schedules.ExponentialDecay(
        initial_learning_rate=0.001, decay_steps=100, decay_rate=0.96
    )
    return {
        "patience": scale.advanced_patience,
        "basic": _summary(basic),
        "advanced": _advanced(
            scale, split, keras.optimizers.Adam(learning_rate=schedule), seed, progress, "advanced trainer"
        ),
        "constant": _advanced(
            scale, split, keras.optimizers.Adam(learning_rate=0.001), seed, progress, "advanced, constant lr"
        ),
    }


LOOP_CHECK_EPOCHS = 3
LOOP_KEYS = ("loss", "accuracy", "val_loss", "val_accuracy")


def _loop_check(scale: Scale, split) -> dict:
    """The document's eager loop and the replicates' loop from ``scale.seed``, for the first epochs:
    the largest absolute difference of each logged series."""
    epochs = min(LOOP_CHECK_EPOCHS, scale.basic_epochs)
    histories = []
    for train in (train_eager, plain_training(scale)):
        keras.utils.set_random_seed(scale.seed)
        model = build_model(document_model("basic"))
        histories.append(train(model, split, epochs=epochs, batch_size=scale.batch_size, seed=scale.seed))
    eager, replicate = histories
    return {
        "epochs": epochs,
        "loop": scale.loop,
        "max_abs_difference": {
            key: float(np.max(np.abs(np.subtract(getattr(eager, key), getattr(replicate, key)))))
            for key in LOOP_KEYS
        },
    }


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


def _table(numbers: dict) -> Table:
    runs = numbers["per_seed"]
    rows = []
    for key, name in RUNS.items():
        values = [r[key] for r in runs]
        stops = sorted({v["stopped_reason"] for v in values})
        rows.append(
            (
                name,
                spread([v["epochs_run"] for v in values], ".0f"),
                spread([v["loss"][0] for v in values]),
                spread([v["loss"][-1] for v in values]),
                spread([v["best_val_loss"] for v in values]),
                spread([v["final_val_accuracy"] for v in values]),
                spread([v["best_epoch"] for v in values], ".0f"),
                ", ".join(f"{sum(v['stopped_reason'] == s for v in values)} {s}" for s in stops),
            )
        )
    return Table(
        f"Training runs over seeds {', '.join(map(str, numbers['seeds']))}: mean [min, max]",
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


def run(scale: Scale, workdir: Path, progress: Progress) -> SectionResult:
    """The basic loop and the advanced trainer (schedule and constant rate) per seed, then clipping."""
    basic_split = load_classification("basic", n_samples=scale.basic_samples)
    split = load_classification("advanced", n_samples=scale.advanced_samples)
    seeds = over_seeds(
        scale, progress, "training", lambda seed: _one_seed(scale, basic_split, split, seed, progress)
    )
    seeding = capture_d12()
    numbers = {
        **seeds,
        "seeding": seeding.numbers,
        "clipping": _clipping(scale, split),
        "loop_check": _loop_check(scale, basic_split),
    }
    section = SectionResult("training", numbers)
    section.tables.append(_table(numbers))
    check = numbers["loop_check"]
    section.tables.append(
        Table(
            f"The replicates' loop ({check['loop']}) against the document's eager loop: seed {scale.seed}, "
            f"first {check['epochs']} epochs of the basic loop",
            ("series", "largest |difference|"),
            tuple((key, fmt(value, ".3g")) for key, value in check["max_abs_difference"].items()),
            note=(
                "The same initial weights, batches and dropout masks: differences of float32 rounding (the "
                "tests allow 1e-5) mean the replicates are the document's loop, run faster."
            ),
        )
    )
    runs = numbers["per_seed"]
    section.figures["basic_loop"] = plot_training_bands([r["basic"] for r in runs], "Basic loop")
    section.figures["advanced_trainer"] = plot_training_bands(
        [r["advanced"] for r in runs], "Advanced trainer", best_epochs=True
    )
    section.figures["schedule_vs_constant"] = plot_validation_bands(
        {
            "ExponentialDecay": [r["advanced"] for r in runs],
            "constant 0.001": [r["constant"] for r in runs],
        },
        "Advanced trainer",
    )
    section.defects += [capture_d5(), capture_d6(), capture_d11(), seeding]
    return section


def _early_stop(r: dict, patience: int) -> bool | None:
    """Stopped exactly ``patience`` epochs after the best; None when the run never stopped early."""
    if r["stopped_reason"] == STOP_MAX_EPOCHS:
        return None
    return r["stopped_reason"] == STOP_EARLY and r["stopped_epoch"] == r["best_epoch"] + patience


def _restored(r: dict) -> bool | None:
    """The returned model is the best epoch's; None when the best epoch is the last (nothing to restore)."""
    if r["best_epoch"] == r["epochs_run"] - 1:
        return None
    return abs(r["restored_val_loss"] - r["best_val_loss"]) <= RESTORE_RTOL * r["best_val_loss"]


EQUIVALENT_LOOPS = (
    "training::test_trainer_follows_the_eager_loop_with_dropout_and_shuffling_from_the_same_seed"
)

CLAIMS = [
    EffectClaim(
        id="T1",
        section="training",
        source="训练基础概念",
        quote="深度学习模型的训练是一个迭代优化过程,通过最小化损失函数来学习数据中的模式。",
        translation="Training is an iterative optimization that learns the data's patterns by minimizing the loss.",
        method="The basic loop's training loss: first epoch minus last epoch, per seed.",
        tests=cite(
            "training::test_equivalent_runs_actually_learn_so_the_comparison_is_not_vacuous", EQUIVALENT_LOOPS
        ),
        effects=(
            Effect(
                label="fall of the training loss, first epoch - last epoch (basic loop)",
                unit="nats",
                measure=lambda n: n["basic"]["loss"][0] - n["basic"]["loss"][-1],
            ),
        ),
        figures=("basic_loop",),
    ),
    EffectClaim(
        id="T2",
        section="training",
        source="基本训练循环",
        quote='def basic_training_loop(): """演示基本的训练循环"""',
        translation="The basic training loop (GradientTape, Adam 0.001, 100 epochs, batch 32) learns the classification task.",
        method=f"Final validation accuracy of the basic loop, mean over seeds, against {LEARNED_ACCURACY:g} %.",
        tests=cite(
            "training::test_the_basic_eager_loop_reaches_the_stated_validation_accuracy", EQUIVALENT_LOOPS
        ),
        effects=(
            Effect(
                label="final validation accuracy (basic loop)",
                unit="%",
                measure=lambda n: 100 * n["basic"]["final_val_accuracy"],
                reference=LEARNED_ACCURACY,
            ),
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
    CheckClaim(
        id="T4",
        section="training",
        source="高级训练技巧",
        quote='# 早停检查 ... if patience_counter >= patience: print(f"早停在第 {epoch} 轮")',
        translation="Early stopping ends training once the validation loss has not improved for `patience` (15) epochs.",
        method=(
            "The advanced trainer (ExponentialDecay) on each seed: stopped by early stopping exactly patience epochs "
            "after its best epoch (a seed that runs all epochs does not exercise it)."
        ),
        tests=cite("training::test_trainer_stops_patience_epochs_after_the_best_and_restores_it"),
        check=lambda n: _early_stop(n["advanced"], n["patience"]),
        describe=lambda n: (
            f"stopped at epoch {n['advanced']['stopped_epoch']} ({n['advanced']['stopped_reason']}), "
            f"best epoch {n['advanced']['best_epoch']}"
        ),
        needs=("D5", "D6"),
        figures=("advanced_trainer",),
    ),
    CheckClaim(
        id="T5",
        section="training",
        source="高级训练技巧",
        quote="# 保存最佳模型 ... # 加载最佳模型 self.model.load_weights('best_model_weights.h5')",
        translation="The trainer keeps the weights of the best validation epoch and restores them at the end.",
        method=(
            "Validation loss of the returned model against the best validation loss logged, on each seed (a seed "
            "whose best epoch is the last does not exercise it)."
        ),
        tests=cite(
            "training::test_trainer_stops_patience_epochs_after_the_best_and_restores_it",
            "training::test_a_checkpoint_round_trip_restores_the_weights",
        ),
        check=lambda n: _restored(n["advanced"]),
        describe=lambda n: (
            f"returned {n['advanced']['restored_val_loss']:.6f}, best logged {n['advanced']['best_val_loss']:.6f}"
        ),
        needs=("D5", "D6"),
        figures=("advanced_trainer",),
    ),
    EffectClaim(
        id="T6",
        section="training",
        source="高级训练技巧",
        quote="advanced_model, advanced_history = advanced_training_demo()",
        translation="The advanced trainer (batch norm, dropout, clipping, decaying rate, early stopping) learns the task.",
        method=(
            f"Validation accuracy of the model the advanced trainer returns (its best-validation-loss epoch), mean over "
            f"seeds, against {LEARNED_ACCURACY:g} %."
        ),
        tests=cite("training::test_trainer_and_fit_follow_the_eager_loops_trajectory"),
        effects=(
            Effect(
                label="validation accuracy of the returned model (advanced trainer)",
                unit="%",
                measure=lambda n: 100 * n["advanced"]["returned_val_accuracy"],
                reference=LEARNED_ACCURACY,
            ),
        ),
        needs=("D5", "D6"),
        figures=("advanced_trainer",),
    ),
    EffectClaim(
        id="T7",
        section="training",
        source="总结",
        quote="学习率调度:动态调整学习率提升训练效果",
        translation="Adjusting the learning rate during training (a schedule) improves the result.",
        method=(
            "The advanced trainer with ExponentialDecay(0.001, 100, 0.96) and the same run at a constant 0.001, both from "
            "the same seed: validation loss of the model each returns (its best epoch), constant minus schedule."
        ),
        tests=cite(
            "training::test_logged_learning_rate_is_the_schedule_at_the_steps_done",
            "training::test_trainer_stops_patience_epochs_after_the_best_and_restores_it",
        ),
        effects=(
            Effect(
                label="validation loss of the returned model, constant rate - ExponentialDecay",
                unit="nats",
                measure=lambda n: n["constant"]["restored_val_loss"] - n["advanced"]["restored_val_loss"],
            ),
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
    EffectClaim(
        id="T9",
        section="training",
        source="基本训练循环",
        quote="plt.title('过拟合监控 (训练损失 - 验证损失)')",
        translation=(
            "The basic loop's third panel, training minus validation loss, monitors overfitting: over the 100 epochs "
            "the model overfits and the panel shows it."
        ),
        method=(
            "The basic loop on each seed: the validation loss rises after its minimum, and the validation - training "
            "gap (the panel's difference with the opposite sign) is wider at the end than at the best epoch."
        ),
        tests=cite("monitor::test_overfitting_gap_is_val_loss_minus_loss", EQUIVALENT_LOOPS),
        effects=overfitting_effects(lambda n: n["basic"], "basic loop"),
        figures=("basic_loop",),
    ),
]
