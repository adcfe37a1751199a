"""Section 7, 模型评估与监控 (monitoring): the monitored training over seeds and its 2x3 monitor panel.

The document's ``monitored_training`` is an eager loop on the ``monitored`` data (2000 samples,
training statistics: D10 fixed), 100 epochs, batch 32, with ``TrainingMonitor`` recording loss,
accuracy, learning rate and the mean global gradient norm per epoch. Here the loop is
``plain_training`` (``Trainer`` at full scale: the same updates as the eager loop, which logs the
same series) with the monitor as its callback, once per seed.
"""

from __future__ import annotations

import math
from pathlib import Path

import keras
import numpy as np

from reference.data import load_classification
from reference.models import build_model, document_model
from reference.monitor import DOCUMENT_WINDOW, SERIES, TrainingMonitor
from reference.reproduction.captures import capture_d13
from reference.reproduction.citations import cite
from reference.reproduction.figures import plot_monitor_bands
from reference.reproduction.ledger import CheckClaim, Effect, EffectClaim
from reference.reproduction.progress import Progress
from reference.reproduction.replicates import over_seeds, overfitting, overfitting_effects, plain_training
from reference.reproduction.results import SectionResult, Table, spread
from reference.reproduction.scale import Scale

__all__ = ["CLAIMS", "DEFECT_IDS", "run"]

HEALTHY_NORMS = (1e-4, 1e3)  # a mean gradient norm outside this band would be vanishing / exploding
CONSTANT_RATE = 0.001

DEFECT_IDS = ("D13",)  # the defects this section captures, in its SectionResult.defects


def _roughness(values: np.ndarray) -> float:
    """Standard deviation of the epoch-to-epoch change (NaN with fewer than two values)."""
    return float(np.std(np.diff(values))) if len(values) > 1 else math.nan


def _one_seed(scale: Scale, split, seed: int, progress: Progress) -> tuple[dict, np.ndarray]:
    """The monitored training from ``seed``: the monitor's series and derived numbers, and the smoothed loss."""
    keras.utils.set_random_seed(seed)
    monitor = TrainingMonitor()
    train = plain_training(
        scale, [monitor, progress.epochs(scale.monitored_epochs, f"monitored, seed {seed}")]
    )
    train(
        build_model(document_model("monitored")),
        split,
        epochs=scale.monitored_epochs,
        batch_size=scale.batch_size,
        seed=seed,
    )
    series = monitor.as_dict()
    smoothed = monitor.smoothed_loss()
    numbers = {
        **series,
        **overfitting(series["loss"], series["val_loss"]),
        "epochs": scale.monitored_epochs,
        "raw_roughness": _roughness(np.asarray(series["loss"])),
        "smoothed_roughness": _roughness(smoothed),
    }
    return numbers, smoothed


def run(scale: Scale, workdir: Path, progress: Progress) -> SectionResult:
    """The monitored training per seed; the monitor's series, derived views and figure."""
    split = load_classification("monitored", n_samples=scale.monitored_samples)
    smoothed = []

    def one_seed(seed: int) -> dict:
        numbers, curve = _one_seed(scale, split, seed, progress)
        smoothed.append(curve)
        return numbers

    numbers = over_seeds(scale, progress, "monitoring", one_seed)
    runs = numbers["per_seed"]
    section = SectionResult("monitoring", numbers)
    section.tables.append(
        Table(
            f"Monitored training ({scale.monitored_epochs} epochs), seeds {', '.join(map(str, numbers['seeds']))}: "
            "mean [min, max] over seeds",
            ("series", "first", "last", "min", "max"),
            tuple(
                (
                    key,
                    spread([r[key][0] for r in runs]),
                    spread([r[key][-1] for r in runs]),
                    spread([np.min(r[key]) for r in runs]),
                    spread([np.max(r[key]) for r in runs]),
                )
                for key in SERIES
            ),
        )
    )
    section.figures["monitor"] = plot_monitor_bands(runs, smoothed, DOCUMENT_WINDOW)
    section.defects.append(capture_d13())
    return section


def _series_complete(n) -> bool:
    return all(len(n[k]) == n["epochs"] and all(math.isfinite(v) for v in n[k]) for k in SERIES)


