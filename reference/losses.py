"""The document's loss functions, called the way the document calls them, plus a correct focal loss.

Every function takes ``(y_true, y_pred)`` and returns one value per sample: Keras losses
average over the LAST axis. The suite tests TensorFlow, so the cross-entropies and
regression losses are ``keras.losses`` themselves; this module adds argument checks
that fail with a clear ``ValueError`` before TensorFlow sees bad input.

Binary cross-entropy on probabilities clips ``p`` to ``[eps, 1 - eps]`` with
``eps = 1e-7`` (``keras.config.epsilon()``); on logits it is exact.

The focal loss (Lin et al. 2017, https://arxiv.org/abs/1708.02002), element-wise::

    p_t     = y p + (1 - y)(1 - p)
    alpha_t = y alpha + (1 - y)(1 - alpha)
    FL      = alpha_t (1 - p_t)^gamma CE(y, p),   CE = -(y log p + (1 - y) log(1 - p))

then averaged over the last axis. The document's version (``reference.document.document_focal_loss``)
multiplies the element-wise modulator by the already-averaged cross-entropy (D1).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

__all__ = [
    "LOSSES",
    "FocalLoss",
    "LossEntry",
    "LossFn",
    "binary_crossentropy",
    "binary_crossentropy_from_logits",
    "categorical_crossentropy",
    "categorical_crossentropy_from_logits",
    "focal_loss",
    "get_loss",
    "huber",
    "mean_absolute_error",
    "mean_squared_error",
    "mean_squared_logarithmic_error",
    "sparse_categorical_crossentropy",
    "sparse_categorical_crossentropy_from_logits",
]

LossFn = Callable[[tf.Tensor, tf.Tensor], tf.Tensor]

# 1 - p_t is clamped here so that (1 - p_t)^gamma keeps a finite gradient for gamma < 1.
_TINY = float(np.finfo(np.float32).tiny)


def _shape(x) -> tuple:
    return tuple(np.shape(x)) if not hasattr(x, "shape") else tuple(x.shape)


def _check_same_shape(y_true, y_pred) -> None:
    """Shapes must be equal, up to one trailing axis of size 1 (Keras aligns those ranks)."""
    t, p = _shape(y_true), _shape(y_pred)
    if None in t or None in p or t == p or t == (*p, 1) or p == (*t, 1):
        return
    raise ValueError(
        "Arguments `y_true` and `y_pred` must have matching shapes. "
        f"Received: y_true.shape={t}, y_pred.shape={p}"
    )


def _check_sparse(y_true, y_pred) -> None:
    t, p = _shape(y_true), _shape(y_pred)
    if not p:
        raise ValueError(f"Argument `y_pred` must have a class axis. Received: y_pred.shape={p}")
    if t not in (p[:-1], (*p[:-1], 1)) and None not in t and None not in p:
        raise ValueError(
            "Argument `y_true` must hold one integer label per row of `y_pred`. "
            f"Received: y_true.shape={t}, y_pred.shape={p}"
        )
    if not tf.executing_eagerly() or isinstance(y_true, tf.Variable):
        return
    labels = np.asarray(y_true)
    n_classes = p[-1]
    if labels.size and n_classes is not None and (labels.min() < 0 or labels.max() >= n_classes):
        bad = labels[(labels < 0) | (labels >= n_classes)].ravel()[0]
        raise ValueError(
            f"Argument `y_true` holds a label out of range [0, {n_classes}). Received: y_true contains {bad}"
        )


def _check_alpha_gamma(alpha: float, gamma: float) -> None:
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"Argument `alpha` must be in [0, 1]. Received: alpha={alpha}")
    if gamma < 0.0:
        raise ValueError(f"Argument `gamma` must be >= 0. Received: gamma={gamma}")


def binary_crossentropy(y_true, y_pred) -> tf.Tensor:
    """BCE on probabilities: -mean(y log p + (1 - y) log(1 - p)), p clipped to [1e-7, 1 - 1e-7]."""
    _check_same_shape(y_true, y_pred)
    return keras.losses.binary_crossentropy(y_true, y_pred)


def binary_crossentropy_from_logits(y_true, y_pred) -> tf.Tensor:
    """BCE on logits z: mean(max(z, 0) - z y + log(1 + exp(-|z|))), exact for any z."""
    _check_same_shape(y_true, y_pred)
    return keras.losses.binary_crossentropy(y_true, y_pred, from_logits=True)


def categorical_crossentropy(y_true, y_pred) -> tf.Tensor:
    """CE on probabilities: -sum(y log p), p = y_pred / sum(y_pred) clipped to [1e-7, 1 - 1e-7]."""
    _check_same_shape(y_true, y_pred)
    return keras.losses.categorical_crossentropy(y_true, y_pred)


def categorical_crossentropy_from_logits(y_true, y_pred) -> tf.Tensor:
    """CE on logits: -sum(y log softmax(z))."""
    _check_same_shape(y_true, y_pred)
    return keras.losses.categorical_crossentropy(y_true, y_pred, from_logits=True)


def sparse_categorical_crossentropy(y_true, y_pred) -> tf.Tensor:
    """CE on probabilities with integer labels: -log p[label], p normalized and clipped as above."""
    _check_sparse(y_true, y_pred)
    return keras.losses.sparse_categorical_crossentropy(y_true, y_pred)


def sparse_categorical_crossentropy_from_logits(y_true, y_pred) -> tf.Tensor:
    """CE on logits with integer labels: -log softmax(z)[label]."""
    _check_sparse(y_true, y_pred)
    return keras.losses.sparse_categorical_crossentropy(y_true, y_pred, from_logits=True)


def mean_squared_error(y_true, y_pred) -> tf.Tensor:
    """MSE: mean((y - y_hat)^2)."""
    _check_same_shape(y_true, y_pred)
    return keras.losses.mean_squared_error(y_true, y_pred)


def mean_absolute_error(y_true, y_pred) -> tf.Tensor:
    """MAE: mean(|y - y_hat|)."""
    _check_same_shape(y_true, y_pred)
    return keras.losses.mean_absolute_error(y_true, y_pred)


def huber(y_true, y_pred, *, delta: float = 1.0) -> tf.Tensor:
    """Huber: mean of 0.5 e^2 where |e| <= delta, else delta |e| - 0.5 delta^2 (e = y_hat - y).

    Raises:
        ValueError: ``delta <= 0`` or mismatched shapes.
    """
    if not delta > 0:
        raise ValueError(f"Argument `delta` must be > 0. Received: delta={delta}")
    _check_same_shape(y_true, y_pred)
    return keras.losses.huber(y_true, y_pred, delta=delta)


def mean_squared_logarithmic_error(y_true, y_pred) -> tf.Tensor:
    """MSLE: mean((log(max(y_hat, 1e-7) + 1) - log(max(y, 1e-7) + 1))^2)."""
    _check_same_shape(y_true, y_pred)
    return keras.losses.mean_squared_logarithmic_error(y_true, y_pred)


def focal_loss(y_true, y_pred, *, alpha: float = 0.25, gamma: float = 2.0, from_logits: bool = False):
    """Binary focal loss of Lin et al. (2017), one value per sample.

    FL = mean over the last axis of alpha_t (1 - p_t)^gamma CE(y, p), with p = sigmoid(y_pred)
    when ``from_logits`` (CE then computed exactly from the logits, and
    1 - p_t = y sigmoid(-z) + (1 - y) sigmoid(z) without cancellation), otherwise p = y_pred
    clipped like Keras's BCE. gamma = 0 and alpha = 0.5 give half the BCE.

    Args:
        y_true: labels in [0, 1], same shape as ``y_pred``.
        y_pred: probabilities, or logits when ``from_logits``.
        alpha: weight of the positive class, in [0, 1]; negatives get 1 - alpha.
        gamma: focusing parameter, >= 0.
        from_logits: whether ``y_pred`` holds logits.

    Raises:
        ValueError: alpha outside [0, 1], gamma < 0, or shapes that cannot match.
    """
    _check_alpha_gamma(alpha, gamma)
    _check_same_shape(y_true, y_pred)
    y_pred = tf.convert_to_tensor(y_pred)
    y_true = tf.cast(y_true, y_pred.dtype)
    if y_true.shape.rank == y_pred.shape.rank + 1:
        y_true = tf.squeeze(y_true, -1)
    elif y_pred.shape.rank == y_true.shape.rank + 1:
        y_pred = tf.squeeze(y_pred, -1)
    if from_logits:
        ce = tf.nn.sigmoid_cross_entropy_with_logits(labels=y_true, logits=y_pred)
        one_minus_p_t = y_true * tf.sigmoid(-y_pred) + (1.0 - y_true) * tf.sigmoid(y_pred)
    else:
        eps = keras.config.epsilon()
        p = tf.clip_by_value(y_pred, eps, 1.0 - eps)
        ce = -(y_true * tf.math.log(p) + (1.0 - y_true) * tf.math.log(1.0 - p))
        one_minus_p_t = y_true * (1.0 - p) + (1.0 - y_true) * p
    alpha_t = y_true * alpha + (1.0 - y_true) * (1.0 - alpha)
    modulator = tf.pow(tf.maximum(one_minus_p_t, _TINY), gamma)
    return tf.reduce_mean(alpha_t * modulator * ce, axis=-1)


@keras.saving.register_keras_serializable(package="reference")
class FocalLoss(keras.losses.Loss):
    """``focal_loss`` as a Keras ``Loss``: serializable, reduction handled by Keras."""

    def __init__(
        self,
        alpha: float = 0.25,
        gamma: float = 2.0,
        from_logits: bool = False,
        reduction: str = "sum_over_batch_size",
        name: str = "focal_loss",
        dtype=None,
    ):
        _check_alpha_gamma(alpha, gamma)
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.alpha = alpha
        self.gamma = gamma
        self.from_logits = from_logits

    def call(self, y_true, y_pred):
        return focal_loss(y_true, y_pred, alpha=self.alpha, gamma=self.gamma, from_logits=self.from_logits)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "alpha": self.alpha,
            "gamma": self.gamma,
            "from_logits": self.from_logits,
        }


@dataclass(frozen=True)
class LossEntry:
    """One loss of the registry: its function and what its inputs are.

    ``target`` is ``binary`` (labels in [0, 1]), ``sparse`` (integer labels), ``categorical``
    (one-hot or soft labels) or ``regression``; ``prediction`` is ``probabilities``,
    ``logits`` or ``values``.
    """

    fn: LossFn
    target: str
    prediction: str


LOSSES: dict[str, LossEntry] = {
    "binary_crossentropy": LossEntry(binary_crossentropy, "binary", "probabilities"),
    "binary_crossentropy_from_logits": LossEntry(binary_crossentropy_from_logits, "binary", "logits"),
    "sparse_categorical_crossentropy": LossEntry(sparse_categorical_crossentropy, "sparse", "probabilities"),
    "sparse_categorical_crossentropy_from_logits": LossEntry(
        sparse_categorical_crossentropy_from_logits, "sparse", "logits"
    ),
    "categorical_crossentropy": LossEntry(categorical_crossentropy, "categorical", "probabilities"),
    "categorical_crossentropy_from_logits": LossEntry(
        categorical_crossentropy_from_logits, "categorical", "logits"
    ),
    "mean_squared_error": LossEntry(mean_squared_error, "regression", "values"),
    "mean_absolute_error": LossEntry(mean_absolute_error, "regression", "values"),
    "huber": LossEntry(huber, "regression", "values"),
    "mean_squared_logarithmic_error": LossEntry(mean_squared_logarithmic_error, "regression", "values"),
    "focal_loss": LossEntry(focal_loss, "binary", "probabilities"),
    "focal_loss_from_logits": LossEntry(
        lambda y_true, y_pred: focal_loss(y_true, y_pred, from_logits=True), "binary", "logits"
    ),
}


def get_loss(name: str) -> LossFn:
    """The loss function registered under ``name``.

    Raises:
        ValueError: unknown name (the message lists the valid ones).
    """
    if name not in LOSSES:
        raise ValueError(f"Unknown loss name={name!r}; valid names: {sorted(LOSSES)}")
    return LOSSES[name].fn
