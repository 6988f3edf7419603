"""Read the station's TOML config once, into the frozen objects of `station.settings`.

Contract: `docs/contract/station.md` (keys) and `docs/configuration.md` (every check). The
file is read in one pass that collects *every* problem, so a technician fixes them all at once
instead of one per run. Each problem is one line, `FILE: key.path: what is wrong (got VALUE)`.
Unknown keys are errors: a typo must not silently change what a station does. Nothing is
repaired or guessed; the only values filled in are documented defaults.

Devices (serial ports, evdev nodes) are NOT opened here: they may be unplugged while the
config is checked, and the drivers report them when they open them.
"""

from __future__ import annotations

import os
import re
import tomllib
from datetime import tzinfo
from pathlib import Path
from typing import get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from station.config.inputs import BAUDRATES, device_problem, parse_inputs, port_problem
from station.config.signatures import parse_interlock, parse_signatures
from station.config.table import ConfigError, Table, host_problem, name_problem, show_toml, table_of
from station.schemas.names import NAME_RE
from station.settings import (
    AckMode,
    Config,
    IndeterminateAction,
    InterlockSettings,
    MasterSettings,
    MqttSettings,
    ScannerKind,
    ScannerSettings,
    SignatureSettings,
    StationSettings,
)

ACK_MODES: tuple[AckMode, ...] = get_args(AckMode)
SCANNER_KINDS: tuple[ScannerKind, ...] = get_args(ScannerKind)
INDETERMINATE_ACTIONS: tuple[IndeterminateAction, ...] = get_args(IndeterminateAction)
TOP_KEYS = ("station", "mqtt", "master", "scanner", "inputs", "signatures", "interlock")
STATION_KEYS = (
    "id",
    "site",
    "data_dir",
    "storage_budget_mb",
    "retention_days",
    "timezone",
    "indeterminate",
)
MQTT_KEYS = (
    *("host", "port", "client_id", "ack", "resend_after_s", "username", "password_file"),
    *("tls_ca", "tls_cert", "tls_key", "keepalive_s", "inflight_window", "max_rate"),
    "max_master_bytes",
)
_SYNTAX_RE = re.compile(r"^(?P<msg>.*) \(at line (?P<line>\d+), column (?P<col>\d+)\)$")


class ParsedConfig:
    """What one pass over the file found: the config (when usable) and the problems."""

    def __init__(self) -> None:
        self.config: Config | None = None
        self.problems: list[str] = []
        # The master folder as problem lines show it: relative to the working directory when
        # the config file was named so (its files' problems then read like the file name).
        self.master_dir: Path | None = None
        self.files: list[tuple[str, Path]] = []  # (key path, resolved path) of named files
        self.fixed: list[tuple[int, str]] = []  # (index, id) of inputs fixed to an instrument


def parse_config_file(path: Path) -> ParsedConfig:
    """One pass over the config file at `path`: the config when usable, every problem, and
    what `station.config_check` checks beyond it (named files, the master folder, fixed
    instruments). Never raises for a bad file."""
    result = ParsedConfig()
    file, out = str(path), result.problems
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        out.append(f"{file}: cannot read the config file: {exc.strerror or exc}")
        return result
    except UnicodeDecodeError as exc:
        out.append(f"{file}: not UTF-8 text (bad byte at offset {exc.start})")
        return result
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = _SYNTAX_RE.match(str(exc))
        where = f"line {m['line']}, column {m['col']}" if m else "syntax"
        out.append(f"{file}: {where}: invalid TOML: {m['msg'] if m else exc}")
        return result

    base = path.absolute().parent
    top = Table(out, file, "", data)
    station = _parse_station(table_of(out, file, "station", data.get("station", ...), True), base)
    mqtt_t = table_of(out, file, "mqtt", data.get("mqtt", ...), False)
    mqtt = _parse_mqtt(mqtt_t or Table(out, file, "mqtt", {}), base, station.id, result)
    master = MasterSettings()
    if master_t := table_of(out, file, "master", data.get("master", ...), False):
        master = MasterSettings(dir=master_t.path("dir", base))
        master_t.leftovers(("dir",))
        if master.dir is not None:
            raw = master_t.data["dir"]
            assert isinstance(raw, str)
            result.master_dir = Path(os.path.normpath(path.parent / raw))
    scanner_t = table_of(out, file, "scanner", data.get("scanner", ...), False)
    scanner = _parse_scanner(scanner_t) if scanner_t else ScannerSettings()
    inputs = parse_inputs(out, file, data.get("inputs", ...))
    raw_inputs = data.get("inputs")
    for i, item in enumerate(raw_inputs if isinstance(raw_inputs, list) else []):
        fixed = item.get("instrument") if isinstance(item, dict) else None
        if isinstance(fixed, str) and NAME_RE.match(fixed):
            result.fixed.append((i, fixed))
    signatures_t = table_of(out, file, "signatures", data.get("signatures", ...), False)
    signatures = parse_signatures(signatures_t) if signatures_t else SignatureSettings()
    interlock_t = table_of(out, file, "interlock", data.get("interlock", ...), False)
    interlock = (
        parse_interlock(interlock_t, _override_signed(data.get("signatures")))
        if interlock_t
        else InterlockSettings()
    )
    top.leftovers(TOP_KEYS)
    if not out:
        result.config = Config(
            path.absolute(), station, mqtt, master, scanner, inputs, signatures, interlock
        )
    return result


def _override_signed(raw: object) -> bool | None:
    """Whether `[signatures] required` lists "override"; None when it is not a list (that
    problem is reported once, by `[signatures]`)."""
    if not isinstance(raw, dict):
        return False
    required = raw.get("required")
    return "override" in required if isinstance(required, list) else None


