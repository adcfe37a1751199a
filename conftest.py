"""Suite-wide pytest setup: the version check, fixed seeds, Hypothesis profiles, markers, GPU skips, the benchmark plugins.

TensorFlow is not imported here: the tests of the result-file tools (``tests/results/``) never start it.
The folders that need it import it quietly in their own ``conftest.py`` (``reference.runtime``).
"""

import os
import random
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

from reference.versions import UnsupportedVersionError, check_installed, describe_installed
from tests.common import SEED

# pytester for the plugin tests; the benchmark suite's hooks: smoke pass by default, case parametrization,
# report and gate at the end of a timed run.
pytest_plugins = ["pytester", "benchmarks.plugin", "benchmarks.gate_plugin"]

settings.register_profile(
    "ci",
    derandomize=True,
    max_examples=30,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=200, deadline=None)


def pytest_report_header(config):
    return f"versions: {describe_installed()}"


def pytest_configure(config):
    """A TensorFlow or Keras older than the tested floor stops the run with one line (exit 4), before any test."""
    try:
        check_installed()
    except UnsupportedVersionError as error:
        raise pytest.UsageError(f"tf-training-suite: {error}") from None


@pytest.fixture(autouse=True)
def fixed_seed():
    """Every test starts from the same seed: Python and NumPy, and TensorFlow via Keras once it is loaded."""
    random.seed(SEED)
    np.random.seed(SEED)
    if "tensorflow" in sys.modules or "keras" in sys.modules:
        import keras

        keras.utils.set_random_seed(SEED)
    return SEED


def pytest_collection_modifyitems(config, items):
    gpu_items = [item for item in items if "gpu" in item.keywords]
    if not gpu_items:
        return
    from reference.runtime import import_tensorflow

    if import_tensorflow().config.list_physical_devices("GPU"):
        return
    skip_gpu = pytest.mark.skip(
        reason="no GPU visible to TensorFlow (tf.config.list_physical_devices('GPU') is empty)"
    )
    for item in gpu_items:
        item.add_marker(skip_gpu)
