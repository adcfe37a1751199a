"""Suite-wide pytest setup: quiet TensorFlow, fixed seeds, Hypothesis profiles, GPU skips."""

import contextlib
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")


@contextlib.contextmanager
def _native_stderr_silenced():
    """TensorFlow's C++ start-up lines (oneDNN, CUDA probing) bypass TF_CPP_MIN_LOG_LEVEL."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


with _native_stderr_silenced():
    import keras
    import tensorflow as tf

    tf.config.list_physical_devices()

import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

SEED = 42

# Benchmark suite hooks: smoke pass by default, case parametrization, report at the end of a timed run.
pytest_plugins = ["benchmarks.plugin", "benchmarks.gate_plugin"]

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
    if tf.config.list_physical_devices("GPU"):
        return
    skip_gpu = pytest.mark.skip(
        reason="no GPU visible to TensorFlow (tf.config.list_physical_devices('GPU') is empty)"
    )
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip_gpu)
