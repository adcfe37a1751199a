"""pytest plugin of the benchmark suite (registered by the root ``conftest.py``).

- Plain ``pytest`` is the smoke pass: unless ``--benchmark-only`` or ``--benchmark-enable`` is
  given, pytest-benchmark is disabled, so every benchmark runs once, mode checks included, no
  statistics, no report.
- ``--bench-quick`` (or ``TFBENCH_QUICK=1``) selects the reduced matrix.
- A timed run times every case once per pass (``Settings.passes``): items are ordered pass by
  pass, so each case's samples come from moments spread over the run.
- ``--benchmark-only`` deselects the correctness tests instead of listing each as skipped.
- Cases are parametrized at collection: workload x batch size x mode, and every device
  TensorFlow sees; epoch cases: data set x way x callbacks off/on (``Settings``). Without a GPU, a ``gpu``-marked placeholder shows the GPU cases as skipped.
  Distributed cases: strategy (none, mirrored over ``--bench-replicas`` logical CPUs or every GPU,
  multiworker with ``--bench-workers`` processes) x workload x global batch size.
- ``bench_clusters``: the session's worker clusters (``benchmarks.distributed.pool``). Once the
  items are collected, the clusters the distributed cases need start booting together, and the
  tests that use them run last; a cluster a test killed is replaced right after that test; all
  are closed after their last user, not at the end of the session.
- After a timed run, ``reports/benchmarks.json``, ``reports/benchmarks.html`` and
  ``reports/index.html`` are published together (``reference.files``; ``--bench-report-dir`` moves
  them): a reader sees the previous three or the new three, and a run that fails, is interrupted
  or is killed leaves the previous ones byte-identical. pytest-benchmark would open its
  ``--benchmark-json`` file and write it in place, so it is pointed at ``os.devnull`` (its log says
  so) and this plugin writes the JSON it built (our keys added by ``pytest_benchmark_update_json``),
  serialized as pytest-benchmark does. A ``--benchmark-json PATH`` of the user's is honoured: it is
  published with the others (it may be ``benchmarks.json`` itself, not the HTML or the index).
- ``--bench-precision`` chooses the policy of the ``_mixed`` modes (``benchmarks.precision``).
- The report folder is checked when the session starts: a folder that cannot be written (read-only,
  a file in the way), ``--bench-replicas``/``--bench-workers`` below 1 or a ``--bench-precision``
  that is unknown or that no visible device can run stop the session with a usage error before any
  test runs. A write that fails at the end (a full disk) or a SIGINT while
  the files are written is one line in the terminal output and exit status 2.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from pathlib import Path

import pytest

from benchmarks.results.cases import case_label
from benchmarks.results.cli import EXIT_BAD_INPUT, error_line
from reference.files import Outputs, same_file
from reference.validation import check_int

__all__ = ["is_timed", "report_dir"]

_START = pytest.StashKey[float]()
_SETTINGS = pytest.StashKey[object]()
_OUTPUTS = pytest.StashKey[Outputs]()
_USER_JSON = pytest.StashKey[object]()
_JSON = pytest.StashKey[dict]()
_POOL = pytest.StashKey[object]()
_POOL_USERS = pytest.StashKey[tuple]()
_PROFILER = pytest.StashKey[object]()


def pytest_addoption(parser):
    group = parser.getgroup("tfbench", "training-step benchmarks")
    group.addoption(
        "--bench-quick",
        action="store_true",
        default=False,
        help="run the reduced benchmark matrix (batch 32 and 2048, fewer rounds); also TFBENCH_QUICK=1",
    )
    group.addoption(
        "--bench-replicas",
        type=int,
        default=2,
        metavar="N",
        help="logical CPU devices of the MirroredStrategy cases when no GPU is visible (default 2)",
    )
    group.addoption(
        "--bench-workers",
        type=int,
        default=2,
        metavar="K",
        help="worker processes of the MultiWorkerMirroredStrategy cases (default 2)",
    )
    group.addoption(
        "--bench-profile",
        default=None,
        metavar="PATTERNS",
        help="timed runs: a TensorBoard profiler trace of the cases whose id matches one of these "
        "comma-separated patterns (e.g. 'basic/b32/fit/*'), outside the timed rounds, in <report dir>/profiles",
    )
    group.addoption(
        "--bench-precision",
        default="auto",
        metavar="POLICY",
        help="policy of the _mixed modes: auto (mixed_float16 on GPUs, mixed_bfloat16 on CPUs with native "
        "bfloat16), mixed_bfloat16, mixed_float16, or float32 for no mixed case (default auto)",
    )
    group.addoption(
        "--bench-report-dir",
        default=None,
        metavar="DIR",
        help="where a timed run writes benchmarks.json and benchmarks.html (default: <rootdir>/reports)",
    )


def is_timed(config) -> bool:
    """Whether this session times the benchmarks (``--benchmark-only`` or ``--benchmark-enable``)."""
    return bool(config.getoption("benchmark_only", False) or config.getoption("benchmark_enable", False))


def report_dir(config) -> Path:
    """Where a timed run writes ``benchmarks.json`` and ``benchmarks.html``."""
    chosen = config.getoption("bench_report_dir", None)
    return Path(chosen) if chosen else Path(config.rootpath) / "reports"


def pytest_configure(config):
    """Runs before pytest-benchmark's own (trylast) configure, which reads ``benchmark_disable`` and
    ``benchmark_json``."""
    config.addinivalue_line(
        "markers", "gpu: needs a visible GPU; skipped with a reason when TensorFlow sees none"
    )
    try:
        for option in ("bench_replicas", "bench_workers"):
            check_int(option, config.getoption(option, 2), low=1)
        _check_precision(config.getoption("bench_precision", "auto"))
    except ValueError as error:
        raise pytest.UsageError(str(error)) from None
    config.stash[_START] = time.perf_counter()
    if not hasattr(config.option, "benchmark_disable"):
        return
    _refuse_benchmark_options(config)
    if not is_timed(config):
        if config.getoption("bench_profile", None) is not None:
            raise pytest.UsageError("--bench-profile needs a timed run: add --benchmark-only")
        config.option.benchmark_disable = True
    elif not config.option.collectonly:
        config.stash[_OUTPUTS] = _planned_outputs(config)
        config.stash[_USER_JSON] = config.option.benchmark_json
        config.option.benchmark_json = Path(os.devnull)


def _given_benchmark_options(config) -> frozenset[str]:
    from benchmarks.options import given_options

    return given_options(config.invocation_params.args, ini_addopts=config.getini("addopts"))


def _refuse_benchmark_options(config) -> None:
    """pytest-benchmark's options this suite cannot honour stop the session (``benchmarks.options``)."""
    from benchmarks.options import refusal

    reason = refusal(
        _given_benchmark_options(config), timed=is_timed(config), histogram_available=_has_pygal()
    )
    if reason is not None:
        raise pytest.UsageError(reason)


