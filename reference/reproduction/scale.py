"""How big each demonstration runs: the document's own numbers (``FULL``) or a tiny ``QUICK`` run.

Experiments are data: every epoch count, sample count, batch size and seed the reproduction
uses is a field here, so the full run and the quick run execute the same code. ``FULL`` is
the document's scale exactly (the field comments say where each number comes from), repeated
over 5 seeds; ``QUICK`` keeps every section and every figure but trains for one to three epochs
on small samples over 2 seeds, so that the whole command runs inside the test suite. This module
imports no TensorFlow: the command line validates its options before paying for that import.
"""

from __future__ import annotations

from dataclasses import dataclass

from reference.validation import check_choice, check_int

__all__ = ["FULL", "LOOPS", "MAX_SEEDS", "QUICK", "SCALES", "SECTION_NAMES", "SECTION_TITLES", "Scale"]

SECTION_TITLES: dict[str, tuple[str, str]] = {
    "losses": ("损失函数", "Loss functions"),
    "optimizers": ("优化器", "Optimizers"),
    "schedules": ("学习率调度", "Learning-rate schedules"),
    "training": ("训练循环", "Training loops"),
    "regularization": ("正则化技术", "Regularization"),
    "callbacks": ("回调函数", "Callbacks"),
    "monitoring": ("模型评估与监控", "Monitoring"),
}
SECTION_NAMES: tuple[str, ...] = tuple(SECTION_TITLES)
MAX_SEEDS = 100
LOOPS = ("trainer", "eager")


@dataclass(frozen=True)
class Scale:
    """Every size of one reproduction run. ``None`` sample counts mean the document's data set.

    Attributes:
        name: ``full`` or ``quick``.
        seed: the first seed (the document's 42); seed ``i`` of ``seeds`` is ``seed + i``.
        seeds: how many seeds every stochastic claim is measured on (each seed sets the initial
            weights, the batch order and the dropout masks; the data sets stay the document's).
        optimizer_steps: updates of the optimizer comparison (document: 50, lr 0.1).
        schedule_steps: steps drawn for the four built-in schedules (document: 500).
        warmup_steps_shown: steps drawn for the warmup + cosine schedule (document: 1000).
        basic_samples, basic_epochs, batch_size: the basic eager loop (document: 1000, 100, 32).
        advanced_samples, advanced_epochs, advanced_patience: ``AdvancedTrainer`` (2000, 200, 15).
        dropout_samples, dropout_epochs: dropout / batch-norm comparison (500, 100).
        weight_samples, weight_epochs: L1 / L2 comparison (800, 150).
        callbacks_epochs, callbacks_batch_size: the callbacks demo (50, 128).
        plateau_epochs: epochs of the controlled plateau (frozen weights) for ReduceLROnPlateau and
            EarlyStopping: more than the document's patience + 1 = 11, so that early stopping can end it.
        custom_epochs, custom_train, custom_val: the custom-callback demo (20, 1000, 200).
        mnist_train, mnist_test: rows of MNIST (or its stand-in) for the 95 % stop of the custom
            callback (the callbacks demo's 5000, 1000).
        monitored_samples, monitored_epochs: the monitored training (2000, 100).
        loop: how the document's training demos train (the basic and monitored eager loops, the
            regularization comparisons' ``fit``): ``trainer`` (``train_trainer(fused=True)`` without
            clipping or early stopping: the same updates, each epoch in one ``tf.function`` call;
            about 35x less CPU per epoch than the eager loop) or ``eager`` (``train_eager``: no
            tracing, quicker for a few steps). ``tests/reference/test_training.py`` shows that both
            follow the same trajectory from the same seed, dropout and shuffling included. The
            advanced trainer's runs fuse their epochs too when ``loop`` is ``trainer``.
        run_eagerly: compile the custom-callback models with ``run_eagerly`` (same reason).

    Raises:
        ValueError: ``seed`` not an integer >= 0, ``seeds`` not an integer in [1, ``MAX_SEEDS``], or
            ``loop`` not one of ``LOOPS``.
    """

    name: str
    seed: int = 42
    seeds: int = 5
    optimizer_steps: int = 50
    schedule_steps: int = 500
    warmup_steps_shown: int = 1000
    basic_samples: int | None = None
    basic_epochs: int = 100
    batch_size: int = 32
    advanced_samples: int | None = None
    advanced_epochs: int = 200
    advanced_patience: int = 15
    dropout_samples: int | None = None
    dropout_epochs: int = 100
    weight_samples: int | None = None
    weight_epochs: int = 150
    callbacks_epochs: int = 50
    callbacks_batch_size: int = 128
    plateau_epochs: int = 12
    custom_epochs: int = 20
    custom_train: int = 1000
    custom_val: int = 200
    mnist_train: int = 5000
    mnist_test: int = 1000
    monitored_samples: int | None = None
    monitored_epochs: int = 100
    loop: str = "trainer"
    run_eagerly: bool = False

    def __post_init__(self):
        check_int("seed", self.seed, low=0)
        check_int("seeds", self.seeds, low=1, high=MAX_SEEDS)
        check_choice("loop", self.loop, LOOPS)

    @property
    def fused(self) -> bool:
        """Whether ``Trainer`` runs fuse each epoch into one ``tf.function`` call (``loop == "trainer"``)."""
        return self.loop == "trainer"

    @property
    def seed_list(self) -> tuple[int, ...]:
        """The seeds of the run: ``seed, seed + 1, ..., seed + seeds - 1``."""
        return tuple(range(self.seed, self.seed + self.seeds))


FULL = Scale(name="full")
QUICK = Scale(
    name="quick",
    seeds=2,
    optimizer_steps=10,
    basic_samples=120,
    basic_epochs=2,
    advanced_samples=120,
    advanced_epochs=3,
    advanced_patience=1,
    dropout_samples=100,
    dropout_epochs=2,
    weight_samples=100,
    weight_epochs=2,
    callbacks_epochs=2,
    custom_epochs=2,
    custom_train=128,
    custom_val=64,
    mnist_train=256,
    mnist_test=128,
    monitored_samples=120,
    monitored_epochs=3,
    loop="eager",
    run_eagerly=True,
)
SCALES: dict[str, Scale] = {"full": FULL, "quick": QUICK}
