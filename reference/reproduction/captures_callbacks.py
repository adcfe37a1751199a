"""Live captures of the callbacks demo's defects: D7 (MNIST download), D8 (TensorBoard package),
D9 and D16 (who owns the learning rate), D15 (a failed checkpoint save).

Nothing here reaches the network. D7 points Keras's cache at an empty folder and replaces the
download function Keras calls (``keras.src.utils.file_utils.urlretrieve``, used by ``get_file``)
by one that records the URL and raises ``URLError``, so the error captured is Keras's own
"URL fetch failure" message. D8 makes ``tensorboard`` unimportable for one ``fit`` by putting
``None`` in ``sys.modules`` for the modules TensorFlow's summary ops import lazily, and puts the
previous entries back afterwards.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import io
import os
import re
import sys
import tempfile
import urllib.error
import warnings
import zipfile
from pathlib import Path
from unittest import mock

import keras
import numpy as np
from keras.src.backend import config as keras_config
from keras.src.utils import file_utils

from reference.callback_experiments import (
    PlateauRates,
    fit_then_fail_while_saving,
    tiny_classifier,
    tiny_data,
)
from reference.callbacks import DOCUMENT_DECAY, DOCUMENT_INITIAL_LR, AtomicModelCheckpoint
from reference.data import load_mnist
from reference.document import document_callbacks, document_mnist
from reference.reproduction.defects import close, result
from reference.reproduction.ledger import DefectResult, error_line

__all__ = [
    "capture_d7",
    "capture_d8",
    "capture_d9",
    "capture_d15",
    "capture_d16",
]

TENSORBOARD_MODULES = ("tensorboard", "tensorboard.summary", "tensorboard.summary.v2")
PLATEAU_FACTOR = 0.5  # the document's ReduceLROnPlateau factor


def capture_d9(document: PlateauRates, ours: PlateauRates) -> DefectResult:
    """D9 from the plateau runs of the document's callbacks and ours (``callback_experiments.plateau_rates``)."""
    cut = document.first_cut()
    if cut is None or cut + 1 >= len(document.used):
        return result(
            id="D9",
            document="no plateau cut observed: run more plateau epochs",
            fixed="-",
            present=False,
            fix_verified=False,
        )
    schedule = DOCUMENT_INITIAL_LR * DOCUMENT_DECAY ** (cut + 1)
    doc_next, our_next = document.used[cut + 1], ours.used[cut + 1]
    return result(
        id="D9",
        document=(
            f"ReduceLROnPlateau cut the rate to {document.after[cut]:.4g} at the end of epoch {cut}; "
            f"epoch {cut + 1} ran at {doc_next:.4g} = 0.001 * 0.9**{cut + 1} again (cut undone)"
        ),
        fixed=f"epoch {cut + 1} ran at {our_next:.4g} = 0.001 * 0.9**{cut + 1} * 0.5 (cut kept)",
        present=close(doc_next, schedule),
        fix_verified=close(our_next, schedule * PLATEAU_FACTOR),
        numbers={"cut_epoch": cut, "document_next": doc_next, "ours_next": our_next},
    )


def capture_d16(document: PlateauRates, ours: PlateauRates) -> DefectResult:
    """D16: History's rate at the cut epoch, document order vs ours (scheduler first)."""
    cut = document.first_cut()
    if cut is None:
        return result(
            id="D16",
            document="no plateau cut observed: run more plateau epochs",
            fixed="-",
            present=False,
            fix_verified=False,
        )
    logged, used = document.logged[cut], document.used[cut]
    our_logged, our_used = ours.logged[cut], ours.used[cut]
    return result(
        id="D16",
        document=f"epoch {cut} ran at {used:.4g}; History logs {logged:.4g} (the rate after the cut)",
        fixed=f"epoch {cut} ran at {our_used:.4g}; History logs {our_logged:.4g}",
        present=not close(logged, used),
        fix_verified=close(our_logged, our_used),
    )