def _has_pygal() -> bool:
    from importlib.util import find_spec

    return find_spec("pygal") is not None


def _check_precision(choice: str) -> None:
    """``benchmarks.precision.check_choice`` against the visible devices (TensorFlow is asked only for a
    named mixed policy)."""
    from benchmarks.precision import PRECISION_CHOICES, check_choice

    devices = [("CPU", None)]
    if choice in PRECISION_CHOICES and choice not in ("auto", "float32"):
        from benchmarks.devices import visible_devices

        devices = [(d.kind, d.compute_capability) for d in visible_devices()]
    check_choice(choice, devices)


def _result_paths(config) -> tuple[Path, Path, Path]:
    """``benchmarks.json``, ``benchmarks.html`` and ``index.html`` of the report folder."""
    folder = report_dir(config)
    return folder / "benchmarks.json", folder / "benchmarks.html", folder / "index.html"


def _planned_outputs(config) -> Outputs:
    """The session's outputs, registered now so that a folder that cannot be written stops it first."""
    user_json = config.option.benchmark_json
    outputs = Outputs()
    option = "--bench-report-dir"
    try:
        for path in _result_paths(config):
            outputs.file(path)
        if user_json is not None and not same_file(user_json, _result_paths(config)[0]):
            option = "--benchmark-json"
            outputs.file(user_json)
        if config.getoption("bench_profile", None) is not None:
            from benchmarks.profiling import PROFILE_FOLDER, Profiler, parse_patterns

            option = "--bench-profile"
            patterns = parse_patterns(config.getoption("bench_profile"))
            config.stash[_PROFILER] = Profiler(patterns, outputs.folder(report_dir(config) / PROFILE_FOLDER))
    except (OSError, ValueError) as error:
        outputs.discard()
        raise pytest.UsageError(f"{option}: {error_line(error)}") from None
    return outputs