def _parse_station(t: Table | None, base: Path) -> StationSettings:
    if t is None:
        return StationSettings(id="", site="", data_dir=base)
    sid = t.string("id", required=True, check=name_problem)
    site = t.string("site", required=True, check=name_problem)
    data_dir = t.path("data_dir", base, required=True)
    budget = t.number("storage_budget_mb")
    retention = t.integer("retention_days", 1, 36_500)
    zone = t.string("timezone", check=zone_problem)
    indeterminate = t.choice("indeterminate", INDETERMINATE_ACTIONS)
    t.leftovers(STATION_KEYS)
    return StationSettings(
        id=sid or "",
        site=site or "",
        data_dir=data_dir or base,
        storage_budget_mb=512.0 if budget is None else budget,
        retention_days=retention,
        timezone=system_zone() if zone is None else ZoneInfo(zone),
        indeterminate=indeterminate or "remeasure",
    )


def zone_problem(value: str) -> str | None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return 'must be an IANA time zone name such as "Europe/Berlin" or "America/Chicago"'
    return None


def system_zone() -> tzinfo:
    """The machine's own zone (contract: the default of `[station] timezone`).

    `TZ` wins as it does for libc; else /etc/localtime (a symlink into the zoneinfo tree on
    Debian and Raspberry Pi OS, a copy of a zone file elsewhere); UTC when neither is there.
    """
    name = os.environ.get("TZ", "").lstrip(":")
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    localtime = Path("/etc/localtime")
    try:
        target = os.path.realpath(localtime)
        if "/zoneinfo/" in target:
            return ZoneInfo(target.split("/zoneinfo/", 1)[1])
        with localtime.open("rb") as fh:
            return ZoneInfo.from_file(fh, key="localtime")
    except (OSError, ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def mqtt_security_problems(t: Table, files: dict[str, Path | None]) -> None:
    """The `[mqtt]` credential and TLS keys that only work together (the station's and the
    central's tables alike): a password needs a user, a client certificate its key, and both
    need the CA that turns TLS on."""
    if files["password_file"] and "username" not in t.data:
        t.problem("password_file", "needs mqtt.username", t.data["password_file"])
    for a, b in (("tls_cert", "tls_key"), ("tls_key", "tls_cert")):
        if a in t.data and b not in t.data:
            t.problem(b, f"required with mqtt.{a} (client certificate and key go together)")
    for k in ("tls_cert", "tls_key"):
        if k in t.data and "tls_ca" not in t.data:
            t.problem(k, "needs mqtt.tls_ca (TLS is turned on by tls_ca)", t.data[k])


def _parse_mqtt(t: Table, base: Path, station_id: str, result: ParsedConfig) -> MqttSettings:
    d = MqttSettings()
    host = t.string("host", check=host_problem)
    port = t.integer("port", 1, 65535)
    client_id = t.string("client_id", check=name_problem)
    ack = t.choice("ack", ACK_MODES)
    resend = t.number("resend_after_s")
    username = t.string("username")
    files = {k: t.path(k, base) for k in ("password_file", "tls_ca", "tls_cert", "tls_key")}
    keepalive = t.integer("keepalive_s", 1, 65535)  # MQTT 3.1.1 §3.1.2.10: 16-bit seconds
    window = t.integer("inflight_window", 1, 65535)  # MQTT 5 §3.3.4: Receive Maximum
    rate = t.number("max_rate")
    max_bytes = t.integer("max_master_bytes", 1, 268_435_455)  # MQTT max packet size
    mqtt_security_problems(t, files)
    result.files += [(f"mqtt.{k}", p) for k, p in files.items() if p is not None]
    t.leftovers(MQTT_KEYS)
    return MqttSettings(
        host=host or d.host,
        port=port or d.port,
        client_id=client_id or station_id,
        ack=ack or d.ack,
        resend_after_s=resend or d.resend_after_s,
        username=username,
        password_file=files["password_file"],
        tls_ca=files["tls_ca"],
        tls_cert=files["tls_cert"],
        tls_key=files["tls_key"],
        keepalive_s=keepalive or d.keepalive_s,
        inflight_window=window or d.inflight_window,
        max_rate=rate or d.max_rate,
        max_master_bytes=max_bytes or d.max_master_bytes,
    )


def _parse_scanner(t: Table) -> ScannerSettings:
    kind = t.choice("kind", SCANNER_KINDS)
    if "kind" not in t.data:
        kind = "keyboard"  # the documented default; None below means "kind given but wrong"
    # The contract's example keeps a `port` beside kind = "keyboard", so it is accepted there
    # (checked as a serial port, which includes device paths; not used); serial and evdev
    # require it.
    port_check = device_problem if kind == "evdev" else port_problem
    port = t.string("port", required=kind in ("serial", "evdev"), check=port_check)
    baudrate = t.int_choice("baudrate", BAUDRATES) if kind == "serial" else None

    def foreign(key: str) -> str | None:
        return f'only for kind "serial", not {show_toml(kind)}' if key == "baudrate" else None

    known = ("kind", "port", "baudrate") if kind in ("serial", None) else ("kind", "port")
    t.leftovers(known, foreign)
    return ScannerSettings(kind=kind or "keyboard", port=port, baudrate=baudrate or 9600)


def load_config(path: Path) -> Config:
    """Read and validate the config file at `path`.

    Raises:
        ConfigError: with every problem found, one `FILE: key.path: ... (got VALUE)` line each.
    """
    parsed = parse_config_file(path)
    if parsed.config is None:
        raise ConfigError(parsed.problems)
    return parsed.config
