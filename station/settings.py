"""Typed, frozen configuration objects (contract: `docs/contract/station.md`).

`station.config` is the only module that builds these from TOML; everything else receives
them. Paths are already resolved against the config file's folder. Defaults listed here are
the ones the contract documents or that this project adds (each extension is marked).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path
from typing import Literal, get_args
from zoneinfo import ZoneInfo

AckMode = Literal["central", "broker"]
ScannerKind = Literal["keyboard", "serial", "evdev"]
DriverName = Literal["mitutoyo", "sylvac", "mahr", "mtsics", "ascii", "modbus", "keyboard"]
InputMode = Literal["push", "poll"]
Parity = Literal["N", "E", "O", "M", "S"]
RegisterType = Literal["holding", "input"]
DataType = Literal["int16", "uint16", "int32", "uint32", "float32"]
WordOrder = Literal["big", "little"]

DRIVER_NAMES: tuple[DriverName, ...] = get_args(DriverName)


IndeterminateAction = Literal["remeasure", "hold"]


@dataclass(frozen=True)
class StationSettings:
    """`[station]`."""

    id: str
    site: str
    data_dir: Path
    storage_budget_mb: float = 512.0
    # Extension: delivered records older than this may be pruned; None = keep forever.
    retention_days: int | None = None
    # Contract 1.1: the site's IANA zone. Calendar dates (cal_due, qualification expiry,
    # proposed due dates) are judged in it; record timestamps stay UTC. The parser fills in the
    # system's zone when the key is absent.
    timezone: tzinfo = field(default_factory=lambda: ZoneInfo("UTC"))
    # Extension: what the operator is told to do with a part whose result is indeterminate
    # (a value inside the guard band, ISO 14253-1 clause 5.3: neither conformance nor
    # nonconformance is proven): "remeasure" with an instrument of smaller uncertainty, or
    # "hold" the part for review by quality.
    indeterminate: IndeterminateAction = "remeasure"

    @property
    def db_path(self) -> Path:
        """The SQLite store inside `data_dir`."""
        return self.data_dir / "station.db"


@dataclass(frozen=True)
class MqttSettings:
    """`[mqtt]`."""

    host: str = "127.0.0.1"
    port: int = 1883
    client_id: str = ""  # filled with the station id by the parser when absent
    ack: AckMode = "central"
    resend_after_s: float = 30.0
    username: str | None = None
    password_file: Path | None = None
    tls_ca: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    # Extensions.
    keepalive_s: int = 60
    inflight_window: int = 20  # unacknowledged PUBLISHes at most (MQTT v5 §4.9 spirit)
    max_rate: float = 500.0  # records/s at most while draining a backlog
    max_master_bytes: int = 262_144  # larger master messages are rejected

    @property
    def tls(self) -> bool:
        """TLS is on when a CA is configured (contract: "presence turns TLS on")."""
        return self.tls_ca is not None


@dataclass(frozen=True)
class MasterSettings:
    """`[master]`."""

    dir: Path | None = None


@dataclass(frozen=True)
class ScannerSettings:
    """`[scanner]`."""

    kind: ScannerKind = "keyboard"
    port: str | None = None
    baudrate: int = 9600


@dataclass(frozen=True)
class InputSettings:
    """One `[[inputs]]` entry. Keys that do not apply to the driver stay at their defaults;
    the parser rejects driver-foreign keys, so a value here was either given or defaulted."""

    name: str
    driver: DriverName
    mode: InputMode = "push"
    instrument: str | None = None
    # Serial line (mitutoyo, sylvac, mahr, mtsics, ascii, modbus RTU); None = driver default.
    port: str | None = None
    baudrate: int | None = None
    bytesize: int | None = None
    parity: Parity | None = None
    stopbits: float | None = None
    # Extension: seconds to wait for a reply to a request / for a frame to complete.
    timeout_s: float = 1.0
    # Extension: identical frames from this input within this many milliseconds are one
    # reading (a bouncing footswitch or data button); 0 turns debouncing off.
    debounce_ms: int = 150
    # Unit the device reports in, when the frame does not carry one.
    unit: str | None = None
    # ascii
    pattern: str | None = None
    request: str | None = None
    # mtsics (extension): accept `S D` dynamic readings as values.
    accept_dynamic: bool = False
    # modbus
    url: str | None = None
    unit_id: int = 1
    register: int = 0
    register_type: RegisterType = "holding"
    data_type: DataType = "float32"
    word_order: WordOrder = "big"
    scale: float = 1.0
    # keyboard (evdev HID device path)
    device: str | None = None


@dataclass(frozen=True)
class Config:
    """A whole, validated station config file."""

    path: Path
    station: StationSettings
    mqtt: MqttSettings
    master: MasterSettings = field(default_factory=MasterSettings)
    scanner: ScannerSettings = field(default_factory=ScannerSettings)
    inputs: tuple[InputSettings, ...] = ()

    def input(self, name: str) -> InputSettings:
        """Return the input called `name`.

        Raises:
            KeyError: naming the input and listing the configured ones.
        """
        for item in self.inputs:
            if item.name == name:
                return item
        known = ", ".join(i.name for i in self.inputs) or "none"
        raise KeyError(f"no input named {name!r} in {self.path} (configured: {known})")


__all__ = [
    "DRIVER_NAMES",
    "AckMode",
    "Config",
    "DataType",
    "DriverName",
    "IndeterminateAction",
    "InputMode",
    "InputSettings",
    "MasterSettings",
    "MqttSettings",
    "Parity",
    "RegisterType",
    "ScannerKind",
    "ScannerSettings",
    "StationSettings",
    "WordOrder",
]
