"""A data-parallel training step under ``tf.distribute``, and the single-device step it must equal.

Each replica computes the loss of its shard of the global batch as
``sum(per_example_loss) / global_batch`` (``tf.nn.compute_average_loss``); the optimizer sums
the replicas' gradients (an all-reduce), so the update equals the single-device update on the
whole global batch:

    g = sum_r grad(sum_{i in shard r} l_i / B) = grad(mean_{i in batch} l_i).

Cases run without dropout: replicas draw their own masks, which no single-device step can match.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from benchmarks.workloads import get_workload, synthetic_batch
from reference.models import ModelSpec, build_model

__all__ = [
    "LEARNING_RATE",
    "WORKLOADS",
    "Case",
    "build_replicated",
    "distribute_batch",
    "make_distributed_step",
    "max_relative_update_error",
    "per_example_loss",
    "single_device_update",
]

# The workloads of the distribution benchmarks (names as in ``benchmarks.workloads``): the document's
# basic MLP 20-64-32-1 (a) and the callbacks demo's MLP 784-128-64-10 (c), both without dropout.
WORKLOADS = ("basic", "callbacks")
LEARNING_RATE = 1e-3


@dataclass(frozen=True)
class Case:
    """One distributed benchmark case: a workload and a global batch size."""

    workload: str
    global_batch: int
    seed: int = 0

    def __post_init__(self):
        if self.workload not in WORKLOADS:
            raise ValueError(f"Unknown workload={self.workload!r}; valid: {list(WORKLOADS)}")
        if self.global_batch <= 0:
            raise ValueError(
                f"Argument `global_batch` must be > 0. Received: global_batch={self.global_batch}"
            )

    @property
    def spec(self) -> ModelSpec:
        return get_workload(self.workload).spec.without_dropout()

    @property
    def key(self) -> str:
        return f"{self.workload}-b{self.global_batch}"

    def batch(self) -> tuple[np.ndarray, np.ndarray]:
        """The global batch, the same in every process: the workload's ``synthetic_batch``."""
        return synthetic_batch(get_workload(self.workload), self.global_batch, seed=self.seed)


def per_example_loss(spec: ModelSpec, y, predictions):
    if spec.output_activation == "softmax":
        return keras.losses.sparse_categorical_crossentropy(y, predictions)
    return keras.losses.binary_crossentropy(y, predictions)


def build_replicated(case: Case, strategy: tf.distribute.Strategy):
    """Model and Adam optimizer created under ``strategy.scope()``, optimizer slots built eagerly.

    Building the slots inside the first ``strategy.run`` fails on TF 2.21 / Keras 3 with
    "You must feed a value for placeholder tensor" from the optimizer's lazy-build ``cond``.
    """
    with strategy.scope():
        keras.utils.set_random_seed(case.seed)
        model = build_model(case.spec)
        optimizer = keras.optimizers.Adam(LEARNING_RATE)
        optimizer.build(model.trainable_variables)
    return model, optimizer


def make_distributed_step(case: Case, strategy: tf.distribute.Strategy, model, optimizer):
    """``step(x, y)`` on distributed values: one synchronous update, returns the global mean loss."""
    spec = case.spec

    def replica_step(x, y):
        with tf.GradientTape() as tape:
            per_example = per_example_loss(spec, y, model(x, training=True))
            loss = tf.nn.compute_average_loss(per_example, global_batch_size=case.global_batch)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        return loss

    @tf.function
    def step(x, y):
        return strategy.reduce("SUM", strategy.run(replica_step, args=(x, y)), axis=None)

    return step


def distribute_batch(case: Case, strategy: tf.distribute.Strategy):
    """The global batch split into equal contiguous shards, one per replica (across workers too)."""
    x, y = case.batch()
    replicas = strategy.num_replicas_in_sync
    if case.global_batch % replicas:
        raise ValueError(
            f"Argument `global_batch` must be divisible by the {replicas} replicas. "
            f"Received: global_batch={case.global_batch}"
        )
    shard = case.global_batch // replicas

    def value_fn(context):
        start = context.replica_id_in_sync_group * shard
        return x[start : start + shard], y[start : start + shard]

    return strategy.experimental_distribute_values_from_function(value_fn)


def single_device_update(case: Case, initial_weights: list[np.ndarray]) -> tuple[float, list[np.ndarray]]:
    """One plain Adam step on the whole global batch from ``initial_weights``: (loss, weights after)."""
    model = build_model(case.spec)
    model.set_weights(initial_weights)
    optimizer = keras.optimizers.Adam(LEARNING_RATE)
    x, y = case.batch()
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(per_example_loss(case.spec, y, model(x, training=True)))
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
    return float(loss), [np.asarray(w) for w in model.get_weights()]


def max_relative_update_error(initial, distributed, single) -> float:
    """max over tensors of ||dW_dist - dW_single|| / ||dW_single||, dW = W_after - W_before."""
    errors = []
    for w0, wd, ws in zip(initial, distributed, single, strict=True):
        reference = np.linalg.norm(ws - w0)
        if reference > 0:
            errors.append(float(np.linalg.norm(wd - ws) / reference))
    return max(errors, default=0.0)