def _bench_settings(config):
    """The ``Settings`` of this session (smoke, quick or full)."""
    if _SETTINGS not in config.stash:
        from benchmarks.settings import env_quick, resolve_settings

        quick = config.getoption("bench_quick", False) or env_quick()
        settings = resolve_settings(timed=is_timed(config), quick=quick)
        if settings.timed:
            from benchmarks.options import apply_to_settings

            settings = apply_to_settings(settings, config.option, _given_benchmark_options(config))
        precision = config.getoption("bench_precision", "auto")
        config.stash[_SETTINGS] = dataclasses.replace(settings, mixed_policy=precision)
    return config.stash[_SETTINGS]


@pytest.fixture
def bench_settings(request):
    return _bench_settings(request.config)


@pytest.fixture
def bench_profiler(request):
    """The session's ``benchmarks.profiling.Profiler`` (``--bench-profile``), or ``None``."""
    return request.config.stash.get(_PROFILER, None)


def _device_params():
    from benchmarks.devices import NO_GPU_REASON, visible_devices

    params = []
    devices = visible_devices()
    for device in devices:
        marks = [pytest.mark.gpu] if device.kind == "GPU" else []
        params.append(pytest.param(device, id=device.label, marks=marks))
    if not any(d.kind == "GPU" for d in devices):
        params.append(
            pytest.param(None, id="GPU", marks=[pytest.mark.gpu, pytest.mark.skip(reason=NO_GPU_REASON)])
        )
    return params


def _training_params(settings):
    from benchmarks.modes import training_matrix_of

    matrix = training_matrix_of(settings)
    return [
        pytest.param((workload, batch, mode), id=case_label(workload.name, batch, mode))
        for workload, batch, mode in matrix
    ]


def _epoch_params(settings):
    from benchmarks.results.cases import EPOCH_WAYS

    return [
        pytest.param(
            (dataset, way, callbacks), id=f"{dataset}-{way}-{'callbacks' if callbacks else 'nocallbacks'}"
        )
        for dataset in settings.epoch_datasets
        for callbacks in (False, True)
        for way in EPOCH_WAYS
        if not callbacks or way in settings.epoch_callback_ways
    ]


def _distributed_params(settings):
    from benchmarks.distributed.cluster import STRATEGIES
    from benchmarks.distributed.step import WORKLOADS

    return [
        pytest.param((strategy, workload, batch), id=f"{strategy}-{workload}-b{batch}")
        for strategy in STRATEGIES
        for workload in WORKLOADS
        for batch in settings.distributed_batches
    ]


def _calibration_params(settings):
    params = []
    for device_param in _device_params():
        device = device_param.values[0]
        kind = "GPU" if device is None else device.kind
        sizes = settings.calibration_sizes[kind][:1] if device is None else settings.calibration_sizes[kind]
        for n in sizes:
            params.append(pytest.param((device, n), id=f"{device_param.id}-n{n}", marks=device_param.marks))
    return params


