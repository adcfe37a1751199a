"""Section 6, 回调函数 (callbacks): the callbacks demo with the document's set (per seed) and ours, a
controlled plateau for the learning-rate owners (D9) and early stopping, and the custom callback demo
(per seed).

The demo needs MNIST; offline it runs on the stand-in ``reference.data.load_mnist`` picks (D7),
which the section's notes name. The callbacks are Keras's, so the demo trains with ``fit``. In the
demo the rate decays as 0.001 * 0.9^epoch, so the validation loss creeps down to the last of the 50
epochs and early stopping never fires; the plateau run (frozen weights, a constant validation loss)
is where its patience shows. A mechanism checked on a seed's run counts only where that run
exercised it: restoring the best weights when the best epoch is not the last, keeping the best
checkpoint when the best accuracy came before the last epoch.
"""

from __future__ import annotations

import csv
import math
from dataclasses import asdict
from itertools import zip_longest
from pathlib import Path

import keras
import numpy as np
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from reference.callback_experiments import plateau_rates
from reference.callbacks import (
    CSV_NAME,
    TENSORBOARD_DIR,
    EpochTimer,
    ThresholdStopping,
    demonstrate_callbacks,
    make_callbacks,
)
from reference.data import load_mnist, random_binary_split
from reference.document import document_callbacks
from reference.loop import build_optimizer
from reference.models import build_model, document_model
from reference.reproduction.captures_callbacks import (
    capture_d7,
    capture_d8,
    capture_d9,
    capture_d15,
    capture_d16,
)
from reference.reproduction.citations import cite
from reference.reproduction.figures import (
    plot_custom_callback,
    plot_learning_rates,
    plot_validation_bands,
)
from reference.reproduction.ledger import CheckClaim, Claim
from reference.reproduction.progress import Progress
from reference.reproduction.replicates import over_seeds
from reference.reproduction.results import SectionResult, Table, fmt, spread
from reference.reproduction.scale import Scale
from reference.reproduction.version_limits import VersionLimit

__all__ = ["CLAIMS", "DEFECT_IDS", "run"]

EARLY_STOPPING_PATIENCE = 10  # the document's
THRESHOLD = 0.95  # the document's custom stop
RESTORE_RTOL = 1e-4
WEIGHT_TENSORS = 6  # kernel and bias of the demo model's 3 Dense layers
# Keras 3.14 names TensorBoard's weight tags by the weight's path ("dense/kernel"); before, by its name
# ("kernel"): the 3 layers' 6 tensors land in 2 tags (tests/reference/test_callbacks.py shows both).
TAGS_BY_PATH_SINCE = "3.14"


def _tags_collide(kind: str) -> VersionLimit:
    return VersionLimit(
        package="keras", since=TAGS_BY_PATH_SINCE, reason=f"the 3 layers' {kind} tags collide"
    )


def _tensorboard(log_dir: Path) -> dict:
    events = EventAccumulator(str(log_dir / "train"), size_guidance={"tensors": 0})
    events.Reload()
    tags = events.Tags()["tensors"]
    counts = {
        kind: [len(events.Tensors(t)) for t in tags if t.endswith(f"/{kind}")]
        for kind in ("histogram", "image")
    }
    return {
        "histogram_tags": len(counts["histogram"]),
        "min_histogram_entries": min(counts["histogram"], default=0),
        "image_tags": len(counts["image"]),
        "min_image_entries": min(counts["image"], default=0),
        "has_graph": bool(events.Tags()["graph"]),
    }


def _demo(workdir: Path, document: bool, scale: Scale, split, seed: int) -> dict:
    model, keras_history = demonstrate_callbacks(
        workdir,
        document=document,
        epochs=scale.callbacks_epochs,
        batch_size=scale.callbacks_batch_size,
        seed=seed,
    )
    h = {k: [float(v) for v in values] for k, values in keras_history.history.items()}
    restored_loss, _ = model.evaluate(
        split.x_test, split.y_test, batch_size=scale.callbacks_batch_size, verbose=0
    )
    checkpoint = keras.saving.load_model(workdir / ("best_model.h5" if document else "best_model.keras"))
    _, checkpoint_accuracy = checkpoint.evaluate(split.x_test, split.y_test, verbose=0)
    with open(workdir / CSV_NAME, newline="") as f:
        rows = list(csv.DictReader(f))
    return {
        **h,
        "epochs_run": len(h["loss"]),
        "epochs": scale.callbacks_epochs,
        "best_epoch": int(np.argmin(h["val_loss"])),
        "restored_val_loss": float(restored_loss),
        "checkpoint_accuracy": float(checkpoint_accuracy),
        "csv_rows": len(rows),
        "csv_columns": sorted(rows[0]) if rows else [],
        "tensorboard": _tensorboard(workdir / TENSORBOARD_DIR),
        "test_rows": len(split.x_test),
    }


