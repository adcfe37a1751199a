"""Suite-wide pytest setup: quiet TensorFlow, fixed seeds, Hypothesis profiles, GPU skips."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")

import keras  # noqa: E402
import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

SEED = 42

settings.register_profile(
    "ci",
    derandomize=True,
    max_examples=30,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=200, deadline=None)


@pytest.fixture(autouse=True)
def fixed_seed():
    """Every test starts from the same seed (Python, NumPy and TensorFlow via Keras)."""
    keras.utils.set_random_seed(SEED)
    return SEED


def pytest_collection_modifyitems(config, items):
    import tensorflow as tf

    if tf.config.list_logical_devices("GPU"):
        return
    skip_gpu = pytest.mark.skip(reason="no GPU visible to TensorFlow (tf.config.list_logical_devices('GPU') is empty)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip_gpu)
