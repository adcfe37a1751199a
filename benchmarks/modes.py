"""Execution modes of one training step, the ladder from slowest to fastest.

| mode | what runs per call | steps per call |
|---|---|---|
| ``eager`` | the Python step, op by op | 1 |
| ``function`` | ``tf.function(step)``: one graph call per step | 1 |
| ``xla`` | ``tf.function(step, jit_compile=True)`` | 1 |
| ``fit`` | Keras's own ``model.train_function`` (what ``model.fit`` calls per batch), fed by a repeating ``tf.data`` iterator on the host; compiled with Keras's default ``jit_compile="auto"`` (XLA on GPU, not on CPU) | 1 |
| ``fit_xla`` | the same, compiled with ``jit_compile=True`` | 1 |
| ``fit_spe8``, ``fit_spe32`` | the same, compiled with ``steps_per_execution=k``: ``k`` batches from the iterator per call | k |
| ``trainer`` | ``reference.Trainer``'s step on the next batch of an iterator, as ``Trainer.train`` runs it | 1 |
| ``trainer_spe32`` | ``Trainer(steps_per_execution=32)``'s call (``train_steps(iterator, 32)``, as ``Trainer.train`` calls it on a data set of known size): 32 batches drawn inside one ``tf.function`` | 32 |
| ``fused`` | ``tf.function`` running ``n`` steps in a ``tf.range`` loop on the same batch | n |
| ``fused_xla`` | the same loop with ``jit_compile=True`` | n |
| ``fit_mixed``, ``fused_mixed`` | the mode with the device's mixed-precision policy (``benchmarks.precision``) | as the mode |

The ladder itself (``MODES``, each name parsed into a ``Mode``) is defined in
``benchmarks.results.cases``, where the readers of result files sort by it without TensorFlow.

Every mode shares one step: forward pass in training mode, loss, ``GradientTape`` gradients,
``optimizer.apply``. ``fit`` uses Keras's ``train_step`` instead, which also updates the loss
tracker: that bookkeeping is part of what ``fit`` costs. Its callbacks and progress bar are not.
The ``Trainer`` is built without clipping and early stopping (the workloads' optimizers clip
where the document clips), so its step is the same update; it also tracks its loss, accuracy and
gradient norm, as it does when it trains.

A ``k``-step mode (``fit_spe*``, ``trainer*``) cycles through ``k`` different batches
(``Problem.batches(k)``): the first call trains on each of them once, which is what the mode
check compares with ``k`` eager steps. The loss a call returns is ``fit``'s running mean over the
call's steps (``Runner.reports_mean_loss``), or the last step's for the others.

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

from benchmarks.results.cases import MODE_SPECS, MODES, Mode
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
    "training_matrix_of",
]

JIT_MODES = frozenset(m.name for m in MODE_SPECS.values() if m.jit and m.family != "fit")
FUSED_MODES = frozenset(m.name for m in MODE_SPECS.values() if m.family == "fused")
# The modes of the original six-mode ladder; the others (the knobs users turn: fit with XLA and steps per
# execution, the Trainer, mixed precision) run on ``knob_workloads`` only in the smoke pass.
CORE_MODES = ("eager", "function", "xla", "fit", "fused", "fused_xla")


def modes_for(problem_has_model: bool, *, mixed: bool = True) -> tuple[str, ...]:
    """The modes a workload can run: ``fit`` and the ``Trainer`` need a Keras model; ``mixed=False``
    leaves the ``_mixed`` modes out."""
    return tuple(
        name
        for name, mode in MODE_SPECS.items()
        if (problem_has_model or not mode.needs_model) and (mixed or not mode.mixed)
    )


def training_matrix(
    batch_sizes: tuple[int, ...], *, mixed: bool = True, knob_workloads: tuple[str, ...] | None = None
) -> list[tuple[Workload, int | None, str]]:
    """Every ``(workload, batch size, mode)`` of the benchmark matrix at the MLP ``batch_sizes``.

    Workloads without data (the quadratic) take their own batch sizes (``(None,)``); ``fit`` and the
    ``Trainer`` only where there is a Keras model; ``_mixed`` modes only with ``mixed``; modes outside
    ``CORE_MODES`` only for the workloads in ``knob_workloads`` (``None``: every workload). Order:
    workloads, batch sizes, the mode ladder.
    """
    return [
        (workload, batch, mode)
        for workload in WORKLOADS.values()
        for batch in (batch_sizes if workload.has_model else workload.batch_sizes)
        for mode in modes_for(workload.has_model, mixed=mixed)
        if mode in CORE_MODES or knob_workloads is None or workload.name in knob_workloads
    ]


def training_matrix_of(settings) -> list[tuple[Workload, int | None, str]]:
    """The training cases a ``benchmarks.settings.Settings`` times: its batch sizes, its knob
    workloads, and the ``_mixed`` modes unless its precision is ``float32``. The pytest suite and
    ``tfbench-ab``'s worker both take their matrix from here, so a case label means the same in both."""
    return training_matrix(
        settings.batch_sizes, mixed=settings.mixed_policy != "float32", knob_workloads=settings.knob_workloads
    )


def train_step(problem: Problem) -> Callable[[tf.Tensor, tf.Tensor], tf.Tensor]:
    """One optimization step of ``problem``: loss = L(model(x), y); theta <- optimizer(theta, dL/dtheta)."""

    def step(x, y):
        with tf.GradientTape() as tape:
            loss = problem.loss_fn(x, y)
            scaled = problem.optimizer.scale_loss(loss)  # the loss itself unless a LossScaleOptimizer
        grads = tape.gradient(scaled, problem.variables)
        problem.optimizer.apply(grads, problem.variables)
        return loss

    return step