CLAIMS = [
    CheckClaim(
        id="M1",
        section="monitoring",
        source="训练过程监控",
        quote="class TrainingMonitor: ... self.metrics = {'loss', 'accuracy', 'val_loss', 'val_accuracy', 'learning_rate', 'gradient_norm'}",
        translation="The training monitor records loss, accuracy, validation metrics, learning rate and gradient norm every epoch.",
        method="Length and finiteness of each of the six series after the monitored training, on each seed.",
        tests=cite(
            "monitor::test_monitor_in_the_project_loops_gets_the_global_norm_of_the_known_batch",
            "monitor::test_missing_metrics_are_nan_so_every_series_has_one_entry_per_epoch",
        ),
        check=_series_complete,
        describe=lambda n: (
            f"{min(len(n[k]) for k in SERIES)}-{max(len(n[k]) for k in SERIES)} entries per series"
        ),
        figures=("monitor",),
    ),
    EffectClaim(
        id="M2",
        section="monitoring",
        source="训练过程监控",
        quote="axes[1, 1].set_title('过拟合监控 (验证损失 - 训练损失)')",
        translation="The validation - training loss gap reveals overfitting.",
        method=(
            "On each seed: the validation loss rises after its minimum (overfitting happened), and the gap at the "
            "end (mean of the last 5 epochs) is wider than at the best epoch."
        ),
        tests=cite("monitor::test_overfitting_gap_is_val_loss_minus_loss"),
        effects=overfitting_effects(lambda n: n, "monitored training"),
        figures=("monitor",),
    ),
    EffectClaim(
        id="M3",
        section="monitoring",
        source="训练过程监控",
        quote="axes[1, 2].set_title('训练稳定性') (np.convolve(..., np.ones(5)/5))",
        translation="A 5-epoch moving average shows the training trend more smoothly than the raw loss.",
        method="Standard deviation of the epoch-to-epoch change of the training loss: raw minus moving average, per seed.",
        tests=cite("monitor::test_smoothed_loss_equals_an_independent_moving_average"),
        effects=(
            Effect(
                label="std of the epoch-to-epoch change of the training loss, raw - 5-epoch moving average",
                unit="nats",
                measure=lambda n: n["raw_roughness"] - n["smoothed_roughness"],
            ),
        ),
        figures=("monitor",),
    ),
    CheckClaim(
        id="M4",
        section="monitoring",
        source="总结 最佳实践",
        quote="监控梯度范数防止梯度爆炸/消失",
        translation="Monitoring the gradient norm guards against exploding or vanishing gradients.",
        method=(
            f"The monitor's mean global gradient norm per epoch, on each seed: finite and inside "
            f"[{HEALTHY_NORMS[0]:g}, {HEALTHY_NORMS[1]:g}] throughout the run."
        ),
        tests=cite(
            "monitor::test_gradient_norm_is_the_epoch_mean_of_the_batch_global_norms",
            "monitor::test_monitor_in_the_project_loops_gets_the_global_norm_of_the_known_batch",
        ),
        check=lambda n: all(
            math.isfinite(v) and HEALTHY_NORMS[0] <= v <= HEALTHY_NORMS[1] for v in n["gradient_norm"]
        ),
        describe=lambda n: f"from {min(n['gradient_norm']):.4g} to {max(n['gradient_norm']):.4g}",
        figures=("monitor",),
    ),
    CheckClaim(
        id="M5",
        section="monitoring",
        source="训练过程监控",
        quote="current_lr = optimizer.learning_rate.numpy() ... axes[0, 2].set_title('学习率变化')",
        translation="The monitor shows the optimizer's learning rate (constant 0.001 in this demo).",
        method="Recorded learning rate per epoch against Adam's 0.001, on each seed.",
        tests=cite(
            "monitor::test_monitor_learning_rate_is_the_schedule_value_at_the_current_iteration",
            "monitor::test_learning_rate_in_the_logs_takes_precedence_over_the_optimizer",
        ),
        check=lambda n: all(abs(v - CONSTANT_RATE) <= 1e-9 for v in n["learning_rate"]),
        describe=lambda n: f"from {min(n['learning_rate']):.6g} to {max(n['learning_rate']):.6g}",
        figures=("monitor",),
    ),
]
