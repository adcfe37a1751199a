"""The analytic FLOP count against TensorFlow's own graph profiler (an independent count)."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.flops import matmul_flops, mlp_step_flops, parameter_count, step_flops
from benchmarks.workloads import WORKLOADS
from reference.models import ModelSpec, build_model


def profiler_matmul_flops(graph) -> int:
    """FLOPs that TensorFlow's profiler attributes to MatMul ops of ``graph``."""
    options = (
        tf.compat.v1.profiler.ProfileOptionBuilder(
            tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
        )
        .with_empty_output()
        .build()
    )
    profile = tf.compat.v1.profiler.profile(graph, cmd="op", options=options)
    return sum(child.float_ops for child in profile.children if child.name == "MatMul")


def gradient_graph(spec: ModelSpec, batch_size: int):
    """The graph of forward pass, loss and gradients w.r.t. the weights (what a training step differentiates)."""
    model = build_model(spec)
    loss_fn = keras.losses.MeanSquaredError()

    def gradients(x, y):
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        return tape.gradient(loss, model.trainable_variables)

    signature = (tf.TensorSpec((batch_size, spec.input_dim)), tf.TensorSpec((batch_size, spec.output_units)))
    return tf.function(gradients).get_concrete_function(*signature).graph


@pytest.mark.parametrize("name", ["basic", "advanced", "callbacks"])
def test_matmul_flops_of_document_models_equal_the_profiler_count(name):
    spec = WORKLOADS[name].spec
    assert mlp_step_flops(spec, 32, "adam").matmul == profiler_matmul_flops(gradient_graph(spec, 32))


@settings(max_examples=6, deadline=None)
@given(
    input_dim=st.integers(1, 40),
    hidden=st.lists(st.integers(1, 48), min_size=1, max_size=3).map(tuple),
    batch_size=st.integers(1, 64),
    batch_norm=st.booleans(),
)
def test_matmul_flops_of_any_mlp_equal_the_profiler_count(input_dim, hidden, batch_size, batch_norm):
    spec = ModelSpec(input_dim, hidden, batch_norm=batch_norm, output_units=3, output_activation="linear")
    assert mlp_step_flops(spec, batch_size, "sgd").matmul == profiler_matmul_flops(
        gradient_graph(spec, batch_size)
    )


@pytest.mark.parametrize("name", ["basic", "advanced", "callbacks"])
def test_parameter_count_equals_the_models_trainable_weights(name):
    spec = WORKLOADS[name].spec
    trainable = sum(int(np.prod(v.shape)) for v in build_model(spec).trainable_variables)
    assert parameter_count(spec) == trainable


def test_optimizer_flops_are_twelve_per_parameter_for_adam_and_two_for_sgd():
    spec = WORKLOADS["basic"].spec
    assert mlp_step_flops(spec, 8, "adam").optimizer == 12 * parameter_count(spec)
    assert mlp_step_flops(spec, 8, "sgd").optimizer == 2 * parameter_count(spec)


def test_matmul_term_grows_linearly_with_batch_size():
    spec = WORKLOADS["callbacks"].spec
    assert mlp_step_flops(spec, 2048, "adam").matmul == 64 * mlp_step_flops(spec, 32, "adam").matmul


def test_quadratic_step_counts_seven_flops_per_coordinate():
    assert step_flops(WORKLOADS["quadratic"], None).total == 7 * 2


def test_square_matmul_flops_equal_the_profiler_count():
    a = tf.TensorSpec((96, 96))
    graph = tf.function(tf.matmul).get_concrete_function(a, a).graph
    assert matmul_flops(96) == profiler_matmul_flops(graph)


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda: mlp_step_flops(WORKLOADS["basic"].spec, 0, "adam"), "batch_size"),
        (lambda: mlp_step_flops(WORKLOADS["basic"].spec, 8, "lion"), "optimizer"),
        (lambda: matmul_flops(0), "n"),
    ],
    ids=["batch-size-zero", "unknown-optimizer", "matmul-size-zero"],
)
def test_bad_arguments_raise_value_error_naming_the_argument(call, argument):
    with pytest.raises(ValueError, match=f"Argument `{argument}`"):
        call()
