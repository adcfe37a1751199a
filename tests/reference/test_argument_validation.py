"""One table of bad calls across the public API of ``reference``: each is refused by our own check.

In the spirit of Hypothesis's ``tests/numpy/test_argument_validation.py``: ``BAD_CALLS`` lists
calls with one argument outside its domain, with readable ids, and one test checks that each
raises a ``ValueError`` from ``reference.validation`` (not from deep inside TensorFlow or Keras)
whose message has the one shape ``Argument `x` must be ... Received: x=...`` and names the
argument and the value. ``received`` is what the message must end with; a value inside an
argument is located after its name (``y_pred[0, 0]=1.7``, ``y_pred.dtype=int64``).

A second test fails when a public function or class of ``reference`` has no row here and no
reason in ``EXEMPT``. Every call fails before anything is trained, built or written.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import inspect
import math
import re
import tempfile
from dataclasses import replace
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from reference import (
    callback_experiments,
    callbacks,
    data,
    environment,
    loop,
    losses,
    models,
    monitor,
    nvidia_smi,
    optimizers,
    regularization,
    schedules,
    trainer,
    training,
)
from reference.data import ClassificationSpec, Split, load_classification
from reference.loop import History
from reference.models import ModelSpec, build_model

MESSAGE = re.compile(
    r"^Argument `(?P<name>[\w.]+)` must be (?P<requirement>.+)\. Received: (?P=name)(?P<at>[^=]*)=(?P<value>.*)$",
    re.DOTALL,
)
VALIDATION_SOURCE = Path(importlib.import_module("reference.validation").__file__)

# Modules left out of the table, with the reason; every other module of reference/ must be covered.
EXEMPT_MODULES = {
    "reference.document": "the document's own code, verbatim, kept to show its defects: no checks",
    "reference.files": "takes paths only: an unusable one raises OSError naming it, an output that is an input "
    "SameFileError (tests/reference/test_files.py and the command fault tests)",
    "reference.validation": "the checks themselves: tests/reference/test_validation.py",
    "reference.runtime": "no function takes an argument",
    "reference.versions": "reads package metadata; a release string is parsed by packaging (InvalidVersion, a "
    "ValueError naming it): tests/reference/test_versions.py",
}
MODULES = [
    importlib.import_module(f"reference.{path.stem}")
    for path in sorted(Path(loop.__file__).parent.glob("*.py"))
    if not path.stem.startswith("_") and f"reference.{path.stem}" not in EXEMPT_MODULES
]
EXEMPT = {
    "MnistFallbackWarning": "a warning class",
    "NonFiniteTrainingWarning": "a warning class",
    "SimulatedDiskFullError": "an exception class",
    "OptimizationHistory": "a NamedTuple that minimize returns, never built by a user",
    "EpochTimer": "takes no argument",
    "cpu_model": "takes no argument",
    "memory_bytes": "takes no argument",
    "schedulable_cpus": "takes no argument",
    "onednn_state": "takes no argument",
    "nvidia_smi_gpus": "takes no argument",
}


# --- what the bad calls need, built on first use ---------------------------------------------


@functools.cache
def tiny_model() -> keras.Model:
    return build_model(ModelSpec(20, (4,)))


@functools.cache
def tiny_split() -> Split:
    return load_classification("advanced", n_samples=40)


@functools.cache
def fifty_feature_split() -> Split:
    return load_classification("regularization", n_samples=20)


@functools.cache
def labels_0_to_4() -> Split:
    """The issue's 'binary labels in {0..4}': the first training label is 2."""
    split = tiny_split()
    labels = np.resize(np.float32([2, 0, 1, 3, 4]), len(split.y_train))
    return replace(split, y_train=labels)


EMPTY_SPLIT = Split(*(np.zeros((0, 20), np.float32), np.zeros(0, np.float32)) * 2)
NAN_FEATURE = np.ones((8, 20), np.float32)
NAN_FEATURE[3, 7] = np.nan
LABELS_8 = np.zeros(8, np.float32)
Y1 = np.ones((1, 1), np.float32)
TMP = Path(tempfile.gettempdir())


def p(value: float) -> np.ndarray:
    """One float32 prediction, shape (1, 1)."""
    return np.full((1, 1), value, np.float32)


def dataset(x: np.ndarray, y: np.ndarray) -> tf.data.Dataset:
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(4)


def trainer_train(fused: bool = False, **kwargs):
    """``Trainer.train`` of a fresh trainer on the tiny data, with ``kwargs`` overriding."""
    train = dataset(tiny_split().x_train, tiny_split().y_train)
    arguments = {"train_dataset": train, "val_dataset": train, "epochs": 1} | kwargs
    return trainer.Trainer(tiny_model(), keras.optimizers.SGD(), fused=fused).train(**arguments)


def unknown_length_dataset() -> tf.data.Dataset:
    """The tiny training data behind a filter: TensorFlow cannot count its batches."""
    return dataset(tiny_split().x_train, tiny_split().y_train).filter(lambda x, y: True)


def fresh_optimizer():
    return keras.optimizers.SGD()


# --- the table ---------------------------------------------------------------------------------


class Lazy:
    """An argument built when the call runs (models, data sets), so that collection stays cheap."""

    def __init__(self, build):
        self.build = build

    def __repr__(self) -> str:
        return getattr(self.build, "__name__", "lazy")


