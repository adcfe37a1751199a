"""Closed forms of the learning-rate schedules in NumPy (float64), from their definitions.

Every function takes an array of steps ``s`` and returns the rate at each step:

    exponential:    lr0 * rate^(s / d)            staircase: lr0 * rate^floor(s / d)
    polynomial:     (lr0 - end) * (1 - min(s, d) / d)^power + end
    piecewise:      values[0] for s <= b_0, values[i + 1] for b_i < s <= b_{i+1}, values[-1] after
    cosine:         lr0 * ((1 - alpha) * (1 + cos(pi * min(s, d) / d)) / 2 + alpha)
    warmup_cosine:  initial * s / w for s < w; then
                    min + (initial - min) * (1 + cos(pi * min((s - w) / (T - w), 1))) / 2
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def exponential(
    steps: np.ndarray, initial: float, decay_steps: int, decay_rate: float, staircase: bool = False
) -> np.ndarray:
    exponent = np.asarray(steps, dtype=np.float64) / decay_steps
    if staircase:
        exponent = np.floor(exponent)
    return initial * decay_rate**exponent


def polynomial(
    steps: np.ndarray, initial: float, decay_steps: int, end: float, power: float = 1.0
) -> np.ndarray:
    s = np.minimum(np.asarray(steps, dtype=np.float64), decay_steps)
    return (initial - end) * (1.0 - s / decay_steps) ** power + end


def piecewise(steps: np.ndarray, boundaries: Sequence[float], values: Sequence[float]) -> np.ndarray:
    steps = np.asarray(steps, dtype=np.float64)
    result = np.full(steps.shape, float(values[-1]))
    # Walk the intervals from the last to the first so the earliest matching one wins.
    for boundary, value in reversed(list(zip(boundaries, values[:-1], strict=True))):
        result = np.where(steps <= boundary, float(value), result)
    return result


def cosine(steps: np.ndarray, initial: float, decay_steps: int, alpha: float = 0.0) -> np.ndarray:
    s = np.minimum(np.asarray(steps, dtype=np.float64), decay_steps)
    return initial * ((1.0 - alpha) * 0.5 * (1.0 + np.cos(np.pi * s / decay_steps)) + alpha)


def warmup_cosine(
    steps: np.ndarray, warmup_steps: int, total_steps: int, initial: float, minimum: float = 0.0
) -> np.ndarray:
    s = np.asarray(steps, dtype=np.float64)
    progress = np.clip((s - warmup_steps) / (total_steps - warmup_steps), 0.0, 1.0)
    decay = minimum + (initial - minimum) * 0.5 * (1.0 + np.cos(np.pi * progress))
    warmup = initial * s / max(warmup_steps, 1)
    return np.where(s < warmup_steps, warmup, decay)
