"""The document's own code, verbatim, kept to show its defects on TensorFlow 2.21; and its own numbers.

Nothing here is meant to be used: each original is what a defect (KERAS3_NOTES.md) is shown on,
next to the fix that replaces it.

| original | defects | the fix |
|---|---|---|
| ``document_focal_loss`` | D1 | ``reference.losses.focal_loss`` |
| ``DocumentWarmupCosineDecay`` | D2, D3, D4, D17 | ``reference.schedules.WarmupCosineDecay`` |
| ``document_reset_states`` (``AdvancedTrainer``'s metric reset) | D5 | ``metric.reset_state()`` |
| ``DOCUMENT_WEIGHTS_FILE`` (``AdvancedTrainer``'s best weights) | D6 | ``reference.loop.BestWeights`` |
| ``document_mnist`` (the callbacks demo's data) | D7 | ``reference.data.load_mnist`` |
| ``document_callbacks`` (its ``TensorBoard``: D8), ``document_schedule`` | D8, D9, D16 | ``reference.callbacks.make_callbacks`` |
| ``document_standardize`` | D10 | ``reference.data.standardize`` |
| ``document_basic_model`` (``input_shape``) | D11 | ``reference.models.build_model`` |
| ``document_seeding`` | D12 | ``keras.utils.set_random_seed`` |
| ``document_current_lr`` | D13 | ``reference.monitor.current_learning_rate`` |

Verbatim apart from names (``Document``/``document_`` prefixes), the callbacks' file paths (under a
``workdir`` argument instead of the working directory) and their ``verbose`` (an argument, default
0); the code keeps the document's spelling (``tf.keras``) and comments. ``DocumentWarmupCosineDecay``
is deliberately NOT registered as Keras-serializable (D4). Its formula, with ``w = warmup_steps`` and
``T = total_steps``::

    step < w:  initial * step / w
    else:      min + (initial - min) * 0.5 * (1 + cos(pi * (step - w) / (T - w)))

The document's numbers: ``FOCAL_Y_TRUE``/``FOCAL_Y_PRED`` (its focal-loss example) and
``WARMUP_ARGUMENTS`` (its warmup-cosine schedule).
"""

import os
from pathlib import Path

import numpy as np
import tensorflow as tf

__all__ = [
    "DOCUMENT_WEIGHTS_FILE",
    "FOCAL_Y_PRED",
    "FOCAL_Y_TRUE",
    "WARMUP_ARGUMENTS",
    "DocumentWarmupCosineDecay",
    "document_basic_model",
    "document_callbacks",
    "document_current_lr",
    "document_focal_loss",
    "document_mnist",
    "document_reset_states",
    "document_schedule",
    "document_seeding",
    "document_standardize",
]

# 自定义损失函数: the test of its focal loss.
FOCAL_Y_TRUE = np.array([0, 1, 1, 0, 1], np.float32)
FOCAL_Y_PRED = np.array([0.1, 0.9, 0.8, 0.2, 0.7], np.float32)
# 自定义学习率调度: the schedule it plots.
WARMUP_ARGUMENTS = {
    "warmup_steps": 100,
    "total_steps": 1000,
    "initial_learning_rate": 0.001,
    "min_learning_rate": 0.0001,
}
# 高级训练技巧: AdvancedTrainer.train saves and loads its best weights under this name (D6).
DOCUMENT_WEIGHTS_FILE = "best_model_weights.h5"


# fmt: off
def document_focal_loss(alpha=0.25, gamma=2.0):
    """Focal Loss用于处理类别不平衡"""
    def loss_function(y_true, y_pred):
        # 计算交叉熵
        ce = tf.keras.losses.binary_crossentropy(y_true, y_pred)

        # 计算p_t
        p_t = y_true * y_pred + (1 - y_true) * (1 - y_pred)

        # 计算alpha_t
        alpha_t = y_true * alpha + (1 - y_true) * (1 - alpha)

        # 计算focal loss
        focal_loss = alpha_t * tf.pow(1 - p_t, gamma) * ce

        return tf.reduce_mean(focal_loss)

    return loss_function


