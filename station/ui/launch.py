"""What `station bench` does around the app: opening the store and the workflow, and where its
log goes (`run_bench`).

Kept apart from the app so that tests, and apps built on it, make a `BenchApp` without
touching the process's logging. The log is bounded (issue 13.10: a plain file next to the
store grew with every line of noise an input saw, eating the storage budget the records need):

- under systemd with stderr connected to the journal (`JOURNAL_STREAM` names stderr's device
  and inode, systemd.exec(5) "Environment variables in spawned processes"), log to stderr:
  journald stores, rate-limits and rotates it;
- else a `RotatingFileHandler`: at most `backups + 1` files of `max_bytes` each. A TUI on a
  terminal must not log to that terminal: stderr would scribble over the full screen.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path

from station.bench.inputs import ScannerReader, readers_for
from station.bench.workflow import Workflow
from station.settings import Config
from station.store import Store, StoreError
from station.ui.app import BenchApp

LOG_MAX_BYTES = 1_000_000
LOG_BACKUPS = 3
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
JOURNAL_FORMAT = "%(levelname)s %(name)s: %(message)s"  # journald stamps each line itself

log = logging.getLogger("station.ui")


def stderr_is_journal(env: Mapping[str, str]) -> bool:
    """True when stderr is the journal stream systemd announced in `JOURNAL_STREAM`."""
    announced = env.get("JOURNAL_STREAM", "")
    dev, _, ino = announced.partition(":")
    try:
        st = os.fstat(sys.stderr.fileno())
        return (int(dev), int(ino)) == (st.st_dev, st.st_ino)
    except (ValueError, OSError, AttributeError):  # unset, malformed, or no real stderr
        return False


def setup_logging(
    path: Path,
    *,
    max_bytes: int = LOG_MAX_BYTES,
    backups: int = LOG_BACKUPS,
    env: Mapping[str, str] | None = None,
) -> logging.Handler:
    """Send the root logger's INFO and above to the journal or a rotating `path`.

    Returns the handler (the caller may remove it again).
    """
    handler: logging.Handler
    if stderr_is_journal(os.environ if env is None else env):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(JOURNAL_FORMAT))
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
        )
        handler.setFormatter(logging.Formatter(FORMAT))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return handler


def run_bench(cfg: Config, *, app_class: Callable[..., BenchApp] = BenchApp) -> int:
    """Run the bench UI until Ctrl+Q; 0 then, 1 when the store cannot be opened.

    `app_class` (extension hook) builds the app from `BenchApp`'s arguments: an app built on
    the bench (see `BenchApp`) runs in the same process, store and workflow.
    """
    setup_logging(cfg.station.data_dir / "bench.log")
    try:
        store = Store.for_config(cfg)
    except StoreError as exc:
        print(f"station bench: {exc}", file=sys.stderr)
        return 1
    with store:
        try:
            store.bootstrap_master_dir(cfg.master.dir)  # the bench works before the sync
        except StoreError as exc:
            log.error("master-data folder not applied: %s", exc)
        clock = lambda: datetime.now(UTC)  # noqa: E731
        wf = Workflow(store, cfg, clock)
        scanner = ScannerReader(cfg.scanner) if cfg.scanner.kind != "keyboard" else None
        app = app_class(
            wf,
            store,
            cfg,
            readers_for(cfg.inputs),
            clock=clock,
            scanner=scanner,
            freeze_gc=True,
        )
        result = app.run()
    return 1 if result is None else result


__all__ = ["LOG_BACKUPS", "LOG_MAX_BYTES", "run_bench", "setup_logging", "stderr_is_journal"]
