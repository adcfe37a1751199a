"""pytest-benchmark's own options in this suite: each one is honoured, mapped onto the suite's settings,
or refused when the session starts (a pytest usage error naming the option and what to use instead).

The suite times every case with ``benchmark.pedantic`` over rounds it sizes itself from two warm
calls (``benchmarks.settings``), once per pass; plain ``pytest`` is the untimed smoke pass. So:

| option | in a timed run (``--benchmark-only`` / ``--benchmark-enable``) | in plain ``pytest`` |
|---|---|---|
| ``--benchmark-json PATH`` | written, together with ``reports/benchmarks.json`` | refused: needs a timed run |
| ``--benchmark-save NAME``, ``--benchmark-autosave``, ``--benchmark-save-data`` | pytest-benchmark's storage (``.benchmarks/``) | refused: needs a timed run |
| ``--benchmark-compare [NUM]``, ``--benchmark-compare-fail EXPR`` | pytest-benchmark's comparison with its storage, per pass | refused: needs a timed run |
| ``--benchmark-histogram [PREFIX]`` | SVG histograms (needs the ``histogram`` extra: pygal) | refused: needs a timed run |
| ``--benchmark-cprofile COL`` (and ``-loops``, ``-top``, ``-dump``) | one extra profiled call per case after its rounds | refused: needs a timed run |
| ``--benchmark-min-rounds N`` | mapped: at least ``N`` rounds per case and pass | refused: needs a timed run |
| ``--benchmark-max-time S`` | mapped: rounds sized to about ``S`` seconds per case and pass (no upper round cap) | refused: needs a timed run |
| ``--benchmark-warmup off/on`` | mapped: ``off`` no warm-up round, ``on`` at least one | refused: needs a timed run |
| ``--benchmark-disable-gc``, ``--benchmark-timer`` | honoured by ``pedantic`` | no effect (nothing is timed) |
| ``--benchmark-min-time``, ``--benchmark-precision``, ``--benchmark-confidence``, ``--benchmark-calibration-precision``, ``--benchmark-warmup-iterations`` | refused: they steer pytest-benchmark's calibration, which ``pedantic`` skips | refused |
| ``--benchmark-disable`` with ``--benchmark-only`` | refused: they contradict each other | (plain ``pytest`` is already untimed) |
| ``--benchmark-skip`` | overridden by ``--benchmark-only`` (pytest-benchmark's rule) | skips the smoke pass of the benchmarks |
| ``--benchmark-sort``, ``-group-by``, ``-columns``, ``-name``, ``-time-unit``, ``-verbose``, ``-quiet``, ``-storage``, ``-netrc`` | honoured (the terminal table has one pooled row per case) | no effect |

An option counts as given when it is on the command line, in ``PYTEST_ADDOPTS`` or in the ini file's
``addopts``; options left at pytest-benchmark's defaults change nothing.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import replace

__all__ = ["CALIBRATION_OPTIONS", "TIMED_ONLY_OPTIONS", "apply_to_settings", "given_options", "refusal"]

TIMED_ONLY_OPTIONS = (
    "--benchmark-json",
    "--benchmark-save",
    "--benchmark-autosave",
    "--benchmark-save-data",
    "--benchmark-compare",
    "--benchmark-compare-fail",
    "--benchmark-histogram",
    "--benchmark-cprofile",
    "--benchmark-cprofile-loops",
    "--benchmark-cprofile-top",
    "--benchmark-cprofile-dump",
    "--benchmark-min-rounds",
    "--benchmark-max-time",
    "--benchmark-warmup",
)
CALIBRATION_OPTIONS = (
    "--benchmark-min-time",
    "--benchmark-precision",
    "--benchmark-confidence",
    "--benchmark-calibration-precision",
    "--benchmark-warmup-iterations",
)
_WATCHED = (*TIMED_ONLY_OPTIONS, *CALIBRATION_OPTIONS, "--benchmark-disable", "--benchmark-only")


def given_options(args, addopts_env: str | None = None, ini_addopts=()) -> frozenset[str]:
    """The watched pytest-benchmark options among the command line ``args``, ``PYTEST_ADDOPTS`` and the
    ini file's ``addopts`` (``--opt value`` and ``--opt=value`` forms)."""
    env = os.environ.get("PYTEST_ADDOPTS", "") if addopts_env is None else addopts_env
    tokens = [*ini_addopts, *shlex.split(env), *map(str, args)]
    given = set()
    for token in tokens:
        name = token.split("=", 1)[0]
        if name in _WATCHED:
            given.add(name)
    return frozenset(given)


def refusal(given: frozenset[str], *, timed: bool, histogram_available: bool) -> str | None:
    """Why the session cannot start with these options (one line), or ``None``."""
    for option in CALIBRATION_OPTIONS:
        if option in given:
            return (
                f"{option} is not supported: the suite times each case with benchmark.pedantic over rounds "
                "sized from warm calls, so pytest-benchmark's calibration never runs; "
                "use --benchmark-min-rounds or --benchmark-max-time"
            )
    if timed and "--benchmark-disable" in given:
        return "--benchmark-disable contradicts --benchmark-only/--benchmark-enable: give one of them"
    if not timed:
        for option in TIMED_ONLY_OPTIONS:
            if option in given:
                return (
                    f"{option} needs a timed run: plain pytest is the untimed smoke pass of the benchmarks; "
                    "add --benchmark-only"
                )
    if "--benchmark-histogram" in given and not histogram_available:
        return (
            "--benchmark-histogram needs pygal, which is not installed: "
            "pip install 'tf-training-suite[histogram]'"
        )
    return None


def apply_to_settings(settings, option, given: frozenset[str]):
    """``settings`` with ``--benchmark-min-rounds``, ``--benchmark-max-time`` and ``--benchmark-warmup``
    applied (``option`` is ``config.option``).

    - min rounds ``N``: ``min_rounds = N`` and ``max_rounds >= N``;
    - max time ``S``: ``budget_s = S`` per case and pass, ``max_rounds`` lifted so ``S`` decides;
    - warm-up ``off``: ``warmup_rounds = 0``; ``on``: ``warmup_rounds >= 1``.
    """
    changes = {}
    if "--benchmark-max-time" in given:
        changes["budget_s"] = float(option.benchmark_max_time)
        changes["max_rounds"] = 1_000_000
    if "--benchmark-min-rounds" in given:
        rounds = int(option.benchmark_min_rounds)
        changes["min_rounds"] = rounds
        changes["max_rounds"] = max(changes.get("max_rounds", settings.max_rounds), rounds)
    if "--benchmark-warmup" in given:
        warm = option.benchmark_warmup is None or bool(option.benchmark_warmup)  # bare option: on
        changes["warmup_rounds"] = max(1, settings.warmup_rounds) if warm else 0
    return replace(settings, **changes) if changes else settings
