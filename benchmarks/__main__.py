"""``python -m benchmarks RESULT.json [-o REPORT.html]``: the report generator (see ``benchmarks.report``)."""

import sys

from benchmarks.report import main

sys.exit(main())
