"""Live captures of the document's defects outside the callbacks demo (D1-D6, D10-D14, D17).

Each ``capture_dN`` runs the document's code on the installed TensorFlow, records the actual error
(``Type: first line``) or the wrong value, runs the fix, and returns a ``DefectResult`` whose
``present`` and ``fix_verified`` are computed from what happened.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from reference.data import load_classification
from reference.document import (
    DOCUMENT_WEIGHTS_FILE,
    FOCAL_Y_PRED,
    FOCAL_Y_TRUE,
    WARMUP_ARGUMENTS,
    DocumentWarmupCosineDecay,
    document_basic_model,
    document_current_lr,
    document_focal_loss,
    document_reset_states,
    document_seeding,
)
from reference.losses import categorical_crossentropy, focal_loss
from reference.losses import sparse_categorical_crossentropy as sparse_ce
from reference.models import ModelSpec, build_model, document_model
from reference.monitor import current_learning_rate
from reference.reproduction.defects import RTOL, close, result
from reference.reproduction.ledger import DefectResult, error_line
from reference.schedules import WarmupCosineDecay

__all__ = [
    "capture_d1",
    "capture_d2",
    "capture_d3",
    "capture_d4",
    "capture_d5",
    "capture_d6",
    "capture_d10",
    "capture_d11",
    "capture_d12",
    "capture_d13",
    "capture_d14",
    "capture_d17",
    "focal_definition",
]


def focal_definition(y: np.ndarray, p: np.ndarray, alpha: float = 0.25, gamma: float = 2.0) -> float:
    """Lin et al.'s focal loss in float64, averaged (the oracle of D1)."""
    y, p = y.astype(np.float64), p.astype(np.float64)
    p_t = y * p + (1 - y) * (1 - p)
    alpha_t = y * alpha + (1 - y) * (1 - alpha)
    return float(np.mean(alpha_t * (1 - p_t) ** gamma * -np.log(p_t)))


def capture_d1() -> DefectResult:
    document = float(document_focal_loss()(tf.constant(FOCAL_Y_TRUE), tf.constant(FOCAL_Y_PRED)))
    y, p = FOCAL_Y_TRUE.astype(np.float64), FOCAL_Y_PRED.astype(np.float64)
    p_t = y * p + (1 - y) * (1 - p)
    modulator = (y * 0.25 + (1 - y) * 0.75) * (1 - p_t) ** 2
    product_of_means = float(modulator.mean() * np.mean(-np.log(p_t)))
    definition = focal_definition(FOCAL_Y_TRUE, FOCAL_Y_PRED)
    ours = float(focal_loss(FOCAL_Y_TRUE, FOCAL_Y_PRED))
    builtin = float(
        keras.losses.BinaryFocalCrossentropy(apply_class_balancing=True, alpha=0.25, gamma=2.0)(
            FOCAL_Y_TRUE, FOCAL_Y_PRED
        )
    )
    return result(
        id="D1",
        document=(
            f"document focal_loss = {document:.5f} on its five numbers, = mean(modulator) x mean(BCE) "
            f"= {product_of_means:.5f}, not the focal loss"
        ),
        fixed=(
            f"focal_loss = {ours:.5f}; definition (float64) {definition:.5f}; "
            f"Keras BinaryFocalCrossentropy(apply_class_balancing=True) {builtin:.5f}"
        ),
        present=not close(document, definition, 1e-3),
        fix_verified=close(ours, definition) and close(builtin, definition),
        numbers={
            "document": document,
            "product_of_means": product_of_means,
            "definition": definition,
            "ours": ours,
            "keras_builtin": builtin,
        },
    )


def capture_d14() -> DefectResult:
    y_pred = np.array([[0.001, 0.0]], np.float32)
    sparse = float(sparse_ce(np.array([0]), y_pred)[0])
    dense = float(categorical_crossentropy(np.array([[1.0, 0.0]], np.float32), y_pred)[0])
    normalized = y_pred / y_pred.sum(axis=-1, keepdims=True)
    sparse_n = float(sparse_ce(np.array([0]), normalized)[0])
    dense_n = float(categorical_crossentropy(np.array([[1.0, 0.0]], np.float32), normalized)[0])
    return result(
        id="D14",
        document=f"row [0.001, 0], label 0: sparse CE {sparse:.3g}, categorical CE {dense:.3g}",
        fixed=f"normalized row [1, 0]: sparse CE {sparse_n:.3g}, categorical CE {dense_n:.3g}",
        present=not close(sparse, dense, 1e-2),
        fix_verified=close(sparse_n, dense_n, 1e-2) or abs(sparse_n - dense_n) < 1e-6,
        numbers={
            "sparse": sparse,
            "categorical": dense,
            "sparse_normalized": sparse_n,
            "categorical_normalized": dense_n,
        },
    )


