"""``python -m benchmarks.report``: the README's spelling of ``tfbench-report`` (``benchmarks.results.report``)."""

import sys

from benchmarks.results.report import main

if __name__ == "__main__":
    sys.exit(main())