def capture_d7(seed: int) -> DefectResult:
    """D7: Keras's MNIST loader offline (empty cache, download refused) vs ``load_mnist``."""
    attempts: list[str] = []

    def refuse(url, *args, **kwargs):
        attempts.append(url)
        raise urllib.error.URLError("network disabled by the reproduction run")

    with (
        tempfile.TemporaryDirectory() as home,
        mock.patch.object(file_utils, "urlretrieve", refuse),
        mock.patch.object(keras_config, "_KERAS_DIR", home),
        mock.patch.dict(os.environ, {"KERAS_HOME": home}),
    ):
        printed = io.StringIO()
        try:
            with contextlib.redirect_stdout(printed):
                document_mnist()
            observed, present = "no error: MNIST loaded", False
        except Exception as error:  # Keras raises a bare Exception for a failed fetch
            observed, present = error_line(error), True
        tried = len(attempts)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            split = load_mnist()
        left = sorted(str(p.relative_to(home)) for p in Path(home).rglob("*") if p.is_file())
    warned = [str(w.message).split(";")[0] for w in caught]
    return result(
        id="D7",
        document=f"keras.datasets.mnist.load_data() -> {observed}",
        fixed=(
            f"load_mnist() -> {split.source}: {len(split.x_train)} + {len(split.x_test)} rows, "
            f"{len(np.unique(split.y_train))} classes; warning: {warned[0] if warned else 'none'}"
        ),
        present=present,
        fix_verified=len(attempts) == tried and len(np.unique(split.y_train)) == 10,
        numbers={
            "download_attempts": attempts,
            "keras_printed": printed.getvalue().strip(),
            "files_left": left,
            "source": split.source,
        },
    )


def _requirement_names(distribution: str) -> list[str]:
    return [
        re.split(r"[\s<>=!~;\[]", r, maxsplit=1)[0].lower()
        for r in importlib.metadata.requires(distribution) or []
    ]


def _fit_with_tensorboard(workdir: Path, seed: int) -> None:
    """One epoch of the tiny model with the document's own TensorBoard callback (from its callback list)."""
    keras.utils.set_random_seed(seed)
    model, (x, y) = tiny_classifier(), tiny_data(seed)
    tensorboard = next(c for c in document_callbacks(workdir) if isinstance(c, keras.callbacks.TensorBoard))
    model.fit(x, y, epochs=1, batch_size=16, validation_data=(x, y), callbacks=[tensorboard], verbose=0)


def capture_d8(seed: int) -> DefectResult:
    """D8: ``fit`` with the document's TensorBoard callback, without and with ``tensorboard``."""
    tensorflow_pulls_it = "tensorboard" in _requirement_names("tensorflow")
    saved = {name: sys.modules.get(name) for name in TENSORBOARD_MODULES}
    with tempfile.TemporaryDirectory() as folder:
        try:
            for name in TENSORBOARD_MODULES:
                sys.modules[name] = None
            _fit_with_tensorboard(Path(folder) / "missing", seed)
            observed, failed = "no error", False
        except Exception as error:  # TensorFlow's TBNotInstalledError
            observed, failed = error_line(error), True
        finally:
            for name, module in saved.items():
                if module is None:
                    sys.modules.pop(name, None)
                else:
                    sys.modules[name] = module
        _fit_with_tensorboard(Path(folder) / "present", seed)
        events = len(list((Path(folder) / "present").rglob("events.out.tfevents.*")))
    declared = "tensorboard" in _requirement_names("tf-training-suite")
    return result(
        id="D8",
        document=f"tensorflow requires tensorboard: {tensorflow_pulls_it}; without it fit -> {observed}",
        fixed=f"tensorboard declared by this project: {declared}; fit wrote {events} event files",
        present=failed and not tensorflow_pulls_it,
        fix_verified=declared and events > 0,
        numbers={"event_files": events},
    )


def capture_d15(seed: int) -> DefectResult:
    """D15: a save that fails half-way, with Keras's ModelCheckpoint and with ours."""
    with tempfile.TemporaryDirectory() as folder:
        keras_path, atomic_dir = Path(folder) / "keras" / "model.keras", Path(folder) / "atomic"
        raised = fit_then_fail_while_saving(keras.callbacks.ModelCheckpoint(str(keras_path)), seed=seed).error
        names = zipfile.ZipFile(keras_path).namelist()
        try:
            keras.saving.load_model(keras_path)
            load_error = None
        except Exception as error:  # whatever Keras raises on the truncated archive
            load_error = error_line(error)
        saved = fit_then_fail_while_saving(AtomicModelCheckpoint(str(atomic_dir / "model.keras")), seed=seed)
        restored = keras.saving.load_model(atomic_dir / "model.keras").get_weights()
        files = sorted(os.listdir(atomic_dir))
    same = all(np.array_equal(a, b) for a, b in zip(restored, saved.saved_weights, strict=True))
    return result(
        id="D15",
        document=(
            f"save failed ({error_line(raised) if raised else 'no error'}); the archive left holds {names}; "
            f"loading it -> {load_error or 'no error'}"
        ),
        fixed=f"AtomicModelCheckpoint: the previous checkpoint loads with the saved weights: {same}; files {files}",
        present="model.weights.h5" not in names and load_error is not None,
        fix_verified=same and files == ["model.keras"],
    )