@dataclass
class Runner:
    """A training step in one mode, ready to call.

    ``run()`` performs one call and returns its loss as a device tensor: ``steps_per_call`` steps, or
    ``n`` steps for a fused mode (``run(n)``, default 1); ``timed(steps)`` is the benchmark target:
    the same, ending with a host copy of the loss so asynchronous device work is inside the timing.
    ``reset()`` puts the runner back at its first batch with fresh metrics.
    """

    mode: str
    fn: Callable
    fused: bool
    trace_s: float | None
    jit_compile: bool
    reset: Callable[[], None] = lambda: None
    steps_per_call: int = 1
    reports_mean_loss: bool = False

    def _call(self, steps: int | None) -> Callable[[], tf.Tensor]:
        if self.fused:
            n = tf.constant(1 if steps is None else steps, tf.int32)
            return lambda: self.fn(n)
        if steps not in (None, self.steps_per_call):
            raise ValueError(
                f"Argument `steps` must be {self.steps_per_call} for mode {self.mode!r}. Received: steps={steps}"
            )
        return self.fn

    def run(self, steps: int | None = None) -> tf.Tensor:
        return self._call(steps)()

    def timed(self, steps: int | None = None) -> Callable[[], float]:
        call = self._call(steps)
        return lambda: float(call().numpy())


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


def _host_iterator(problem: Problem, steps: int):
    """A repeating iterator over ``problem.batches(steps)`` (the batch itself for one step), on the host as in ``fit``.

    Without tf.data's autotuning: its background thread made the iterator's destructor wait, up to a
    minute under load (measured: ``RootDataset::Iterator::~Iterator`` waiting on that thread), when a
    case was freed; the elements are in memory, so nothing is left to tune.
    """
    options = tf.data.Options()
    options.autotune.enabled = False
    with tf.device("/CPU:0"):
        if steps == 1:
            dataset = tf.data.Dataset.from_tensors((problem.x, problem.y))
        else:
            dataset = tf.data.Dataset.from_tensor_slices(problem.batches(steps))
        return iter(dataset.repeat().with_options(options))


def _fit_runner(mode: Mode, problem: Problem) -> Runner:
    model = problem.model
    model.compile(
        optimizer=problem.optimizer,
        loss=problem.loss_object,
        steps_per_execution=mode.steps_per_execution,
        jit_compile=True if mode.jit else "auto",
    )
    model.make_train_function()
    k = mode.steps_per_execution
    state = {"iterator": _host_iterator(problem, k)}

    def reset():
        model.reset_metrics()
        state["iterator"] = _host_iterator(problem, k)

    return Runner(
        mode.name,
        lambda: model.train_function(state["iterator"])["loss"],
        False,
        None,
        bool(model.jit_compile),
        reset=reset,
        steps_per_call=k,
        reports_mean_loss=True,
    )


def _trainer_runner(mode: Mode, problem: Problem) -> Runner:
    # Imported here: the reference package needs matplotlib, which an A/B worker's environment may lack.
    from reference.trainer import Trainer

    k = mode.steps_per_execution
    trainer = Trainer(
        problem.model,
        problem.optimizer,
        problem.loss_object,
        clip=None,
        patience=None,
        restore_best=False,
        steps_per_execution=k,
    )
    state = {"iterator": _host_iterator(problem, k)}

    def reset():
        trainer.reset_metrics()
        state["iterator"] = _host_iterator(problem, k)

    if k == 1:
        call = lambda: trainer.train_step(*next(state["iterator"]))  # noqa: E731
        trace_s = _traced(trainer.train_step, problem.x, problem.y)
    else:
        count = tf.constant(k)
        call = lambda: trainer.train_steps(state["iterator"], count)  # noqa: E731
        trace_s = _traced(trainer.train_steps, state["iterator"], count)
    return Runner(mode.name, call, False, trace_s, False, reset=reset, steps_per_call=k)


def build_runner(mode: str, problem: Problem) -> Runner:
    """A ``Runner`` of ``problem``'s training step in ``mode`` (a name from ``MODES``).

    Build it under the same ``tf.device`` scope as the problem and call it there. A ``_mixed`` mode
    runs a problem built with a mixed policy (``build_problem(..., dtype_policy=...)``); the mode
    only names the precision, the problem carries it.

    Raises:
        ValueError: unknown mode, or ``fit`` or ``trainer`` modes for a workload without a Keras model.
    """
    if mode not in MODES:
        raise ValueError(f"Argument `mode` must be one of {MODES}. Received: mode={mode!r}")
    spec = MODE_SPECS[mode]
    if spec.needs_model and problem.model is None:
        raise ValueError(
            f"Argument `mode` cannot be {mode!r} for workload {problem.workload.name!r}: it has no Keras "
            f"model. Received: mode={mode!r}"
        )
    if spec.family == "eager":
        step = train_step(problem)
        return Runner("eager", lambda: step(problem.x, problem.y), False, 0.0, False)
    if spec.family == "fit":
        return _fit_runner(spec, problem)
    if spec.family == "trainer":
        return _trainer_runner(spec, problem)
    if spec.family == "fused":
        return _fused_runner(mode, problem, spec.jit)
    return _graph_runner(mode, problem, spec.jit)