def bad(function, received: str, *args, covers=None, **kwargs):
    """One bad call of ``function``; the message must end with ``Received: <received>``.

    ``covers`` names the public function or class the row checks when ``function`` is a helper
    (a method call).
    """
    target = covers or function
    name = getattr(target, "__qualname__", getattr(target, "__name__", repr(target)))
    return pytest.param(function, args, kwargs, received, target, id=f"{name}: {received}")


MODEL, SPLIT = Lazy(tiny_model), Lazy(tiny_split)
WAY_ARGUMENTS = [
    ({"epochs": 0}, "epochs=0"),
    ({"epochs": -2}, "epochs=-2"),
    ({"epochs": 2.5}, "epochs=2.5"),
    ({"epochs": True}, "epochs=True"),
    ({"batch_size": 0}, "batch_size=0"),
    ({"batch_size": True}, "batch_size=True"),
    ({"patience": -1}, "patience=-1"),
    ({"restore_best": 1}, "restore_best=1"),
    ({"clip": "by_value"}, "clip='by_value'"),
    ({"clip_norm": 0.0}, "clip_norm=0.0"),
    ({"clip_norm": math.nan}, "clip_norm=nan"),
    ({"weights_path": "best.h5"}, "weights_path='best.h5'"),
    ({"optimizer": "adam"}, "optimizer='adam'"),
    ({"callbacks": [3]}, "callbacks=3"),
    ({"shuffle": "yes"}, "shuffle='yes'"),
    ({"seed": -1}, "seed=-1"),
    ({"split": EMPTY_SPLIT}, "split.x_train.shape=(0, 20)"),
    ({"split": Lazy(fifty_feature_split)}, "split.n_features=50"),
    ({"split": Lazy(labels_0_to_4)}, "split.y_train[0]=2.0"),
    ({"split": "data.csv"}, "split='data.csv'"),
    ({"model": "basic"}, "model='basic'"),
]


def way_rows() -> list:
    rows = []
    for way in training.TRAINING_WAYS.values():
        for override, received in WAY_ARGUMENTS:
            arguments = {"model": MODEL, "split": SPLIT, "epochs": 1, "batch_size": 8} | override
            rows.append(bad(way, received, **arguments))
    return rows


