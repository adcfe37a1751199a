"""Reference implementations of the techniques of "TensorFlow training and optimization", correct on current TensorFlow.

One module per technique: ``losses``, ``optimizers``, ``schedules`` (``document_schedule`` keeps the
document's broken original), ``data``, ``models``, ``training`` (three ways to train, built on ``loop``;
``trainer`` holds ``Trainer``), ``regularization``, ``callbacks``, ``monitor``; ``files`` writes files
atomically; ``reproduction`` runs the whole document.
Nothing is imported here: ``import reference`` stays free of TensorFlow, so the report commands
(``reference.reproduction.write_index``) start fast. Import the module you need.
"""
