"""Correctness gate before timing: one call in a mode must match the same eager steps.

From the same state (weights, optimizer slots, RNG seeds) and the same batches, the mode's first
call (one step, or the ``k`` steps of a ``k``-step mode on its ``k`` batches) must give the loss the
eager steps give (the last step's loss; the mean over the ``k`` steps for ``fit``, whose loss is a
running mean), and move the weights by the eager steps' update:

    loss_rel_err   = |loss_mode - loss_eager| / max(|loss_eager|, tiny)
    update_rel_err = ||dW_mode - dW_eager||_2 / max(||dW_eager||_2, tiny),   dW = W_after - W_before

over every weight (kernels, biases, batch-norm gamma/beta and moving statistics). The loss is
computed before the update, so only the update catches a wrong learning rate or optimizer.
The update is compared as a whole (a norm), not element by element: with Adam, a gradient that
rounds to +1e-9 in one mode and -1e-9 in another flips a single weight's first step by 2*lr,
which is harmless and expected when XLA or oneDNN reorder sums.

Dropout: XLA lowers TensorFlow's stateless RNG with another algorithm than TF's kernels, so
from identical seeds an XLA step draws another dropout mask (measured on ``basic``, batch 32:
loss 0.6445 under XLA against 0.6670 eager). No tolerance can compare different masks, so an
XLA-compiled runner (``xla``, ``fused_xla``, and ``fit`` where Keras turns XLA on, i.e. on GPU)
of a workload with dropout is checked on its twin without dropout layers (same spec otherwise,
``ModelSpec.without_dropout``), built and compiled by the same mode code; the benchmark then
times the real workload. Non-XLA modes draw the same masks as eager (measured: equal losses),
so they are checked on the real workload, dropout included. ``check_case`` makes that choice
(a problem already built without dropout, as the smoke pass builds XLA cases, is its own twin).

The ``k`` eager steps of a ``k``-step mode cost ``k`` op-by-op steps (20-30 ms each for the MLPs
on a 2-core CPU); ``references``, a dict the caller keeps, memoizes them per workload, batch
size, ``k``, policy, dropout, seed and device, so ``fit_spe32`` and ``trainer_spe32`` share them.

Mixed precision: a ``_mixed`` mode is checked against eager steps under the same policy (same
model, same 16-bit compute), with its own tolerances (``MIXED_*``): graph rewrites (oneDNN's
fusions, the order of sums) round bfloat16 intermediates differently from eager op-by-op
execution, and bfloat16 keeps 8 bits of mantissa (relative spacing 2^-8 = 3.9e-3).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import tensorflow as tf

from benchmarks.modes import Runner, build_runner, train_step
from benchmarks.workloads import Problem, Workload, build_problem

__all__ = [
    "GPU_MODE_LOSS_RTOL",
    "MIXED_LOSS_RTOL",
    "MIXED_UPDATE_RTOL",
    "MODE_LOSS_RTOL",
    "MODE_UPDATE_RTOL",
    "ModeCheck",
    "check_case",
    "check_mode",
    "tolerances",
]

# How far one step in a mode may be from the eager step (relative; formulas above). Measured on CPU
# (TF 2.21, oneDNN on) over every workload, batch size and mode, 2-6 seeds each:
# largest loss_rel_err 1.3e-7, largest update_rel_err 9.7e-3 (advanced, batch 2048, XLA: the Dense
# biases before batch norm have a gradient that is zero up to rounding, and Adam turns that noise
# into steps of up to lr; every other case stayed below 4e-5). A learning rate off by 10% gives
# update_rel_err 0.1, so the gate catches learning-rate errors of 5% and more.
MODE_LOSS_RTOL = 1e-5
MODE_UPDATE_RTOL = 5e-2
# Not measured yet (no GPU on the machine that set these): TF32 matmuls on recent NVIDIA GPUs
# round products to a 10-bit mantissa (about 1e-3 relative), so the loss tolerance is widened.
GPU_MODE_LOSS_RTOL = 1e-3
# Mixed precision (mixed_bfloat16, CPU with AMX/AVX512_BF16, TF 2.21) against eager steps under the same
# policy, measured over fit_mixed, fused_mixed and fit with 32 steps per call in mixed_bfloat16, x every MLP x
# batch 32/256/2048 x 3 seeds: largest loss_rel_err 2.2e-3 (advanced, batch 32), largest update_rel_err 7.8e-2
# (callbacks, the 32-step fit: 32 Adam steps whose near-zero bfloat16 gradients flip signs). The update tolerance still catches a learning
# rate off by 20% or more (update_rel_err >= 0.2 plus that noise), not one off by 5%.
MIXED_LOSS_RTOL = 1e-2
MIXED_UPDATE_RTOL = 0.15
_TINY = 1e-30


def tolerances(device_kind: str, dtype_policy: str = "float32") -> tuple[float, float]:
    """``(loss_rtol, update_rtol)`` for a device kind (``"CPU"`` or ``"GPU"``) and a dtype policy."""
    if dtype_policy != "float32":
        return MIXED_LOSS_RTOL, MIXED_UPDATE_RTOL
    return (GPU_MODE_LOSS_RTOL if device_kind == "GPU" else MODE_LOSS_RTOL), MODE_UPDATE_RTOL


@dataclass(frozen=True)
class ModeCheck:
    """The outcome of ``check_mode``; ``as_dict()`` goes into the benchmark's extra_info."""

    mode: str
    loss: float
    reference_loss: float
    loss_rel_err: float
    update_rel_err: float
    loss_rtol: float
    update_rtol: float
    on_dropout_free_twin: bool
    steps: int = 1
    dtype_policy: str = "float32"

    @property
    def passed(self) -> bool:
        finite = np.isfinite(self.loss_rel_err) and np.isfinite(self.update_rel_err)
        return bool(
            finite and self.loss_rel_err <= self.loss_rtol and self.update_rel_err <= self.update_rtol
        )

    def message(self) -> str:
        steps = "step" if self.steps == 1 else f"{self.steps} steps"
        return (
            f"mode {self.mode!r} ({self.dtype_policy}) disagrees with the eager {steps}: loss {self.loss!r} vs {self.reference_loss!r} "
            f"(rel. err {self.loss_rel_err:.3g}, tolerance {self.loss_rtol:g}); weight update rel. err "
            f"{self.update_rel_err:.3g} (tolerance {self.update_rtol:g})"
        )

    def as_dict(self) -> dict:
        return asdict(self)


