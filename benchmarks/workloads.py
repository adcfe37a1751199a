"""The benchmarked training problems: three of the document's MLPs and its optimizer demo's quadratic.

A workload is data (a model spec, a loss, an optimizer factory); ``build_problem`` turns one
into everything a training step needs: variables, optimizer (already built, so its slots exist
before any tracing), a loss closure and a synthetic batch of the right shape. Throughput does
not depend on the values of the data, so the batch is random (seeded), not the document's data.

| workload | document demo | model | loss | optimizer |
|---|---|---|---|---|
| ``basic`` | basic training loop | 20-64-32-1, dropout 0.2 | BCE | Adam(1e-3) |
| ``advanced`` | AdvancedTrainer | 20-128-64-1, BN + dropout 0.3/0.2 | BCE | Adam(ExponentialDecay(1e-3, 100, 0.96)), clipnorm 1 |
| ``callbacks`` | callbacks demo (MNIST) | 784-128-64-10, dropout 0.2/0.2 | sparse CE | Adam() |
| ``quadratic`` | optimizer comparison | none: x in R^2 | sum((x-2)^2) | SGD(0.1) |

The quadratic has no data and no Keras model: it measures the pure dispatch cost of a step.

A problem can be built with a mixed-precision policy (``dtype_policy``, ``benchmarks.precision``):
the hidden layers compute in 16 bits, the weights and the output layer stay float32; under
``mixed_float16`` the optimizer is wrapped in Keras's ``LossScaleOptimizer`` (as ``compile`` does for
a ``mixed_float16`` model) and every step scales its loss (``optimizer.scale_loss``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from reference.models import DOCUMENT_MODELS, DTYPE_POLICIES, ModelSpec, build_model

__all__ = [
    "MLP_BATCH_SIZES",
    "QUADRATIC_DIM",
    "QUADRATIC_TARGET",
    "WORKLOADS",
    "Problem",
    "Workload",
    "build_problem",
    "get_workload",
    "synthetic_batch",
    "synthetic_batches",
]

MLP_BATCH_SIZES = (32, 256, 2048)
QUADRATIC_DIM = 2
QUADRATIC_TARGET = 2.0


def _adam() -> keras.optimizers.Optimizer:
    return keras.optimizers.Adam(learning_rate=1e-3)


def _adam_decay_clipped() -> keras.optimizers.Optimizer:
    schedule = keras.optimizers.schedules.ExponentialDecay(1e-3, decay_steps=100, decay_rate=0.96)
    return keras.optimizers.Adam(learning_rate=schedule, clipnorm=1.0)


def _sgd() -> keras.optimizers.Optimizer:
    return keras.optimizers.SGD(learning_rate=0.1)


@dataclass(frozen=True)
class Workload:
    """One benchmarked training problem.

    Attributes:
        name: registry key, used in case ids.
        description: one line for the report.
        spec: the model, or ``None`` for the quadratic.
        loss: ``"binary_crossentropy"``, ``"sparse_categorical_crossentropy"`` or ``"quadratic"``.
        make_optimizer: a fresh optimizer per problem.
        optimizer_name: ``"adam"`` or ``"sgd"`` (selects the per-parameter FLOP count).
        batch_sizes: the batch sizes of the full matrix; ``(None,)`` when there is no data.
    """

    name: str
    description: str
    spec: ModelSpec | None
    loss: str
    make_optimizer: Callable[[], keras.optimizers.Optimizer]
    optimizer_name: str
    batch_sizes: tuple[int | None, ...] = MLP_BATCH_SIZES

    @property
    def has_model(self) -> bool:
        """Whether a Keras model exists (so Keras's own ``fit`` train function can run it)."""
        return self.spec is not None

    @property
    def has_dropout(self) -> bool:
        return self.spec is not None and any(self.spec.dropout)


WORKLOADS: dict[str, Workload] = {
    "basic": Workload(
        "basic",
        "basic loop: MLP 20-64-32-1, dropout 0.2, BCE, Adam",
        DOCUMENT_MODELS["basic"],
        "binary_crossentropy",
        _adam,
        "adam",
    ),
    "advanced": Workload(
        "advanced",
        "AdvancedTrainer: MLP 20-128-64-1, batch norm, dropout 0.3/0.2, BCE, Adam + decay + clipnorm",
        DOCUMENT_MODELS["advanced"],
        "binary_crossentropy",
        _adam_decay_clipped,
        "adam",
    ),
    "callbacks": Workload(
        "callbacks",
        "callbacks demo: MLP 784-128-64-10, dropout 0.2/0.2, sparse CE, Adam",
        DOCUMENT_MODELS["callbacks"],
        "sparse_categorical_crossentropy",
        _adam,
        "adam",
    ),
    "quadratic": Workload(
        "quadratic",
        "optimizer demo: sum((x-2)^2) on x in R^2, SGD(0.1): pure dispatch cost",
        None,
        "quadratic",
        _sgd,
        "sgd",
        batch_sizes=(None,),
    ),
}


def get_workload(name: str) -> Workload:
    """The workload called ``name`` (a key of ``WORKLOADS``)."""
    if name not in WORKLOADS:
        raise ValueError(f"Argument `name` must be one of {sorted(WORKLOADS)}. Received: name={name!r}")
    return WORKLOADS[name]


@dataclass
class Problem:
    """Everything one training step touches, built on the current device.

    ``loss_fn(x, y)`` runs the forward pass in training mode and returns the scalar loss;
    ``state`` lists every variable a step may change (model, RNG seeds, optimizer slots and
    step counter), so ``snapshot``/``restore`` rewind a step exactly. ``batches(k)`` are the ``k``
    batches a ``k``-step mode cycles through, the first of them ``(x, y)``.
    """

    workload: Workload
    batch_size: int | None
    model: keras.Model | None
    variables: list[tf.Variable]
    optimizer: keras.optimizers.Optimizer
    loss_object: Callable | None
    x: tf.Tensor
    y: tf.Tensor
    seed: int = 0
    dtype_policy: str = "float32"
    dropout: bool = True

    def batches(self, count: int) -> tuple[np.ndarray, np.ndarray]:
        """``count`` batches stacked on a new first axis (``synthetic_batches``)."""
        return synthetic_batches(self.workload, self.batch_size, count, seed=self.seed)

    def loss_fn(self, x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
        if self.model is None:
            return tf.reduce_sum(tf.square(self.variables[0] - QUADRATIC_TARGET))
        return self.loss_object(y, self.model(x, training=True))

    @property
    def state(self) -> list[tf.Variable]:
        own = list(self.model.variables) if self.model is not None else list(self.variables)
        return own + list(self.optimizer.variables)

    @property
    def weights(self) -> list[tf.Variable]:
        """Trainable weights and batch-norm statistics: what the mode check compares."""
        return list(self.model.weights) if self.model is not None else list(self.variables)

    def snapshot(self) -> list[np.ndarray]:
        return [v.numpy() for v in self.state]

    def restore(self, snapshot: list[np.ndarray]) -> None:
        for variable, value in zip(self.state, snapshot, strict=True):
            variable.assign(value)


def _loss_object(workload: Workload):
    if workload.loss == "binary_crossentropy":
        return keras.losses.BinaryCrossentropy()
    return keras.losses.SparseCategoricalCrossentropy()


def synthetic_batch(workload: Workload, batch_size: int, *, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A random batch of the workload's shape: x ~ N(0, 1); labels uniform over the classes.

    Returns:
        ``x`` float32 ``(batch_size, input_dim)`` and ``y``: float32 ``(batch_size, 1)`` of 0/1 for
        BCE, int32 ``(batch_size,)`` class ids for sparse CE.
    """
    if batch_size is None or batch_size < 1:
        raise ValueError(f"Argument `batch_size` must be >= 1. Received: batch_size={batch_size}")
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch_size, workload.spec.input_dim)).astype(np.float32)
    if workload.loss == "binary_crossentropy":
        y = rng.integers(0, 2, size=(batch_size, 1)).astype(np.float32)
    else:
        y = rng.integers(0, workload.spec.output_units, size=(batch_size,)).astype(np.int32)
    return x, y


def synthetic_batches(
    workload: Workload, batch_size: int, count: int, *, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """``count`` batches stacked: ``x[i], y[i] = synthetic_batch(workload, batch_size, seed=seed + i)``."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"Argument `count` must be an integer >= 1. Received: count={count!r}")
    pairs = [synthetic_batch(workload, batch_size, seed=seed + i) for i in range(count)]
    return np.stack([x for x, _ in pairs]), np.stack([y for _, y in pairs])


def build_problem(
    workload: Workload | str,
    batch_size: int | None,
    *,
    seed: int,
    dropout: bool = True,
    dtype_policy: str = "float32",
) -> Problem:
    """Build the workload's model, optimizer and batch on the current device (``tf.device`` scope).

    Args:
        workload: a ``Workload`` or its name.
        batch_size: rows of the synthetic batch; ``None`` for the quadratic.
        seed: seeds Keras (weights, dropout) and the batch, via ``keras.utils.set_random_seed``.
        dropout: ``False`` builds the same model without its dropout layers (the mode check's twin).
        dtype_policy: ``float32``, ``mixed_bfloat16`` or ``mixed_float16`` (module docstring).

    Raises:
        ValueError: unknown workload, a batch size that the workload does not take, or an unknown
            ``dtype_policy`` (or any mixed one for the quadratic, which has no model).
    """
    if isinstance(workload, str):
        workload = get_workload(workload)
    if dtype_policy not in DTYPE_POLICIES or (dtype_policy != "float32" and not workload.has_model):
        allowed = DTYPE_POLICIES if workload.has_model else ("float32",)
        raise ValueError(
            f"Argument `dtype_policy` must be one of {allowed} for workload {workload.name!r}. "
            f"Received: dtype_policy={dtype_policy!r}"
        )
    keras.utils.set_random_seed(seed)
    optimizer = workload.make_optimizer()
    if dtype_policy == "mixed_float16":
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    if not workload.has_model:
        if batch_size is not None:
            raise ValueError(
                f"Argument `batch_size` must be None for workload {workload.name!r} (it has no data). "
                f"Received: batch_size={batch_size}"
            )
        x_var = tf.Variable(tf.zeros([QUADRATIC_DIM]), name="x")
        optimizer.build([x_var])
        empty = tf.zeros([0])
        return Problem(workload, None, None, [x_var], optimizer, None, empty, empty, seed=seed, dropout=False)
    spec = workload.spec if dropout else workload.spec.without_dropout()
    mixed = None if dtype_policy == "float32" else dtype_policy  # float32: Keras's global policy, as before
    model = build_model(spec, name=workload.name, dtype_policy=mixed)
    optimizer.build(model.trainable_variables)
    x, y = synthetic_batch(workload, batch_size, seed=seed)
    return Problem(
        workload,
        batch_size,
        model,
        list(model.trainable_variables),
        optimizer,
        _loss_object(workload),
        tf.identity(tf.constant(x)),
        tf.identity(tf.constant(y)),
        seed=seed,
        dtype_policy=dtype_policy,
        dropout=dropout and workload.has_dropout,
    )
