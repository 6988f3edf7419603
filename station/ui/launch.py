"""What `station bench` does around the app: a log file.

Kept apart from the app so that tests and the demo build a `BenchApp` without touching the
process's logging.
"""

from __future__ import annotations

import logging
from pathlib import Path


def setup_logging(path: Path) -> None:
    """Log to a file: stderr would scribble over the full-screen UI."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)


__all__ = ["setup_logging"]