BAD_CALLS = [
    # reference.losses: domains of the inputs (the examples first), then the hyperparameters.
    bad(losses.binary_crossentropy, "y_pred[0, 0]=-0.3", Y1, p(-0.3)),
    bad(losses.binary_crossentropy, "y_pred[0, 0]=1.7", Y1, p(1.7)),
    bad(losses.binary_crossentropy, "y_pred[0, 0]=inf", Y1, p(math.inf)),
    bad(losses.binary_crossentropy, "y_pred.dtype=int64", Y1, np.array([[1]])),
    bad(losses.binary_crossentropy, "y_true.dtype=bool", np.array([[True]]), p(0.5)),
    bad(losses.binary_crossentropy, "y_true[0, 0]=3.0", np.full((1, 1), 3.0), p(0.5)),
    bad(losses.binary_crossentropy, "y_pred.shape=(2, 4)", np.ones((2, 3)), np.ones((2, 4), np.float32)),
    bad(losses.binary_crossentropy_from_logits, "y_pred[0, 0]=nan", Y1, p(math.nan)),
    bad(losses.binary_crossentropy_from_logits, "y_true[0, 0]=-1.0", -Y1, p(0.3)),
    bad(losses.categorical_crossentropy, "y_pred[0, 0]=-0.5", [[0.0, 1.0]], np.float32([[-0.5, 1.5]])),
    bad(losses.categorical_crossentropy, "y_true[0]=[1.0, 1.0]", [[1.0, 1.0]], np.float32([[0.5, 0.5]])),
    bad(losses.categorical_crossentropy, "y_pred[0]=[0.0, 0.0]", [[1.0, 0.0]], np.float32([[0.0, 0.0]])),
    bad(
        losses.categorical_crossentropy_from_logits,
        "y_pred[0, 0]=inf",
        [[0.0, 1.0]],
        np.float32([[np.inf, 0]]),
    ),
    bad(losses.sparse_categorical_crossentropy, "y_true[0]=1.5", [1.5], np.float32([[0.2, 0.3, 0.5]])),
    bad(losses.sparse_categorical_crossentropy, "y_true[0]=-1", [-1, 0], np.full((2, 3), 1 / 3, np.float32)),
    bad(
        losses.sparse_categorical_crossentropy_from_logits,
        "y_true[1]=3",
        [0, 3],
        np.zeros((2, 3), np.float32),
    ),
    bad(
        losses.sparse_categorical_crossentropy_from_logits,
        "y_true.shape=(3,)",
        [0, 1, 2],
        np.zeros((2, 3), np.float32),
    ),
    bad(losses.mean_squared_error, "y_pred[0]=nan", [1.0], np.float32([np.nan])),
    bad(losses.mean_squared_error, "y_pred.shape=(4,)", np.ones(3), np.ones(4, np.float32)),
    bad(losses.mean_absolute_error, "y_true[0]=inf", [np.inf], np.float32([0.0])),
    bad(losses.mean_squared_logarithmic_error, "y_pred[0, 0]=-0.5", Y1, p(-0.5)),
    bad(losses.mean_squared_logarithmic_error, "y_true[0, 0]=-2.0", -2 * Y1, p(0.5)),
    bad(losses.huber, "delta=0.0", Y1, Y1, delta=0.0),
    bad(losses.huber, "delta=nan", Y1, Y1, delta=math.nan),
    bad(losses.huber, "delta=-2.0", Y1, Y1, delta=-2.0),
    bad(losses.huber, "y_pred.dtype=int64", Y1, np.array([[1]])),
    bad(losses.focal_loss, "y_true[0, 0]=5.0", 5 * Y1, p(0.5)),
    bad(losses.focal_loss, "y_true[0, 0]=-2.0", -2 * Y1, p(0.5)),
    bad(losses.focal_loss, "y_pred[0, 0]=1.7", Y1, p(1.7)),
    bad(losses.focal_loss, "y_pred[0, 0]=inf", Y1, p(math.inf), from_logits=True),
    bad(losses.focal_loss, "gamma=nan", Y1, p(0.5), gamma=math.nan),
    bad(losses.focal_loss, "gamma=-0.5", Y1, p(0.5), gamma=-0.5),
    bad(losses.focal_loss, "alpha=1.5", Y1, p(0.5), alpha=1.5),
    bad(losses.focal_loss, "from_logits=1", Y1, p(0.5), from_logits=1),
    bad(losses.focal_loss, "y_pred.shape=(5, 2)", np.ones((5, 1)), np.ones((5, 2), np.float32)),
    bad(losses.FocalLoss, "gamma=nan", gamma=math.nan),
    bad(losses.FocalLoss, "alpha=-0.1", alpha=-0.1),
    bad(losses.FocalLoss, "gamma=-1.0", gamma=-1.0),
    bad(losses.focal_loss, "alpha=-0.1", Y1, p(0.5), alpha=-0.1),
    bad(losses.FocalLoss, "reduction='avg'", reduction="avg"),
    bad(losses.LossEntry, "fn=3", 3, "binary", "logits"),
    bad(losses.LossEntry, "prediction='probs'", losses.huber, "regression", "probs"),
    bad(losses.get_loss, "name='cross_entropy'", "cross_entropy"),
    # reference.optimizers: what Keras leaves unchecked or silently ignores.
    bad(optimizers.make_optimizer, "epsilon=0", "adam", epsilon=0),
    bad(optimizers.make_optimizer, "epsilon=-1e-07", "adam", epsilon=-1e-7),
    bad(optimizers.make_optimizer, "clipnorm=0.0", "sgd", clipnorm=0.0),
    bad(optimizers.make_optimizer, "clipnorm=-1.0", "sgd", clipnorm=-1.0),
    bad(optimizers.make_optimizer, "clipvalue=0.0", "sgd", clipvalue=0.0),
    bad(optimizers.make_optimizer, "global_clipnorm=-2.0", "adam", global_clipnorm=-2.0),
    bad(optimizers.make_optimizer, "clipvalue=0.5", "adam", clipnorm=1.0, clipvalue=0.5),
    bad(optimizers.make_optimizer, "name='nadam'", "nadam"),
    bad(optimizers.make_optimizer, "learning_rate=0.0", "adam", 0.0),
    bad(optimizers.make_optimizer, "learning_rate=-0.1", "adam", -0.1),
    bad(optimizers.make_optimizer, "learning_rate=nan", "adam", math.nan),
    bad(optimizers.make_optimizer, "learning_rate=inf", "adam", math.inf),
    bad(optimizers.make_optimizer, "learning_rate='0.1'", "adam", "0.1"),
    bad(optimizers.make_optimizer, "learning_rate=True", "adam", True),
    bad(optimizers.make_optimizer, "momentum=1.0", "sgd", momentum=1.0),
    bad(optimizers.make_optimizer, "momentum=-0.5", "sgd_momentum", momentum=-0.5),
    bad(optimizers.make_optimizer, "beta_1=1.0", "adam", beta_1=1.0),
    bad(optimizers.make_optimizer, "beta_2=-0.1", "adam", beta_2=-0.1),
    bad(optimizers.make_optimizer, "rho=1.5", "rmsprop", rho=1.5),
    bad(
        optimizers.make_optimizer, "initial_accumulator_value=-0.1", "adagrad", initial_accumulator_value=-0.1
    ),
    bad(optimizers.make_optimizer, "weight_decay=-0.01", "adam", weight_decay=-0.01),
    bad(optimizers.make_optimizer, "nesterov=1", "sgd", nesterov=1),
    bad(optimizers.make_optimizer, "amsgrad='yes'", "adam", amsgrad="yes"),
    bad(optimizers.make_optimizer, "gradient_accumulation_steps=1", "adam", gradient_accumulation_steps=1),
    bad(
        optimizers.make_optimizer, "gradient_accumulation_steps=2.0", "adam", gradient_accumulation_steps=2.0
    ),
    bad(optimizers.make_optimizer, "ema_momentum=1.5", "adam", use_ema=True, ema_momentum=1.5),
    bad(optimizers.make_optimizer, "beta_1=0.9", "sgd", beta_1=0.9),
    bad(optimizers.make_optimizer, "decay=0.1", "adam", decay=0.1),
    bad(optimizers.minimize, "steps=0", optimizers.quadratic, Lazy(fresh_optimizer), [0.0], 0),
    bad(optimizers.minimize, "steps=2.5", optimizers.quadratic, Lazy(fresh_optimizer), [0.0], 2.5),
    bad(optimizers.minimize, "steps=True", optimizers.quadratic, Lazy(fresh_optimizer), [0.0], True),
    bad(
        optimizers.minimize,
        "initial.shape=(1, 2)",
        optimizers.quadratic,
        Lazy(fresh_optimizer),
        [[0.0, 0.0]],
        3,
    ),
    bad(optimizers.minimize, "initial=[]", optimizers.quadratic, Lazy(fresh_optimizer), [], 3),
    bad(
        optimizers.minimize, "initial[1]=nan", optimizers.quadratic, Lazy(fresh_optimizer), [0.0, math.nan], 3
    ),
    bad(optimizers.minimize, "objective=3.0", 3.0, Lazy(fresh_optimizer), [0.0], 3),
    bad(optimizers.minimize, "optimizer='sgd'", optimizers.quadratic, "sgd", [0.0], 3),
    bad(
        optimizers.minimize,
        "dtype='float16'",
        optimizers.quadratic,
        Lazy(fresh_optimizer),
        [0.0],
        3,
        dtype="float16",
    ),
    bad(optimizers.compare_optimizers, "names='nadam'", names=["sgd", "nadam"]),
    bad(optimizers.compare_optimizers, "names='adam'", names="adam"),
    bad(optimizers.compare_optimizers, "steps=0", steps=0),
    bad(optimizers.compare_optimizers, "learning_rate=0", learning_rate=0),
    bad(optimizers.quadratic, "x.dtype=int32", tf.constant([1, 2])),
    bad(optimizers.quadratic, "x=[1.0, 2.0]", [1.0, 2.0]),
    bad(
        optimizers.ill_conditioned_quadratic, "condition_number=0.5", tf.constant([1.0]), condition_number=0.5
    ),
    bad(
        optimizers.ill_conditioned_quadratic,
        "condition_number=nan",
        tf.constant([1.0]),
        condition_number=math.nan,
    ),
    bad(optimizers.rosenbrock, "x.shape=(1,)", tf.constant([1.0])),
    bad(optimizers.rosenbrock, "a=nan", tf.constant([1.0, 1.0]), a=math.nan),
    bad(optimizers.plot_optimizer_comparison, "histories={}", {}),
    bad(optimizers.plot_optimizer_comparison, "histories=3", {"sgd": 3}),
    bad(optimizers.OptimizerEntry, "factory=<class 'dict'>", dict),
    bad(optimizers.OptimizerEntry, "label=3", keras.optimizers.SGD, {}, 3),
    # reference.schedules
    bad(schedules.WarmupCosineDecay, "warmup_steps=100.0", 100.0, 1000, 1e-3),
    bad(schedules.WarmupCosineDecay, "warmup_steps=True", True, 1000, 1e-3),
    bad(schedules.WarmupCosineDecay, "warmup_steps=-1", -1, 1000, 1e-3),
    bad(schedules.WarmupCosineDecay, "total_steps=100", 100, 100, 1e-3),
    bad(schedules.WarmupCosineDecay, "total_steps=50", 100, 50, 1e-3),
    bad(schedules.WarmupCosineDecay, "initial_learning_rate=0.0", 100, 1000, 0.0),
    bad(schedules.WarmupCosineDecay, "initial_learning_rate=nan", 100, 1000, math.nan),
    bad(schedules.WarmupCosineDecay, "min_learning_rate=-0.001", 100, 1000, 1e-3, -1e-3),
    bad(schedules.WarmupCosineDecay, "min_learning_rate=0.01", 100, 1000, 1e-3, 0.01),
    bad(schedules.make_schedule, "decay_rate=5", "exponential", decay_rate=5),
    bad(schedules.make_schedule, "decay_rate=0.0", "exponential", decay_rate=0.0),
    bad(schedules.make_schedule, "decay_steps=0", "exponential", decay_steps=0),
    bad(schedules.make_schedule, "decay_steps=100.0", "cosine", decay_steps=100.0),
    bad(schedules.make_schedule, "initial_learning_rate=0.0", "exponential", initial_learning_rate=0.0),
    bad(schedules.make_schedule, "initial_learning_rate=-0.1", "cosine", initial_learning_rate=-0.1),
    bad(schedules.make_schedule, "staircase=1", "exponential", staircase=1),
    bad(schedules.make_schedule, "decay=0.5", "exponential", decay=0.5),
    bad(schedules.make_schedule, "end_learning_rate=-0.01", "polynomial", end_learning_rate=-0.01),
    bad(schedules.make_schedule, "end_learning_rate=0.5", "polynomial", end_learning_rate=0.5),
    bad(schedules.make_schedule, "power=0.0", "polynomial", power=0.0),
    bad(schedules.make_schedule, "cycle='no'", "polynomial", cycle="no"),
    bad(schedules.make_schedule, "alpha=1.5", "cosine", alpha=1.5),
    bad(schedules.make_schedule, "warmup_target=0.01", "cosine", warmup_target=0.01, warmup_steps=10),
    bad(schedules.make_schedule, "warmup_steps=-5", "cosine", warmup_steps=-5),
    bad(schedules.make_schedule, "boundaries=[200, 100, 300]", "piecewise", boundaries=[200, 100, 300]),
    bad(schedules.make_schedule, "boundaries[0]=100.5", "piecewise", boundaries=[100.5, 200, 300]),
    bad(schedules.make_schedule, "values=[0.1, 0.05]", "piecewise", values=[0.1, 0.05]),
    bad(schedules.make_schedule, "values[1]=0.0", "piecewise", values=[0.1, 0.0, 0.01, 0.005]),
    bad(schedules.make_schedule, "name='linear'", "linear"),
    bad(schedules.schedule_values, "schedule='cosine'", "cosine", [0]),
    bad(schedules.schedule_values, "steps[0]=-1", Lazy(lambda: schedules.make_schedule("cosine")), [-1, 0]),
    bad(schedules.schedule_values, "steps[0]=0.5", Lazy(lambda: schedules.make_schedule("cosine")), [0.5]),
    bad(schedules.plot_schedules, "builtin_steps=0", 0),
    bad(schedules.plot_schedules, "warmup_steps_shown=1.5", 10, 1.5),
    bad(schedules.ScheduleEntry, "factory=<class 'dict'>", dict),
    # reference.data: the data is checked where it enters.
    bad(Split, "x_train[3, 7]=nan", NAN_FEATURE, LABELS_8, np.ones((2, 20)), np.zeros(2)),
    bad(Split, "y_test[1]=inf", np.ones((2, 3)), np.zeros(2), np.ones((2, 3)), np.float32([0, np.inf])),
    bad(Split, "x_train.shape=(4,)", np.ones(4), np.zeros(4), np.ones((2, 3)), np.zeros(2)),
    bad(Split, "x_test.shape=(2, 4)", np.ones((2, 3)), np.zeros(2), np.ones((2, 4)), np.zeros(2)),
    bad(Split, "y_train.shape=(3,)", np.ones((2, 3)), np.zeros(3), np.ones((2, 3)), np.zeros(2)),
    bad(Split, "x_train.dtype=<U1", [["a"]], np.zeros(1), np.ones((2, 1)), np.zeros(2)),
    bad(Split, "source=''", np.ones((2, 3)), np.zeros(2), np.ones((2, 3)), np.zeros(2), ""),
    bad(ClassificationSpec, "n_samples=5", 5, 20, 0.2),
    bad(ClassificationSpec, "test_size=1.0", 100, 20, 1.0),
    bad(ClassificationSpec, "n_redundant=20", 100, 20, 0.2, 2, 20),
    bad(data.load_classification, "name='mnist'", "mnist"),
    bad(data.load_classification, "n_samples=5", "basic", n_samples=5),
    bad(data.load_classification, "n_samples=True", "basic", n_samples=True),
    bad(data.load_classification, "leaky='yes'", "advanced", leaky="yes"),
    bad(data.random_binary_split, "n_train=0", 0),
    bad(data.random_binary_split, "seed=-1", seed=-1),
    bad(data.make_dataset, "batch_size=True", np.zeros((4, 2)), np.zeros(4), True),
    bad(data.make_dataset, "batch_size=0", np.zeros((4, 2)), np.zeros(4), 0),
    bad(data.make_dataset, "batch_size=2.0", np.zeros((4, 2)), np.zeros(4), 2.0),
    bad(data.make_dataset, "x[3, 7]=nan", NAN_FEATURE, LABELS_8, 4),
    bad(data.make_dataset, "x.shape=(0, 2)", np.zeros((0, 2)), np.zeros(0), 2),
    bad(data.make_dataset, "y.shape=(3,)", np.zeros((4, 2)), np.zeros(3), 2),
    bad(data.make_dataset, "shuffle=1", np.zeros((4, 2)), np.zeros(4), 2, shuffle=1),
    bad(data.make_dataset, "buffer_size=0", np.zeros((4, 2)), np.zeros(4), 2, buffer_size=0),
    bad(data.standardize, "train.shape=(4,)", np.ones(4), np.ones((2, 4))),
    bad(data.standardize, "test[0, 1]=nan", np.ones((3, 2)), np.float32([[1, np.nan]])),
    bad(data.load_mnist, "n_train=0", n_train=0),
    bad(data.load_mnist, "n_test=-1", n_test=-1),
    bad(data.load_mnist, "path='/nonexistent/mnist.npz'", "/nonexistent/mnist.npz"),
    # reference.models
    bad(ModelSpec, "input_dim=0", 0, (8,)),
    bad(ModelSpec, "input_dim=True", True, (8,)),
    bad(ModelSpec, "hidden=()", 20, ()),
    bad(ModelSpec, "hidden[1]=0", 20, (8, 0)),
    bad(ModelSpec, "hidden.dtype=float64", 20, (8.0,)),
    bad(ModelSpec, "dropout[0]=1.0", 20, (8,), dropout=(1.0,)),
    bad(ModelSpec, "dropout=(0.1, 0.2)", 20, (8,), dropout=(0.1, 0.2)),
    bad(ModelSpec, "l1=-0.1", 20, (8,), l1=-0.1),
    bad(ModelSpec, "l2=nan", 20, (8,), l2=math.nan),
    bad(ModelSpec, "batch_norm=1", 20, (8,), batch_norm=1),
    bad(ModelSpec, "output_units=0", 20, (8,), output_units=0),
    bad(ModelSpec, "output_activation='relu'", 20, (8,), output_activation="relu"),
    bad(models.build_model, "spec='basic'", "basic"),
    bad(models.build_model, "name=''", ModelSpec(20, (8,)), name=""),
    bad(models.build_model, "dtype_policy='float16'", ModelSpec(20, (8,)), dtype_policy="float16"),
    bad(models.document_model, "name='huge'", "huge"),
    # reference.loop
    bad(History, "stopped_reason='done'", stopped_reason="done"),
    bad(lambda logs: History().record(logs), "logs=['loss']", {"loss": 1.0}, covers=History),
    bad(
        lambda **kw: History().finish(**kw),
        "epochs=0",
        epochs=0,
        best_epoch=None,
        stopped_reason=None,
        covers=History,
    ),
    bad(loop.clip_gradients, "clip='by_value'", [], "by_value", 1.0),
    bad(loop.clip_gradients, "clip_norm=0.0", [], "global", 0.0),
    bad(loop.objective_for, "model='model'", "model"),
    bad(loop.objective_for, "loss=3", MODEL, loss=3),
    bad(loop.regularization_loss, "model=None", None),
    bad(loop.build_optimizer, "model=None", None),
    bad(loop.save_weights_atomic, "path='best.h5'", MODEL, "best.h5"),
    bad(loop.save_weights_atomic, "model=None", None, "best.weights.h5"),
    bad(loop.BestWeights, "patience=-1", -1),
    bad(loop.BestWeights, "patience=True", True),
    bad(loop.BestWeights, "restore_best=1", restore_best=1),
    bad(loop.BestWeights, "weights_path='best.h5'", weights_path="best.h5"),
    bad(loop.run_epochs, "epochs=0", MODEL, 0, dict, [], Lazy(loop.BestWeights)),
    bad(loop.run_epochs, "run_epoch=3", MODEL, 1, 3, [], Lazy(loop.BestWeights)),
    bad(loop.run_epochs, "callbacks=3", MODEL, 1, dict, [3], Lazy(loop.BestWeights)),
    bad(loop.run_epochs, "guard=None", MODEL, 1, dict, [], None),
    bad(loop.run_epochs, "optimizer='adam'", MODEL, 1, dict, [], Lazy(loop.BestWeights), optimizer="adam"),
    bad(loop.Objective, "loss=3", 3, len, len),
    # reference.training: each way, every argument (the labels in {0..4} included), then Trainer.
    *way_rows(),
    bad(training.GradientNormModel, "inner='basic'", "basic"),
    bad(training.GradientNormModel, "clip_norm=-1.0", MODEL, clip="global", clip_norm=-1.0),
    bad(trainer.Trainer, "optimizer='adam'", MODEL, "adam"),
    bad(trainer.Trainer, "model=None", None, Lazy(fresh_optimizer)),
    bad(trainer.Trainer, "patience=-1", MODEL, Lazy(fresh_optimizer), patience=-1),
    bad(trainer.Trainer, "clip='norm'", MODEL, Lazy(fresh_optimizer), clip="norm"),
    bad(trainer.Trainer, "fused=1", MODEL, Lazy(fresh_optimizer), fused=1),
    bad(training.train_trainer, "fused='yes'", MODEL, SPLIT, epochs=1, fused="yes"),
    bad(
        trainer_train,
        "train_dataset.cardinality()=-2",
        fused=True,
        train_dataset=Lazy(unknown_length_dataset),
        covers=trainer.Trainer,
    ),
    bad(trainer.Trainer, "steps_per_execution=0", MODEL, Lazy(fresh_optimizer), steps_per_execution=0),
    bad(trainer.Trainer, "steps_per_execution=-4", MODEL, Lazy(fresh_optimizer), steps_per_execution=-4),
    bad(trainer.Trainer, "steps_per_execution=True", MODEL, Lazy(fresh_optimizer), steps_per_execution=True),
    bad(trainer.Trainer, "steps_per_execution=2.5", MODEL, Lazy(fresh_optimizer), steps_per_execution=2.5),
    bad(trainer.Trainer, "steps_per_execution=8.0", MODEL, Lazy(fresh_optimizer), steps_per_execution=8.0),
    bad(trainer.Trainer, "steps_per_execution='8'", MODEL, Lazy(fresh_optimizer), steps_per_execution="8"),
    bad(
        trainer.Trainer,
        "steps_per_execution=4",
        MODEL,
        Lazy(fresh_optimizer),
        fused=True,
        steps_per_execution=4,
    ),
    bad(trainer_train, "epochs=0", epochs=0, covers=trainer.Trainer),
    bad(trainer_train, "train_dataset=[1, 2]", train_dataset=[1, 2], covers=trainer.Trainer),
    bad(
        trainer_train,
        "train_dataset.cardinality()=0",
        train_dataset=Lazy(lambda: dataset(np.zeros((0, 20), np.float32), np.zeros(0, np.float32))),
        covers=trainer.Trainer,
    ),
    bad(
        trainer_train,
        "val_dataset.cardinality()=0",
        val_dataset=Lazy(lambda: dataset(np.zeros((0, 20), np.float32), np.zeros(0, np.float32))),
        covers=trainer.Trainer,
    ),
    bad(
        trainer_train,
        "train_dataset.element_spec[0].shape[-1]=50",
        train_dataset=Lazy(lambda: dataset(fifty_feature_split().x_train, fifty_feature_split().y_train)),
        covers=trainer.Trainer,
    ),
    # reference.callbacks
    bad(callbacks.MultiplicativeDecay, "factor=0.0", 0.0),
    bad(callbacks.MultiplicativeDecay, "factor=1.5", 1.5),
    bad(callbacks.MultiplicativeDecay, "min_lr=-1.0", min_lr=-1.0),
    bad(callbacks.ThresholdStopping, "threshold=1.5", 1.5),
    bad(callbacks.ThresholdStopping, "threshold=-0.1", -0.1),
    bad(callbacks.ThresholdStopping, "monitor=''", monitor=""),
    bad(callbacks.AtomicModelCheckpoint, "filepath=3", 3),
    bad(callbacks.AtomicModelCheckpoint, "mode='best'", "best.keras", mode="best"),
    bad(callbacks.AtomicModelCheckpoint, "filepath='run-{epoch}/best.keras'", "run-{epoch}/best.keras"),
    bad(callbacks.make_callbacks, "workdir=3", 3),
    bad(callbacks.make_callbacks, "patience=-1", TMP, patience=-1),
    bad(callbacks.make_callbacks, "patience=1.5", TMP, patience=1.5),
    bad(callbacks.make_callbacks, "patience=True", TMP, patience=True),
    bad(callbacks.make_callbacks, "lr_patience=-2", TMP, lr_patience=-2),
    bad(callbacks.make_callbacks, "lr_factor=0.0", TMP, lr_factor=0.0),
    bad(callbacks.make_callbacks, "lr_factor=1.0", TMP, lr_factor=1.0),
    bad(callbacks.make_callbacks, "min_lr=-0.001", TMP, min_lr=-1e-3),
    bad(callbacks.make_callbacks, "lr_decay=0.0", TMP, lr_decay=0.0),
    bad(callbacks.make_callbacks, "lr_decay=1.1", TMP, lr_decay=1.1),
    bad(callbacks.make_callbacks, "histogram_freq=-1", TMP, histogram_freq=-1),
    bad(callbacks.make_callbacks, "checkpoint_monitor=''", TMP, checkpoint_monitor=""),
    bad(callbacks.demonstrate_callbacks, "epochs=0", TMP, epochs=0),
    bad(callbacks.demonstrate_callbacks, "batch_size=-8", TMP, batch_size=-8),
    bad(callbacks.demonstrate_callbacks, "document='yes'", TMP, document="yes"),
    bad(callbacks.demonstrate_callbacks, "seed=-1", TMP, seed=-1),
    bad(callbacks.demonstrate_callbacks, "mnist_path='/nonexistent.npz'", TMP, mnist_path="/nonexistent.npz"),
    # reference.callback_experiments
    bad(callback_experiments.tiny_data, "seed=-1", -1),
    bad(callback_experiments.tiny_data, "n=0", 0, 0),
    bad(callback_experiments.tiny_classifier, "learning_rate=0.0", learning_rate=0.0),
    bad(callback_experiments.tiny_classifier, "frozen=1", frozen=1),
    bad(callback_experiments.plateau_rates, "epochs=0", [], epochs=0, seed=0),
    bad(callback_experiments.plateau_rates, "callbacks='reduce'", "reduce", epochs=1, seed=0),
    bad(callback_experiments.fit_then_fail_while_saving, "checkpoint='best.keras'", "best.keras", seed=0),
    bad(callback_experiments.PlateauRates, "after=[]", [1.0], [], [1.0]),
    bad(callback_experiments.FailedSave, "error='disk full'", [], "disk full"),
    # reference.regularization
    bad(regularization.run_configurations, "configs={}", {}, SPLIT, epochs=1),
    bad(regularization.run_configurations, "configs='reg_none'", {"none": "reg_none"}, SPLIT, epochs=1),
    bad(regularization.run_configurations, "split='data'", regularization.WEIGHT_CONFIGS, "data", epochs=1),
    bad(
        regularization.run_configurations,
        "learning_rate=0",
        regularization.WEIGHT_CONFIGS,
        SPLIT,
        epochs=1,
        learning_rate=0,
    ),
    bad(
        regularization.run_configurations, "train=3", regularization.WEIGHT_CONFIGS, SPLIT, epochs=1, train=3
    ),
    bad(regularization.run_comparison, "name='dropout'", "dropout"),
    bad(regularization.run_comparison, "configurations='l3'", "weight", configurations=["l3"]),
    bad(regularization.run_comparison, "epochs=0", "weight", epochs=0),
    bad(regularization.run_comparison, "n_samples=5", "weight", n_samples=5),
    bad(regularization.run_comparison, "hidden[0]=0", "weight", hidden=(0,)),
    bad(regularization.near_zero_fraction, "threshold=0.0", np.zeros(3), threshold=0.0),
    bad(regularization.near_zero_fraction, "weights[0]=nan", [math.nan]),
    bad(regularization.near_zero_fraction, "weights.shape=(0,)", []),
    bad(regularization.weight_norms, "weights[0, 0]=inf", [[math.inf]]),
    bad(regularization.generalization_gap, "history.loss=[]", History()),
    bad(regularization.generalization_gap, "history='h'", "h"),
    bad(regularization.generalization_gap, "metric='f1'", History(loss=[1.0], val_loss=[1.0]), metric="f1"),
    bad(regularization.generalization_gap, "last=0", History(loss=[1.0], val_loss=[1.0]), last=0),
    bad(regularization.plot_loss_curves, "results={}", {}),
    bad(regularization.plot_weight_comparison, "results=1", {"none": 1}),
    bad(regularization.Comparison, "data='mnist'", "mnist", regularization.WEIGHT_CONFIGS, 1),
    bad(regularization.Comparison, "epochs=0", "weight_regularization", regularization.WEIGHT_CONFIGS, 0),
    bad(regularization.RegularizationResult, "history='h'", "h", np.zeros((2, 2))),
    # reference.monitor
    bad(monitor.current_learning_rate, "optimizer='adam'", "adam"),
    bad(monitor.global_norm, "gradients='abc'", "abc"),
    bad(
        lambda window: monitor.TrainingMonitor().smoothed_loss(window),
        "window=0",
        0,
        covers=monitor.TrainingMonitor,
    ),
    bad(
        lambda window: monitor.TrainingMonitor().smoothed_loss(window),
        "window=-3",
        -3,
        covers=monitor.TrainingMonitor,
    ),
    bad(
        lambda window: monitor.TrainingMonitor().smoothed_loss(window),
        "window=2.5",
        2.5,
        covers=monitor.TrainingMonitor,
    ),
    bad(
        lambda window: monitor.TrainingMonitor().plot(window=window),
        "window=True",
        True,
        covers=monitor.TrainingMonitor,
    ),
    bad(lambda logs: monitor.TrainingMonitor().record(logs), "logs=[1]", [1], covers=monitor.TrainingMonitor),
    # reference.environment
    bad(environment.git_commit, "cwd=3", 3),
    bad(environment.collect_environment, "cwd=3", 3),
    bad(environment.gpu_details, "index=-1", -1),
    bad(environment.gpu_details, "index=True", True),
    bad(environment.describe_environment, "environment=[1]", [1]),
    bad(environment.effective_threads, "configured=-1", -1, "TF_NUM_INTRAOP_THREADS", None, 2),
    bad(environment.effective_threads, "cpus=0", 0, "TF_NUM_INTRAOP_THREADS", None, 0),
    bad(environment.effective_threads, "value=4", 0, "TF_NUM_INTRAOP_THREADS", 4, 2),
    # reference.nvidia_smi
    bad(nvidia_smi.parse_nvidia_smi, "text=b'T4, 550.54.15, 15360'", b"T4, 550.54.15, 15360"),
]


