"""The tests in this folder need TensorFlow: start it once, quietly, before their modules are imported."""

from reference.runtime import import_tensorflow

import_tensorflow()
