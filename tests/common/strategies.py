"""Hypothesis strategies shared by the property tests: shapes and values over the whole valid domain."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

F32 = {"width": 32, "allow_nan": False, "allow_infinity": False}

batch_sizes = st.integers(min_value=1, max_value=8)
class_counts = st.integers(min_value=1, max_value=10)

# Probabilities: anywhere in [0, 1], with extra weight on the edges where clipping acts.
probabilities = st.one_of(
    st.floats(0.0, 1.0, **F32),
    st.floats(0.0, float(np.float32(1e-6)), **F32),
    st.floats(float(np.float32(1.0 - 1e-6)), 1.0, **F32),
)
labels_01 = st.one_of(st.sampled_from([0.0, 1.0]), st.floats(0.0, 1.0, **F32))
logits = st.floats(-100.0, 100.0, **F32)
regression_values = st.floats(-1e4, 1e4, **F32)
nonnegative_values = st.floats(0.0, 1e6, **F32)


def arrays(shape, elements):
    return hnp.arrays(np.float32, shape, elements=elements)


@st.composite
def binary_inputs(draw, prediction: str = "probabilities"):
    """(y_true, y_pred) of one shape (batch, width): labels in [0, 1], probabilities or logits."""
    shape = (draw(batch_sizes), draw(class_counts))
    y_pred = draw(arrays(shape, probabilities if prediction == "probabilities" else logits))
    return draw(arrays(shape, labels_01)), y_pred


@st.composite
def class_scores(draw, prediction: str, min_classes: int = 2):
    """(batch, classes) probabilities with a positive row sum, or logits."""
    shape = (draw(batch_sizes), draw(st.integers(min_classes, 10)))
    if prediction == "logits":
        return draw(arrays(shape, logits))
    scores = draw(arrays(shape, probabilities))
    # A row of zeros has no probability distribution: Keras divides by its sum.
    scores[:, 0] = np.maximum(scores[:, 0], np.float32(1e-3))
    return scores


@st.composite
def sparse_inputs(draw, prediction: str = "logits"):
    y_pred = draw(class_scores(prediction))
    labels = draw(hnp.arrays(np.int32, y_pred.shape[:1], elements=st.integers(0, y_pred.shape[1] - 1)))
    return labels, y_pred


@st.composite
def categorical_inputs(draw, prediction: str = "logits"):
    """Soft labels (rows summing to 1) and scores of the same shape."""
    y_pred = draw(class_scores(prediction))
    raw = draw(arrays(y_pred.shape, st.floats(0.0, 1.0, **F32)))
    raw[:, 0] += np.float32(1e-3)
    return (raw / raw.sum(axis=1, keepdims=True)).astype(np.float32), y_pred


@st.composite
def regression_inputs(draw, elements=regression_values):
    shape = (draw(batch_sizes), draw(class_counts))
    return draw(arrays(shape, elements)), draw(arrays(shape, elements))


def inputs_for(target: str, prediction: str):
    """The strategy of valid ``(y_true, y_pred)`` for a loss registry entry."""
    if target == "binary":
        return binary_inputs(prediction)
    if target == "sparse":
        return sparse_inputs(prediction)
    if target == "categorical":
        return categorical_inputs(prediction)
    if target == "nonnegative":
        return regression_inputs(nonnegative_values)
    return regression_inputs()