def _custom(scale: Scale, split, spec, batch_size: int, seed: int) -> dict:
    keras.utils.set_random_seed(seed)
    model = build_model(spec)
    loss = "binary_crossentropy" if spec.output_units == 1 else "sparse_categorical_crossentropy"
    model.compile(
        optimizer=keras.optimizers.Adam(0.001), loss=loss, metrics=["accuracy"], run_eagerly=scale.run_eagerly
    )
    build_optimizer(model)
    timer, stopper = EpochTimer(), ThresholdStopping(THRESHOLD)
    history = model.fit(
        split.x_train,
        split.y_train,
        epochs=scale.custom_epochs,
        batch_size=batch_size,
        validation_data=(split.x_test, split.y_test),
        callbacks=[timer, stopper],
        verbose=0,
    )
    val = [float(v) for v in history.history["val_accuracy"]]
    return {
        "val_accuracy": val,
        "epoch_times": timer.epoch_times,
        "stopped_epoch": stopper.stopped_epoch,
        "epochs_run": len(val),
    }


def _one_seed(scale: Scale, workdir: Path, split, digits, seed: int) -> dict:
    """The demo with the document's callbacks and the custom callback on both data sets, from ``seed``."""
    random_split = random_binary_split(scale.custom_train, scale.custom_val, seed=seed)
    spec = document_model("callbacks").with_input_dim(digits.n_features)
    return {
        "document": _demo(workdir / f"document_seed{seed}", True, scale, split, seed),
        "custom": {
            "random": _custom(scale, random_split, document_model("custom_callback"), 32, seed),
            "digits": _custom(scale, digits, spec, 32, seed),
        },
    }


DEFECT_IDS = (
    "D7",
    "D8",
    "D9",
    "D15",
    "D16",
)  # the defects this section captures, in its SectionResult.defects


def _demo_table(scale: Scale, numbers: dict) -> Table:
    groups = {
        f"document's (seeds {', '.join(map(str, numbers['seeds']))})": [
            r["document"] for r in numbers["per_seed"]
        ],
        f"ours (seed {scale.seed})": [numbers["ours"]],
    }
    return Table(
        f"The callbacks demo ({scale.callbacks_epochs} epochs, batch {scale.callbacks_batch_size}): mean [min, max]",
        (
            "callbacks",
            "epochs run",
            "best epoch",
            "best val loss",
            "restored val loss",
            "best val acc",
            "checkpoint acc",
            "CSV rows",
            "histogram tags",
            "image tags",
            "graph written",
        ),
        tuple(
            (
                name,
                spread([d["epochs_run"] for d in runs], ".0f"),
                spread([d["best_epoch"] for d in runs], ".0f"),
                spread([min(d["val_loss"]) for d in runs]),
                spread([d["restored_val_loss"] for d in runs]),
                spread([max(d["val_accuracy"]) for d in runs]),
                spread([d["checkpoint_accuracy"] for d in runs]),
                spread([d["csv_rows"] for d in runs], ".0f"),
                spread([d["tensorboard"]["histogram_tags"] for d in runs], ".0f"),
                spread([d["tensorboard"]["image_tags"] for d in runs], ".0f"),
                ", ".join(sorted({fmt(d["tensorboard"]["has_graph"]) for d in runs})),
            )
            for name, runs in groups.items()
        ),
    )


