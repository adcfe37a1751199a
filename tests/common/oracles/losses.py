"""Loss oracles in float64, from the formulas.

Keras's clipping convention: probabilities are clipped to ``[eps, 1 - eps]`` with
``eps = 1e-7``, and the clip happens in the input's dtype. For float32 inputs the bounds
are therefore ``float32(1e-7)`` and ``float32(1 - 1e-7)`` (= 1 - 1.19e-7, not 1 - 1e-7: the
difference moves log(1 - p) at the upper bound from -16.12 to -15.94). Pass
``dtype=np.float32`` to use those bounds. Every function averages over the last axis.
"""

from __future__ import annotations

import numpy as np

EPSILON = 1e-7


def _clip_bounds(dtype) -> tuple[float, float]:
    return float(dtype(EPSILON)), float(dtype(1.0 - EPSILON))


def _f64(*arrays):
    return [np.asarray(a, dtype=np.float64) for a in arrays]


def sigmoid(z):
    z = np.asarray(z, dtype=np.float64)
    return np.where(z >= 0, 1.0 / (1.0 + np.exp(-np.abs(z))), np.exp(-np.abs(z)) / (1.0 + np.exp(-np.abs(z))))


def log_softmax(z):
    z = np.asarray(z, dtype=np.float64)
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def bce_elementwise(y, p, dtype=np.float32):
    """-(y log p + (1 - y) log(1 - p)) with p clipped to Keras's bounds."""
    lo, hi = _clip_bounds(dtype)
    y, p = _f64(y, p)
    p = np.clip(p, lo, hi)
    return -(y * np.log(p) + (1.0 - y) * np.log(1.0 - p))


def bce_logits_elementwise(y, z):
    """max(z, 0) - z y + log(1 + exp(-|z|)): the exact BCE of sigmoid(z)."""
    y, z = _f64(y, z)
    return np.maximum(z, 0.0) - z * y + np.log1p(np.exp(-np.abs(z)))


def binary_crossentropy(y, p, dtype=np.float32):
    return bce_elementwise(y, p, dtype).mean(axis=-1)


def binary_crossentropy_from_logits(y, z):
    return bce_logits_elementwise(y, z).mean(axis=-1)


def categorical_crossentropy(y, p, dtype=np.float32):
    """-sum(y log q), q = p / sum(p) clipped to Keras's bounds."""
    lo, hi = _clip_bounds(dtype)
    y, p = _f64(y, p)
    q = np.clip(p / p.sum(axis=-1, keepdims=True), lo, hi)
    return -(y * np.log(q)).sum(axis=-1)


def categorical_crossentropy_from_logits(y, z):
    y, z = _f64(y, z)
    return -(y * log_softmax(z)).sum(axis=-1)


def one_hot(labels, n_classes: int):
    return np.eye(n_classes, dtype=np.float64)[np.asarray(labels, dtype=np.int64)]


def sparse_categorical_crossentropy(labels, p, dtype=np.float32):
    """-log(c[label] / sum(c)), c = p clipped to Keras's bounds.

    Keras's sparse CE on probabilities clips BEFORE it normalizes (it feeds log(clip(p)) to a
    softmax CE), while the categorical CE normalizes before it clips: the two agree only on
    rows that sum to 1 with every entry inside the bounds.
    """
    lo, hi = _clip_bounds(dtype)
    clipped = np.clip(np.asarray(p, dtype=np.float64), lo, hi)
    return -(one_hot(labels, np.shape(p)[-1]) * np.log(clipped / clipped.sum(axis=-1, keepdims=True))).sum(-1)


def sparse_categorical_crossentropy_from_logits(labels, z):
    return categorical_crossentropy_from_logits(one_hot(labels, np.shape(z)[-1]), z)


def mean_squared_error(y, y_hat):
    y, y_hat = _f64(y, y_hat)
    return ((y - y_hat) ** 2).mean(axis=-1)


def mean_absolute_error(y, y_hat):
    y, y_hat = _f64(y, y_hat)
    return np.abs(y - y_hat).mean(axis=-1)


def huber(y, y_hat, delta: float = 1.0):
    """0.5 e^2 where |e| <= delta, else delta |e| - 0.5 delta^2."""
    y, y_hat = _f64(y, y_hat)
    e = np.abs(y_hat - y)
    return np.where(e <= delta, 0.5 * e**2, delta * e - 0.5 * delta**2).mean(axis=-1)


def mean_squared_logarithmic_error(y, y_hat):
    """mean((log(max(y_hat, 1e-7) + 1) - log(max(y, 1e-7) + 1))^2)."""
    y, y_hat = _f64(y, y_hat)
    return ((np.log1p(np.maximum(y_hat, EPSILON)) - np.log1p(np.maximum(y, EPSILON))) ** 2).mean(axis=-1)


def focal_elementwise(y, p, alpha=0.25, gamma=2.0, from_logits=False, dtype=np.float32):
    """alpha_t (1 - p_t)^gamma CE, Lin et al. (2017), eq. (5) with the alpha of section 3.1."""
    y = np.asarray(y, dtype=np.float64)
    if from_logits:
        ce = bce_logits_elementwise(y, p)
        prob, one_minus_prob = sigmoid(p), sigmoid(-np.asarray(p, dtype=np.float64))
    else:
        ce = bce_elementwise(y, p, dtype)
        prob = np.clip(np.asarray(p, dtype=np.float64), *_clip_bounds(dtype))
        one_minus_prob = 1.0 - prob
    one_minus_p_t = y * one_minus_prob + (1.0 - y) * prob
    alpha_t = y * alpha + (1.0 - y) * (1.0 - alpha)
    return alpha_t * one_minus_p_t**gamma * ce


def focal_loss(y, p, alpha=0.25, gamma=2.0, from_logits=False, dtype=np.float32):
    return focal_elementwise(y, p, alpha, gamma, from_logits, dtype).mean(axis=-1)