def capture_d2() -> DefectResult:
    document = DocumentWarmupCosineDecay(**WARMUP_ARGUMENTS)
    try:
        keras.optimizers.Adam(document).apply_gradients([(tf.constant([1.0]), keras.Variable([1.0]))])
        observed, present = "no error: the optimizer accepted the schedule", False
    except Exception as error:  # the document's failure, whatever TensorFlow raises
        observed, present = error_line(error), True
    python_int = float(document(50))
    ours = WarmupCosineDecay(**WARMUP_ARGUMENTS)
    optimizer = keras.optimizers.Adam(ours)
    variable = keras.Variable([1.0])
    for _ in range(3):
        optimizer.apply_gradients([(tf.constant([1.0]), variable)])
    rate, expected = current_learning_rate(optimizer), float(ours(3))
    return result(
        id="D2",
        document=f"Adam(schedule).apply_gradients -> {observed} (schedule(50) with a Python int: {python_int:.3g})",
        fixed=f"after 3 steps the optimizer's rate is {rate:.4g} = schedule(3) {expected:.4g}",
        present=present,
        fix_verified=close(rate, expected) and close(expected, 3e-5),
        numbers={"document_python_int_50": python_int, "ours_rate_after_3": rate},
    )


def capture_d3() -> DefectResult:
    document, ours = DocumentWarmupCosineDecay(**WARMUP_ARGUMENTS), WarmupCosineDecay(**WARMUP_ARGUMENTS)
    d500, d1500 = float(document(500)), float(document(1500))
    o1500 = float(ours(1500))
    return result(
        id="D3",
        document=f"document schedule(500) = {d500:.4g}, schedule(1500) = {d1500:.4g} (climbs back up)",
        fixed=f"schedule(1500) = {o1500:.4g} (min_learning_rate)",
        present=d1500 > WARMUP_ARGUMENTS["min_learning_rate"] * (1 + RTOL),
        fix_verified=close(o1500, WARMUP_ARGUMENTS["min_learning_rate"]),
        numbers={"document_500": d500, "document_1500": d1500, "ours_1500": o1500},
    )


def _compiled(schedule) -> keras.Model:
    model = build_model(ModelSpec(4, (3,)))
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss="binary_crossentropy")
    return model


def capture_d4() -> DefectResult:
    with tempfile.TemporaryDirectory() as folder:
        try:
            _compiled(DocumentWarmupCosineDecay(**WARMUP_ARGUMENTS)).save(Path(folder) / "document.keras")
            observed, present = "no error: the model was saved", False
        except Exception as error:
            observed, present = error_line(error), True
        _compiled(WarmupCosineDecay(**WARMUP_ARGUMENTS)).save(Path(folder) / "ours.keras")
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Skipping variable loading for optimizer")
            loaded = keras.saving.load_model(Path(folder) / "ours.keras")
    config = loaded.optimizer.get_config()["learning_rate"]["config"]
    return result(
        id="D4",
        document=f"model.save -> {observed}",
        fixed=f"saved and reloaded; the reloaded schedule's config is {config}",
        present=present,
        fix_verified=config == WARMUP_ARGUMENTS,
    )


def capture_d5() -> DefectResult:
    metric = keras.metrics.Mean()
    metric.update_state([2.0, 4.0])
    try:
        document_reset_states(metric)
        observed, present = "no error", False
    except AttributeError as error:
        observed, present = error_line(error), True
    metric.reset_state()
    count = float(metric.count)
    return result(
        id="D5",
        document=f"Mean().reset_states() -> {observed}",
        fixed=f"reset_state() empties the metric: count = {count:g}",
        present=present,
        fix_verified=count == 0.0,
    )


def capture_d6() -> DefectResult:
    model, other = build_model(ModelSpec(4, (3,))), build_model(ModelSpec(4, (3,)))
    with tempfile.TemporaryDirectory() as folder:
        try:
            model.save_weights(Path(folder) / DOCUMENT_WEIGHTS_FILE)
            observed, present = "no error: the file was written", False
        except ValueError as error:
            observed, present = error_line(error), True
        model.save_weights(Path(folder) / "best_model.weights.h5")
        other.load_weights(Path(folder) / "best_model.weights.h5")
    same = all(np.array_equal(a, b) for a, b in zip(model.get_weights(), other.get_weights(), strict=True))
    return result(
        id="D6",
        document=f"save_weights({DOCUMENT_WEIGHTS_FILE!r}) -> {observed}",
        fixed=f"'best_model.weights.h5' saves and loads the same weights: {same}",
        present=present,
        fix_verified=same,
    )