def run(scale: Scale, workdir: Path, progress: Progress) -> SectionResult:
    """The document's callbacks and the custom callback per seed; our callbacks and the plateau once."""
    split = load_mnist()
    digits = load_mnist(n_train=scale.mnist_train, n_test=scale.mnist_test)
    numbers = over_seeds(
        scale, progress, "callbacks", lambda seed: _one_seed(scale, workdir, split, digits, seed)
    )
    numbers["ours"] = _demo(workdir / "ours", False, scale, split, scale.seed)
    plateau = {
        "document": plateau_rates(
            document_callbacks(workdir / "plateau_document"), epochs=scale.plateau_epochs, seed=scale.seed
        ),
        "ours": plateau_rates(
            make_callbacks(workdir / "plateau_ours", histogram_freq=0),
            epochs=scale.plateau_epochs,
            seed=scale.seed,
        ),
    }
    numbers |= {
        "source": split.source,
        "plateau": {
            **{k: asdict(v) for k, v in plateau.items()},
            "cut_epoch": plateau["document"].first_cut(),
            "epochs": scale.plateau_epochs,
        },
    }
    section = SectionResult(
        "callbacks",
        numbers,
        notes=[f"MNIST: {split.source}, {len(split.x_train)} training and {len(split.x_test)} test rows."],
    )
    section.tables.append(_demo_table(scale, numbers))
    section.tables.append(
        Table(
            f"Learning rate on a plateau (frozen weights, val_loss constant, {scale.plateau_epochs} epochs at most): "
            "rate used per epoch until early stopping ends the run",
            ("epoch", "document's callbacks", "ours", "0.001 * 0.9**epoch"),
            tuple(
                (str(e), fmt(d, ".5g"), fmt(o, ".5g"), fmt(0.001 * 0.9**e, ".5g"))
                for e, (d, o) in enumerate(zip_longest(plateau["document"].used, plateau["ours"].used))
            ),
        )
    )
    runs = numbers["per_seed"]
    first = runs[0]["document"]
    section.figures["callbacks_learning_rate"] = plot_learning_rates(
        {
            f"document's callbacks (History, seed {scale.seed})": first["learning_rate"],
            f"ours (History, seed {scale.seed})": numbers["ours"]["learning_rate"],
        },
        {"document's callbacks": plateau["document"].used, "ours": plateau["ours"].used},
    )
    section.figures["callbacks_demo"] = plot_validation_bands(
        {
            "document's callbacks": [r["document"] for r in runs],
            f"ours (seed {scale.seed})": [numbers["ours"]],
        },
        "Callbacks demo",
    )
    section.figures["custom_callback"] = plot_custom_callback(
        [r["custom"]["random"]["epoch_times"] for r in runs],
        {
            "document's random data": [r["custom"]["random"]["val_accuracy"] for r in runs],
            split.source: [r["custom"]["digits"]["val_accuracy"] for r in runs],
        },
        THRESHOLD,
    )
    section.defects += [
        capture_d7(scale.seed),
        capture_d8(scale.seed),
        capture_d9(plateau["document"], plateau["ours"]),
        capture_d15(scale.seed),
        capture_d16(plateau["document"], plateau["ours"]),
    ]
    return section


def _doc(n) -> dict:
    return n["document"]


def _plateau_stop(n) -> bool:
    """On the plateau (the best epoch is epoch 0) the document's EarlyStopping ends the run after epoch
    ``patience``: ``patience + 1`` epochs run, out of more."""
    return n["plateau"]["epochs"] > EARLY_STOPPING_PATIENCE + 1 and (
        len(n["plateau"]["document"]["used"]) == EARLY_STOPPING_PATIENCE + 1
    )


def _demo_stops(n) -> str:
    """How often the demo's best epoch left room for an early stop, over the seeds."""
    demos = [r["document"] for r in n["per_seed"]]
    room = sum(d["best_epoch"] + EARLY_STOPPING_PATIENCE < d["epochs"] for d in demos)
    stopped = sum(d["epochs_run"] < d["epochs"] for d in demos)
    best = ", ".join(str(d["best_epoch"]) for d in demos)
    return (
        f"in the demo ({demos[0]['epochs']} epochs) the best epoch (seeds {', '.join(map(str, n['seeds']))}: {best}) "
        f"left room for a stop on {room} of {len(demos)} seeds; stopped early on {stopped}"
    )


def _restored(d: dict) -> bool | None:
    """EarlyStopping(restore_best_weights) returned the best epoch's model; None when the best epoch
    is the last (restoring it changes nothing)."""
    if d["best_epoch"] == d["epochs_run"] - 1:
        return None
    return abs(d["restored_val_loss"] - min(d["val_loss"])) <= RESTORE_RTOL * min(d["val_loss"])


