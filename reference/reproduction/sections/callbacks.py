"""Section 6, 回调函数 (callbacks): the callbacks demo with the document's set and ours, a controlled
plateau for the learning-rate owners (D9), and the custom callback demo.

The demo needs MNIST; offline it runs on the stand-in ``reference.data.load_mnist`` picks (D7),
which the section's notes name.
"""

from __future__ import annotations

import csv
import math
from dataclasses import asdict
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
from reference.loop import History, build_optimizer
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
    plot_validation_comparison,
)
from reference.reproduction.ledger import Claim
from reference.reproduction.progress import Progress
from reference.reproduction.results import SectionResult, Table, fmt
from reference.reproduction.scale import Scale

__all__ = ["CLAIMS", "DEFECT_IDS", "run"]

EARLY_STOPPING_PATIENCE = 10  # the document's
THRESHOLD = 0.95  # the document's custom stop
RESTORE_RTOL = 1e-4


def _tensorboard(log_dir: Path) -> dict:
    events = EventAccumulator(str(log_dir / "train"), size_guidance={"tensors": 0})
    events.Reload()
    histograms = [tag for tag in events.Tags()["tensors"] if tag.endswith("/histogram")]
    return {
        "histogram_tags": len(histograms),
        "min_histogram_entries": min((len(events.Tensors(tag)) for tag in histograms), default=0),
        "has_graph": bool(events.Tags()["graph"]),
    }


def _demo(workdir: Path, document: bool, scale: Scale, split) -> dict:
    model, keras_history = demonstrate_callbacks(
        workdir,
        document=document,
        epochs=scale.callbacks_epochs,
        batch_size=scale.callbacks_batch_size,
        seed=scale.seed,
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
        "best_epoch": int(np.argmin(h["val_loss"])),
        "restored_val_loss": float(restored_loss),
        "checkpoint_accuracy": float(checkpoint_accuracy),
        "csv_rows": len(rows),
        "csv_columns": sorted(rows[0]) if rows else [],
        "tensorboard": _tensorboard(workdir / TENSORBOARD_DIR),
        "test_rows": len(split.x_test),
    }


def _custom(scale: Scale, split, spec, batch_size: int) -> dict:
    keras.utils.set_random_seed(scale.seed)
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


DEFECT_IDS = (
    "D7",
    "D8",
    "D9",
    "D15",
    "D16",
)  # the defects this section captures, in its SectionResult.defects


