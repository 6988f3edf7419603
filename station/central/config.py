"""Read the central bridge's TOML file (contract station.md, "The central bridge") once, into
frozen objects, every problem collected in one pass as `FILE: key.path: what is wrong (got VALUE)`
with the station config's own typed table reader (`station.config.table`), so a technician
meets the same messages on the server as at the bench.

The `[mqtt]` table becomes a `station.settings.MqttSettings`, so the sync daemon's password
and TLS checks (`station.sync.security`) apply to the bridge unchanged. Keys beyond the
contract's are extensions with documented defaults (docs/central.md, "Configuration").
"""

from __future__ import annotations

import os
import re
import socket
import tempfile
import tomllib
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

from station.config.parse import mqtt_security_problems, system_zone, zone_problem
from station.config.table import (
    ConfigError,
    Table,
    host_problem,
    name_problem,
    show_toml,
    table_of,
)
from station.schemas.names import NAME_RE, NAME_RULE
from station.settings import MqttSettings

TOP_KEYS = ("central", "postgres", "mqtt", "master", "qdas")
QDAS_KEYS = ("dir", "encoding")
# What `station export dfq --encoding` offers (station.export.dfq: Windows-1252 by default).
QDAS_ENCODINGS = ("cp1252", "utf-8")
CENTRAL_KEYS = (
    *("group", "sites", "batch_max", "batch_window_s", "session_expiry_s"),
    *("answer_calibrations", "timezone"),
)
POSTGRES_KEYS = ("dsn", "password_file", "connect_timeout_s")
MQTT_KEYS = (
    *("host", "port", "client_id", "username", "password_file"),
    *("tls_ca", "tls_cert", "tls_key", "keepalive_s"),
)
_SYNTAX_RE = re.compile(r"^(?P<msg>.*) \(at line (?P<line>\d+), column (?P<col>\d+)\)$")
# A libpq URI's user-info with a password (RFC 3986 §3.2.1 `user:password@`), or a
# `password=` keyword of a key/value connection string (PostgreSQL docs §34.1.1/§34.1.2).
_URI_PASSWORD = re.compile(r"^postgres(?:ql)?://[^/@]*:[^/@]*@")
_KW_PASSWORD = re.compile(r"(?:^|\s)password\s*=")


@dataclass(frozen=True)
class CentralSettings:
    """`[central]`: the shared-subscription group and the sites served."""

    group: str = "qms"
    sites: tuple[str, ...] = ("+",)
    batch_max: int = 500  # records per transaction at most
    batch_window_s: float = 0.01  # how long a batch gathers while the database is idle
    session_expiry_s: int = 0  # MQTT v5 Session Expiry Interval (0: no session kept)
    # Confirm each passing calibration by publishing the instrument again (retained) with
    # cal_due = next_due and calibrated = its date in `timezone` (docs/central.md).
    answer_calibrations: bool = False
    timezone: tzinfo = field(default_factory=system_zone)


@dataclass(frozen=True)
class PostgresSettings:
    """`[postgres]`: a libpq connection string without a password, and the password file."""

    dsn: str
    password_file: Path | None = None
    connect_timeout_s: int = 5


@dataclass(frozen=True)
class QdasSettings:
    """`[qdas]`: the Q-DAS data-pool folder the DFQ files go to (station.central.datapool)."""

    dir: Path
    encoding: str = "cp1252"


@dataclass(frozen=True)
class CentralConfig:
    """The whole central config file, checked."""

    path: Path
    central: CentralSettings
    postgres: PostgresSettings
    mqtt: MqttSettings
    master_dir: Path | None = None
    qdas: QdasSettings | None = None


def default_client_id() -> str:
    """`central-` + the host name, made topic-safe (contract: the default client_id)."""
    host = re.sub(r"[^A-Za-z0-9._-]", "-", socket.gethostname()) or "host"
    return f"central-{host}"[:64]


def dsn_problem(text: str) -> str | None:
    if "://" in text and not text.startswith(("postgresql://", "postgres://")):
        return 'must be a libpq connection string ("postgresql://user@host:port/db")'
    return None


def _sites(t: Table) -> tuple[str, ...] | None:
    value = t.data.get("sites", ...)
    if value is ...:
        t.problem("sites", "required key is missing")
        return None
    if not isinstance(value, list) or not value:
        t.problem("sites", 'must be a non-empty list of site names (or ["+"])', value)
        return None
    out: list[str] = []
    for i, site in enumerate(value):
        if not isinstance(site, str) or not (site == "+" or NAME_RE.match(site)):
            t.problem(f"sites[{i}]", f'{NAME_RULE}, or "+" for every site', site)
        elif site in out:
            t.problem(f"sites[{i}]", "is listed twice", site)
        else:
            out.append(site)
    if "+" in out and len(out) > 1:
        t.problem("sites", '"+" already serves every site: list it alone', value)
        return None
    return tuple(out) if len(out) == len(value) else None


def _parse_central(t: Table | None) -> CentralSettings:
    d = CentralSettings()
    if t is None:
        return d
    group = t.string("group", check=name_problem)
    sites = _sites(t)
    batch = t.integer("batch_max", 1, 10_000)
    window = t.number("batch_window_s")
    expiry = t.integer("session_expiry_s", 0, 0xFFFFFFFF)  # MQTT v5 §3.1.2.11.2: 4 bytes
    answer = t.boolean("answer_calibrations")
    zone = t.string("timezone", check=zone_problem)
    t.leftovers(CENTRAL_KEYS)
    return CentralSettings(
        group=group or d.group,
        sites=sites or d.sites,
        batch_max=batch or d.batch_max,
        batch_window_s=d.batch_window_s if window is None else window,
        session_expiry_s=d.session_expiry_s if expiry is None else expiry,
        answer_calibrations=bool(answer),
        timezone=d.timezone if zone is None else ZoneInfo(zone),
    )