def pytest_generate_tests(metafunc):
    settings = _bench_settings(metafunc.config)
    if "training_case" in metafunc.fixturenames:
        metafunc.parametrize("training_case", _training_params(settings))
    if "bench_device" in metafunc.fixturenames:
        metafunc.parametrize("bench_device", _device_params())
    if "epoch_case" in metafunc.fixturenames:
        metafunc.parametrize("epoch_case", _epoch_params(settings))
    if "distributed_case" in metafunc.fixturenames:
        metafunc.parametrize("distributed_case", _distributed_params(settings))
    if "calibration_case" in metafunc.fixturenames:
        metafunc.parametrize("calibration_case", _calibration_params(settings))
    if "bench_pass" in metafunc.fixturenames and settings.passes > 1:
        metafunc.parametrize("bench_pass", range(settings.passes), ids=lambda p: f"pass{p}")


def _pass_of(item) -> int:
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("bench_pass", 0) if callspec is not None else 0


def _run_order(item) -> tuple:
    clusters = _uses_clusters(item)
    return _pass_of(item), clusters, clusters and "benchmark" not in item.fixturenames


def pytest_collection_modifyitems(config, items):
    """Order the items, and with ``--benchmark-only`` deselect (rather than skip one by one) every
    test without a benchmark.

    Timed cases go pass by pass (the whole matrix, then again). Within a pass, the tests that use
    the worker clusters come last, the benchmark cases among them first: the clusters boot in the
    background while the other tests run, and a test that kills a worker comes after every case
    that needs its cluster."""
    items.sort(key=_run_order)
    _check_profile_patterns(config, items)
    if not config.getoption("benchmark_only", False):
        return
    keep = [item for item in items if "benchmark" in getattr(item, "fixturenames", ())]
    if len(keep) < len(items):
        kept = set(keep)
        config.hook.pytest_deselected(items=[item for item in items if item not in kept])
        items[:] = keep


def _check_profile_patterns(config, items) -> None:
    """A ``--bench-profile`` pattern that matches no collected training or calibration case is a usage error."""
    profiler = config.stash.get(_PROFILER, None)
    if profiler is None:
        return
    from benchmarks.profiling import unmatched
    from benchmarks.results.cases import calibration_case_id, case_id

    cases = []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if "training_case" in params and params.get("bench_device") is not None:
            workload, batch, mode = params["training_case"]
            cases.append(case_id(workload.name, batch, mode, params["bench_device"].short))
        elif "calibration_case" in params and params["calibration_case"][0] is not None:
            device, n = params["calibration_case"]
            cases.append(calibration_case_id(n, device.short))
    missing = unmatched(profiler.patterns, cases)
    if missing:
        example = cases[0] if cases else "basic/b32/fit/CPU:0"
        raise pytest.UsageError(
            f"--bench-profile: {', '.join(map(repr, missing))} matches none of the {len(cases)} selected "
            f"cases (case ids look like {example!r})"
        )


def _uses_clusters(item) -> bool:
    return "bench_clusters" in getattr(item, "fixturenames", ())


def _cluster_pool(config):
    if _POOL not in config.stash:
        from benchmarks.distributed.pool import ClusterPool

        config.stash[_POOL] = ClusterPool(
            workers=config.getoption("bench_workers"), logical_devices=config.getoption("bench_replicas")
        )
    return config.stash[_POOL]


def pytest_collection_finish(session):
    """Remember the last test that uses the clusters, and boot the ones the distributed cases need."""
    users = [item for item in session.items if _uses_clusters(item)]
    if not users or session.config.option.collectonly:
        return
    strategies = {
        item.callspec.params["distributed_case"][0]
        for item in users
        if "distributed_case" in getattr(getattr(item, "callspec", None), "params", {})
    }
    session.config.stash[_POOL_USERS] = (users[-1].nodeid, tuple(sorted(strategies)))
    _cluster_pool(session.config).launch(strategies)


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item, nextitem):
    """After the last user of the clusters, close them; after another user, replace any that died."""
    if not _uses_clusters(item) or _POOL not in item.config.stash:
        return
    last, strategies = item.config.stash.get(_POOL_USERS, ("", ()))
    pool = item.config.stash[_POOL]
    if item.nodeid == last:
        pool.close()
    else:
        pool.launch(strategies)


