"""Floating-point operations of one training step, counted analytically.

For an MLP whose Dense layers map ``n_in -> n_out``, at batch size ``B``:

    forward   matmul  2 B n_in n_out          bias add  B n_out           (every layer)
    backward  dW      2 B n_in n_out          bias grad B n_out           (every layer)
              dX      2 B n_in n_out                                      (every layer but the first:
                                                                            nothing needs d loss / d input)
    optimizer k per parameter: Adam k = 12 (m: 3, v: 4, step: 5, from Keras's update rule),
              SGD without momentum k = 2

so ``matmul = 2 B (2 sum_l n_in n_out - n_in0 n_out0)`` (the usual "3x forward" minus the first
layer's input gradient). Activations, loss, dropout and batch normalization are O(B n_out) and
not counted: below 2% of the total for the benchmarked models. The matmul term equals what
TensorFlow's graph profiler counts for the MatMul ops of the gradient graph
(``tests/benchmarks/test_flops.py`` checks it).

The quadratic ``f(x) = sum((x - 2)^2)`` on ``x`` in R^d: forward 3d (subtract, square, sum),
gradient 2d (``2 (x - 2)``), SGD 2d: 7d.

A square ``n x n`` float32 matmul (the calibration): ``2 n^3``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from benchmarks.workloads import QUADRATIC_DIM, Workload
from reference.models import ModelSpec

__all__ = [
    "OPTIMIZER_FLOPS_PER_PARAM",
    "QUADRATIC_FLOPS_PER_DIM",
    "StepFlops",
    "dense_shapes",
    "matmul_flops",
    "mlp_step_flops",
    "parameter_count",
    "step_flops",
]

OPTIMIZER_FLOPS_PER_PARAM = {"adam": 12, "sgd": 2}
QUADRATIC_FLOPS_PER_DIM = 7


@dataclass(frozen=True)
class StepFlops:
    """The parts of one training step's FLOP count (``elementwise``: bias adds and bias gradients); ``total`` sums them."""

    matmul: int
    elementwise: int
    optimizer: int

    @property
    def total(self) -> int:
        return self.matmul + self.elementwise + self.optimizer


def dense_shapes(spec: ModelSpec) -> list[tuple[int, int]]:
    """``(n_in, n_out)`` of every Dense layer of ``spec``, input to output."""
    widths = [spec.input_dim, *spec.hidden, spec.output_units]
    return list(itertools.pairwise(widths))


def parameter_count(spec: ModelSpec) -> int:
    """Trainable parameters: Dense kernels and biases, plus gamma and beta of each batch norm."""
    dense = sum(n_in * n_out + n_out for n_in, n_out in dense_shapes(spec))
    return dense + (2 * sum(spec.hidden) if spec.batch_norm else 0)


def mlp_step_flops(spec: ModelSpec, batch_size: int, optimizer: str) -> StepFlops:
    """FLOPs of one training step of the MLP ``spec`` at ``batch_size`` (formula in the module docstring).

    Raises:
        ValueError: ``batch_size < 1`` or an optimizer without a known per-parameter count.
    """
    if batch_size < 1:
        raise ValueError(f"Argument `batch_size` must be >= 1. Received: batch_size={batch_size}")
    if optimizer not in OPTIMIZER_FLOPS_PER_PARAM:
        raise ValueError(
            f"Argument `optimizer` must be one of {sorted(OPTIMIZER_FLOPS_PER_PARAM)}. Received: optimizer={optimizer!r}"
        )
    shapes = dense_shapes(spec)
    macs = sum(n_in * n_out for n_in, n_out in shapes)
    first = shapes[0][0] * shapes[0][1]
    matmul = 2 * batch_size * (2 * macs + (macs - first))
    bias = 2 * batch_size * sum(n_out for _, n_out in shapes)
    return StepFlops(matmul, bias, OPTIMIZER_FLOPS_PER_PARAM[optimizer] * parameter_count(spec))


def step_flops(workload: Workload, batch_size: int | None) -> StepFlops:
    """FLOPs of one training step of ``workload`` (``batch_size`` is ignored for the quadratic)."""
    if workload.spec is None:
        forward_and_gradient = (QUADRATIC_FLOPS_PER_DIM - OPTIMIZER_FLOPS_PER_PARAM["sgd"]) * QUADRATIC_DIM
        return StepFlops(0, forward_and_gradient, OPTIMIZER_FLOPS_PER_PARAM["sgd"] * QUADRATIC_DIM)
    return mlp_step_flops(workload.spec, batch_size, workload.optimizer_name)


def matmul_flops(n: int) -> int:
    """FLOPs of an ``n x n`` by ``n x n`` matrix product: ``2 n^3``."""
    if n < 1:
        raise ValueError(f"Argument `n` must be >= 1. Received: n={n}")
    return 2 * n**3