class DocumentWarmupCosineDecay(tf.keras.optimizers.schedules.LearningRateSchedule):
    def __init__(self, warmup_steps, total_steps, initial_learning_rate, min_learning_rate=0.0):
        super(DocumentWarmupCosineDecay, self).__init__()  # noqa: UP008
        self.warmup_steps = warmup_steps
        self.total_steps = total_steps
        self.initial_learning_rate = initial_learning_rate
        self.min_learning_rate = min_learning_rate

    def __call__(self, step):
        # Warmup阶段
        warmup_lr = self.initial_learning_rate * step / self.warmup_steps

        # 余弦衰减阶段
        cosine_lr = self.min_learning_rate + (self.initial_learning_rate - self.min_learning_rate) * \
                   0.5 * (1 + tf.cos(tf.constant(np.pi) * (step - self.warmup_steps) / (self.total_steps - self.warmup_steps)))

        return tf.cond(step < self.warmup_steps, lambda: warmup_lr, lambda: cosine_lr)


def document_reset_states(metric):
    metric.reset_states()


def document_schedule(epoch):
    return 0.001 * 0.9 ** epoch


def document_callbacks(workdir, verbose=0):
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    callbacks = [
        # 早停
        tf.keras.callbacks.EarlyStopping(
            monitor='val_loss',
            patience=10,
            restore_best_weights=True,
            verbose=verbose
        ),

        # 学习率衰减
        tf.keras.callbacks.ReduceLROnPlateau(
            monitor='val_loss',
            factor=0.5,
            patience=5,
            min_lr=1e-7,
            verbose=verbose
        ),

        # 模型检查点
        tf.keras.callbacks.ModelCheckpoint(
            filepath=os.fspath(workdir / 'best_model.h5'),
            monitor='val_accuracy',
            save_best_only=True,
            verbose=verbose
        ),

        # TensorBoard日志
        tf.keras.callbacks.TensorBoard(
            log_dir=os.fspath(workdir / 'logs'),
            histogram_freq=1,
            write_graph=True,
            write_images=True
        ),

        # CSV日志
        tf.keras.callbacks.CSVLogger(os.fspath(workdir / 'training_log.csv')),

        # 学习率调度器
        tf.keras.callbacks.LearningRateScheduler(
            document_schedule,
            verbose=verbose
        )
    ]
    return callbacks


def document_mnist():
    # 创建数据
    (x_train, y_train), (x_test, y_test) = tf.keras.datasets.mnist.load_data()
    x_train = x_train.reshape(-1, 784).astype('float32') / 255.0
    x_test = x_test.reshape(-1, 784).astype('float32') / 255.0

    # 只使用部分数据进行演示
    x_train = x_train[:5000]
    y_train = y_train[:5000]
    x_test = x_test[:1000]
    y_test = y_test[:1000]
    return (x_train, y_train), (x_test, y_test)


def document_standardize(X_train, X_test):
    # 标准化
    X_train = (X_train - np.mean(X_train, axis=0)) / np.std(X_train, axis=0)
    X_test = (X_test - np.mean(X_test, axis=0)) / np.std(X_test, axis=0)
    return X_train, X_test


def document_basic_model():
    # 创建模型
    model = tf.keras.Sequential([
        tf.keras.layers.Dense(64, activation='relu', input_shape=(20,)),
        tf.keras.layers.Dropout(0.2),
        tf.keras.layers.Dense(32, activation='relu'),
        tf.keras.layers.Dense(1, activation='sigmoid')
    ])
    return model


def document_seeding(seed=42):
    # 设置随机种子
    tf.random.set_seed(seed)
    np.random.seed(seed)


def document_current_lr(optimizer):
    current_lr = optimizer.learning_rate.numpy()
    return current_lr
# fmt: on