@pytest.fixture(scope="session")
def bench_clusters(request):
    """``get(strategy, *, workers=None, logical_devices=None)``: a started cluster of the session's pool
    (defaults: ``--bench-workers`` for multiworker, ``--bench-replicas`` logical devices)."""
    pool = _cluster_pool(request.config)
    yield pool.get
    pool.close()


def pytest_benchmark_update_machine_info(config, machine_info):
    from reference.environment import collect_environment

    machine_info["environment"] = collect_environment(config.rootpath)


def pytest_benchmark_update_json(config, benchmarks, output_json):
    """Our keys (``benchmarks.results.schema.annotate``); the document is kept for ``pytest_sessionfinish``."""
    from benchmarks.results.schema import annotate

    annotate(
        output_json,
        settings=_bench_settings(config).as_dict(),
        duration_s=time.perf_counter() - config.stash[_START],
    )
    config.stash[_JSON] = output_json


@pytest.hookimpl(wrapper=True)
def pytest_benchmark_group_stats(config, benchmarks, group_by):
    """pytest-benchmark's groups with the passes of each case pooled into one row (``pooled_rows``)."""
    groups = yield
    document = config.stash.get(_JSON, None)
    if document is None:
        return groups
    from benchmarks.terminal import pooled_rows

    return [(name, pooled_rows(rows, document)) for name, rows in groups]


def _say(config, line: str) -> None:
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(line)


def _has_our_cases(document: dict) -> bool:
    benchmarks = document.get("benchmarks")
    return any(isinstance(b, dict) and (b.get("extra_info") or {}).get("schema") for b in benchmarks or ())


def _as_pytest_benchmark_writes_it(document: dict) -> str:
    """pytest-benchmark's own serialization (``safe_dumps(..., ensure_ascii=True, indent=4)``)."""
    return json.dumps(document, default=lambda o: f"UNSERIALIZABLE[{o!r}]", ensure_ascii=True, indent=4)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    """After a timed run: publish the JSON pytest-benchmark built (its own ``pytest_sessionfinish``
    runs first), the HTML report and the index, together."""
    config = session.config
    outputs = config.stash.get(_OUTPUTS, None)
    document = config.stash.get(_JSON, None)
    if outputs is None or document is None or not _has_our_cases(document):
        return
    from benchmarks.results.report import render_report
    from benchmarks.results.schema import parse_results
    from reference.reproduction.index import render_index

    json_path, html_path, index_path = _result_paths(config)
    user_json = config.stash.get(_USER_JSON, None)
    text = _as_pytest_benchmark_writes_it(document)
    try:
        outputs.write_text(json_path, text)
        if user_json is not None and not same_file(user_json, json_path):
            outputs.write_text(user_json, text)
        outputs.write_text(html_path, render_report(parse_results(json.loads(text))))
        outputs.write_text(
            index_path, render_index(json_path.parent, publishing=[html_path.name, json_path.name])
        )
        outputs.publish()
    except (OSError, ValueError, KeyboardInterrupt) as error:  # ValueError: ResultInputError included
        outputs.discard()
        _say(config, f"benchmark results not written (the previous ones are unchanged): {error_line(error)}")
        if session.exitstatus == 0:
            session.exitstatus = EXIT_BAD_INPUT
        return
    _say(config, f"benchmark results: {json_path}")
    _say(config, f"benchmark report:  {html_path}")


def pytest_unconfigure(config):
    """A session that stopped early leaves no staging folder and no worker process."""
    if _OUTPUTS in config.stash:
        config.stash[_OUTPUTS].discard()
    if _POOL in config.stash:
        config.stash[_POOL].close()
