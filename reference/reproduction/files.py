"""Files written whole or not at all, and the staging folder a report is built in (no TensorFlow)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["STAGING_PREFIX", "make_staging"]

STAGING_PREFIX = ".reproduction-staging-"


def make_staging(out_dir: str | os.PathLike) -> Path:
    """Create ``out_dir`` if needed and a fresh staging folder inside it (same file system: renames are atomic).

    Raises:
        OSError: ``out_dir`` cannot be created or written (e.g. a path under a regular file).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=out))