def _weights(problem: Problem) -> list[np.ndarray]:
    return [np.asarray(w.numpy(), dtype=np.float64) for w in problem.weights]


def _update_norm_diff(before, after_a, after_b) -> tuple[float, float]:
    diff = sum(
        float(np.sum(((a - w) - (b - w)) ** 2)) for w, a, b in zip(before, after_a, after_b, strict=True)
    )
    ref = sum(float(np.sum((b - w) ** 2)) for w, b in zip(before, after_b, strict=True))
    return float(np.sqrt(diff)), float(np.sqrt(ref))


def _eager_losses(problem: Problem, steps: int) -> list[float]:
    """The losses of ``steps`` eager steps: on the problem's batch, or on ``problem.batches(steps)``."""
    step = train_step(problem)
    if steps == 1:
        return [float(step(problem.x, problem.y).numpy())]
    xs, ys = problem.batches(steps)
    return [float(step(tf.constant(x), tf.constant(y)).numpy()) for x, y in zip(xs, ys, strict=True)]


def _reference_key(problem: Problem, steps: int) -> tuple:
    return (
        problem.workload.name,
        problem.batch_size,
        steps,
        problem.dtype_policy,
        problem.dropout,
        problem.seed,
        problem.x.device,
    )


def check_mode(
    problem: Problem,
    runner: Runner,
    *,
    on_dropout_free_twin: bool = False,
    loss_rtol: float = MODE_LOSS_RTOL,
    update_rtol: float = MODE_UPDATE_RTOL,
    references: dict | None = None,
) -> ModeCheck:
    """Compare one call of ``runner`` with as many eager steps of ``problem`` from the same state.

    The problem's state is restored afterwards, so the caller can go on from the initial state.

    Args:
        problem: the problem the runner was built on (same variables).
        runner: the mode under test; its first call happens here.
        on_dropout_free_twin: recorded in the result (the problem is the twin without dropout).
        loss_rtol, update_rtol: the tolerances (defaults ``MODE_LOSS_RTOL``, ``MODE_UPDATE_RTOL``).
        references: memo of the eager steps of ``k``-step modes (module docstring), or None.
    """
    initial = problem.snapshot()
    before = _weights(problem)
    steps = runner.steps_per_call
    key = _reference_key(problem, steps)
    if references is not None and key in references:
        losses, reference = references[key]
    else:
        losses = _eager_losses(problem, steps)
        reference = _weights(problem)
        if references is not None and steps > 1:
            references[key] = (losses, reference)
    reference_loss = float(np.mean(losses)) if runner.reports_mean_loss else losses[-1]
    problem.restore(initial)
    runner.reset()
    loss = float(runner.run().numpy())
    after = _weights(problem)
    problem.restore(initial)
    runner.reset()
    diff, ref = _update_norm_diff(before, after, reference)
    return ModeCheck(
        mode=runner.mode,
        loss=loss,
        reference_loss=reference_loss,
        loss_rel_err=abs(loss - reference_loss) / max(abs(reference_loss), _TINY),
        update_rel_err=diff / max(ref, _TINY),
        loss_rtol=loss_rtol,
        update_rtol=update_rtol,
        on_dropout_free_twin=on_dropout_free_twin,
        steps=steps,
        dtype_policy=problem.dtype_policy,
    )


def check_case(
    workload: Workload,
    batch_size: int | None,
    mode: str,
    problem: Problem,
    runner: Runner,
    *,
    device_kind: str,
    seed: int,
    references: dict | None = None,
) -> ModeCheck:
    """Check ``runner`` (``mode`` on ``problem``) with the device kind's tolerances.

    An XLA-compiled runner of a workload with dropout is checked on the dropout-free twin (built
    here from ``seed``, under the caller's ``tf.device`` scope); any other runner on ``problem``
    itself (module docstring).
    """
    loss_rtol, update_rtol = tolerances(device_kind, problem.dtype_policy)
    if runner.jit_compile and workload.has_dropout and problem.dropout:
        twin = build_problem(
            workload, batch_size, seed=seed, dropout=False, dtype_policy=problem.dtype_policy
        )
        return check_mode(
            twin,
            build_runner(mode, twin),
            on_dropout_free_twin=True,
            loss_rtol=loss_rtol,
            update_rtol=update_rtol,
            references=references,
        )
    return check_mode(
        problem,
        runner,
        on_dropout_free_twin=workload.has_dropout and not problem.dropout,
        loss_rtol=loss_rtol,
        update_rtol=update_rtol,
        references=references,
    )