def run(scale: Scale, workdir: Path, progress: Progress) -> SectionResult:
    """Both callback sets on the demo, the plateau experiment, the custom callback on random data and on digits."""
    split = load_mnist()
    steps = progress.steps(
        ["document's callbacks", "our callbacks", "plateau", "custom callback"], "callbacks"
    )
    demos, plateau, custom = {}, {}, {}
    for step in steps:
        if step == "document's callbacks":
            demos["document"] = _demo(workdir / "document", True, scale, split)
        elif step == "our callbacks":
            demos["ours"] = _demo(workdir / "ours", False, scale, split)
        elif step == "plateau":
            plateau["document"] = plateau_rates(
                document_callbacks(workdir / "plateau_document"), epochs=scale.plateau_epochs, seed=scale.seed
            )
            plateau["ours"] = plateau_rates(
                make_callbacks(workdir / "plateau_ours", histogram_freq=0),
                epochs=scale.plateau_epochs,
                seed=scale.seed,
            )
        else:
            random_split = random_binary_split(scale.custom_train, scale.custom_val, seed=scale.seed)
            custom["random"] = _custom(scale, random_split, document_model("custom_callback"), 32)
            digits = load_mnist(n_train=scale.mnist_train, n_test=scale.mnist_test)
            spec = document_model("callbacks").with_input_dim(digits.n_features)
            custom["digits"] = _custom(scale, digits, spec, 32)
    numbers = {
        "source": split.source,
        "demos": demos,
        "plateau": {
            **{k: asdict(v) for k, v in plateau.items()},
            "cut_epoch": plateau["document"].first_cut(),
        },
        "custom": custom,
    }
    section = SectionResult(
        "callbacks",
        numbers,
        notes=[f"MNIST: {split.source}, {len(split.x_train)} training and {len(split.x_test)} test rows."],
    )
    section.tables.append(
        Table(
            f"The callbacks demo ({scale.callbacks_epochs} epochs, batch {scale.callbacks_batch_size})",
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
                "graph written",
            ),
            tuple(
                (
                    name,
                    str(d["epochs_run"]),
                    str(d["best_epoch"]),
                    fmt(min(d["val_loss"])),
                    fmt(d["restored_val_loss"]),
                    fmt(max(d["val_accuracy"])),
                    fmt(d["checkpoint_accuracy"]),
                    str(d["csv_rows"]),
                    str(d["tensorboard"]["histogram_tags"]),
                    fmt(d["tensorboard"]["has_graph"]),
                )
                for name, d in demos.items()
            ),
        )
    )
    section.tables.append(
        Table(
            "Learning rate on a plateau (frozen weights, val_loss constant): rate used per epoch",
            ("epoch", "document's callbacks", "ours", "0.001 * 0.9**epoch"),
            tuple(
                (str(e), fmt(d, ".5g"), fmt(o, ".5g"), fmt(0.001 * 0.9**e, ".5g"))
                for e, (d, o) in enumerate(zip(plateau["document"].used, plateau["ours"].used, strict=True))
            ),
        )
    )
    section.figures["callbacks_learning_rate"] = plot_learning_rates(
        {
            "document's callbacks (History)": demos["document"]["learning_rate"],
            "ours (History)": demos["ours"]["learning_rate"],
        },
        {"document's callbacks": plateau["document"].used, "ours": plateau["ours"].used},
    )
    section.figures["callbacks_demo"] = plot_validation_comparison(
        {
            name: History(
                loss=d["loss"], accuracy=d["accuracy"], val_loss=d["val_loss"], val_accuracy=d["val_accuracy"]
            )
            for name, d in demos.items()
        },
        "Callbacks demo",
    )
    section.figures["custom_callback"] = plot_custom_callback(
        custom["random"]["epoch_times"],
        {
            "document's random data": custom["random"]["val_accuracy"],
            split.source: custom["digits"]["val_accuracy"],
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
    return n["demos"]["document"]


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


CLAIMS = [
    Claim(
        id="C1",
        section="callbacks",
        source="内置回调函数",
        quote="# 早停 tf.keras.callbacks.EarlyStopping(monitor='val_loss', patience=10, ...)",
        translation="EarlyStopping stops training 10 epochs after the validation loss stopped improving.",
        method="The demo with the document's callbacks: epochs run vs the best epoch + 10 (needs a stop before the last epoch).",
        tests=cite(
            "callbacks::test_callbacks_demo_falls_back_to_the_offline_digits_with_a_warning",
            "training::test_best_weights_in_fit_stops_where_keras_early_stopping_stops",
        ),
        holds=lambda n: _doc(n)["epochs_run"] - 1 == _doc(n)["best_epoch"] + EARLY_STOPPING_PATIENCE,
        evidence=lambda n: (
            f"{_doc(n)['epochs_run']} epochs run, best epoch {_doc(n)['best_epoch']} (stop expected at epoch {_doc(n)['best_epoch'] + EARLY_STOPPING_PATIENCE})"
        ),
        needs=("D7",),
        figures=("callbacks_demo",),
    ),
    Claim(
        id="C2",
        section="callbacks",
        source="内置回调函数",
        quote="EarlyStopping(..., restore_best_weights=True)",
        translation="EarlyStopping restores the weights of the best epoch.",
        method="Validation loss of the returned model vs the best validation loss of the document-callbacks demo.",
        tests=cite("training::test_best_weights_in_fit_stops_where_keras_early_stopping_stops"),
        holds=lambda n: (
            abs(_doc(n)["restored_val_loss"] - min(_doc(n)["val_loss"]))
            <= RESTORE_RTOL * min(_doc(n)["val_loss"])
        ),
        evidence=lambda n: (
            f"returned model {_doc(n)['restored_val_loss']:.6f}, best logged {min(_doc(n)['val_loss']):.6f}"
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
    Claim(
        id="C5",
        section="callbacks",
        source="内置回调函数",
        quote="# 模型检查点 tf.keras.callbacks.ModelCheckpoint(filepath='best_model.h5', monitor='val_accuracy', save_best_only=True)",
        translation="ModelCheckpoint keeps the model of the best validation accuracy.",
        method="The saved best_model.h5 of the document-callbacks demo, evaluated on the test rows, vs the best val_accuracy (half a sample apart counts as equal).",
        tests=cite(
            "callbacks::test_checkpoint_is_a_loadable_keras_file_scoring_the_best_validation_accuracy",
            "callbacks::test_document_checkpoint_name_h5_still_writes_a_loadable_legacy_hdf5_model",
        ),
        holds=lambda n: (
            abs(_doc(n)["checkpoint_accuracy"] - max(_doc(n)["val_accuracy"])) <= 0.5 / _doc(n)["test_rows"]
        ),
        evidence=lambda n: (
            f"checkpoint accuracy {_doc(n)['checkpoint_accuracy']:.4f}, best val_accuracy {max(_doc(n)['val_accuracy']):.4f}"
        ),
        needs=("D7",),
    ),
    Claim(
        id="C6",
        section="callbacks",
        source="内置回调函数",
        quote="# TensorBoard日志 TensorBoard(log_dir='./logs', histogram_freq=1, ...)",
        translation="TensorBoard logs weight histograms every epoch.",
        method="Event files of the document-callbacks demo: histogram tags (kernel and bias of 3 layers) and entries per tag.",
        tests=cite(
            "callbacks::test_tensorboard_writes_weight_histograms_every_epoch_but_no_op_graph",
            "callbacks::test_tensorboard_event_files_hold_the_history_epoch_losses",
        ),
        holds=lambda n: (
            _doc(n)["tensorboard"]["histogram_tags"] == 6
            and _doc(n)["tensorboard"]["min_histogram_entries"] == _doc(n)["epochs_run"]
        ),
        evidence=lambda n: (
            f"{_doc(n)['tensorboard']['histogram_tags']} histogram tags, at least {_doc(n)['tensorboard']['min_histogram_entries']} entries each over {_doc(n)['epochs_run']} epochs"
        ),
        needs=("D7", "D8"),
    ),
    Claim(
        id="C7",
        section="callbacks",
        source="内置回调函数",
        quote="TensorBoard(..., write_graph=True, ...)",
        translation="TensorBoard writes the model's graph.",
        method="Whether the event files of the document-callbacks demo hold a graph.",
        tests=cite("callbacks::test_tensorboard_writes_weight_histograms_every_epoch_but_no_op_graph"),
        holds=lambda n: _doc(n)["tensorboard"]["has_graph"],
        evidence=lambda n: (
            f"graph in the event files: {_doc(n)['tensorboard']['has_graph']} (Keras 3 writes the model config, not an op graph)"
        ),
        needs=("D7", "D8"),
    ),
    Claim(
        id="C8",
        section="callbacks",
        source="内置回调函数",
        quote="# CSV日志 tf.keras.callbacks.CSVLogger('training_log.csv')",
        translation="CSVLogger writes one row per epoch.",
        method="Rows of training_log.csv of the document-callbacks demo vs epochs run.",
        tests=cite("callbacks::test_csv_log_has_one_row_per_epoch_with_the_history_columns"),
        holds=lambda n: _doc(n)["csv_rows"] == _doc(n)["epochs_run"],
        evidence=lambda n: (
            f"{_doc(n)['csv_rows']} rows for {_doc(n)['epochs_run']} epochs; columns {', '.join(_doc(n)['csv_columns'])}"
        ),
        needs=("D7",),
    ),
    Claim(
        id="C9",
        section="callbacks",
        source="自定义回调函数",
        quote='print(f"Epoch {epoch + 1} 完成,用时: {epoch_time:.2f}秒")',
        translation="The custom callback measures how long every epoch took.",
        method="EpochTimer (the timing half of CustomCallback) on the document's random data: one positive time per epoch.",
        tests=cite("callbacks::test_epoch_timer_records_one_positive_time_per_epoch"),
        holds=lambda n: (
            len(n["custom"]["random"]["epoch_times"]) == n["custom"]["random"]["epochs_run"]
            and min(n["custom"]["random"]["epoch_times"]) > 0
        ),
        evidence=lambda n: (
            f"{len(n['custom']['random']['epoch_times'])} epochs, mean {np.mean(n['custom']['random']['epoch_times']):.3f} s"
        ),
        figures=("custom_callback",),
    ),
    Claim(
        id="C10",
        section="callbacks",
        source="自定义回调函数",
        quote="if logs and logs.get('val_accuracy', 0) > 0.95: print(\"验证准确率达到95%,提前停止训练\")",
        translation="The custom callback stops training once the validation accuracy exceeds 95 %.",
        method=(
            "ThresholdStopping(0.95) (the stopping half of CustomCallback) on the MNIST stand-in: stops at the first epoch "
            "above 0.95 (on the document's random labels it can never trigger)."
        ),
        tests=cite(
            "callbacks::test_threshold_stopping_ends_training_at_the_first_epoch_past_the_threshold",
            "callbacks::test_threshold_stopping_needs_strictly_more_than_the_threshold",
        ),
        holds=lambda n: (
            n["custom"]["digits"]["stopped_epoch"] is not None
            and n["custom"]["digits"]["stopped_epoch"] == n["custom"]["digits"]["epochs_run"] - 1
            and all(v <= THRESHOLD for v in n["custom"]["digits"]["val_accuracy"][:-1])
        ),
        evidence=lambda n: (
            f"stand-in: stopped at epoch {n['custom']['digits']['stopped_epoch']} with val_accuracy {n['custom']['digits']['val_accuracy'][-1]:.4f}; "
            f"random data: best val_accuracy {max(n['custom']['random']['val_accuracy']):.4f}, stopped: {n['custom']['random']['stopped_epoch'] is not None}"
        ),
        figures=("custom_callback",),
    ),
]
