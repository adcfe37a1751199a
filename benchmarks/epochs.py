"""Seconds per epoch: the document's ways of training on the document's own data sets, as a user runs them.

| data set | train / validation rows | features | batch | model | optimizer | the document's demo |
|---|---|---|---|---|---|---|
| ``basic`` | 800 / 200 | 20 | 32 | 20-64-32-1, dropout | Adam(1e-3) | the basic eager loop |
| ``advanced`` | 1600 / 400 (standardized) | 20 | 32 | 20-128-64-1, batch norm, dropout | Adam(ExponentialDecay), clipnorm 1 | ``AdvancedTrainer`` |
| ``callbacks`` | MNIST 5000 / 1000, or its offline stand-in (digits, 1437 / 360) | 784 (64) | 128 | 784-128-64-10, dropout | Adam(1e-3) | the callbacks demo |

The ways (``EPOCH_WAYS``): ``eager``, the document's basic loop (``reference.training.train_eager``);
``trainer`` and ``trainer_spe32``, ``reference.Trainer`` (one step per call, or 32); ``fit`` and
``fit_spe32``, ``model.fit`` on a model compiled with ``steps_per_execution`` 1 or 32. Every way
trains the same model with the same optimizer and loss, without clipping or early stopping of its
own, and validates on the test split after every epoch. The data is fed as a user feeds it: NumPy
arrays through ``tf.data`` (``reference.data.make_dataset``: shuffle, batch, ``prefetch(AUTOTUNE)``).

Callbacks on: the document's callback set made to work (``reference.callbacks.make_callbacks``:
learning-rate decay, early stopping, plateau cut, atomic checkpoint, TensorBoard with weight
histograms, CSV log) in a folder of the case's own. The ``advanced`` optimizer owns its rate (an
``ExponentialDecay`` schedule, which ``LearningRateScheduler`` cannot set: ``TypeError``), so its set
leaves the scheduler out. A timed round trains ``E`` epochs in one call (``fit(epochs=E)``,
``train(..., E)``), ``E <= 5`` so that the plateau rule (patience 5) never cuts inside a call; its
time divided by ``E`` is one sample, and the call's own setup is spread over its epochs.

The check before timing: a way's first call trains one epoch from the seed's initial weights; the
weights must then equal those after one epoch of the eager loop from the same weights on the same
shuffled batches (``EPOCH_UPDATE_RTOL`` on the update, as ``benchmarks.checks``; the eager way is
that reference).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from benchmarks.checks import MODE_UPDATE_RTOL
from benchmarks.results.cases import EPOCH_WAYS, MODE_SPECS
from benchmarks.workloads import get_workload
from reference.callbacks import make_callbacks
from reference.data import (
    DATA_SEED,
    MnistFallbackWarning,
    Split,
    load_classification,
    load_mnist,
    make_dataset,
)
from reference.loop import build_optimizer, objective_for
from reference.models import DOCUMENT_MODELS, build_model
from reference.trainer import Trainer
from reference.training import train_eager

__all__ = [
    "EPOCH_BATCH_SIZES",
    "EPOCH_UPDATE_RTOL",
    "EpochCheck",
    "EpochData",
    "EpochRunner",
    "build_epoch_runner",
    "check_epoch",
    "epoch_data",
]

EPOCH_BATCH_SIZES = {"basic": 32, "advanced": 32, "callbacks": 128}
# One epoch of 25-50 Adam steps in graph mode against the eager loop: measured (seed 42, CPU) below
# 1e-5 for every way and data set; the tolerance is the step check's.
EPOCH_UPDATE_RTOL = MODE_UPDATE_RTOL
_TINY = 1e-30


@dataclass(frozen=True)
class EpochData:
    """A data set of the epoch benchmark, with the document's batch size and model."""

    name: str
    split: Split
    batch_size: int

    @property
    def train_rows(self) -> int:
        return len(self.split.x_train)

    @property
    def steps_per_epoch(self) -> int:
        return -(-self.train_rows // self.batch_size)


def epoch_data(name: str, *, rows: int | None = None) -> EpochData:
    """The document's data set ``name`` (module docstring); ``rows`` keeps the first rows of each split.

    Raises:
        ValueError: ``name`` not one of ``EPOCH_BATCH_SIZES``, ``rows`` not None or an integer >= 1.
    """
    if name not in EPOCH_BATCH_SIZES:
        raise ValueError(
            f"Argument `name` must be one of {sorted(EPOCH_BATCH_SIZES)}. Received: name={name!r}"
        )
    if rows is not None and (isinstance(rows, bool) or not isinstance(rows, int) or rows < 1):
        raise ValueError(f"Argument `rows` must be None or an integer >= 1. Received: rows={rows!r}")
    if name == "callbacks":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MnistFallbackWarning)  # the split's source says which one
            split = load_mnist()
    else:
        split = load_classification(name)
    if rows is not None:
        split = Split(
            split.x_train[:rows], split.y_train[:rows], split.x_test[:rows], split.y_test[:rows], split.source
        )
    return EpochData(name, split, EPOCH_BATCH_SIZES[name])


