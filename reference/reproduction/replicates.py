"""What the sections share to train their demos once per seed and to measure overfitting.

- ``over_seeds``: run one seed's demo for every seed of the scale, in order; the section's
  numbers get ``seeds`` and ``per_seed`` (``reference.reproduction.ledger``).
- ``plain_training``: the document's plain loop (Adam, no clipping, no early stopping) in the
  scale's way (``Scale.loop``): ``train_trainer(fused=True)`` at full scale, the same updates as
  the document's eager loop from the same seed, dropout masks and batch order included
  (``tests/reference/test_training.py``; the training section checks it live), each epoch in one
  ``tf.function`` call. CPU per epoch of the monitored training (50 training and 13 validation
  batches), measured on this 2-core machine: the eager loop 1.0 s, ``fit`` 0.09 s, ``Trainer`` with
  a call per step 0.08 s, fused 0.028 s.
  ``fit`` draws other dropout masks from the same seed: the same rule with another random stream.
  ``train_eager`` at the quick scale, where tracing would cost more than the few steps.
- ``overfitting``: where the validation loss is lowest and how the validation - training loss
  gap moves after it; ``overfitting_effects``: the two effects that say a run overfits and its
  gap shows it (the basic loop's panel and the monitor's).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import keras
import numpy as np

from reference.loop import History
from reference.reproduction.ledger import PER_SEED, SEEDS, Effect, Numbers
from reference.reproduction.progress import Progress
from reference.reproduction.scale import Scale
from reference.training import TRAINING_WAYS

__all__ = [
    "GAP_EPOCHS",
    "RISE",
    "over_seeds",
    "overfitting",
    "overfitting_effects",
    "plain_training",
]

GAP_EPOCHS = 5  # epochs averaged at the end of a run
RISE = 0.01  # validation-loss rise after its minimum (nats) that counts as overfitting


def over_seeds(scale: Scale, progress: Progress, description: str, run: Callable[[int], dict]) -> dict:
    """``{"seeds": [s_1, ...], "per_seed": [run(s_1), ...]}`` over ``scale.seed_list``."""
    seeds = list(scale.seed_list)
    return {SEEDS: seeds, PER_SEED: [run(seed) for seed in progress.steps(seeds, f"{description}: seeds")]}


def plain_training(
    scale: Scale, callbacks: Sequence[keras.callbacks.Callback] = ()
) -> Callable[..., History]:
    """The document's plain loop in the scale's way: ``TRAINING_WAYS[scale.loop]`` without clipping,
    early stopping or restoring (``fused`` epochs for the ``Trainer``), with ``callbacks``; call it as
    ``train(model, split, epochs=..., batch_size=..., seed=...)``."""
    options = {"fused": True} if scale.fused else {}
    return functools.partial(
        TRAINING_WAYS[scale.loop],
        patience=None,
        restore_best=False,
        clip=None,
        callbacks=list(callbacks),
        **options,
    )


def overfitting(loss: Sequence[float], val_loss: Sequence[float], *, last: int = GAP_EPOCHS) -> dict:
    """Overfitting of one run, with the gap ``g_e = val_loss_e - loss_e``::

    best_epoch    = argmin_e val_loss_e
    val_loss_rise = val_loss_{-1} - val_loss_{best}          (>= 0)
    gap_at_best   = g_{best}
    gap_end       = mean of g over the last ``last`` epochs
    gap_widening  = gap_end - gap_at_best
    """
    loss, val_loss = np.asarray(loss, np.float64), np.asarray(val_loss, np.float64)
    gap = val_loss - loss
    best = int(np.argmin(val_loss))
    gap_end = float(np.mean(gap[-last:]))
    return {
        "best_epoch": best,
        "val_loss_rise": float(val_loss[-1] - val_loss[best]),
        "gap_at_best": float(gap[best]),
        "gap_end": gap_end,
        "gap_widening": gap_end - float(gap[best]),
    }


def overfitting_effects(run: Callable[[Numbers], Numbers], name: str) -> tuple[Effect, ...]:
    """A run overfits (its validation loss rises by more than ``RISE`` after its minimum) and its
    gap shows it (the validation - training gap is wider at the end than at the best epoch).

    ``run(seed numbers)`` is the dict of ``overfitting`` for the run called ``name``.
    """
    return (
        Effect(
            label=f"validation-loss rise from its minimum to the last epoch ({name})",
            unit="nats",
            measure=lambda n: run(n)["val_loss_rise"],
            reference=RISE,
        ),
        Effect(
            label=f"widening of the validation - training loss gap, last {GAP_EPOCHS} epochs vs the best epoch ({name})",
            unit="nats",
            measure=lambda n: run(n)["gap_widening"],
        ),
    )
