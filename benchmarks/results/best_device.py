"""Each run's best device per case, and which run won: the cross-device half of ``tfbench-compare``.

A case's key without its device (``basic/b32/xla``; ``benchmarks.results.cases``) names the same
work on any device, so a CPU laptop and a GPU box meet on it. Per run and case, the *best device*
is the device with the highest throughput,

    throughput = samples/s = batch_size / median(t)     (steps/s = 1 / median(t) without a batch size)

and its margin over the run's runner-up device is ``bootstrap_speedup(t_runner_up, t_best)``
(``benchmarks.results.analysis``: the ratio of medians with a 95% percentile-bootstrap interval).
Across runs, each run's best against the first run's best,

    ratio_k = throughput_k(best) / throughput_1(best) = median(t_1,best) / median(t_k,best),

with its interval; and the row's *winner*, the run with the highest throughput, is decided only
when its interval over the second-best run lies above 1, else the row says "inconclusive".

Devices are ``CPU:<n>``, ``GPU:<n>`` or ``TPU:<n>``; ``check_devices`` refuses a file with any
other (an unknown kind, a malformed name, a case id or label naming another device than its
``extra_info.device``), naming the file and the case.
"""

from __future__ import annotations

from dataclasses import dataclass

from benchmarks.results.analysis import Speedup, bootstrap_speedup
from benchmarks.results.cases import (
    batch_label,
    case_key_without_device,
    device_kind,
    mode_rank,
    parse_case_id,
)
from benchmarks.results.history import Benchmark, Run
from benchmarks.results.schema import CaseResult, ResultInputError

__all__ = ["BestCell", "BestRow", "Winner", "best_device_rows", "check_devices", "throughput"]


def throughput(case: CaseResult) -> float:
    """Samples per second, or steps per second for a case without a batch size."""
    return case.samples_per_s if case.samples_per_s is not None else case.steps_per_s


@dataclass(frozen=True)
class BestCell:
    """One run's best device for one case (all ``None`` when the run lacks the case).

    ``ratio``: this run's best over the first run's best (``None`` for the first run);
    ``margin``: the best device over ``runner_up``, the run's next device (``None`` with one device).
    """

    device: str | None
    device_label: str | None
    throughput: float | None
    ratio: Speedup | None
    runner_up: str | None
    margin: Speedup | None


@dataclass(frozen=True)
class Winner:
    """The run (index) with the highest throughput, and its ratio over the second-best run."""

    run: int
    device: str
    second: int | None
    ratio: Speedup | None

    @property
    def decisive(self) -> bool:
        """Whether the winner's interval over the second-best run lies above 1 (alone: decisive)."""
        return self.ratio is None or self.ratio.low > 1


@dataclass(frozen=True)
class BestRow:
    """One case, device left out, across the runs."""

    key: str
    label: str
    workload: str
    batch: str
    unit: str
    cells: list[BestCell]
    winner: Winner


def check_devices(run: Run) -> None:
    """Refuse a run whose cases name a device that is not ``CPU:<n>``, ``GPU:<n>`` or ``TPU:<n>``.

    Raises:
        ResultInputError: ``<file>: case '<id>': <problem>``.
    """
    for case in run.results.cases:
        try:
            device_kind(case.device)
            if case.kind == "calibration":
                named = case.device if case.case.endswith(f"/{case.device}") else case.case
            else:
                parsed = parse_case_id(case.case)
                named = parsed.device if parsed is not None else case.case
            if named != case.device:
                raise ValueError(f"the case id names another device than extra_info.device {case.device!r}")
            if not case.device_label.startswith(case.device):
                raise ValueError(f"device_label {case.device_label!r} does not start with {case.device!r}")
        except ValueError as error:
            raise ResultInputError(f"{run.path}: case {case.case!r}: {error}") from None


def _by_case(run: Run) -> dict[str, list[Benchmark]]:
    found: dict[str, list[Benchmark]] = {}
    for key, bench in run.benchmarks.items():
        short = case_key_without_device(key)
        if short is not None and bench.case.kind != "calibration":
            found.setdefault(short, []).append(bench)
    for benches in found.values():
        benches.sort(key=lambda b: (-throughput(b.case), b.case.device))
    return found


def _winner(cells: list[BestCell], best: list[Benchmark | None]) -> Winner:
    ranked = sorted((i for i, b in enumerate(best) if b is not None), key=lambda i: (-cells[i].throughput, i))
    first, second = ranked[0], (ranked[1] if len(ranked) > 1 else None)
    ratio = None if second is None else bootstrap_speedup(best[second].case.samples, best[first].case.samples)
    return Winner(first, cells[first].device, second, ratio)


def _row(key: str, per_run: list[list[Benchmark] | None]) -> BestRow:
    best = [benches[0] if benches else None for benches in per_run]
    reference = best[0]
    cells = []
    for index, benches in enumerate(per_run):
        if not benches:
            cells.append(BestCell(None, None, None, None, None, None))
            continue
        top = benches[0].case
        ratio = None
        if index > 0 and reference is not None:
            ratio = bootstrap_speedup(reference.case.samples, top.samples)
        runner = benches[1].case if len(benches) > 1 else None
        margin = None if runner is None else bootstrap_speedup(runner.samples, top.samples)
        cells.append(
            BestCell(
                top.device,
                top.device_label,
                throughput(top),
                ratio,
                None if runner is None else runner.device,
                margin,
            )
        )
    sample = next(b for b in best if b is not None).case
    label = key.split("/")[2]
    unit = "steps/s" if sample.samples_per_s is None else "samples/s"
    return BestRow(
        key, label, sample.workload, batch_label(sample.batch_size), unit, cells, _winner(cells, best)
    )


def best_device_rows(runs: list[Run]) -> list[BestRow]:
    """One row per case (device left out) found in any run, in report order (module docstring)."""
    per_run = [_by_case(run) for run in runs]
    first_seen: dict[str, CaseResult] = {}
    for cases in per_run:
        for key, benches in cases.items():
            first_seen.setdefault(key, benches[0].case)
    workloads = list(dict.fromkeys(c.workload for c in first_seen.values()))
    order = sorted(
        first_seen,
        key=lambda k: (
            first_seen[k].kind != "training_step",
            first_seen[k].strategy,
            workloads.index(first_seen[k].workload),
            -1 if first_seen[k].batch_size is None else first_seen[k].batch_size,
            mode_rank(first_seen[k].mode),
            k,
        ),
    )
    return [_row(key, [cases.get(key) for cases in per_run]) for key in order]
