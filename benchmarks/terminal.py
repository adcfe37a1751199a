"""The terminal table of a timed run: one row per case, its passes pooled, as in the report and the gate.

A timed run times each case once per pass, and pytest-benchmark sees every pass as its own test. Its
table would list each pass (about 225 rows for the full matrix) while the HTML report, the gate and
the comparison pool them (``benchmarks.results.schema.pooled_passes``). ``pooled_rows`` gives the
table the same numbers: the raw samples of every pass of a case, concatenated, with the statistics
computed by pytest-benchmark's own ``Stats``. With ``--benchmark-compare`` the rows stay per pass:
pytest-benchmark matches stored runs test by test and stores no samples by default.
"""

from __future__ import annotations

import re

from pytest_benchmark.stats import Stats

__all__ = ["pooled_rows", "without_pass"]

_PARAMS = re.compile(r"\[(.*)\]$")
_PASS = re.compile(r"pass\d+")


def without_pass(name: str) -> str:
    """The test id without its pass: ``test[basic-b32-fit-CPU:0-pass1]`` -> ``test[basic-b32-fit-CPU:0]``,
    ``test[pass2-a]`` -> ``test[a]``, ``test[pass0]`` -> ``test``."""
    match = _PARAMS.search(name)
    if match is None:
        return name
    kept = [part for part in match.group(1).split("-") if not _PASS.fullmatch(part)]
    return name[: match.start()] + (f"[{'-'.join(kept)}]" if kept else "")


def pooled_rows(rows: list[dict], document: dict) -> list[dict]:
    """``rows`` (pytest-benchmark's flat rows of one group) with each case's passes merged into one row.

    ``document`` is the run's JSON (with ``stats.data``); rows of another plugin, rows without samples
    and rows compared with stored runs are kept as they are.
    """
    if any(row.get("source") for row in rows):
        return rows
    samples = {
        bench.get("fullname"): (bench.get("stats") or {}).get("data")
        for bench in document.get("benchmarks", ())
    }
    pooled: dict[str, dict] = {}
    result: list[dict] = []
    for row in rows:
        info = row.get("extra_info") or {}
        data = samples.get(row.get("fullname"))
        if "pass" not in info or not data:
            result.append(row)
            continue
        key = without_pass(row["fullname"])
        if key not in pooled:
            pooled[key] = dict(row, name=without_pass(row["name"]), fullname=key, _samples=[])
            result.append(pooled[key])
        pooled[key]["_samples"].extend(data)
    for row in pooled.values():
        stats = Stats()
        for seconds in row.pop("_samples"):
            stats.update(seconds)
        row.update(stats.as_dict())
    return result
