"""The document's ``WarmupCosineDecay``, kept as written to show its defects on TensorFlow 2.21.

Verbatim apart from the imports and the class name (``DocumentWarmupCosineDecay``, also in its
``super()`` call). Formula, with ``w = warmup_steps`` and ``T = total_steps``:

    step < w:  initial * step / w
    else:      min + (initial - min) * 0.5 * (1 + cos(pi * (step - w) / (T - w)))

Its defects (KERAS3_NOTES.md): D2, an optimizer's int64 ``iterations`` makes
``initial_learning_rate * step`` fail; D3, no clamp, so after ``total_steps`` the cosine climbs
back (step 1500 of 1000 equals step 500); D4, no ``get_config``, so a model whose optimizer uses
it cannot be saved; D17, during warmup a Python int step returns a Python float (``tf.cond``
passes it through), so the document's own plot loop ``schedule(step).numpy()`` fails at step 0.
It is deliberately NOT registered as Keras-serializable. Use
``reference.schedules.WarmupCosineDecay`` instead.
"""

import numpy as np
import tensorflow as tf


# fmt: off
class DocumentWarmupCosineDecay(tf.keras.optimizers.schedules.LearningRateSchedule):
    def __init__(self, warmup_steps, total_steps, initial_learning_rate, min_learning_rate=0.0):
        super(DocumentWarmupCosineDecay, self).__init__()  # noqa: UP008
        self.warmup_steps = warmup_steps
        self.total_steps = total_steps
        self.initial_learning_rate = initial_learning_rate
        self.min_learning_rate = min_learning_rate

    def __call__(self, step):
        # Warmup阶段
        warmup_lr = self.initial_learning_rate * step / self.warmup_steps

        # 余弦衰减阶段
        cosine_lr = self.min_learning_rate + (self.initial_learning_rate - self.min_learning_rate) * \
                   0.5 * (1 + tf.cos(tf.constant(np.pi) * (step - self.warmup_steps) / (self.total_steps - self.warmup_steps)))

        return tf.cond(step < self.warmup_steps, lambda: warmup_lr, lambda: cosine_lr)
# fmt: on
