"""The document's loss functions, called the way the document calls them, plus a correct focal loss.

Every function takes ``(y_true, y_pred)`` and returns one value per sample: Keras losses
average over the LAST axis. The suite tests TensorFlow, so the cross-entropies and
regression losses are ``keras.losses`` themselves; this module checks the inputs first and
fails with a clear ``ValueError`` before TensorFlow sees a value outside the loss's domain.

Binary cross-entropy on probabilities clips ``p`` to ``[eps, 1 - eps]`` with
``eps = 1e-7`` (``keras.config.epsilon()``); on logits it is exact.

The focal loss (Lin et al. 2017, https://arxiv.org/abs/1708.02002), element-wise::

    p_t     = y p + (1 - y)(1 - p)
    alpha_t = y alpha + (1 - y)(1 - alpha)
    FL      = alpha_t (1 - p_t)^gamma CE(y, p),   CE = -(y log p + (1 - y) log(1 - p))

then averaged over the last axis. The document's version (``reference.document.document_focal_loss``)
multiplies the element-wise modulator by the already-averaged cross-entropy (D1).

Input checks. Keras clips a probability of -0.3, 1.7 or +inf into [1e-7, 1 - 1e-7] and scores it
as a near-perfect prediction, truncates a sparse label of 1.5 to 1, and a focal loss on a label
of 5 is negative: so each function refuses, with the argument, the first bad element and its
value (``Received: y_pred[0, 2]=1.7``):

| inputs | ``y_true`` | ``y_pred`` |
|---|---|---|
| binary (BCE, focal) | numbers in [0, 1] | probabilities in [0, 1], or finite logits |
| categorical | numbers in [0, 1], each row summing to 1 | probabilities in [0, 1] with a positive row sum (Keras divides by it), or finite logits |
| sparse | whole numbers in [0, classes) (an int or a float array) | as categorical |
| regression (MSE, MAE, Huber) | finite numbers | finite numbers |
| MSLE | finite numbers >= 0 (Keras would clip a negative one to 1e-7) | finite numbers >= 0 |

Every value must be finite. ``y_pred`` must be floating-point (an integer ``y_pred`` would give
a TensorFlow ``TypeError`` that names neither argument nor dtype); ``y_true`` may be integer
(Keras casts it to ``y_pred``'s dtype), never ``bool`` or text. Shapes must match up to one
trailing axis of size 1.

Inside a ``tf.function`` (a traced step, ``model.fit``'s train function, ``FocalLoss`` in a
compiled model) the inputs are symbolic: the dtypes and the static shapes are still checked, once,
at trace time; the values are not, and a value outside the domain is then computed as Keras
computes it (clipped). No ``tf.debugging`` assertion is added to the graph, so a traced step costs
exactly what the Keras loss costs. The training loops of ``reference.training`` check the labels
against the model where the data enters and stop on a non-finite loss, gradient or weight.
The benchmarks (``benchmarks/workloads.py``) time steps built on ``keras.losses`` objects, not on
this module, so none of these checks is in what they time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from reference.validation import check_array, check_bool, check_choice, check_float, fail

__all__ = [
    "LOSSES",
    "LOSS_PREDICTIONS",
    "LOSS_TARGETS",
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
# A categorical label row sums to 1; float32 normalization leaves ~1e-7 per class.
_ROW_SUM_ATOL = 1e-4

# What y_true and y_pred hold, and the element-wise domain ``check_array`` enforces on each.
LOSS_TARGETS = ("binary", "sparse", "categorical", "regression", "nonnegative")
LOSS_PREDICTIONS = ("probabilities", "logits", "values", "nonnegative")
_TARGET_DOMAINS = {
    "binary": {"low": 0, "high": 1},
    "categorical": {"low": 0, "high": 1},
    "regression": {},
    "nonnegative": {"low": 0},
}
_PREDICTION_DOMAINS = {
    "probabilities": {"low": 0, "high": 1},
    "logits": {},
    "values": {},
    "nonnegative": {"low": 0},
}


def _shape(x) -> tuple:
    return tuple(np.shape(x)) if not hasattr(x, "shape") else tuple(x.shape)


def _check_kind(name: str, x: Any, *, floating: bool) -> None:
    """Floating-point ``y_pred``; numeric ``y_true`` (``bool``, text and objects refused). Static: works when traced."""
    raw = getattr(x, "dtype", None)
    raw = np.asarray(x).dtype if raw is None else raw
    try:
        dtype = tf.as_dtype(raw)
    except TypeError:
        dtype = tf.string
    if not (dtype.is_floating or (dtype.is_integer and not floating)):
        shown = raw if isinstance(raw, np.dtype) else np.dtype(dtype.as_numpy_dtype)
        fail(
            name,
            "an array of floating-point numbers" if floating else "an array of numbers",
            shown,
            at=".dtype",
        )


def _check_same_shape(y_true, y_pred) -> None:
    """Shapes must be equal, up to one trailing axis of size 1 (Keras aligns those ranks)."""
    t, p = _shape(y_true), _shape(y_pred)
    if None in t or None in p or t == p or t == (*p, 1) or p == (*t, 1):
        return
    fail("y_pred", f"of the shape of `y_true` {t}, up to a trailing axis of size 1", p, at=".shape")


def _check_sparse_shapes(y_true, y_pred) -> None:
    t, p = _shape(y_true), _shape(y_pred)
    if not p:
        fail("y_pred", "an array with a class axis (the last)", p, at=".shape")
    if t not in (p[:-1], (*p[:-1], 1)) and None not in t and None not in p:
        fail("y_true", f"one label per row of `y_pred` (shape {p[:-1]})", t, at=".shape")


def _check_rows(name: str, values: np.ndarray, requirement: str, bad_row) -> None:
    if values.ndim == 0:
        return
    sums = values.sum(axis=-1)
    bad = bad_row(sums)
    if np.any(bad):
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        fail(name, requirement, values[index].tolist(), at=f"[{', '.join(map(str, index))}]")


def _check_inputs(y_true, y_pred, target: str, prediction: str) -> None:
    """Dtypes and static shapes always (free at trace time), element values when they exist (eager)."""
    _check_kind("y_true", y_true, floating=False)
    _check_kind("y_pred", y_pred, floating=True)
    if target == "sparse":
        _check_sparse_shapes(y_true, y_pred)
    else:
        _check_same_shape(y_true, y_pred)
    if (
        not tf.executing_eagerly()
        or isinstance(y_true, keras.KerasTensor)
        or isinstance(y_pred, keras.KerasTensor)
    ):
        return
    scores = check_array("y_pred", y_pred, dtype="float", **_PREDICTION_DOMAINS[prediction])
    if target == "sparse":
        classes = _shape(y_pred)[-1]
        check_array("y_true", y_true, integral=True, low=0, high=classes, high_open=True)
    else:
        labels = check_array("y_true", y_true, **_TARGET_DOMAINS[target])
    if target == "categorical":
        _check_rows(
            "y_true",
            labels,
            "rows of numbers in [0, 1] that sum to 1",
            lambda s: np.abs(s - 1) > _ROW_SUM_ATOL,
        )
    if target in ("sparse", "categorical") and prediction == "probabilities":
        _check_rows("y_pred", scores, "rows of probabilities with a positive sum", lambda s: s <= 0)


def _check_focal_parameters(alpha: Any, gamma: Any, from_logits: Any) -> tuple[float, float, bool]:
    return (
        check_float("alpha", alpha, low=0.0, high=1.0),
        check_float("gamma", gamma, low=0.0),
        check_bool("from_logits", from_logits),
    )


def binary_crossentropy(y_true, y_pred) -> tf.Tensor:
    """BCE on probabilities: -mean(y log p + (1 - y) log(1 - p)), p clipped to [1e-7, 1 - 1e-7]."""
    _check_inputs(y_true, y_pred, "binary", "probabilities")
    return keras.losses.binary_crossentropy(y_true, y_pred)


def binary_crossentropy_from_logits(y_true, y_pred) -> tf.Tensor:
    """BCE on logits z: mean(max(z, 0) - z y + log(1 + exp(-|z|))), exact for any z."""
    _check_inputs(y_true, y_pred, "binary", "logits")
    return keras.losses.binary_crossentropy(y_true, y_pred, from_logits=True)


def categorical_crossentropy(y_true, y_pred) -> tf.Tensor:
    """CE on probabilities: -sum(y log p), p = y_pred / sum(y_pred) clipped to [1e-7, 1 - 1e-7]."""
    _check_inputs(y_true, y_pred, "categorical", "probabilities")
    return keras.losses.categorical_crossentropy(y_true, y_pred)


def categorical_crossentropy_from_logits(y_true, y_pred) -> tf.Tensor:
    """CE on logits: -sum(y log softmax(z))."""
    _check_inputs(y_true, y_pred, "categorical", "logits")
    return keras.losses.categorical_crossentropy(y_true, y_pred, from_logits=True)


def sparse_categorical_crossentropy(y_true, y_pred) -> tf.Tensor:
    """CE on probabilities with integer labels: -log p[label], p normalized and clipped as above."""
    _check_inputs(y_true, y_pred, "sparse", "probabilities")
    return keras.losses.sparse_categorical_crossentropy(y_true, y_pred)


def sparse_categorical_crossentropy_from_logits(y_true, y_pred) -> tf.Tensor:
    """CE on logits with integer labels: -log softmax(z)[label]."""
    _check_inputs(y_true, y_pred, "sparse", "logits")
    return keras.losses.sparse_categorical_crossentropy(y_true, y_pred, from_logits=True)


def mean_squared_error(y_true, y_pred) -> tf.Tensor:
    """MSE: mean((y - y_hat)^2)."""
    _check_inputs(y_true, y_pred, "regression", "values")
    return keras.losses.mean_squared_error(y_true, y_pred)


def mean_absolute_error(y_true, y_pred) -> tf.Tensor:
    """MAE: mean(|y - y_hat|)."""
    _check_inputs(y_true, y_pred, "regression", "values")
    return keras.losses.mean_absolute_error(y_true, y_pred)


def huber(y_true, y_pred, *, delta: float = 1.0) -> tf.Tensor:
    """Huber: mean of 0.5 e^2 where |e| <= delta, else delta |e| - 0.5 delta^2 (e = y_hat - y).

    Raises:
        ValueError: ``delta`` not a finite number > 0, or inputs outside the domain (module docstring).
    """
    delta = check_float("delta", delta, low=0.0, low_open=True)
    _check_inputs(y_true, y_pred, "regression", "values")
    return keras.losses.huber(y_true, y_pred, delta=delta)


def mean_squared_logarithmic_error(y_true, y_pred) -> tf.Tensor:
    """MSLE: mean((log(max(y_hat, 1e-7) + 1) - log(max(y, 1e-7) + 1))^2)."""
    _check_inputs(y_true, y_pred, "nonnegative", "nonnegative")
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
        ValueError: alpha outside [0, 1], gamma not a finite number >= 0 (NaN included), or inputs
            outside the domain (labels in [0, 1], probabilities in [0, 1] or finite logits).
    """
    alpha, gamma, from_logits = _check_focal_parameters(alpha, gamma, from_logits)
    _check_inputs(y_true, y_pred, "binary", "logits" if from_logits else "probabilities")
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


_REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)


@keras.saving.register_keras_serializable(package="reference")
class FocalLoss(keras.losses.Loss):
    """``focal_loss`` as a Keras ``Loss``: serializable, reduction handled by Keras.

    Its arguments are checked as ``focal_loss``'s; inside ``model.fit`` its inputs are symbolic, so
    their values are not (module docstring).
    """

    def __init__(
        self,
        alpha: float = 0.25,
        gamma: float = 2.0,
        from_logits: bool = False,
        reduction: str = "sum_over_batch_size",
        name: str = "focal_loss",
        dtype=None,
    ):
        alpha, gamma, from_logits = _check_focal_parameters(alpha, gamma, from_logits)
        check_choice("reduction", reduction, _REDUCTIONS)
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
    (one-hot or soft labels), ``regression`` or ``nonnegative`` (regression targets >= 0);
    ``prediction`` is ``probabilities``, ``logits``, ``values`` or ``nonnegative`` (values >= 0).
    """

    fn: LossFn
    target: str
    prediction: str

    def __post_init__(self):
        if not callable(self.fn):
            fail("fn", "callable", self.fn)
        check_choice("target", self.target, LOSS_TARGETS)
        check_choice("prediction", self.prediction, LOSS_PREDICTIONS)


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
    "mean_squared_logarithmic_error": LossEntry(mean_squared_logarithmic_error, "nonnegative", "nonnegative"),
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
    return LOSSES[check_choice("name", name, LOSSES)].fn