def _checkpointed(d: dict) -> bool | None:
    """The checkpoint scores the best val_accuracy; None when the first best epoch is the last (a
    checkpoint of every epoch would pass too)."""
    if int(np.argmax(d["val_accuracy"])) == d["epochs_run"] - 1:
        return None
    return abs(d["checkpoint_accuracy"] - max(d["val_accuracy"])) <= 0.5 / d["test_rows"]


def _threshold_stop(c: dict) -> bool | None:
    """ThresholdStopping stopped at the first epoch above 0.95; None when no epoch got there."""
    above = [e for e, v in enumerate(c["val_accuracy"]) if v > THRESHOLD]
    if not above:
        return None if c["stopped_epoch"] is None else False
    return c["stopped_epoch"] == above[0] == c["epochs_run"] - 1


def _after_cut(n) -> tuple[float, float]:
    """The rate used in the epoch after the first plateau cut: (ours, the document's); NaN without a cut."""
    cut, plateau = n["plateau"]["cut_epoch"], n["plateau"]
    if cut is None or cut + 1 >= len(plateau["ours"]["used"]):
        return math.nan, math.nan
    return plateau["ours"]["used"][cut + 1], plateau["document"]["used"][cut + 1]


def _plateau_kept(n) -> bool:
    ours, _ = _after_cut(n)
    cut = n["plateau"]["cut_epoch"]
    return math.isfinite(ours) and abs(ours / n["plateau"]["ours"]["used"][cut] - 0.9 * 0.5) < 1e-4


def _scheduled(rates) -> bool:
    return all(abs(r - 0.001 * 0.9**e) <= 1e-6 * 0.001 * 0.9**e + 1e-12 for e, r in enumerate(rates))


def _logged(kind: str):
    """Every weight tensor logged as ``kind`` (histogram or image) once per epoch run."""

    def check(n) -> bool:
        board = _doc(n)["tensorboard"]
        return (
            board[f"{kind}_tags"] == WEIGHT_TENSORS and board[f"min_{kind}_entries"] == _doc(n)["epochs_run"]
        )

    return check


def _entries(kind: str):
    def describe(n) -> str:
        board = _doc(n)["tensorboard"]
        return f"{board[f'{kind}_tags']} tags, >= {board[f'min_{kind}_entries']} entries, {_doc(n)['epochs_run']} epochs"

    return describe


