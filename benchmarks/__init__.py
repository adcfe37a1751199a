"""Training-step throughput benchmarks (pytest-benchmark) and their HTML report.

Run ``pytest --benchmark-only`` for the full matrix (``--bench-quick`` for the reduced one); plain
``pytest`` runs every case once as a smoke test. See ``benchmarks.results`` for the JSON schema and
``python -m benchmarks.report --help`` for the report generator.
"""