def _parse_postgres(t: Table | None, base: Path) -> PostgresSettings:
    if t is None:
        return PostgresSettings(dsn="")
    raw = t.data.get("dsn")
    if isinstance(raw, str) and (_URI_PASSWORD.match(raw) or _KW_PASSWORD.search(raw)):
        # Not echoed: the value holds a password, and this line goes to the journal.
        t.problem("dsn", "must not hold a password: put it in postgres.password_file")
        dsn = None
    else:
        dsn = t.string("dsn", required=True, check=dsn_problem)
    password_file = t.path("password_file", base)
    timeout = t.integer("connect_timeout_s", 1, 3600)
    t.leftovers(POSTGRES_KEYS)
    return PostgresSettings(
        dsn=dsn or "", password_file=password_file, connect_timeout_s=timeout or 5
    )


def _parse_mqtt(t: Table, base: Path) -> MqttSettings:
    d = MqttSettings()
    host = t.string("host", check=host_problem)
    port = t.integer("port", 1, 65535)
    client_id = t.string("client_id", check=name_problem)
    username = t.string("username")
    files = {k: t.path(k, base) for k in ("password_file", "tls_ca", "tls_cert", "tls_key")}
    keepalive = t.integer("keepalive_s", 1, 65535)  # MQTT 5 §3.1.2.10: 16-bit seconds
    mqtt_security_problems(t, files)
    t.leftovers(MQTT_KEYS)
    return MqttSettings(
        host=host or d.host,
        port=port or d.port,
        client_id=client_id or default_client_id(),
        username=username,
        password_file=files["password_file"],
        tls_ca=files["tls_ca"],
        tls_cert=files["tls_cert"],
        tls_key=files["tls_key"],
        keepalive_s=keepalive or d.keepalive_s,
    )


def folder_problem(folder: Path) -> str | None:
    """Why the bridge cannot write files into `folder`, or None. Tried by creating (and
    removing) a file, not with access(2): root passes every permission check there, yet a
    read-only mount or a full share still refuses the write."""
    if folder.exists() and not folder.is_dir():
        return f"data-pool folder {folder} is not a folder"
    if not folder.is_dir():
        return f"data-pool folder {folder} does not exist (create it, writable by the bridge)"
    try:
        fd, probe = tempfile.mkstemp(prefix=".station-central-", suffix=".tmp", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        return f"data-pool folder {folder} is not writable: {exc.strerror or exc}"
    return None


def _parse_qdas(t: Table, base: Path) -> QdasSettings | None:
    folder = t.path("dir", base, required=True)
    encoding = t.choice("encoding", QDAS_ENCODINGS)
    t.leftovers(QDAS_KEYS)
    if folder is None:
        return None
    problem = folder_problem(folder)
    if problem is not None:
        t.problem("dir", problem, t.data["dir"])
        return None
    return QdasSettings(folder, encoding or "cp1252")


def central_config_problems(path: Path) -> tuple[CentralConfig | None, list[str]]:
    """One pass over the file: the config when usable, and every problem. Never raises."""
    file, out = str(path), list[str]()
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        return None, [f"{file}: cannot read the config file: {exc.strerror or exc}"]
    except UnicodeDecodeError as exc:
        return None, [f"{file}: not UTF-8 text (bad byte at offset {exc.start})"]
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = _SYNTAX_RE.match(str(exc))
        where = f"line {m['line']}, column {m['col']}" if m else "syntax"
        return None, [f"{file}: {where}: invalid TOML: {m['msg'] if m else exc}"]
    base = path.absolute().parent
    central = _parse_central(table_of(out, file, "central", data.get("central", ...), True))
    postgres = _parse_postgres(
        table_of(out, file, "postgres", data.get("postgres", ...), True), base
    )
    mqtt_t = table_of(out, file, "mqtt", data.get("mqtt", ...), False)
    mqtt = _parse_mqtt(mqtt_t or Table(out, file, "mqtt", {}), base)
    master_dir = None
    if master_t := table_of(out, file, "master", data.get("master", ...), False):
        master_dir = master_t.path("dir", base)
        master_t.leftovers(("dir",))
        if master_dir is not None and central.sites == ("+",):
            what = 'needs central.sites to name the sites (a master topic has one, never "+")'
            master_t.problem("dir", what, master_t.data["dir"])
    qdas = None
    if qdas_t := table_of(out, file, "qdas", data.get("qdas", ...), False):
        qdas = _parse_qdas(qdas_t, base)
    Table(out, file, "", data).leftovers(TOP_KEYS)
    if out:
        return None, out
    return CentralConfig(path.absolute(), central, postgres, mqtt, master_dir, qdas), []


def load_central_config(path: Path) -> CentralConfig:
    """The checked config at `path`.

    Raises:
        ConfigError: with every problem found, one `FILE: key.path: ... (got VALUE)` line each.
    """
    cfg, problems = central_config_problems(path)
    if cfg is None:
        raise ConfigError(problems)
    return cfg


__all__ = [
    "CentralConfig",
    "CentralSettings",
    "ConfigError",
    "PostgresSettings",
    "QdasSettings",
    "central_config_problems",
    "default_client_id",
    "folder_problem",
    "load_central_config",
    "show_toml",
]
