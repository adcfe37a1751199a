"""``python -m benchmarks.gate``: the README's spelling of ``tfbench-gate`` (``benchmarks.results.gate``)."""

import sys

from benchmarks.results.gate import main

if __name__ == "__main__":
    sys.exit(main())
