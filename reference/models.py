"""The document's models, built from a small spec.

Every model of the document is a stack of ``Dense(relu)`` layers, each optionally
followed by ``BatchNormalization`` and then ``Dropout`` (the document's order), and a
final ``Dense`` with a sigmoid or softmax. Models start with ``keras.Input`` (D11).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import keras
import numpy as np

from reference.validation import (
    check_array,
    check_bool,
    check_choice,
    check_float,
    check_instance,
    check_int,
    check_str,
    fail,
)

__all__ = [
    "DOCUMENT_MODELS",
    "DTYPE_POLICIES",
    "OUTPUT_ACTIVATIONS",
    "ModelSpec",
    "build_model",
    "document_model",
]

OUTPUT_ACTIVATIONS = ("sigmoid", "softmax", "linear")
# Keras's dtype policies a model can be built with: float32, or float32 variables with 16-bit compute.
DTYPE_POLICIES = ("float32", "mixed_bfloat16", "mixed_float16")


@dataclass(frozen=True)
class ModelSpec:
    """What a document model is made of.

    Attributes:
        input_dim: number of input features.
        hidden: widths of the hidden ``Dense(relu)`` layers.
        dropout: one rate per hidden layer (0 means no Dropout layer); empty means none.
        batch_norm: a ``BatchNormalization`` after every hidden layer.
        l1, l2: kernel regularization strengths of the hidden layers (0 means none).
        output_units: width of the output layer.
        output_activation: ``sigmoid``, ``softmax`` or ``linear`` (logits).

    Raises:
        ValueError: a field outside its domain: ``input_dim`` and ``output_units`` integers >= 1,
            ``hidden`` a non-empty sequence of integers >= 1, ``dropout`` empty or one rate in
            [0, 1) per hidden layer, ``l1``/``l2`` finite numbers >= 0, ``batch_norm`` a bool.
    """

    input_dim: int
    hidden: tuple[int, ...]
    dropout: tuple[float, ...] = field(default=())
    batch_norm: bool = False
    l1: float = 0.0
    l2: float = 0.0
    output_units: int = 1
    output_activation: str = "sigmoid"

    def __post_init__(self):
        check_int("input_dim", self.input_dim, low=1)
        if isinstance(self.hidden, str) or np.ndim(self.hidden) != 1 or np.size(self.hidden) == 0:
            fail("hidden", "a non-empty sequence of integers >= 1", self.hidden)
        hidden = check_array("hidden", self.hidden, dtype="integer", low=1)
        dropout = check_array("dropout", self.dropout, ndim=1, low=0, high=1, high_open=True)
        if dropout.size and dropout.size != hidden.size:
            fail("dropout", f"one rate per hidden layer ({hidden.size}) or empty", self.dropout)
        # Stored as tuples of Python numbers: a spec is hashable and Keras gets plain ints.
        object.__setattr__(self, "hidden", tuple(int(w) for w in hidden))
        object.__setattr__(self, "dropout", tuple(float(r) for r in dropout))
        check_bool("batch_norm", self.batch_norm)
        check_float("l1", self.l1, low=0)
        check_float("l2", self.l2, low=0)
        check_int("output_units", self.output_units, low=1)
        check_choice("output_activation", self.output_activation, OUTPUT_ACTIVATIONS)

    def with_input_dim(self, input_dim: int) -> ModelSpec:
        """The same model for a data set with another feature count (e.g. the MNIST stand-in)."""
        return replace(self, input_dim=input_dim)

    def without_dropout(self) -> ModelSpec:
        """The same model with every dropout rate set to 0 (for deterministic comparisons)."""
        return replace(self, dropout=())


def _regularizer(spec: ModelSpec):
    if spec.l1 and spec.l2:
        return keras.regularizers.L1L2(l1=spec.l1, l2=spec.l2)
    if spec.l1:
        return keras.regularizers.L1(spec.l1)
    if spec.l2:
        return keras.regularizers.L2(spec.l2)
    return None


def build_model(
    spec: ModelSpec, *, name: str | None = None, dtype_policy: str | None = None
) -> keras.Sequential:
    """A ``keras.Sequential`` for ``spec``; weights come from Keras's global seed.

    ``dtype_policy`` (one of ``DTYPE_POLICIES``) is given to every hidden layer (``mixed_bfloat16``:
    float32 weights, bfloat16 compute) and the output layer stays ``float32``, as Keras's
    mixed-precision guide advises, so the probabilities and the loss are float32. ``None`` leaves
    every layer to Keras's global policy.

    Raises:
        ValueError: ``spec`` is not a ``ModelSpec``, ``name`` not a non-empty string or None, or
            ``dtype_policy`` neither None nor one of ``DTYPE_POLICIES``.
    """
    check_instance("spec", spec, ModelSpec, "a ModelSpec")
    check_str("name", name, optional=True)
    if dtype_policy is not None:
        check_choice("dtype_policy", dtype_policy, DTYPE_POLICIES)
    hidden = {} if dtype_policy is None else {"dtype": dtype_policy}
    output = {} if dtype_policy is None else {"dtype": "float32"}
    layers: list[keras.layers.Layer] = [keras.Input((spec.input_dim,))]
    rates = spec.dropout or (0.0,) * len(spec.hidden)
    for width, rate in zip(spec.hidden, rates, strict=True):
        layers.append(
            keras.layers.Dense(width, activation="relu", kernel_regularizer=_regularizer(spec), **hidden)
        )
        if spec.batch_norm:
            layers.append(keras.layers.BatchNormalization(**hidden))
        if rate:
            layers.append(keras.layers.Dropout(rate, **hidden))
    layers.append(keras.layers.Dense(spec.output_units, activation=spec.output_activation, **output))
    return keras.Sequential(layers, name=name)


# The document's models, by demo.
DOCUMENT_MODELS: dict[str, ModelSpec] = {
    "basic": ModelSpec(20, (64, 32), dropout=(0.2, 0.0)),
    "advanced": ModelSpec(20, (128, 64), dropout=(0.3, 0.2), batch_norm=True),
    "reg_none": ModelSpec(50, (256, 128, 64)),
    "reg_dropout": ModelSpec(50, (256, 128, 64), dropout=(0.3, 0.2, 0.1)),
    "reg_batchnorm": ModelSpec(50, (256, 128, 64), batch_norm=True),
    "reg_both": ModelSpec(50, (256, 128, 64), dropout=(0.3, 0.2, 0.1), batch_norm=True),
    "weight_none": ModelSpec(30, (128, 64)),
    "weight_l1": ModelSpec(30, (128, 64), l1=0.01),
    "weight_l2": ModelSpec(30, (128, 64), l2=0.01),
    "weight_l1_l2": ModelSpec(30, (128, 64), l1=0.01, l2=0.01),
    "callbacks": ModelSpec(784, (128, 64), dropout=(0.2, 0.2), output_units=10, output_activation="softmax"),
    "custom_callback": ModelSpec(20, (64,)),
    "monitored": ModelSpec(20, (128, 64), dropout=(0.3, 0.2)),
}


def document_model(name: str) -> ModelSpec:
    """The spec of one of the document's models, by name (a key of ``DOCUMENT_MODELS``)."""
    return DOCUMENT_MODELS[check_choice("name", name, DOCUMENT_MODELS)]