def _resolve(value):
    return value.build() if isinstance(value, Lazy) else value


@pytest.mark.parametrize(("function", "args", "kwargs", "received", "covers"), BAD_CALLS)
def test_raises_value_error_naming_the_argument(function, args, kwargs, received, covers):
    with pytest.raises(ValueError) as raised:
        function(*map(_resolve, args), **{key: _resolve(value) for key, value in kwargs.items()})
    message = str(raised.value)
    match = MESSAGE.match(message)
    assert match, message
    assert message.endswith(f"Received: {received}"), message
    assert received.startswith(match["name"])
    assert Path(raised.traceback[-1].path) == VALIDATION_SOURCE, "raised by reference.validation.fail"


NUMPY_INTEGERS_PASS = [
    pytest.param(
        lambda: schedules.WarmupCosineDecay(np.int64(10), np.int64(100), 1e-3).get_config()["warmup_steps"],
        id="WarmupCosineDecay warmup_steps",
    ),
    pytest.param(
        lambda: schedules.make_schedule("cosine", decay_steps=np.int32(10)).decay_steps, id="decay_steps"
    ),
    pytest.param(lambda: loop.BestWeights(np.int64(10)).patience, id="BestWeights patience"),
    pytest.param(lambda: ModelSpec(np.int64(20), (np.int64(10),)).hidden[0], id="ModelSpec hidden"),
    pytest.param(
        lambda: len(list(data.make_dataset(np.zeros((20, 2)), np.zeros(20), np.int64(2)))), id="make_dataset"
    ),
    pytest.param(
        lambda: len(optimizers.minimize(optimizers.quadratic, fresh_optimizer(), [0.0], np.uint8(10)).losses),
        id="minimize steps",
    ),
]


@pytest.mark.parametrize("call", NUMPY_INTEGERS_PASS)
def test_numpy_integers_pass_where_an_integer_is_asked_and_are_kept_as_python_ints(call):
    value = call()
    assert value == 10 and type(value) is int


def _public_callables():
    for module in MODULES:
        for name in module.__all__:
            value = getattr(module, name)
            if inspect.isclass(value) or inspect.isfunction(value):
                yield name, value


def test_every_exempt_module_exists():
    assert all(importlib.util.find_spec(name) for name in EXEMPT_MODULES)


def test_every_public_function_and_class_has_a_bad_call_or_a_reason():
    covered = {param.values[4] for param in BAD_CALLS}
    missing = [name for name, value in _public_callables() if value not in covered and name not in EXEMPT]
    assert not missing
