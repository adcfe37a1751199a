"""Two controlled experiments on Keras callbacks, run by the tests and by the reproduction alike.

- The plateau (D9, D16): a model whose every weight is frozen has an exactly constant
  ``val_loss``, so ``ReduceLROnPlateau`` cuts the rate after every ``patience`` stalled epochs
  (epoch 0 improves on +inf). ``plateau_rates`` fits it with a callback set and records, per
  epoch, the rate the epoch ran at, the rate after all callbacks' epoch ends, and the rate
  ``History`` logged.
- A checkpoint save that fails half-way (D15): ``fit_then_fail_while_saving`` saves once, then
  makes the output layer's ``save_own_variables`` raise ``SimulatedDiskFullError`` during the next
  save, as a full disk would.

Both run on ``tiny_classifier`` (8-4-1, Adam, BCE, eager: a handful of steps costs less than
tracing) and ``tiny_data``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import keras
import numpy as np

from reference.loop import _check_callbacks
from reference.monitor import current_learning_rate
from reference.validation import check_bool, check_float, check_instance, check_int, fail

__all__ = [
    "CUT_RTOL",
    "FailedSave",
    "PlateauRates",
    "SimulatedDiskFullError",
    "fit_then_fail_while_saving",
    "plateau_rates",
    "tiny_classifier",
    "tiny_data",
]

# A cut lowers the rate by a factor (0.5 in the document); float32 storage moves it by ~6e-8.
CUT_RTOL = 1e-4
TINY_FEATURES = 8


def tiny_data(seed: int, n: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """``n`` rows of uniform features in [0, 1); label 1 where their sum exceeds half the features."""
    check_int("seed", seed, low=0)
    check_int("n", n, low=1)
    x = np.random.default_rng(seed).random((n, TINY_FEATURES), dtype=np.float32)
    return x, (x.sum(axis=1) > TINY_FEATURES / 2).astype(np.float32)


def tiny_classifier(*, frozen: bool = False, learning_rate: float = 0.001) -> keras.Model:
    """An 8-4-1 classifier compiled with Adam, BCE and accuracy, run eagerly.

    ``frozen`` makes every weight non-trainable: the loss never changes.
    """
    check_bool("frozen", frozen)
    learning_rate = check_float("learning_rate", learning_rate, low=0.0, low_open=True)
    model = keras.Sequential(
        [
            keras.Input((TINY_FEATURES,)),
            keras.layers.Dense(4, activation="relu"),
            keras.layers.Dense(1, "sigmoid"),
        ]
    )
    model.trainable = not frozen
    model.compile(
        keras.optimizers.Adam(learning_rate), "binary_crossentropy", metrics=["accuracy"], run_eagerly=True
    )
    return model


@dataclass(frozen=True)
class PlateauRates:
    """Learning rates of a plateau run, one per epoch.

    ``used``: the rate the epoch ran at (read before any callback's epoch end); ``after``: the
    rate after every callback's epoch end; ``logged``: ``History``'s ``learning_rate``.
    """

    used: list[float]
    after: list[float]
    logged: list[float]

    def __post_init__(self):
        for name in ("after", "logged"):
            if len(getattr(self, name)) != len(self.used):
                fail(name, f"one rate per epoch, as `used` ({len(self.used)})", getattr(self, name))

    def first_cut(self) -> int | None:
        """The first epoch whose end lowered the rate (``after < used``), or None."""
        for epoch, (used, after) in enumerate(zip(self.used, self.after, strict=True)):
            if after < used * (1 - CUT_RTOL):
                return epoch
        return None


def plateau_rates(callbacks: Sequence[keras.callbacks.Callback], *, epochs: int, seed: int) -> PlateauRates:
    """Fit a frozen ``tiny_classifier`` on ``tiny_data(seed)`` (its own validation data) with ``callbacks``."""
    _check_callbacks(callbacks)
    check_int("epochs", epochs, low=1)
    check_int("seed", seed, low=0)
    keras.utils.set_random_seed(seed)
    model, (x, y) = tiny_classifier(frozen=True), tiny_data(seed)
    used, after = [], []
    first = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: used.append(current_learning_rate(model.optimizer))
    )
    last = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: after.append(current_learning_rate(model.optimizer))
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "The model does not have any trainable weights")
        history = model.fit(
            x,
            y,
            epochs=epochs,
            batch_size=len(x),
            validation_data=(x, y),
            callbacks=[first, *callbacks, last],
            verbose=0,
        )
    return PlateauRates(used, after, [float(v) for v in history.history["learning_rate"]])


class SimulatedDiskFullError(OSError):
    """Raised by a patched layer while a checkpoint is being written."""


@dataclass(frozen=True)
class FailedSave:
    """What ``fit_then_fail_while_saving`` saw: the weights the good save wrote, the error of the bad one."""

    saved_weights: list[np.ndarray]
    error: BaseException | None

    def __post_init__(self):
        check_instance("error", self.error, (BaseException, type(None)), "an exception or None")


def fit_then_fail_while_saving(checkpoint: keras.callbacks.Callback, *, seed: int) -> FailedSave:
    """One epoch with ``checkpoint`` that saves, then one whose save fails while writing the last layer.

    ``error`` is None if the second ``fit`` did not raise (the checkpoint did not save).
    """
    check_instance("checkpoint", checkpoint, keras.callbacks.Callback, "a keras Callback")
    check_int("seed", seed, low=0)
    keras.utils.set_random_seed(seed)
    model, (x, y) = tiny_classifier(learning_rate=0.1), tiny_data(seed)
    model.fit(x, y, epochs=1, batch_size=8, callbacks=[checkpoint], verbose=0)
    saved = model.get_weights()

    def fail(store):
        raise SimulatedDiskFullError("no space left on device")

    model.layers[-1].save_own_variables = fail
    try:
        model.fit(x, y, epochs=1, batch_size=8, callbacks=[checkpoint], verbose=0)
    except SimulatedDiskFullError as error:
        return FailedSave(saved, error)
    return FailedSave(saved, None)
