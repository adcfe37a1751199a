"""The defects ledger's static half: what each defect is, where, its fix and the tests that show it.

D1-D13 are those of ``shared/KERAS3_NOTES.md``; D14-D17 were found while building the suite. The
live captures that decide whether each defect is present on the installed TensorFlow are in
``captures`` and ``captures_callbacks``; ``result`` joins a capture with this table.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, NamedTuple

from reference.reproduction.citations import cite
from reference.reproduction.ledger import DefectResult

__all__ = ["DEFECTS", "RTOL", "DefectInfo", "close", "result"]


class DefectInfo(NamedTuple):
    title: str
    where: str
    fix: str
    tests: tuple[str, ...]


DEFECTS: dict[str, DefectInfo] = {
    "D1": DefectInfo(
        "focal loss multiplies the modulator by the already averaged cross-entropy",
        "自定义损失函数 focal_loss",
        "element-wise cross-entropy, then modulate, then average (reference.losses.focal_loss)",
        cite(
            "document_losses::test_document_focal_loss_gives_0_00294_where_the_definition_gives_0_00360",
            "document_losses::test_document_focal_loss_builds_an_n_by_n_matrix_from_column_inputs",
        ),
    ),
    "D2": DefectInfo(
        "WarmupCosineDecay fails on an optimizer's int64 iterations",
        "自定义学习率调度 WarmupCosineDecay.__call__",
        "cast the step to float first (reference.schedules.WarmupCosineDecay)",
        cite(
            "document_schedule::test_d2_an_optimizers_int64_iterations_break_the_documents_schedule_but_not_ours",
            "document_schedule::test_d2_model_fit_fails_with_the_documents_schedule_and_runs_with_ours",
        ),
    ),
    "D3": DefectInfo(
        "WarmupCosineDecay climbs back up after total_steps",
        "自定义学习率调度 WarmupCosineDecay.__call__",
        "clamp the cosine progress to [0, 1]",
        cite(
            "document_schedule::test_d3_after_total_steps_the_documents_cosine_climbs_back_and_ours_stays_at_the_minimum",
            "schedules::test_warmup_cosine_equals_the_minimum_rate_from_total_steps_on",
        ),
    ),
    "D4": DefectInfo(
        "WarmupCosineDecay has no get_config: a model using it cannot be saved",
        "自定义学习率调度 WarmupCosineDecay",
        "get_config + keras.saving.register_keras_serializable",
        cite(
            "document_schedule::test_d4_a_model_using_the_documents_schedule_cannot_be_saved_and_one_using_ours_can",
            "schedules::test_a_saved_keras_model_whose_optimizer_uses_warmup_cosine_loads_with_the_same_schedule",
        ),
    ),
    "D5": DefectInfo(
        "AdvancedTrainer calls metric.reset_states, gone in Keras 3",
        "高级训练技巧 AdvancedTrainer.train",
        "metric.reset_state() (reference.trainer.Trainer)",
        cite(
            "document_training::test_d5_keras3_metrics_have_no_reset_states",
            "document_training::test_d5_trainer_metrics_hold_only_the_last_epoch_after_three_epochs",
        ),
    ),
    "D6": DefectInfo(
        "AdvancedTrainer saves weights to 'best_model_weights.h5', refused by Keras 3",
        "高级训练技巧 AdvancedTrainer.train",
        "a '.weights.h5' name, or the best weights kept in memory (reference.loop.BestWeights)",
        cite(
            "document_training::test_d6_saving_weights_to_a_plain_h5_name_raises",
            "document_training::test_d6_a_weights_h5_name_saves_and_loads_the_same_weights",
        ),
    ),
    "D7": DefectInfo(
        "the callbacks demo downloads MNIST at run time",
        "内置回调函数 demonstrate_callbacks",
        "a local mnist.npz when present, else scikit-learn's digits, said in the output (reference.data.load_mnist)",
        cite(
            "data::test_without_mnist_the_digits_stand_in_with_a_warning_and_no_download",
            "command::test_d7_keras_mnist_download_fails_offline_and_the_stand_in_loads_without_network",
        ),
    ),
    "D8": DefectInfo(
        "the TensorBoard callback needs the tensorboard package, which TensorFlow no longer requires",
        "内置回调函数 TensorBoard",
        "declare tensorboard as a dependency (pyproject.toml)",
        cite(
            "callbacks::test_tensorboard_is_a_declared_dependency_of_the_project",
            "command::test_d8_fit_with_tensorboard_fails_without_the_package_and_works_with_it",
        ),
    ),
    "D9": DefectInfo(
        "LearningRateScheduler undoes every ReduceLROnPlateau cut one epoch later",
        "内置回调函数 LearningRateScheduler + ReduceLROnPlateau",
        "one owner of the rate: a scheduler that decays the rate it is given (reference.callbacks.make_callbacks)",
        cite(
            "callbacks::test_document_scheduler_undoes_the_plateau_cut_at_the_next_epoch",
            "callbacks::test_our_callbacks_keep_every_plateau_cut_and_the_per_epoch_decay",
        ),
    ),
    "D10": DefectInfo(
        "the test split is standardized with its own statistics (leakage)",
        "L1和L2正则化 weight_regularization_demo; 训练过程监控 monitored_training",
        "standardize both splits with the training split's mean and std (reference.data.standardize)",
        cite(
            "document_training::test_d10_on_the_weight_demo_data_the_leaky_test_split_is_exactly_centred_and_ours_is_not",
            "document_training::test_d10_leaky_standardization_lets_one_test_sample_move_the_others",
        ),
    ),
    "D11": DefectInfo(
        "Dense(..., input_shape) warns in Keras 3",
        "every model of the document",
        "keras.Input((20,)) as the first layer (reference.models.build_model)",
        cite("command::test_d11_input_shape_warns_and_keras_input_does_not"),
    ),
    "D12": DefectInfo(
        "tf.random.set_seed + np.random.seed do not make Keras 3 builds repeatable",
        "训练基础概念 (seeding)",
        "keras.utils.set_random_seed(seed)",
        cite(
            "document_training::test_d12_tf_and_numpy_seeds_do_not_repeat_a_keras_model_build",
            "document_training::test_d12_keras_set_random_seed_repeats_the_build_and_the_dropout_mask",
        ),
    ),
    "D13": DefectInfo(
        "optimizer.lr is gone; a scheduled optimizer.learning_rate is symbolic inside tf.function",
        "训练过程监控 (reading the learning rate)",
        "float(optimizer.learning_rate) outside graphs (reference.monitor.current_learning_rate)",
        cite(
            "monitor::test_document_optimizer_lr_attribute_is_gone",
            "monitor::test_schedule_learning_rate_is_symbolic_inside_tf_function_so_numpy_fails",
            "monitor::test_monitor_learning_rate_is_the_schedule_value_at_the_current_iteration",
        ),
    ),
    "D14": DefectInfo(
        "Keras sparse and categorical cross-entropy disagree on unnormalized probability rows",
        "分类任务损失函数 (finding; the document uses logits there)",
        "feed normalized probabilities (a softmax output) or logits with from_logits=True",
        cite("losses::test_sparse_and_categorical_ce_on_probabilities_differ_on_unnormalized_rows"),
    ),
    "D15": DefectInfo(
        "ModelCheckpoint leaves a truncated archive when a save fails",
        "内置回调函数 ModelCheckpoint (finding)",
        "write a temporary file, then os.replace (reference.callbacks.AtomicModelCheckpoint)",
        cite(
            "callbacks::test_keras_model_checkpoint_leaves_a_truncated_file_when_saving_fails",
            "callbacks::test_atomic_checkpoint_keeps_the_previous_file_whole_when_saving_fails",
        ),
    ),
    "D16": DefectInfo(
        "with the document's callback order, History logs the cut rate for the epoch run at the old one",
        "内置回调函数 (callback order; finding)",
        "put the scheduler first (reference.callbacks.make_callbacks)",
        cite(
            "callbacks::test_document_order_logs_the_cut_rate_for_the_epoch_that_still_ran_at_the_old_one",
            "callbacks::test_our_callbacks_keep_every_plateau_cut_and_the_per_epoch_decay",
        ),
    ),
    "D17": DefectInfo(
        "the document's own warmup plot fails at step 0: a warmup step returns a Python float",
        "自定义学习率调度 (the plotting loop schedule(step).numpy())",
        "return a tensor for every step (ops.where instead of tf.cond on a Python bool)",
        cite(
            "document_schedule::test_the_documents_plot_loop_fails_at_step_0_because_warmup_returns_a_python_float"
        ),
    ),
}


RTOL = 1e-5


def result(
    *,
    id: str,
    document: str,
    fixed: str,
    present: bool,
    fix_verified: bool,
    numbers: Mapping[str, Any] | None = None,
) -> DefectResult:
    """A ``DefectResult`` with the static facts of ``DEFECTS[id]`` and what this run observed.

    ``document``: what the document's code did (the error's ``Type: first line`` or the wrong
    value); ``fixed``: what the fix did; ``numbers``: the measured values, for the JSON.
    """
    info = DEFECTS[id]
    return DefectResult(
        id=id,
        title=info.title,
        where=info.where,
        document=document,
        fixed=fixed,
        present=bool(present),
        fix_verified=bool(fix_verified),
        fix=info.fix,
        tests=info.tests,
        numbers=dict(numbers or {}),
    )


def close(a: float, b: float, rtol: float = RTOL) -> bool:
    return math.isclose(a, b, rel_tol=rtol, abs_tol=1e-12)