def _model(data: EpochData, seed: int) -> keras.Model:
    keras.utils.set_random_seed(seed)
    return build_model(DOCUMENT_MODELS[data.name].with_input_dim(data.split.n_features), name=data.name)


def _callbacks(data: EpochData, workdir: Path) -> list:
    decay = {} if data.name != "advanced" else {"lr_decay": None}
    return make_callbacks(workdir, **decay)


@dataclass
class EpochRunner:
    """One way of training, built: ``train(epochs)`` runs that many more epochs (one call of the way)."""

    way: str
    model: keras.Model
    train: Callable[[int], object]

    def weights(self) -> list[np.ndarray]:
        return [np.asarray(w, dtype=np.float64) for w in self.model.get_weights()]


def build_epoch_runner(
    way: str, data: EpochData, *, callbacks: bool, workdir: Path | None = None, seed: int
) -> EpochRunner:
    """The way ``way`` (one of ``EPOCH_WAYS``) on ``data``, its model built from ``seed``.

    ``callbacks``: the document's callback set, writing into ``workdir`` (required then).

    Raises:
        ValueError: unknown ``way``, or ``callbacks`` without ``workdir``.
    """
    if way not in EPOCH_WAYS:
        raise ValueError(f"Argument `way` must be one of {EPOCH_WAYS}. Received: way={way!r}")
    if callbacks and workdir is None:
        raise ValueError(
            "Argument `workdir` must be a folder when `callbacks` is True. Received: workdir=None"
        )
    model = _model(data, seed)
    optimizer = get_workload(data.name).make_optimizer()
    objective = objective_for(model)
    chosen = _callbacks(data, Path(workdir)) if callbacks else []
    split, batch = data.split, data.batch_size
    if way == "eager":

        def train(epochs: int):
            return train_eager(
                model, split, epochs=epochs, batch_size=batch, optimizer=optimizer, loss=objective.loss,
                callbacks=chosen, seed=DATA_SEED,
            )  # fmt: skip

        return EpochRunner(way, model, train)
    train_data = make_dataset(split.x_train, split.y_train, batch, seed=DATA_SEED)
    val_data = make_dataset(split.x_test, split.y_test, batch, shuffle=False)
    k = MODE_SPECS[way].steps_per_execution
    if MODE_SPECS[way].family == "trainer":
        trainer = Trainer(
            model,
            optimizer,
            objective.loss,
            clip=None,
            patience=None,
            restore_best=False,
            steps_per_execution=k,
        )
        return EpochRunner(way, model, lambda epochs: trainer.train(train_data, val_data, epochs, chosen))
    model.compile(
        optimizer=optimizer,
        loss=objective.loss,
        metrics=[objective.accuracy_metric()],
        steps_per_execution=k,
    )
    build_optimizer(model)

    def fit(epochs: int):
        return model.fit(
            train_data, validation_data=val_data, epochs=epochs, shuffle=False, verbose=0, callbacks=chosen
        )

    return EpochRunner(way, model, fit)


@dataclass(frozen=True)
class EpochCheck:
    """A way's first epoch against the eager loop's: ``update_rel_err = ||dW - dW_eager|| / ||dW_eager||``."""

    way: str
    update_rel_err: float
    update_rtol: float

    @property
    def passed(self) -> bool:
        return bool(np.isfinite(self.update_rel_err) and self.update_rel_err <= self.update_rtol)

    def message(self) -> str:
        return (
            f"way {self.way!r} does not train the eager loop's first epoch: weight update rel. err "
            f"{self.update_rel_err:.3g} (tolerance {self.update_rtol:g})"
        )

    def as_dict(self) -> dict:
        return {"update_rel_err": self.update_rel_err, "update_rtol": self.update_rtol, "loss_rel_err": None}


def check_epoch(
    way: str, initial: list[np.ndarray], after: list[np.ndarray], reference: list[np.ndarray]
) -> EpochCheck:
    """Compare the update ``after - initial`` of ``way``'s first epoch with the eager loop's, ``reference - initial``."""
    diff = sum(float(np.sum((a - r) ** 2)) for a, r in zip(after, reference, strict=True))
    ref = sum(float(np.sum((r - w) ** 2)) for w, r in zip(initial, reference, strict=True))
    return EpochCheck(way, float(np.sqrt(diff)) / max(float(np.sqrt(ref)), _TINY), EPOCH_UPDATE_RTOL)


def eager_first_epoch(data: EpochData, *, seed: int) -> list[np.ndarray]:
    """The weights after one epoch of the eager loop from ``seed``'s initial weights, without callbacks."""
    runner = build_epoch_runner("eager", data, callbacks=False, seed=seed)
    runner.train(1)
    return runner.weights()
