"""Progress bars of a reproduction run: sections, runs and epochs, on stderr (tqdm)."""

from __future__ import annotations

import keras
from tqdm.auto import tqdm

__all__ = ["EpochBar", "Progress"]


class EpochBar(keras.callbacks.Callback):
    """A Keras callback that advances a tqdm bar at every epoch end and closes it at train end."""

    def __init__(self, total: int, description: str, *, disable: bool):
        super().__init__()
        self.total, self.description, self.disable = total, description, disable
        self.bar = None

    def on_train_begin(self, logs=None):
        self.bar = tqdm(
            total=self.total, desc=self.description, unit="epoch", leave=False, disable=self.disable
        )

    def on_epoch_end(self, epoch, logs=None):
        if self.bar is not None:
            self.bar.update(1)
            if logs and "val_loss" in logs:
                self.bar.set_postfix(val_loss=f"{float(logs['val_loss']):.4f}")

    def on_train_end(self, logs=None):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class Progress:
    """Factory of the run's progress bars; ``quiet`` disables all of them."""

    def __init__(self, *, quiet: bool = False):
        self.quiet = quiet

    def sections(self, names):
        """A bar over the selected sections."""
        return tqdm(names, desc="reproduction", unit="section", disable=self.quiet)

    def epochs(self, total: int, description: str) -> EpochBar:
        """A callback showing the epochs of one training run."""
        return EpochBar(total, description, disable=self.quiet)

    def steps(self, items, description: str):
        """A bar over the runs of one section."""
        return tqdm(items, desc=description, leave=False, disable=self.quiet)