def capture_d10(names: tuple[str, ...] = ("weight_regularization", "monitored")) -> DefectResult:
    numbers = {}
    for name in names:
        leaky, fixed = load_classification(name, leaky=True), load_classification(name)
        numbers[name] = {
            "leaky_max_abs_test_mean": float(np.abs(leaky.x_test.mean(0)).max()),
            "fixed_max_abs_test_mean": float(np.abs(fixed.x_test.mean(0)).max()),
        }
    document = "; ".join(
        f"{n}: test means max |m| = {v['leaky_max_abs_test_mean']:.2g}" for n, v in numbers.items()
    )
    fixed = "; ".join(
        f"{n}: test means max |m| = {v['fixed_max_abs_test_mean']:.2g}" for n, v in numbers.items()
    )
    return result(
        id="D10",
        document=f"test split centred on itself (no train/test shift survives): {document}",
        fixed=f"with the training statistics the test split keeps its own offset: {fixed}",
        present=all(v["leaky_max_abs_test_mean"] < 1e-4 for v in numbers.values()),
        fix_verified=all(v["fixed_max_abs_test_mean"] > 1e-3 for v in numbers.values()),
        numbers=numbers,
    )


def _warnings_of(build) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        build()
    return [str(w.message).splitlines()[0] for w in caught]


def capture_d11() -> DefectResult:
    document = _warnings_of(document_basic_model)
    ours = _warnings_of(lambda: build_model(document_model("basic")))
    return result(
        id="D11",
        document="Dense(64, input_shape=(20,)) -> "
        + (f"UserWarning: {document[0]}" if document else "no warning"),
        fixed=f"keras.Input((20,)) first: {len(ours)} warnings",
        present=bool(document),
        fix_verified=not ours,
    )


def _first_kernel_after(seed_with) -> np.ndarray:
    seed_with(42)
    return build_model(document_model("basic")).get_weights()[0]


def capture_d12() -> DefectResult:
    document = float(
        np.abs(_first_kernel_after(document_seeding) - _first_kernel_after(document_seeding)).max()
    )
    ours = float(
        np.abs(
            _first_kernel_after(keras.utils.set_random_seed)
            - _first_kernel_after(keras.utils.set_random_seed)
        ).max()
    )
    return result(
        id="D12",
        document=f"two builds after tf.random.set_seed(42) + np.random.seed(42): max |difference| = {document:.3g}",
        fixed=f"two builds after keras.utils.set_random_seed(42): max |difference| = {ours:.3g}",
        present=document > 0.0,
        fix_verified=ours == 0.0,
        numbers={"document_max_difference": document, "ours_max_difference": ours},
    )


def capture_d13() -> DefectResult:
    try:
        keras.optimizers.Adam(1e-3).lr  # noqa: B018 - the document's attribute
        lr_observed, present = "no error", False
    except AttributeError as error:
        lr_observed, present = error_line(error), True
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, 2, 0.5)
    optimizer, variable = keras.optimizers.SGD(schedule), keras.Variable([1.0])
    symbolic = []

    @tf.function
    def step():
        optimizer.apply_gradients([(tf.constant([1.0]), variable)])
        try:
            document_current_lr(optimizer)
        except AttributeError as error:
            symbolic.append(error_line(error))

    for _ in range(3):
        step()
    rate, expected = current_learning_rate(optimizer), 0.1 * 0.5 ** (3 / 2)
    inside = symbolic[0] if symbolic else "no error"
    return result(
        id="D13",
        document=f"optimizer.lr -> {lr_observed}; inside tf.function learning_rate.numpy() -> {inside}",
        fixed=f"current_learning_rate after 3 steps of ExponentialDecay(0.1, 2, 0.5) = {rate:.5g} (formula {expected:.5g})",
        present=present or bool(symbolic),
        fix_verified=close(rate, expected),
        numbers={"rate": rate, "expected": expected},
    )


def capture_d17() -> DefectResult:
    document, ours = DocumentWarmupCosineDecay(**WARMUP_ARGUMENTS), WarmupCosineDecay(**WARMUP_ARGUMENTS)
    try:
        [document(step).numpy() for step in range(WARMUP_ARGUMENTS["total_steps"])]
        observed, present = "no error: the curve was drawn", False
    except AttributeError as error:
        observed, present = error_line(error), True
    values = [float(ours(step).numpy()) for step in (0, 100, 999)]
    return result(
        id="D17",
        document=f"[schedule(step).numpy() for step in range(1000)] -> {observed} (schedule(0) is a {type(document(0)).__name__})",
        fixed=f"ours at steps 0, 100, 999: {values[0]:.3g}, {values[1]:.3g}, {values[2]:.3g}",
        present=present,
        fix_verified=values[0] == 0.0 and close(values[1], 1e-3) and abs(values[2] - 1e-4) < 1e-6,
    )
