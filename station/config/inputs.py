"""`[[inputs]]`: one entry per gauge port, parsed into `InputSettings` with the driver's own
typed params (`drivers.params`); which keys each driver takes (private to station.config)."""

from __future__ import annotations

import re
from typing import TypedDict, get_args

from drivers.ascii_line import pattern_problem
from station.config.table import Table, name_problem, show_toml
from station.settings import (
    DEFAULT_DEBOUNCE_MS,
    DRIVER_NAMES,
    AsciiParams,
    DataType,
    DriverParams,
    InputMode,
    InputSettings,
    KeyboardParams,
    ModbusParams,
    MtsicsParams,
    Parity,
    RegisterType,
    SerialParams,
    WordOrder,
)

# The standard rates of pyserial/termios that every USB-serial adapter here supports.
BAUDRATES = (300, 600, 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)
_URL_RE = re.compile(r"(socket|rfc2217)://(?P<host>[^:/?\s]+):(?P<port>\d{1,5})(\?\S*)?\Z")
_LOOP_RE = re.compile(r"loop://(\?\S*)?\Z")
_TCP_RE = re.compile(r"tcp://(?P<host>[^:/?\s]+):(?P<port>\d{1,5})\Z")

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
INPUT_MODES: tuple[InputMode, ...] = get_args(InputMode)
PARITIES: tuple[Parity, ...] = get_args(Parity)
REGISTER_TYPES: tuple[RegisterType, ...] = get_args(RegisterType)
DATA_TYPES: tuple[DataType, ...] = get_args(DataType)
WORD_ORDERS: tuple[WordOrder, ...] = get_args(WordOrder)
REGISTERS_OF = {"int16": 1, "uint16": 1, "int32": 2, "uint32": 2, "float32": 2}


def is_device_path(text: str) -> bool:
    return text.startswith("/") and len(text) > 1 and "\x00" not in text


def port_problem(text: str) -> str | None:
    """A serial port is a device path or one of the pyserial URLs the drivers support."""
    if is_device_path(text):
        return None
    if m := _URL_RE.match(text):
        return None if 1 <= int(m["port"]) <= 65535 else "TCP port in the URL must be 1-65535"
    if _LOOP_RE.match(text):
        return None
    return (
        "must be a device path (/dev/...) or a pyserial URL "
        "(socket://host:port, rfc2217://host:port, loop://)"
    )


def device_problem(text: str) -> str | None:
    return None if is_device_path(text) else "must be an evdev device path (/dev/input/...)"


def tcp_problem(text: str) -> str | None:
    if m := _TCP_RE.match(text):
        return None if 1 <= int(m["port"]) <= 65535 else "TCP port in the URL must be 1-65535"
    return "must be tcp://host:port"


def parse_inputs(out: list[str], file: str, raw: object) -> tuple[InputSettings, ...]:
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
        t = Table(out, file, f"inputs[{i}]", item)
        parsed = _parse_input(t)
        name = parsed.name
        if name and name in seen:
            t.problem("name", f"duplicate input name, already used by inputs[{seen[name]}]", name)
        elif name:
            seen[name] = i
        inputs.append(parsed)
    return tuple(inputs)


def _parse_input(t: Table) -> InputSettings:
    d = ModbusParams()  # the defaults of the Modbus keys
    name = t.string("name", required=True, check=name_problem)
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
    instrument = t.string("instrument", check=name_problem)
    timeout = t.number("timeout_s")
    debounce = t.integer("debounce_ms", 0, 5_000)
    unit = t.string("unit")
    allowed = [*COMMON_KEYS, *(k for k, ds in DRIVER_KEYS.items() if driver in ds)]

    tcp = driver == "modbus" and "url" in t.data
    url = t.string("url", check=tcp_problem) if driver == "modbus" else None
    port: str | None = None
    if driver in SERIAL_DRIVERS:
        if driver == "modbus" and "url" in t.data and "port" in t.data:
            t.problem("port", "modbus takes url (TCP) or port (RTU), not both", t.data["port"])
        elif driver == "modbus" and "url" not in t.data and "port" not in t.data:
            t.problem("url", "required key is missing (or port, for Modbus RTU)")
        else:
            port = t.string("port", required=not tcp, check=port_problem)
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
        t.string("device", required=True, check=device_problem) if driver == "keyboard" else None
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
    # A value missing here was either reported above or is absent and takes its default; an
    # entry with a problem is never used (the whole config is refused), only kept well-typed.
    timeout_s = timeout or d.timeout_s
    params: DriverParams
    if driver == "modbus":
        params = ModbusParams(
            url=url,
            port=port,
            baudrate=baudrate,
            bytesize=bytesize,
            parity=parity,
            stopbits=stopbits,
            unit_id=d.unit_id if unit_id is None else unit_id,
            register=d.register if register is None else register,
            register_type=register_type or d.register_type,
            data_type=data_type or d.data_type,
            word_order=word_order or d.word_order,
            scale=d.scale if scale is None else scale,
            timeout_s=timeout_s,
            unit=unit,
        )
    elif driver == "keyboard":
        params = KeyboardParams(device=device or "", timeout_s=timeout_s, unit=unit)
    else:
        serial_keys = _LineKeys(
            port=port or "",
            baudrate=baudrate,
            bytesize=bytesize,
            parity=parity,
            stopbits=stopbits,
            mode=mode,
            timeout_s=timeout_s,
            unit=unit,
        )
        if driver == "ascii":
            params = AsciiParams(**serial_keys, pattern=pattern or "", request=request)
        elif driver == "mtsics":
            params = MtsicsParams(**serial_keys, accept_dynamic=bool(accept_dynamic))
        else:  # mitutoyo, sylvac, mahr (or a driver already reported missing or wrong)
            params = SerialParams(**serial_keys)
    return InputSettings(
        name=name or "",
        driver=driver or "mitutoyo",
        params=params,
        instrument=instrument,
        debounce_ms=DEFAULT_DEBOUNCE_MS if debounce is None else debounce,
    )


class _LineKeys(TypedDict):
    """The `SerialParams` keys that `AsciiParams` and `MtsicsParams` share."""

    port: str
    baudrate: int | None
    bytesize: int | None
    parity: Parity | None
    stopbits: float | None
    mode: InputMode
    timeout_s: float
    unit: str | None


def _stopbits(t: Table) -> float | None:
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
