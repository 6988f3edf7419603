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

import difflib
import json
import math
import os
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from datetime import tzinfo
from pathlib import Path
from typing import TypeVar, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from drivers.ascii_line import pattern_problem
from station.schemas.names import NAME_RE, NAME_RULE
from station.settings import (
    DRIVER_NAMES,
    AckMode,
    Config,
    DataType,
    IndeterminateAction,
    InputMode,
    InputSettings,
    MasterSettings,
    MqttSettings,
    Parity,
    RegisterType,
    ScannerKind,
    ScannerSettings,
    StationSettings,
    WordOrder,
)

# The standard rates of pyserial/termios that every USB-serial adapter here supports.
BAUDRATES = (300, 600, 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)
_URL_RE = re.compile(r"(socket|rfc2217)://(?P<host>[^:/?\s]+):(?P<port>\d{1,5})(\?\S*)?\Z")
_LOOP_RE = re.compile(r"loop://(\?\S*)?\Z")
_TCP_RE = re.compile(r"tcp://(?P<host>[^:/?\s]+):(?P<port>\d{1,5})\Z")
_SYNTAX_RE = re.compile(r"^(?P<msg>.*) \(at line (?P<line>\d+), column (?P<col>\d+)\)$")

SERIAL_DRIVERS = ("mitutoyo", "sylvac", "mahr", "mtsics", "ascii", "modbus")
LINE_KEYS = ("port", "baudrate", "bytesize", "parity", "stopbits")
COMMON_KEYS = ("name", "driver", "mode", "instrument", "timeout_s", "unit", "debounce_ms")
MODBUS_KEYS = ("url", "unit_id", "register", "register_type", "data_type", "word_order", "scale")
# Which drivers accept each driver-specific key.
DRIVER_KEYS: dict[str, tuple[str, ...]] = {
    **{key: SERIAL_DRIVERS for key in LINE_KEYS},
    "pattern": ("ascii",),
    "request": ("ascii",),
    "accept_dynamic": ("mtsics",),
    **{key: ("modbus",) for key in MODBUS_KEYS},
    "device": ("keyboard",),
}
ACK_MODES: tuple[AckMode, ...] = get_args(AckMode)
SCANNER_KINDS: tuple[ScannerKind, ...] = get_args(ScannerKind)
INPUT_MODES: tuple[InputMode, ...] = get_args(InputMode)
PARITIES: tuple[Parity, ...] = get_args(Parity)
REGISTER_TYPES: tuple[RegisterType, ...] = get_args(RegisterType)
DATA_TYPES: tuple[DataType, ...] = get_args(DataType)
WORD_ORDERS: tuple[WordOrder, ...] = get_args(WordOrder)
INDETERMINATE_ACTIONS: tuple[IndeterminateAction, ...] = get_args(IndeterminateAction)
TOP_KEYS = ("station", "mqtt", "master", "scanner", "inputs")
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
REGISTERS_OF = {"int16": 1, "uint16": 1, "int32": 2, "uint32": 2, "float32": 2}

_S = TypeVar("_S", bound=str)


class ConfigError(Exception):
    """The config file is unusable; `problems` holds one line per problem found."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems: list[str] = list(problems)
        super().__init__("\n".join(self.problems))


def show_toml(value: object) -> str:
    """Render a TOML value for a problem line: strings quoted, booleans as TOML spells them."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, str | list):
        text = json.dumps(value, ensure_ascii=False, default=str)
    else:
        text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _one_of(choices: Sequence[object]) -> str:
    shown = [show_toml(c) for c in choices]
    if len(shown) == 2:
        return f"must be {shown[0]} or {shown[1]}"
    return "must be one of " + ", ".join(shown)


