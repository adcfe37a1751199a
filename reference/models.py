"""The document's models, built from a small spec.

Every model of the document is a stack of ``Dense(relu)`` layers, each optionally
followed by ``BatchNormalization`` and then ``Dropout`` (the document's order), and a
final ``Dense`` with a sigmoid or softmax. Models start with ``keras.Input`` (D11).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import keras

__all__ = ["DOCUMENT_MODELS", "OUTPUT_ACTIVATIONS", "ModelSpec", "build_model", "document_model"]

OUTPUT_ACTIVATIONS = ("sigmoid", "softmax", "linear")


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
        if self.input_dim <= 0:
            raise ValueError(f"Argument `input_dim` must be > 0. Received: input_dim={self.input_dim}")
        if not self.hidden or any(w <= 0 for w in self.hidden):
            raise ValueError(f"Argument `hidden` must be positive widths. Received: hidden={self.hidden}")
        if self.dropout and len(self.dropout) != len(self.hidden):
            raise ValueError(
                f"Argument `dropout` needs one rate per hidden layer ({len(self.hidden)}). "
                f"Received: dropout={self.dropout}"
            )
        if any(not 0.0 <= r < 1.0 for r in self.dropout):
            raise ValueError(f"Argument `dropout` rates must be in [0, 1). Received: dropout={self.dropout}")
        for name in ("l1", "l2"):
            if getattr(self, name) < 0:
                raise ValueError(f"Argument `{name}` must be >= 0. Received: {name}={getattr(self, name)}")
        if self.output_units <= 0:
            raise ValueError(
                f"Argument `output_units` must be > 0. Received: output_units={self.output_units}"
            )
        if self.output_activation not in OUTPUT_ACTIVATIONS:
            raise ValueError(
                f"Argument `output_activation` must be one of {OUTPUT_ACTIVATIONS}. "
                f"Received: output_activation={self.output_activation!r}"
            )

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


def build_model(spec: ModelSpec, *, name: str | None = None) -> keras.Sequential:
    """A ``keras.Sequential`` for ``spec``; weights come from Keras's global seed."""
    layers: list[keras.layers.Layer] = [keras.Input((spec.input_dim,))]
    rates = spec.dropout or (0.0,) * len(spec.hidden)
    for width, rate in zip(spec.hidden, rates, strict=True):
        layers.append(keras.layers.Dense(width, activation="relu", kernel_regularizer=_regularizer(spec)))
        if spec.batch_norm:
            layers.append(keras.layers.BatchNormalization())
        if rate:
            layers.append(keras.layers.Dropout(rate))
    layers.append(keras.layers.Dense(spec.output_units, activation=spec.output_activation))
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
    if name not in DOCUMENT_MODELS:
        raise ValueError(f"Unknown model name={name!r}; valid names: {sorted(DOCUMENT_MODELS)}")
    return DOCUMENT_MODELS[name]
