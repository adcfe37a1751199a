"""Section 2, 优化器 (optimizers): the document's comparison on ``sum((x - 2)^2)`` and its claims."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from reference.optimizers import (
    DOCUMENT_INITIAL,
    DOCUMENT_LEARNING_RATE,
    OPTIMIZERS,
    compare_optimizers,
    make_optimizer,
    minimize,
    plot_optimizer_comparison,
    quadratic,
)
from reference.reproduction.citations import cite
from reference.reproduction.ledger import Claim
from reference.reproduction.progress import Progress
from reference.reproduction.results import SectionResult, Table, fmt
from reference.reproduction.scale import Scale

__all__ = ["CLAIMS", "DEFECT_IDS", "run"]

CONVERGED_FRACTION = 1e-2  # "reached the minimum": the loss fell below 1 % of where it started

DEFECT_IDS = ()  # the defects this section captures, in its SectionResult.defects


def run(scale: Scale, workdir: Path, progress: Progress) -> SectionResult:
    """Each optimizer minimizes the quadratic from [0, 0] (lr 0.1); Adam's first step at two gradient scales."""
    histories = compare_optimizers(steps=scale.optimizer_steps)
    runs = {
        name: {
            "losses": h.losses.astype(float).tolist(),
            "initial": float(h.losses[0]),
            "final": float(h.losses[-1]),
            "max_x": float(h.params.max()),
            "rises": int(np.sum(np.diff(h.losses) > 0)),
        }
        for name, h in histories.items()
    }
    first_steps = {}
    for scale_factor in (1.0, 1000.0):
        history = minimize(
            lambda x, s=scale_factor: s * quadratic(x), make_optimizer("adam"), DOCUMENT_INITIAL, 1
        )
        first_steps[f"{scale_factor:g}"] = float(np.abs(history.params[1] - history.params[0]).max())
    numbers = {"runs": runs, "adam_first_step": first_steps, "steps": scale.optimizer_steps}
    section = SectionResult("optimizers", numbers)
    section.tables.append(
        Table(
            f"{scale.optimizer_steps} steps from [0, 0], learning rate {DOCUMENT_LEARNING_RATE}",
            ("optimizer", "first loss", "last loss", "last / first", "max x", "loss rises"),
            tuple(
                (
                    OPTIMIZERS[n].label,
                    fmt(r["initial"]),
                    fmt(r["final"]),
                    fmt(r["final"] / r["initial"], ".2e"),
                    fmt(r["max_x"]),
                    str(r["rises"]),
                )
                for n, r in runs.items()
            ),
        )
    )
    section.figures["optimizers"] = plot_optimizer_comparison(histories)
    return section


def _labels(n, names) -> str:
    return ", ".join(f"{OPTIMIZERS[k].label} {n['runs'][k]['final']:.3g}" for k in names)


CLAIMS = [
    Claim(
        id="O1",
        section="optimizers",
        source="基础优化器",
        quote="比较不同优化器的性能 ... plt.title('不同优化器的收敛过程')",
        translation="All five optimizers make progress on the quadratic: each curve of the convergence figure goes down.",
        method="Last recorded loss below the first, for each optimizer (lr 0.1, the document's steps).",
        tests=cite(
            "optimizers::test_compare_optimizers_reproduces_the_documents_five_runs_against_the_oracles"
        ),
        holds=lambda n: all(r["final"] < r["initial"] for r in n["runs"].values()),
        evidence=lambda n: "first loss 8; last: " + _labels(n, n["runs"]),
        figures=("optimizers",),
    ),
    Claim(
        id="O2",
        section="optimizers",
        source="基础优化器",
        quote="plt.title('不同优化器的收敛过程') (50 次迭代)",
        translation="Each optimizer converges to the minimum within the 50 plotted iterations.",
        method=f"Last loss below {CONVERGED_FRACTION:.0%} of the first, for every optimizer.",
        tests=cite(
            "optimizers::test_each_document_optimizer_brings_the_quadratic_below_its_stated_loss_within_its_steps"
        ),
        holds=lambda n: all(r["final"] < CONVERGED_FRACTION * r["initial"] for r in n["runs"].values()),
        evidence=lambda n: (
            "not converged: "
            + (
                _labels(
                    n, [k for k, r in n["runs"].items() if r["final"] >= CONVERGED_FRACTION * r["initial"]]
                )
                or "none"
            )
            + "; converged: "
            + _labels(n, [k for k, r in n["runs"].items() if r["final"] < CONVERGED_FRACTION * r["initial"]])
        ),
        figures=("optimizers",),
    ),
    Claim(
        id="O3",
        section="optimizers",
        source="总结",
        quote="优化器配置:理解不同优化器的特点和适用场景",
        translation="Optimizers differ in character: momentum overshoots the minimum while plain SGD approaches it monotonically.",
        method="SGD+Momentum: largest x above 2 and at least one loss increase; SGD: no increase and x below 2.",
        tests=cite("optimizers::test_momentum_at_0_9_overshoots_the_minimum_so_its_loss_is_not_monotone"),
        holds=lambda n: (
            n["runs"]["sgd_momentum"]["max_x"] > 2.0
            and n["runs"]["sgd_momentum"]["rises"] > 0
            and n["runs"]["sgd"]["rises"] == 0
            and n["runs"]["sgd"]["max_x"] < 2.0
        ),
        evidence=lambda n: (
            f"momentum: max x {n['runs']['sgd_momentum']['max_x']:.3f}, {n['runs']['sgd_momentum']['rises']} loss rises; "
            f"SGD: max x {n['runs']['sgd']['max_x']:.8g}, {n['runs']['sgd']['rises']} rises"
        ),
        figures=("optimizers",),
    ),
    Claim(
        id="O4",
        section="optimizers",
        source="总结",
        quote="优化器配置:理解不同优化器的特点和适用场景",
        translation=(
            "Adaptive optimizers set their step size from the learning rate, not the gradient's scale: Adam's first "
            "step moves each coordinate by the learning rate."
        ),
        method="Adam's first step on the quadratic and on 1000 x the quadratic.",
        tests=cite(
            "optimizers::test_adams_first_step_moves_every_coordinate_by_the_learning_rate_whatever_the_gradient_scale"
        ),
        holds=lambda n: all(abs(v - DOCUMENT_LEARNING_RATE) < 1e-4 for v in n["adam_first_step"].values()),
        evidence=lambda n: (
            "first step " + ", ".join(f"{v:.5f} (gradient x{k})" for k, v in n["adam_first_step"].items())
        ),
    ),
]
