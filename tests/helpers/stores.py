"""A store on a config's database, with the master data of its `[master] dir`, as `station
bench` opens it (`run_bench`), on the test's clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from station.master import load_master_dir
from station.settings import Config
from station.store import Store


def open_store(cfg: Config, clock: Callable[[], datetime], budget_mb: float | None = None) -> Store:
    """Open `cfg`'s store and apply its master-data folder, which must be free of problems."""
    store = Store.open(
        cfg.station.db_path,
        site=cfg.station.site,
        station=cfg.station.id,
        budget_mb=budget_mb,
        clock=clock,
    )
    assert cfg.master.dir is not None
    docs, problems = load_master_dir(cfg.master.dir)
    assert problems == []
    store.bootstrap_master((d.kind, d.id, d.doc) for d in docs)
    return store


__all__ = ["open_store"]