CLAIMS = [
    Claim(
        id="C1",
        section="callbacks",
        source="内置回调函数",
        quote="# 早停 tf.keras.callbacks.EarlyStopping(monitor='val_loss', patience=10, ...)",
        translation="EarlyStopping stops training 10 epochs after the validation loss stopped improving.",
        method=(
            "The document's callbacks on a model with frozen weights (the validation loss is constant, so its best "
            "epoch is epoch 0): epochs run, against patience + 1 = 11. The demo's own runs are listed: with the "
            "rate decaying every epoch they improve until the end and never exercise it."
        ),
        tests=cite(
            "callbacks::test_document_callbacks_stop_a_plateau_after_patience_epochs",
            "training::test_best_weights_in_fit_stops_where_keras_early_stopping_stops",
        ),
        holds=_plateau_stop,
        evidence=lambda n: (
            f"plateau: {len(n['plateau']['document']['used'])} of {n['plateau']['epochs']} epochs run with the "
            f"document's callbacks (ours: {len(n['plateau']['ours']['used'])}); {_demo_stops(n)}"
        ),
        figures=("callbacks_learning_rate",),
    ),
    CheckClaim(
        id="C2",
        section="callbacks",
        source="内置回调函数",
        quote="EarlyStopping(..., restore_best_weights=True)",
        translation="EarlyStopping restores the weights of the best epoch.",
        method=(
            "Validation loss of the returned model vs the best validation loss of the document-callbacks demo, on "
            "each seed (a seed whose best epoch is the last does not exercise it)."
        ),
        tests=cite("training::test_best_weights_in_fit_stops_where_keras_early_stopping_stops"),
        check=lambda n: _restored(_doc(n)),
        describe=lambda n: (
            f"returned {_doc(n)['restored_val_loss']:.6f}, best logged {min(_doc(n)['val_loss']):.6f} "
            f"at epoch {_doc(n)['best_epoch']} of {_doc(n)['epochs_run']}"
        ),
        needs=("D7",),
    ),
    Claim(
        id="C3",
        section="callbacks",
        source="内置回调函数",
        quote="# 学习率衰减 tf.keras.callbacks.ReduceLROnPlateau(monitor='val_loss', factor=0.5, patience=5)",
        translation="ReduceLROnPlateau halves the learning rate when the validation loss plateaus for 5 epochs.",
        method=(
            "A model with frozen weights (val_loss exactly constant) trained with each callback set: the rate used in the "
            "epoch after the first cut, relative to the epoch before it (0.9 x 0.5 if the cut is kept)."
        ),
        tests=cite(
            "callbacks::test_our_callbacks_keep_every_plateau_cut_and_the_per_epoch_decay",
            "callbacks::test_reduce_lr_on_plateau_alone_halves_the_rate_after_each_stalled_patience",
        ),
        holds=_plateau_kept,
        evidence=lambda n: (
            f"cut at the end of epoch {n['plateau']['cut_epoch']}; the next epoch ran at {_after_cut(n)[0]:.4g} "
            f"with ours (0.001 * 0.9**e * 0.5), {_after_cut(n)[1]:.4g} with the document's"
        ),
        needs=("D9",),
        figures=("callbacks_learning_rate",),
    ),
    Claim(
        id="C4",
        section="callbacks",
        source="内置回调函数",
        quote="# 学习率调度器 tf.keras.callbacks.LearningRateScheduler(lambda epoch: 0.001 * 0.9 ** epoch)",
        translation="The LearningRateScheduler sets the rate to 0.001 x 0.9^epoch at every epoch.",
        method="Rates used per epoch with the document's callbacks on the plateau run, against 0.001 x 0.9^epoch.",
        tests=cite("callbacks::test_document_scheduler_undoes_the_plateau_cut_at_the_next_epoch"),
        holds=lambda n: _scheduled(n["plateau"]["document"]["used"]),
        evidence=lambda n: "used: " + ", ".join(f"{r:.4g}" for r in n["plateau"]["document"]["used"]),
        figures=("callbacks_learning_rate",),
    ),
    CheckClaim(
        id="C5",
        section="callbacks",
        source="内置回调函数",
        quote="# 模型检查点 tf.keras.callbacks.ModelCheckpoint(filepath='best_model.h5', monitor='val_accuracy', save_best_only=True)",
        translation="ModelCheckpoint keeps the model of the best validation accuracy.",
        method=(
            "The saved best_model.h5 of the document-callbacks demo, evaluated on the test rows, vs the best val_accuracy "
            "(half a sample apart counts as equal), on each seed (a seed whose first best epoch is the last does not "
            "exercise it)."
        ),
        tests=cite(
            "callbacks::test_checkpoint_is_a_loadable_keras_file_scoring_the_best_validation_accuracy",
            "callbacks::test_document_checkpoint_name_h5_still_writes_a_loadable_legacy_hdf5_model",
        ),
        check=lambda n: _checkpointed(_doc(n)),
        describe=lambda n: (
            f"checkpoint {_doc(n)['checkpoint_accuracy']:.4f}, best val_accuracy {max(_doc(n)['val_accuracy']):.4f} "
            f"first at epoch {int(np.argmax(_doc(n)['val_accuracy']))} of {_doc(n)['epochs_run']}"
        ),
        needs=("D7",),
    ),
    CheckClaim(
        id="C6",
        section="callbacks",
        source="内置回调函数",
        quote="# TensorBoard日志 TensorBoard(log_dir='./logs', histogram_freq=1, ...)",
        translation="TensorBoard logs weight histograms every epoch.",
        method="Event files of the document-callbacks demo, on each seed: histogram tags (kernel and bias of 3 layers) and entries per tag.",
        tests=cite(
            "callbacks::test_tensorboard_writes_weight_histograms_every_epoch_but_no_op_graph",
            "callbacks::test_tensorboard_event_files_hold_the_history_epoch_losses",
        ),
        check=_logged("histogram"),
        describe=_entries("histogram"),
        needs=("D7", "D8"),
        version_limits=(_tags_collide("histogram"),),
    ),
    CheckClaim(
        id="C7",
        section="callbacks",
        source="内置回调函数",
        quote="TensorBoard(..., write_graph=True, ...)",
        translation="TensorBoard writes the model's graph.",
        method="Whether the event files of the document-callbacks demo hold a graph, on each seed.",
        tests=cite("callbacks::test_tensorboard_writes_weight_histograms_every_epoch_but_no_op_graph"),
        check=lambda n: _doc(n)["tensorboard"]["has_graph"],
        describe=lambda n: (
            f"graph: {_doc(n)['tensorboard']['has_graph']} (Keras 3 writes the model config, not an op graph)"
        ),
        needs=("D7", "D8"),
    ),
    CheckClaim(
        id="C11",
        section="callbacks",
        source="内置回调函数",
        quote="TensorBoard(..., histogram_freq=1, write_graph=True, write_images=True)",
        translation="TensorBoard also writes the weights as images every epoch.",
        method="Event files of the document-callbacks demo, on each seed: image tags (kernel and bias of 3 layers) and entries per tag.",
        tests=cite(
            "callbacks::test_document_tensorboard_writes_each_non_scalar_weight_as_an_image_every_epoch"
        ),
        check=_logged("image"),
        describe=_entries("image"),
        needs=("D7", "D8"),
        version_limits=(_tags_collide("image"),),
    ),
    CheckClaim(
        id="C8",
        section="callbacks",
        source="内置回调函数",
        quote="# CSV日志 tf.keras.callbacks.CSVLogger('training_log.csv')",
        translation="CSVLogger writes one row per epoch.",
        method="Rows of training_log.csv of the document-callbacks demo vs epochs run, on each seed.",
        tests=cite("callbacks::test_csv_log_has_one_row_per_epoch_with_the_history_columns"),
        check=lambda n: _doc(n)["csv_rows"] == _doc(n)["epochs_run"],
        describe=lambda n: f"{_doc(n)['csv_rows']} rows, {_doc(n)['epochs_run']} epochs",
        needs=("D7",),
    ),
    CheckClaim(
        id="C9",
        section="callbacks",
        source="自定义回调函数",
        quote='print(f"Epoch {epoch + 1} 完成,用时: {epoch_time:.2f}秒")',
        translation="The custom callback measures how long every epoch took.",
        method="EpochTimer (the timing half of CustomCallback) on the document's random data, on each seed: one positive time per epoch.",
        tests=cite("callbacks::test_epoch_timer_records_one_positive_time_per_epoch"),
        check=lambda n: (
            len(n["custom"]["random"]["epoch_times"]) == n["custom"]["random"]["epochs_run"]
            and min(n["custom"]["random"]["epoch_times"]) > 0
        ),
        describe=lambda n: (
            f"{len(n['custom']['random']['epoch_times'])} epochs, mean {np.mean(n['custom']['random']['epoch_times']):.3f} s"
        ),
        figures=("custom_callback",),
    ),
    CheckClaim(
        id="C10",
        section="callbacks",
        source="自定义回调函数",
        quote="if logs and logs.get('val_accuracy', 0) > 0.95: print(\"验证准确率达到95%,提前停止训练\")",
        translation="The custom callback stops training once the validation accuracy exceeds 95 %.",
        method=(
            "ThresholdStopping(0.95) (the stopping half of CustomCallback) on the MNIST stand-in, on each seed: stops at "
            "the first epoch above 0.95 (a seed that never gets there does not exercise it; on the document's random "
            "labels it can never trigger)."
        ),
        tests=cite(
            "callbacks::test_threshold_stopping_ends_training_at_the_first_epoch_past_the_threshold",
            "callbacks::test_threshold_stopping_needs_strictly_more_than_the_threshold",
        ),
        check=lambda n: _threshold_stop(n["custom"]["digits"]),
        describe=lambda n: (
            f"stand-in: stopped at epoch {n['custom']['digits']['stopped_epoch']}, last val_accuracy "
            f"{n['custom']['digits']['val_accuracy'][-1]:.4f}; random data: best {max(n['custom']['random']['val_accuracy']):.4f}"
        ),
        figures=("custom_callback",),
    ),
]
