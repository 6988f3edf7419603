"""What `station bench` does around the app: a log file and the offline master data.

Kept apart from the app so that tests and the demo build a `BenchApp` without touching the
process's logging.
"""

from __future__ import annotations

import logging
from pathlib import Path

from station.master import load_master_dir
from station.settings import Config
from station.store import Store

log = logging.getLogger(__name__)


def setup_logging(path: Path) -> None:
    """Log to a file: stderr would scribble over the full-screen UI."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def bootstrap_master(cfg: Config, store: Store) -> None:
    """Apply the `[master] dir` files the QMS never sent (the bench works before the sync).

    Raises:
        StoreError: the store could not record them.
    """
    if cfg.master.dir is None:
        return
    docs, problems = load_master_dir(cfg.master.dir)
    for line in problems:
        log.error("master-data folder: %s (file not used)", line)
    store.bootstrap_master((d.kind, d.id, d.doc) for d in docs)


__all__ = ["bootstrap_master", "setup_logging"]
