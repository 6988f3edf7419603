"""The bench's log stays bounded (issue 13.10), or goes to the journal under systemd."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import pytest

from station.ui.launch import setup_logging


def test_the_log_file_rotates_and_stays_bounded_under_a_burst(tmp_path: Path) -> None:
    path = tmp_path / "data" / "bench.log"
    handler = setup_logging(path, max_bytes=20_000, backups=2, env={})
    log = logging.getLogger("station.bench.inputs")
    try:
        for i in range(5_000):  # ~0.6 MB of line noise, 30x the budget
            log.warning("input caliper: garbage frame %06d %s", i, "x" * 80)
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()
    files = sorted(p.name for p in path.parent.iterdir())
    assert files == ["bench.log", "bench.log.1", "bench.log.2"]
    total = sum(p.stat().st_size for p in path.parent.iterdir())
    assert total <= 3 * 20_000, total
    assert "garbage frame 004999" in path.read_text("utf-8")  # the newest line is kept


def test_under_systemd_the_log_goes_to_the_journal_stream(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with (tmp_path / "journal").open("w", encoding="utf-8") as stream:
        st = os.fstat(stream.fileno())
        monkeypatch.setattr(sys, "stderr", stream)
        path = tmp_path / "data" / "bench.log"
        handler = setup_logging(path, env={"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"})
        try:
            logging.getLogger("station.ui").warning("to the journal")
        finally:
            logging.getLogger().removeHandler(handler)
            handler.flush()
    assert "WARNING station.ui: to the journal" in (tmp_path / "journal").read_text("utf-8")
    assert not path.exists()


def test_a_journal_stream_that_is_not_stderr_keeps_the_file(tmp_path: Path) -> None:
    """A child of a journald service whose stderr is now a terminal inherits the variable."""
    path = tmp_path / "bench.log"
    handler = setup_logging(path, env={"JOURNAL_STREAM": "1:1"})
    try:
        assert isinstance(handler, logging.FileHandler)
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()
