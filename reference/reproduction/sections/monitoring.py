"""Section 7, 模型评估与监控 (monitoring): the monitored training and its 2x3 monitor panel.

The document's ``monitored_training`` is an eager loop (``train_eager``) on the ``monitored`` data
(2000 samples, training statistics: D10 fixed), 100 epochs, batch 32, with ``TrainingMonitor``
recording loss, accuracy, learning rate and the mean global gradient norm per epoch.
"""

from __future__ import annotations

import math
from pathlib import Path

import keras
import numpy as np

from reference.data import load_classification
from reference.models import build_model, document_model
from reference.monitor import SERIES, TrainingMonitor
from reference.reproduction.captures import capture_d13
from reference.reproduction.citations import cite
from reference.reproduction.ledger import Claim
from reference.reproduction.progress import Progress
from reference.reproduction.results import SectionResult, Table, fmt
from reference.reproduction.scale import Scale
from reference.training import train_eager

__all__ = ["CLAIMS", "DEFECT_IDS", "run"]

RISE = 0.01  # validation-loss rise after its minimum that counts as overfitting
LAST = 5  # epochs averaged at the end of the run
HEALTHY_NORMS = (1e-4, 1e3)  # a mean gradient norm outside this band would be vanishing / exploding

DEFECT_IDS = ("D13",)  # the defects this section captures, in its SectionResult.defects


def run(scale: Scale, workdir: Path, progress: Progress) -> SectionResult:
    """The monitored training; the monitor's series, derived views and figure."""
    split = load_classification("monitored", n_samples=scale.monitored_samples)
    keras.utils.set_random_seed(scale.seed)
    monitor = TrainingMonitor()
    train_eager(
        build_model(document_model("monitored")),
        split,
        epochs=scale.monitored_epochs,
        batch_size=scale.batch_size,
        seed=scale.seed,
        callbacks=[monitor, progress.epochs(scale.monitored_epochs, "monitored training")],
    )
    series = monitor.as_dict()
    gap = monitor.overfitting_gap
    best = int(np.argmin(series["val_loss"]))
    smoothed = monitor.smoothed_loss()
    numbers = {
        **series,
        "epochs": scale.monitored_epochs,
        "gap": gap.tolist(),
        "best_epoch": best,
        "val_loss_rise": float(series["val_loss"][-1] - series["val_loss"][best]),
        "gap_at_best": float(gap[best]),
        "gap_end": float(np.mean(gap[-LAST:])),
        "raw_roughness": float(np.std(np.diff(series["loss"]))) if len(series["loss"]) > 1 else math.nan,
        "smoothed_roughness": float(np.std(np.diff(smoothed))) if len(smoothed) > 1 else math.nan,
    }
    section = SectionResult("monitoring", numbers)
    section.tables.append(
        Table(
            f"Monitored training ({scale.monitored_epochs} epochs)",
            ("series", "first", "last", "min", "max"),
            tuple(
                (key, fmt(v[0]), fmt(v[-1]), fmt(np.min(v)), fmt(np.max(v)))
                for key in SERIES
                for v in [series[key]]
            ),
        )
    )
    section.figures["monitor"] = monitor.plot()
    section.defects.append(capture_d13())
    return section


