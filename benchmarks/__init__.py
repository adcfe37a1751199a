"""Training-step throughput benchmarks (pytest-benchmark), and the tools over their result files.

- What pytest collects: ``bench_training.py``, ``bench_calibration.py``, ``bench_epoch.py``,
  ``bench_distributed.py`` (fixtures in ``conftest.py``; options, parametrization and the result file
  in ``plugin.py``; the regression gate and the history in ``gate_plugin.py``).
- What needs TensorFlow: ``harness`` (build, check, time a case), ``workloads``, ``modes``,
  ``checks``, ``epochs`` (the epoch benchmark's data sets and ways), ``devices``, ``flops``, and
  ``distributed/`` (worker processes). ``settings`` and ``precision`` (which device runs which
  mixed policy) need none.
- ``ab_worker``: one environment's worker for ``tfbench-ab`` (started under that environment's
  interpreter by ``results/ab_workers.py``).
- ``results/``: the tools over result files (schema, report, gate, history, compare, ab), free of
  TensorFlow.

Run ``pytest --benchmark-only`` for the full matrix (``--bench-quick`` for the reduced one); plain
``pytest`` runs every case once as a smoke test. ``benchmarks.results.schema`` describes the JSON,
``tfbench-report --help`` the report generator.
"""