class _Table:
    """One TOML table being read. Every accessor reports its own problems and returns None
    when the key is absent or wrong; `leftovers()` then names the keys nobody asked for."""

    def __init__(self, out: list[str], file: str, where: str, data: Mapping[str, object]) -> None:
        self.out, self.file, self.where, self.data = out, file, where, data

    def key(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def problem(self, key: str, what: str, value: object = ...) -> None:
        got = "" if value is ... else f" (got {show_toml(value)})"
        self.out.append(f"{self.file}: {self.key(key)}: {what}{got}")

    def _get(self, key: str, required: bool) -> object:
        if key not in self.data:
            if required:
                self.problem(key, "required key is missing")
            return ...
        return self.data[key]

    def string(
        self, key: str, *, required: bool = False, check: Callable[[str], str | None] | None = None
    ) -> str | None:
        value = self._get(key, required)
        if value is ...:
            return None
        if not isinstance(value, str):
            self.problem(key, "must be a string", value)
            return None
        what = "must not be empty" if value == "" else (check(value) if check else None)
        if what:
            self.problem(key, what, value)
            return None
        return value

    def integer(self, key: str, lo: int, hi: int, *, required: bool = False) -> int | None:
        value = self._get(key, required)
        if value is ...:
            return None
        if not isinstance(value, int) or isinstance(value, bool):
            self.problem(key, "must be an integer", value)
            return None
        if not lo <= value <= hi:
            self.problem(key, f"must be {lo}-{hi}", value)
            return None
        return value

    def number(self, key: str, *, positive: bool = True) -> float | None:
        value = self._get(key, False)
        if value is ...:
            return None
        if not isinstance(value, int | float) or isinstance(value, bool):
            self.problem(key, "must be a number", value)
            return None
        if not math.isfinite(value):
            self.problem(key, "must be a finite number", value)
            return None
        if positive and value <= 0:
            self.problem(key, "must be greater than 0", value)
            return None
        return float(value)

    def boolean(self, key: str) -> bool | None:
        value = self._get(key, False)
        if value is ...:
            return None
        if not isinstance(value, bool):
            self.problem(key, "must be true or false", value)
            return None
        return value

    def choice(self, key: str, choices: Sequence[_S], *, required: bool = False) -> _S | None:
        value = self._get(key, required)
        if value is ...:
            return None
        for choice in choices:
            if value == choice and isinstance(value, str):
                return choice
        self.problem(key, _one_of(choices), value)
        return None

    def int_choice(self, key: str, choices: Sequence[int]) -> int | None:
        value = self._get(key, False)
        if value is ...:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or value not in choices:
            self.problem(key, _one_of(choices), value)  # 9600.0 is not a baud rate
            return None
        return value

    def path(self, key: str, base: Path, *, required: bool = False) -> Path | None:
        """A file or folder path; relative ones are relative to the config file's folder."""
        text = self.string(key, required=required, check=_path_problem)
        return None if text is None else Path(os.path.normpath(base / text))

    def leftovers(
        self, known: Sequence[str], foreign: Callable[[str], str | None] | None = None
    ) -> None:
        """Report every key not in `known`: foreign to this context, or simply unknown."""
        for key, value in self.data.items():
            if key in known:
                continue
            reason = foreign(key) if foreign else None
            if reason is None:
                near = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
                hint = (
                    f'; did you mean "{near[0]}"?' if near else "; known keys: " + ", ".join(known)
                )
                self.out.append(
                    f"{self.file}: {self.key(key)}: unknown key (got {show_toml(value)}){hint}"
                )
            else:
                self.problem(key, reason, value)


def _path_problem(text: str) -> str | None:
    return "must not contain a NUL character" if "\x00" in text else None


def _is_device_path(text: str) -> bool:
    return text.startswith("/") and len(text) > 1 and "\x00" not in text


def _port_problem(text: str) -> str | None:
    """A serial port is a device path or one of the pyserial URLs the drivers support."""
    if _is_device_path(text):
        return None
    if m := _URL_RE.match(text):
        return None if 1 <= int(m["port"]) <= 65535 else "TCP port in the URL must be 1-65535"
    if _LOOP_RE.match(text):
        return None
    return (
        "must be a device path (/dev/...) or a pyserial URL "
        "(socket://host:port, rfc2217://host:port, loop://)"
    )


def _device_problem(text: str) -> str | None:
    return None if _is_device_path(text) else "must be an evdev device path (/dev/input/...)"


def _tcp_problem(text: str) -> str | None:
    if m := _TCP_RE.match(text):
        return None if 1 <= int(m["port"]) <= 65535 else "TCP port in the URL must be 1-65535"
    return "must be tcp://host:port"


def _host_problem(text: str) -> str | None:
    if "://" in text or "/" in text or any(c.isspace() for c in text):
        return "must be a host name or IP address (no scheme, path or spaces)"
    return None


def _name_problem(text: str) -> str | None:
    return None if NAME_RE.match(text) else NAME_RULE


def _table(out: list[str], file: str, where: str, raw: object, required: bool) -> _Table | None:
    if raw is ...:
        if required:
            out.append(f"{file}: {where}: required table [{where}] is missing")
        return None
    if not isinstance(raw, dict):
        out.append(f"{file}: {where}: must be a table ([{where}]) (got {show_toml(raw)})")
        return None
    return _Table(out, file, where, raw)


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
    top = _Table(out, file, "", data)
    station = _parse_station(_table(out, file, "station", data.get("station", ...), True), base)
    mqtt_t = _table(out, file, "mqtt", data.get("mqtt", ...), False)
    mqtt = _parse_mqtt(mqtt_t or _Table(out, file, "mqtt", {}), base, station.id, result)
    master = MasterSettings()
    if master_t := _table(out, file, "master", data.get("master", ...), False):
        master = MasterSettings(dir=master_t.path("dir", base))
        master_t.leftovers(("dir",))
        if master.dir is not None:
            raw = master_t.data["dir"]
            assert isinstance(raw, str)
            result.master_dir = Path(os.path.normpath(path.parent / raw))
    scanner_t = _table(out, file, "scanner", data.get("scanner", ...), False)
    scanner = _parse_scanner(scanner_t) if scanner_t else ScannerSettings()
    inputs = _parse_inputs(out, file, data.get("inputs", ...))
    raw_inputs = data.get("inputs")
    for i, item in enumerate(raw_inputs if isinstance(raw_inputs, list) else []):
        fixed = item.get("instrument") if isinstance(item, dict) else None
        if isinstance(fixed, str) and NAME_RE.match(fixed):
            result.fixed.append((i, fixed))
    top.leftovers(TOP_KEYS)
    if not out:
        result.config = Config(path.absolute(), station, mqtt, master, scanner, inputs)
    return result


def _parse_station(t: _Table | None, base: Path) -> StationSettings:
    if t is None:
        return StationSettings(id="", site="", data_dir=base)
    sid = t.string("id", required=True, check=_name_problem)
    site = t.string("site", required=True, check=_name_problem)
    data_dir = t.path("data_dir", base, required=True)
    budget = t.number("storage_budget_mb")
    retention = t.integer("retention_days", 1, 36_500)
    zone = t.string("timezone", check=_zone_problem)
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


def _zone_problem(value: str) -> str | None:
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


def _parse_mqtt(t: _Table, base: Path, station_id: str, result: ParsedConfig) -> MqttSettings:
    d = MqttSettings()
    host = t.string("host", check=_host_problem)
    port = t.integer("port", 1, 65535)
    client_id = t.string("client_id", check=_name_problem)
    ack = t.choice("ack", ACK_MODES)
    resend = t.number("resend_after_s")
    username = t.string("username")
    files = {k: t.path(k, base) for k in ("password_file", "tls_ca", "tls_cert", "tls_key")}
    keepalive = t.integer("keepalive_s", 1, 65535)  # MQTT 3.1.1 §3.1.2.10: 16-bit seconds
    window = t.integer("inflight_window", 1, 65535)  # MQTT 5 §3.3.4: Receive Maximum
    rate = t.number("max_rate")
    max_bytes = t.integer("max_master_bytes", 1, 268_435_455)  # MQTT max packet size
    if files["password_file"] and "username" not in t.data:
        t.problem("password_file", "needs mqtt.username", t.data["password_file"])
    for a, b in (("tls_cert", "tls_key"), ("tls_key", "tls_cert")):
        if a in t.data and b not in t.data:
            t.problem(b, f"required with mqtt.{a} (client certificate and key go together)")
    for k in ("tls_cert", "tls_key"):
        if k in t.data and "tls_ca" not in t.data:
            t.problem(k, "needs mqtt.tls_ca (TLS is turned on by tls_ca)", t.data[k])
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


def _parse_scanner(t: _Table) -> ScannerSettings:
    kind = t.choice("kind", SCANNER_KINDS)
    if "kind" not in t.data:
        kind = "keyboard"  # the documented default; None below means "kind given but wrong"
    # The contract's example keeps a `port` beside kind = "keyboard", so it is accepted there
    # (checked as a serial port, which includes device paths; not used); serial and evdev
    # require it.
    port_check = _device_problem if kind == "evdev" else _port_problem
    port = t.string("port", required=kind in ("serial", "evdev"), check=port_check)
    baudrate = t.int_choice("baudrate", BAUDRATES) if kind == "serial" else None

    def foreign(key: str) -> str | None:
        return f'only for kind "serial", not {show_toml(kind)}' if key == "baudrate" else None

    known = ("kind", "port", "baudrate") if kind in ("serial", None) else ("kind", "port")
    t.leftovers(known, foreign)
    return ScannerSettings(kind=kind or "keyboard", port=port, baudrate=baudrate or 9600)


def _parse_inputs(out: list[str], file: str, raw: object) -> tuple[InputSettings, ...]:
    if raw is ...:
        return ()
    if not isinstance(raw, list):
        out.append(
            f"{file}: inputs: must be an array of tables ([[inputs]]) (got {show_toml(raw)})"
        )
        return ()
    inputs: list[InputSettings] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            out.append(f"{file}: inputs[{i}]: must be a table ([[inputs]]) (got {show_toml(item)})")
            continue
        t = _Table(out, file, f"inputs[{i}]", item)
        parsed = _parse_input(t)
        name = parsed.name
        if name and name in seen:
            t.problem("name", f"duplicate input name, already used by inputs[{seen[name]}]", name)
        elif name:
            seen[name] = i
        inputs.append(parsed)
    return tuple(inputs)


def _parse_input(t: _Table) -> InputSettings:
    d = InputSettings(name="", driver="mitutoyo")
    name = t.string("name", required=True, check=_name_problem)
    driver = t.choice("driver", DRIVER_NAMES, required=True)
    # Modbus is request/response and a keyboard only types: each has one possible mode, which
    # is its default; any other given value is an error rather than being overridden.
    only_modes: dict[str, InputMode] = {"modbus": "poll", "keyboard": "push"}
    only_mode = only_modes.get(driver or "")
    mode = t.choice("mode", INPUT_MODES)
    if only_mode and mode and mode != only_mode:
        why = "modbus is request/response" if driver == "modbus" else "a keyboard only sends"
        t.problem("mode", f'{why}, must be "{only_mode}"', mode)
    mode = mode or only_mode or "push"
    instrument = t.string("instrument", check=_name_problem)
    timeout = t.number("timeout_s")
    debounce = t.integer("debounce_ms", 0, 5_000)
    unit = t.string("unit")
    allowed = [*COMMON_KEYS, *(k for k, ds in DRIVER_KEYS.items() if driver in ds)]

    tcp = driver == "modbus" and "url" in t.data
    url = t.string("url", check=_tcp_problem) if driver == "modbus" else None
    port: str | None = None
    if driver in SERIAL_DRIVERS:
        if driver == "modbus" and "url" in t.data and "port" in t.data:
            t.problem("port", "modbus takes url (TCP) or port (RTU), not both", t.data["port"])
        elif driver == "modbus" and "url" not in t.data and "port" not in t.data:
            t.problem("url", "required key is missing (or port, for Modbus RTU)")
        else:
            port = t.string("port", required=not tcp, check=_port_problem)
    line = driver in SERIAL_DRIVERS and not tcp
    baudrate = t.int_choice("baudrate", BAUDRATES) if line else None
    bytesize = t.int_choice("bytesize", (5, 6, 7, 8)) if line else None
    parity = t.choice("parity", PARITIES) if line else None
    stopbits = _stopbits(t) if line else None
    if tcp:  # `port` beside `url` is reported above as "not both"
        allowed = [k for k in allowed if k not in LINE_KEYS or k == "port"]

    pattern = request = None
    if driver == "ascii":
        pattern = t.string("pattern", required=True, check=_pattern_problem)
        request = t.string("request")
        if mode == "poll" and "request" not in t.data:
            t.problem("request", 'required when mode = "poll" (it is sent to ask for a value)')
    accept_dynamic = t.boolean("accept_dynamic") if driver == "mtsics" else None

    unit_id = register = register_type = data_type = word_order = scale = None
    if driver == "modbus":
        unit_id = t.integer("unit_id", 0, 247)  # Modbus over serial line §2.2: 1-247, 0 = all
        register_type = t.choice("register_type", REGISTER_TYPES)
        data_type = t.choice("data_type", DATA_TYPES)
        word_order = t.choice("word_order", WORD_ORDERS)
        count = REGISTERS_OF[data_type or d.data_type]
        register = t.integer("register", 0, 65535)
        if register is not None and register + count - 1 > 65535:
            t.problem(
                "register",
                f"{data_type or d.data_type} takes {count} registers, so at most {65536 - count}",
                register,
            )
        if word_order is not None and count == 1:
            t.problem(
                "word_order",
                f"only for 32-bit data types (int32, uint32, float32), not {show_toml(data_type)}",
                word_order,
            )
        scale = t.number("scale", positive=False)
        if scale == 0:
            t.problem("scale", "must not be 0", t.data["scale"])
    device = (
        t.string("device", required=True, check=_device_problem) if driver == "keyboard" else None
    )

    def foreign(key: str) -> str | None:
        drivers = DRIVER_KEYS.get(key)
        if driver is None or drivers is None:
            return None
        if tcp and key in LINE_KEYS:
            return "only for Modbus RTU (port), not with url"
        names = ", ".join(f'"{x}"' for x in drivers)
        return f"only for driver{'s' if len(drivers) > 1 else ''} {names}, not {show_toml(driver)}"

    # With the driver missing or wrong, driver-specific keys cannot be judged: only typos are.
    t.leftovers(allowed if driver else [*COMMON_KEYS, *DRIVER_KEYS], foreign)
    return InputSettings(
        name=name or "",
        driver=driver or d.driver,
        mode=mode,
        instrument=instrument,
        port=port,
        baudrate=baudrate,
        bytesize=bytesize,
        parity=parity,
        stopbits=stopbits,
        timeout_s=timeout or d.timeout_s,
        debounce_ms=d.debounce_ms if debounce is None else debounce,
        unit=unit,
        pattern=pattern,
        request=request,
        accept_dynamic=bool(accept_dynamic),
        url=url,
        unit_id=d.unit_id if unit_id is None else unit_id,
        register=d.register if register is None else register,
        register_type=register_type or d.register_type,
        data_type=data_type or d.data_type,
        word_order=word_order or d.word_order,
        scale=d.scale if scale is None else scale,
        device=device,
    )


def _stopbits(t: _Table) -> float | None:
    value = t.data.get("stopbits", ...)
    if value is ...:
        return None
    if isinstance(value, bool) or value not in (1, 1.5, 2):
        t.problem("stopbits", "must be 1, 1.5 or 2", value)
        return None
    assert isinstance(value, int | float)
    return float(value)


def _pattern_problem(text: str) -> str | None:
    # The driver owns the rule (it also refuses nested quantifiers: catastrophic backtracking).
    return pattern_problem(text)


def load_config(path: Path) -> Config:
    """Read and validate the config file at `path`.

    Raises:
        ConfigError: with every problem found, one `FILE: key.path: ... (got VALUE)` line each.
    """
    parsed = parse_config_file(path)
    if parsed.config is None:
        raise ConfigError(parsed.problems)
    return parsed.config


__all__ = [
    "BAUDRATES",
    "ConfigError",
    "ParsedConfig",
    "load_config",
    "parse_config_file",
    "show_toml",
    "system_zone",
]
