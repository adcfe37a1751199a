"""``python -m benchmarks RESULT.json [-o REPORT.html]``: the report generator (``benchmarks.results.report``)."""

import sys

from benchmarks.results.report import main

sys.exit(main())
