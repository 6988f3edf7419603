"""`station central -c FILE`: check the config and the secrets, open PostgreSQL, run the
bridge until SIGTERM (contract station.md: exit 0 on SIGTERM, 2 on a bad config).

Logs go to stderr, one line each, which journald stores under the unit's identifier
(systemd.exec(5), `StandardError=journal` is the default). PostgreSQL that is not up yet at
start is waited for (a server booting with its database is ordinary); the broker likewise.
"""

from __future__ import annotations

import logging
import random
import signal
import sys
import time
from pathlib import Path
from types import FrameType

from station.central.bridge import Bridge
from station.central.config import CentralConfig, ConfigError, load_central_config
from station.central.store import CentralStore, StoreUnavailable
from station.schemas.fast import record_problems
from station.sync.notify import Notifier
from station.sync.paho_link import setup_logging
from station.sync.security import (
    SecurityConfigError,
    read_password,
    secret_file_problem,
    tls_context,
)

log = logging.getLogger("station.central")


def _setup_logging() -> None:
    setup_logging()
    logging.getLogger("psycopg").setLevel(logging.WARNING)


def pg_password(path: Path | None) -> str | None:
    """The PostgreSQL password from its own file; refuses loose permissions like the MQTT one."""
    if path is None:
        return None
    problem = secret_file_problem("postgres.password_file", path)
    if problem is not None:
        raise SecurityConfigError(problem)
    try:
        password = path.read_text("utf-8").rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as exc:
        raise SecurityConfigError(f"postgres.password_file {path}: {exc}") from None
    if not password:
        raise SecurityConfigError(f"postgres.password_file {path} is empty")
    return password


def _wait_for_db(store: CentralStore, stopped: list[bool]) -> bool:
    delay = 0.2
    while not stopped:
        try:
            store.connect()
            return True
        except StoreUnavailable as exc:
            log.warning("cannot connect to PostgreSQL (retrying): %s", exc)
        end = time.monotonic() + random.uniform(delay / 2, delay)
        while not stopped and time.monotonic() < end:
            time.sleep(0.05)
        delay = min(delay * 2, 10.0)
    return False


def run_bridge(cfg: CentralConfig) -> int:
    """Run one replica of a checked config until SIGTERM/SIGINT: 0 then, 2 for unusable
    secrets or TLS files."""
    _setup_logging()
    try:
        mqtt_password = None
        if cfg.mqtt.password_file is not None:
            mqtt_password = read_password(cfg.mqtt.password_file)
        pg = pg_password(cfg.postgres.password_file)
        tls = tls_context(cfg.mqtt)
    except SecurityConfigError as exc:
        log.error("refusing to start: %s", exc)
        return 2
    record_problems({})  # load the validators now, not inside the first batch
    store = CentralStore(
        cfg.postgres.dsn,
        replica=cfg.mqtt.client_id,
        password=pg,
        connect_timeout=cfg.postgres.connect_timeout_s,
    )
    stopped: list[bool] = []
    notifier = Notifier.from_env()
    bridge = Bridge(cfg, store, password=mqtt_password, tls=tls, notifier=notifier)

    def stop(signum: int, frame: FrameType | None) -> None:
        stopped.append(True)
        bridge.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    with store:
        try:
            if not _wait_for_db(store, stopped):
                return 0
            what = f"group {cfg.central.group}, sites {', '.join(cfg.central.sites)}"
            log.info("central bridge %s: %s, PostgreSQL ready", cfg.mqtt.client_id, what)
            notifier.ready(f"central bridge {cfg.mqtt.client_id}: {what}")
            bridge.run()
            notifier.stopping()
            log.info("stopped after storing %d new records", bridge.stored)
        finally:
            notifier.close()
    return 0


def run_central(config_path: Path) -> int:
    """`station central -c FILE`: 2 with every problem on stderr for a bad config, else the
    bridge's exit status (0 on SIGTERM)."""
    try:
        cfg = load_central_config(config_path)
    except ConfigError as exc:
        for line in exc.problems:
            print(line, file=sys.stderr)
        return 2
    return run_bridge(cfg)


__all__ = ["pg_password", "run_bridge", "run_central"]