CLAIMS = [
    Claim(
        id="M1",
        section="monitoring",
        source="训练过程监控",
        quote="class TrainingMonitor: ... self.metrics = {'loss', 'accuracy', 'val_loss', 'val_accuracy', 'learning_rate', 'gradient_norm'}",
        translation="The training monitor records loss, accuracy, validation metrics, learning rate and gradient norm every epoch.",
        method="Length and finiteness of each of the six series after the monitored training.",
        tests=cite(
            "monitor::test_monitor_in_the_project_loops_gets_the_global_norm_of_the_known_batch",
            "monitor::test_missing_metrics_are_nan_so_every_series_has_one_entry_per_epoch",
        ),
        holds=lambda n: all(len(n[k]) == n["epochs"] and all(math.isfinite(v) for v in n[k]) for k in SERIES),
        evidence=lambda n: (
            ", ".join(f"{k} {len(n[k])}" for k in SERIES) + f" entries for {n['epochs']} epochs"
        ),
        figures=("monitor",),
    ),
    Claim(
        id="M2",
        section="monitoring",
        source="训练过程监控",
        quote="axes[1, 1].set_title('过拟合监控 (验证损失 - 训练损失)')",
        translation="The validation - training loss gap reveals overfitting.",
        method=(
            f"Overfitting happened (validation loss rose by > {RISE} after its minimum, at least {LAST} epochs before the end) "
            f"and the gap at the end (mean of the last {LAST}) is wider than at the best epoch."
        ),
        tests=cite("monitor::test_overfitting_gap_is_val_loss_minus_loss"),
        holds=lambda n: (
            n["best_epoch"] < n["epochs"] - LAST
            and n["val_loss_rise"] > RISE
            and n["gap_end"] > n["gap_at_best"]
        ),
        evidence=lambda n: (
            f"best validation epoch {n['best_epoch']} of {n['epochs']}, later rise {n['val_loss_rise']:.4f}; "
            f"gap {n['gap_at_best']:.4f} at the best epoch -> {n['gap_end']:.4f} at the end"
        ),
        figures=("monitor",),
    ),
    Claim(
        id="M3",
        section="monitoring",
        source="训练过程监控",
        quote="axes[1, 2].set_title('训练稳定性') (np.convolve(..., np.ones(5)/5))",
        translation="A 5-epoch moving average shows the training trend more smoothly than the raw loss.",
        method="Standard deviation of the epoch-to-epoch change: moving average vs raw training loss.",
        tests=cite("monitor::test_smoothed_loss_equals_an_independent_moving_average"),
        holds=lambda n: n["smoothed_roughness"] < n["raw_roughness"],
        evidence=lambda n: (
            f"std of changes: smoothed {n['smoothed_roughness']:.3g}, raw {n['raw_roughness']:.3g}"
        ),
        figures=("monitor",),
    ),
    Claim(
        id="M4",
        section="monitoring",
        source="总结 最佳实践",
        quote="监控梯度范数防止梯度爆炸/消失",
        translation="Monitoring the gradient norm guards against exploding or vanishing gradients.",
        method=f"The monitor's mean global gradient norm per epoch: finite and inside [{HEALTHY_NORMS[0]:g}, {HEALTHY_NORMS[1]:g}] throughout the run.",
        tests=cite(
            "monitor::test_gradient_norm_is_the_epoch_mean_of_the_batch_global_norms",
            "monitor::test_monitor_in_the_project_loops_gets_the_global_norm_of_the_known_batch",
        ),
        holds=lambda n: all(
            math.isfinite(v) and HEALTHY_NORMS[0] <= v <= HEALTHY_NORMS[1] for v in n["gradient_norm"]
        ),
        evidence=lambda n: (
            f"gradient norm from {min(n['gradient_norm']):.4g} to {max(n['gradient_norm']):.4g}"
        ),
        figures=("monitor",),
    ),
    Claim(
        id="M5",
        section="monitoring",
        source="训练过程监控",
        quote="current_lr = optimizer.learning_rate.numpy() ... axes[0, 2].set_title('学习率变化')",
        translation="The monitor shows the optimizer's learning rate (constant 0.001 in this demo).",
        method="Recorded learning rate per epoch against Adam's 0.001.",
        tests=cite(
            "monitor::test_monitor_learning_rate_is_the_schedule_value_at_the_current_iteration",
            "monitor::test_learning_rate_in_the_logs_takes_precedence_over_the_optimizer",
        ),
        holds=lambda n: all(abs(v - 0.001) <= 1e-9 for v in n["learning_rate"]),
        evidence=lambda n: (
            f"recorded rates from {min(n['learning_rate']):.6g} to {max(n['learning_rate']):.6g}"
        ),
        figures=("monitor",),
    ),
]
