"""The report's numbers: speedups with bootstrap intervals, scaling efficiency, and the findings."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.results.analysis import answers, bootstrap_speedup, epoch_answers, findings, goal, scaling
from benchmarks.results.schema import parse_results
from tests.common.synthetic_runs import EPOCH_ROWS, MEDIANS, result_document

# Step medians of the report's run: fused fastest, xla 2x slower than function, fit 1.5x.
LADDER = {"eager": 20e-3, "function": 1e-3, "xla": 2e-3, "fit": 1.5e-3, "fused": 0.25e-3}
# Distributed steps against no strategy: mirrored x2 is 1.6x faster, multiworker x2 2x slower.
SCALING = {"mirrored": 1 / 1.6, "multiworker": 2.0}
BATCH = 256


def _ladder():
    return parse_results(result_document(medians=LADDER, batches=(32, 256), quantiles=True))


def _distributed():
    return parse_results(
        result_document(
            batches=(BATCH,), modes=(), strategies=("none", *SCALING), slow=SCALING, quantiles=True
        )
    )


def test_speedup_is_the_ratio_of_medians_inside_its_interval():
    rng = np.random.default_rng(3)
    eager = 10.0 + rng.random(40)
    fast = 2.0 + rng.random(30)
    speedup = bootstrap_speedup(eager, fast)
    assert speedup.ratio == pytest.approx(np.median(eager) / np.median(fast))
    assert speedup.low <= speedup.ratio <= speedup.high


def test_speedup_interval_is_narrow_for_tight_samples_and_wide_for_noisy_ones():
    rng = np.random.default_rng(4)
    tight = bootstrap_speedup(1 + 0.001 * rng.random(50), 0.5 + 0.001 * rng.random(50))
    noisy = bootstrap_speedup(1 + 0.5 * rng.random(50), 0.5 + 0.25 * rng.random(50))
    assert tight.high - tight.low < noisy.high - noisy.low


def test_findings_name_the_fastest_mode_and_where_xla_and_fit_lose():
    lines = findings(_ladder())
    text = "\n".join(lines)
    # The fused loop repeats one batch: the bound, not a way to train; the fastest way here is function.
    assert "basic on CPU:0: fastest float32 way batch 32: function" in text
    xla_ratio = LADDER["xla"] / LADDER["function"]
    assert any(
        line.startswith("xla is slower than function on basic (CPU:0) at batch 32: ")
        and f"{xla_ratio:.2f}x" in line
        for line in lines
    )
    assert any(line.startswith("fit is slower than function on basic (CPU:0) at batch 32") for line in lines)
    assert not any(line.startswith("fused is slower") for line in lines)


def test_scaling_efficiency_is_the_speedup_over_one_replica_divided_by_the_replicas():
    found = {item.case.strategy: item for item in scaling(_distributed())}
    assert found["none"].efficiency == pytest.approx(1.0)
    assert found["mirrored"].speedup == pytest.approx(1.6)
    assert found["mirrored"].efficiency == pytest.approx(1.6 / 2)
    assert found["multiworker"].efficiency == pytest.approx(0.5 / 2)
    mirrored_median = MEDIANS["function"] * BATCH / 32 * SCALING["mirrored"]
    assert found["mirrored"].per_replica_samples_per_s == pytest.approx(BATCH / mirrored_median / 2)


def test_findings_say_where_scaling_pays_and_where_communication_eats_it():
    lines = findings(_distributed())
    assert any(
        f"Scaling pays for basic at global batch {BATCH} with mirrored x2: 1.60x" in line for line in lines
    )
    assert any(
        f"eat the gain for basic at global batch {BATCH} with multiworker x2: 0.50x" in line for line in lines
    )


KNOBS = {
    "eager": 20e-3,
    "function": 1e-3,
    "fit": 1.6e-3,
    "fit_mixed": 2e-3,
    "fit_spe32": 0.4e-3,
    "trainer_spe32": 0.25e-3,
    "fused": 0.1e-3,
}
EPOCHS = {"eager": 0.7, "trainer": 0.07, "fit": 0.09, "fit_spe32": 0.05, "trainer_spe32": 0.04}


def _knobs(**kwargs):
    return parse_results(
        result_document(medians=KNOBS, batches=(32,), quantiles=True, epochs=EPOCHS, **kwargs)
    )


def test_the_answer_is_the_fastest_way_to_train_not_the_fused_bound():
    (answer,) = answers(_knobs())
    assert answer.best.mode == "trainer_spe32" and answer.bound.mode == "fused"
    assert answer.over_eager.ratio == pytest.approx(KNOBS["eager"] / KNOBS["trainer_spe32"])
    assert answer.over_fit.ratio == pytest.approx(KNOBS["fit"] / KNOBS["trainer_spe32"])


def test_the_answer_compares_the_fastest_mixed_way_with_its_float32_twin():
    (answer,) = answers(_knobs())
    assert answer.mixed.mode == "fit_mixed"
    assert answer.mixed_over_twin.ratio == pytest.approx(KNOBS["fit"] / KNOBS["fit_mixed"])


@pytest.mark.parametrize(
    ("trainer_s", "verdict"),
    [(KNOBS["fit"] / 4, "met"), (KNOBS["fit"] / 2, "not met"), (KNOBS["fit"] / 3, "inconclusive")],
)
def test_the_goal_is_met_only_when_its_whole_interval_clears_three(trainer_s, verdict):
    results = parse_results(
        result_document(medians=KNOBS | {"trainer_spe32": trainer_s}, batches=(32,), spread=0.05)
    )
    (found,) = goal(results)
    assert found.verdict == verdict
    assert found.ratio.low <= KNOBS["fit"] / trainer_s <= found.ratio.high


def test_epoch_answers_pick_the_fastest_way_per_callback_setting_against_the_eager_loop_and_fit():
    off, on = epoch_answers(_knobs())
    assert (off.best.callbacks, on.best.callbacks) == (False, True)
    assert off.best.mode == on.best.mode == "trainer_spe32"
    assert off.over_eager.ratio == pytest.approx(EPOCHS["eager"] / EPOCHS["trainer_spe32"])
    assert on.over_fit.ratio == pytest.approx(EPOCHS["fit"] / EPOCHS["trainer_spe32"])


def test_an_epoch_case_counts_the_rows_of_an_epoch_as_its_samples():
    case = next(c for c in _knobs().epochs if c.mode == "fit" and not c.callbacks)
    assert case.samples_per_s == pytest.approx(EPOCH_ROWS / EPOCHS["fit"])


def test_a_faster_mixed_way_is_reported_beside_the_float32_answer_not_as_it():
    results = parse_results(
        result_document(medians=KNOBS | {"fit_mixed": 0.2e-3}, batches=(32,), quantiles=True)
    )
    (answer,) = answers(results)
    assert (answer.best.mode, answer.mixed.mode) == ("trainer_spe32", "fit_mixed")
    assert "basic on CPU:0: fastest float32 way batch 32: trainer_spe32" in "\n".join(findings(results))
