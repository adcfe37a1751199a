"""Starting TensorFlow: one quiet import for the test suites, the benchmarks and the commands."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

from reference.versions import check_installed

__all__ = ["import_tensorflow", "native_stderr_silenced"]


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null for the duration.

    TensorFlow's C++ start-up lines (oneDNN, CUDA probing) are written to the process's stderr before
    ``TF_CPP_MIN_LOG_LEVEL`` is read by every component, so only a redirect of the descriptor hides them.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def import_tensorflow():
    """Import TensorFlow and Keras with the start-up noise silenced, and probe the devices once.

    Returns the ``tensorflow`` module. Calling it again costs nothing.

    Raises:
        UnsupportedVersionError: TensorFlow or Keras is missing or older than the tested floor
            (``reference.versions.check_installed``), before anything is imported.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "tensorflow" in sys.modules and "keras" in sys.modules:
        return sys.modules["tensorflow"]
    check_installed()
    with native_stderr_silenced():
        import keras  # noqa: F401
        import tensorflow as tf

        tf.config.list_physical_devices()
    return tf
