"""What `station bench` does around the app: where its log goes.

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
from collections.abc import Mapping
from pathlib import Path

LOG_MAX_BYTES = 1_000_000
LOG_BACKUPS = 3
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
JOURNAL_FORMAT = "%(levelname)s %(name)s: %(message)s"  # journald stamps each line itself


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


__all__ = ["LOG_BACKUPS", "LOG_MAX_BYTES", "setup_logging", "stderr_is_journal"]
