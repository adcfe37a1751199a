"""Reference implementations of the techniques of "TensorFlow training and optimization", correct on current TensorFlow.

One module per technique: ``losses``, ``optimizers``, ``schedules``, ``data``, ``models``, ``training``
(three ways to train, built on ``loop``; ``trainer`` holds ``Trainer``), ``regularization``,
``callbacks``, ``monitor``; ``files`` writes files atomically. ``document`` keeps the document's own
code verbatim, broken as it is on current TensorFlow, to show its defects. ``reproduction`` runs the
whole document. Nothing is imported here: ``import reference`` stays free of TensorFlow, so the report
commands (``reference.reproduction.write_index``) start fast. Import the module you need.
"""
