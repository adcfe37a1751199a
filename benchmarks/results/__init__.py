"""The tools over result files, free of TensorFlow (``tests/results/test_no_tensorflow.py`` enforces it).

| module | what it holds |
|---|---|
| ``schema`` | the result file's format: written (``annotate``) and read (``load_results``, ``CaseResult``) |
| ``fields`` | typed fields of a decoded JSON document, checked with their paths (the schema's declarations) |
| ``cases`` | the mode ladder, case ids (built and parsed), batch labels, cross-run keys |
| ``analysis`` | speedups with bootstrap intervals, scaling efficiency, findings |
| ``figures`` | the report's matplotlib figures |
| ``report`` | ``tfbench-report``: the HTML report of one run |
| ``history`` | ``tfbench-history``: saved runs and the references that name them |
| ``gate_statistics`` | the gate's metrics, tests, verdicts and noise floors |
| ``gate`` | ``tfbench-gate``: the regression gate |
| ``compare`` | ``tfbench-compare``: several runs side by side (``compare_rows``: the rows and tables; ``best_device``: each run's best device per case; ``compare_page``: the HTML and its figures; ``compare_export``: the CSV and JSON) |
| ``ab`` | ``tfbench-ab``: environments compared by interleaved rounds (``ab_environments``, ``ab_workers``, ``ab_run``, ``ab_statistics``, ``ab_compare``, ``ab_report``) |
| ``fields`` | typed fields of a JSON file, checked at load |
| ``cli`` | the commands' exit codes, argument parser and bad-input handling (one line, exit 2) |

Nothing is re-exported here: importing one module (the pytest plugins import ``schema`` at every
session) does not pull in matplotlib, Jinja2 or SciPy. Import the module you need.
"""
