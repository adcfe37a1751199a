"""Execution modes of one training step, the ladder from slowest to fastest.

| mode | what runs per call | steps per call |
|---|---|---|
| ``eager`` | the Python step, op by op | 1 |
| ``function`` | ``tf.function(step)``: one graph call per step | 1 |
| ``xla`` | ``tf.function(step, jit_compile=True)`` | 1 |
| ``fit`` | Keras's own ``model.train_function`` (what ``model.fit`` calls per batch), fed by a repeating ``tf.data`` iterator on the host; compiled with Keras's default ``jit_compile="auto"`` (XLA on GPU, not on CPU) | 1 |
| ``fused`` | ``tf.function`` running ``n`` steps in a ``tf.range`` loop on the same batch | n |
| ``fused_xla`` | the same loop with ``jit_compile=True`` | n |

The ladder itself (``MODES``) is defined in ``benchmarks.results.cases``, where the readers of
result files sort by it without TensorFlow.

Every mode shares one step: forward pass in training mode, loss, ``GradientTape`` gradients,
``optimizer.apply``. ``fit`` uses Keras's ``train_step`` instead, which also updates the loss
tracker: that bookkeeping is part of what ``fit`` costs. Its callbacks and progress bar are not.

Tracing is separated from execution: graph modes are traced by ``get_concrete_function`` when the
runner is built (``trace_s``); the first call (``XLA`` compilation, graph optimization) is timed by
the caller. ``fit`` traces inside its first call. ``fused_xla`` compiles once per distinct ``n``:
XLA takes the loop's trip count as a compile-time constant (measured: a new ``n`` costs a full
compile again, 0.6-1.9 s on a 2-core CPU), so a caller keeps ``n`` fixed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import tensorflow as tf

from benchmarks.results.cases import MODES
from benchmarks.workloads import WORKLOADS, Problem, Workload

__all__ = [
    "FUSED_MODES",
    "JIT_MODES",
    "MODES",
    "Runner",
    "build_runner",
    "modes_for",
    "train_step",
    "training_matrix",
]

JIT_MODES = frozenset({"xla", "fused_xla"})
FUSED_MODES = frozenset({"fused", "fused_xla"})


def modes_for(problem_has_model: bool) -> tuple[str, ...]:
    """The modes a workload can run: ``fit`` needs a Keras model."""
    return MODES if problem_has_model else tuple(m for m in MODES if m != "fit")


def training_matrix(batch_sizes: tuple[int, ...]) -> list[tuple[Workload, int | None, str]]:
    """Every ``(workload, batch size, mode)`` of the benchmark matrix at the MLP ``batch_sizes``.

    Workloads without data (the quadratic) take their own batch sizes (``(None,)``); ``fit`` only
    where there is a Keras model. Order: workloads, batch sizes, the mode ladder.
    """
    return [
        (workload, batch, mode)
        for workload in WORKLOADS.values()
        for batch in (batch_sizes if workload.has_model else workload.batch_sizes)
        for mode in modes_for(workload.has_model)
    ]


def train_step(problem: Problem) -> Callable[[tf.Tensor, tf.Tensor], tf.Tensor]:
    """One optimization step of ``problem``: loss = L(model(x), y); theta <- optimizer(theta, dL/dtheta)."""

    def step(x, y):
        with tf.GradientTape() as tape:
            loss = problem.loss_fn(x, y)
        grads = tape.gradient(loss, problem.variables)
        problem.optimizer.apply(grads, problem.variables)
        return loss

    return step


@dataclass
class Runner:
    """A training step in one mode, ready to call.

    ``run(n)`` performs ``n`` steps (``n > 1`` only for fused modes) and returns the last loss as a
    device tensor; ``timed(n)`` is the benchmark target: the same, ending with a host copy of the
    loss so asynchronous device work is inside the timing.
    """

    mode: str
    fn: Callable
    fused: bool
    trace_s: float | None
    jit_compile: bool
    reset: Callable[[], None] = lambda: None

    def run(self, steps: int = 1) -> tf.Tensor:
        if self.fused:
            return self.fn(tf.constant(steps, tf.int32))
        if steps != 1:
            raise ValueError(f"Argument `steps` must be 1 for mode {self.mode!r}. Received: steps={steps}")
        return self.fn()

    def timed(self, steps: int = 1) -> Callable[[], float]:
        if self.fused:
            n = tf.constant(steps, tf.int32)
            return lambda: float(self.fn(n).numpy())
        if steps != 1:
            raise ValueError(f"Argument `steps` must be 1 for mode {self.mode!r}. Received: steps={steps}")
        return lambda: float(self.fn().numpy())


def _traced(function, *args) -> float:
    start = time.perf_counter()
    function.get_concrete_function(*args)
    return time.perf_counter() - start


def _graph_runner(mode: str, problem: Problem, jit: bool) -> Runner:
    step = tf.function(train_step(problem), jit_compile=jit)
    x, y = problem.x, problem.y
    trace_s = _traced(step, x, y)
    return Runner(mode, lambda: step(x, y), False, trace_s, jit)


def _fused_runner(mode: str, problem: Problem, jit: bool) -> Runner:
    step = train_step(problem)

    def fused(x, y, n):
        loss = tf.zeros([], tf.float32)
        for _ in tf.range(n):
            loss = step(x, y)
        return loss

    fused = tf.function(fused, jit_compile=jit)
    x, y = problem.x, problem.y
    trace_s = _traced(fused, x, y, tf.constant(1, tf.int32))
    return Runner(mode, lambda n: fused(x, y, n), True, trace_s, jit)


def _fit_runner(problem: Problem) -> Runner:
    model = problem.model
    model.compile(optimizer=problem.optimizer, loss=problem.loss_object)
    model.make_train_function()
    with tf.device("/CPU:0"):  # as in fit: the input pipeline lives on the host
        iterator = iter(tf.data.Dataset.from_tensors((problem.x, problem.y)).repeat())
    return Runner(
        "fit",
        lambda: model.train_function(iterator)["loss"],
        False,
        None,
        bool(model.jit_compile),
        reset=model.reset_metrics,
    )


def build_runner(mode: str, problem: Problem) -> Runner:
    """A ``Runner`` of ``problem``'s training step in ``mode`` (a name from ``MODES``).

    Build it under the same ``tf.device`` scope as the problem and call it there.

    Raises:
        ValueError: unknown mode, or ``fit`` for a workload without a Keras model.
    """
    if mode not in MODES:
        raise ValueError(f"Argument `mode` must be one of {MODES}. Received: mode={mode!r}")
    if mode == "eager":
        step = train_step(problem)
        return Runner("eager", lambda: step(problem.x, problem.y), False, 0.0, False)
    if mode == "fit":
        if problem.model is None:
            raise ValueError(
                f"Argument `mode` cannot be 'fit' for workload {problem.workload.name!r}: it has no Keras "
                "model. Received: mode='fit'"
            )
        return _fit_runner(problem)
    if mode in FUSED_MODES:
        return _fused_runner(mode, problem, mode in JIT_MODES)
    return _graph_runner(mode, problem, mode in JIT_MODES)
