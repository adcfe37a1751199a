"""The gate's statistics: verdicts, the moderated noise scale, and the noise floor as a prediction bound."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.results.gate_statistics import (
    IMPROVEMENT,
    INSUFFICIENT,
    NOISE,
    PASS,
    REGRESSION,
    noise_floor,
    noise_scale,
    verdict,
)
from benchmarks.results.history import read_run
from tests.common.synthetic_runs import result_document, write_result

TIGHT = {"rounds": 21, "spread": 0.02, "quantiles": True}


def _run(tmp_path, name: str, **kwargs):
    return read_run(write_result(tmp_path / f"{name}.json", result_document(**kwargs)))


@pytest.mark.parametrize(
    ("change", "p_value", "expected"),
    [
        (-0.2, 0.001, REGRESSION),
        (-0.2, 0.5, NOISE),
        (0.2, 0.001, IMPROVEMENT),
        (0.2, 0.5, NOISE),
        (-0.05, 0.001, PASS),
        (-0.05, 0.5, PASS),
        (-0.2, None, INSUFFICIENT),
    ],
    ids=[
        "slower-significant",
        "slower-noisy",
        "faster-significant",
        "faster-noisy",
        "small-significant",
        "small-noisy",
        "untested",
    ],
)
def test_verdict_needs_both_the_threshold_and_significance(change, p_value, expected):
    assert verdict(change, p_value, threshold=0.1, alpha=0.01)[0] == expected


def test_noise_scale_moderates_each_benchmark_mean_square_toward_the_median_one(tmp_path):
    """h0 -> h1 -> h0 again: speedup log-changes function -0.1 then +0.1, xla -0.2 then +0.2, fused
    +0.3 then -0.3 (both batches); the mean over the six rows is 0 in both pairs.

    Own mean squares 0.01, 0.04, 0.09 over 2 pairs; their median s0^2 = 0.04 weighs as 4 more pairs:
    sigma^2 = (2 * own + 4 * 0.04) / 6, with 2 + 4 = 6 degrees of freedom.
    """
    plain = _run(tmp_path, "h0", **TIGHT)
    slowed = _run(
        tmp_path, "h1", slow={"function": np.exp(0.1), "xla": np.exp(0.2), "fused": np.exp(-0.3)}, **TIGHT
    )
    scale = noise_scale([plain, slowed, plain], "speedup")
    assert scale.pairs == 2
    own = {"function": 0.01, "xla": 0.04, "fused": 0.09}
    expected = {
        f"basic/b{batch}/{mode}/CPU:0": (round(np.sqrt((2 * square + 4 * 0.04) / 6), 12), 6)
        for batch in (32, 2048)
        for mode, square in own.items()
    }
    assert {k: (round(sigma, 12), df) for k, (sigma, df) in scale.rows.items()} == expected
    assert scale.aggregate_sigma == pytest.approx(0.0, abs=1e-12)
    assert noise_scale([plain], "speedup") is None


@pytest.mark.parametrize(
    ("sigma", "tests", "df", "quantile"),
    # Student's t quantiles from printed tables: t_3(0.99) = 4.5407029, t_1(0.99) = 31.820516,
    # t_10(0.995) = 3.1692727 (0.01 over 2 rows), t_4(0.9995) = 8.6103016 (0.01 over 20 rows).
    [(0.1, 1, 3, 4.5407029), (0.01, 1, 1, 31.820516), (0.1, 2, 10, 3.1692727), (0.05, 20, 4, 8.6103016)],
)
def test_noise_floor_is_the_bonferroni_t_prediction_bound_on_a_drop(sigma, tests, df, quantile):
    expected = 1 - np.exp(-quantile * sigma)
    assert noise_floor(sigma, alpha=0.01, tests=tests, df=df) == pytest.approx(expected, rel=1e-6)
    assert noise_floor(0.0, alpha=0.01, tests=tests, df=df) == 0.0
