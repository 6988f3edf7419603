"""Typed, frozen configuration objects (contract: `docs/contract/station.md`).

`station.config` is the only module that builds these from TOML; everything else receives
them. Paths are already resolved against the config file's folder. Defaults listed here are
the ones the contract documents or that this project adds (each extension is marked).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from drivers.params import (
    DRIVER_NAMES,
    AsciiParams,
    DataType,
    DriverName,
    DriverParams,
    InputMode,
    KeyboardParams,
    ModbusParams,
    MtsicsParams,
    Parity,
    RegisterType,
    SerialParams,
    WordOrder,
)
from station.core.signing import OVERRIDE_REASONS, OverrideReason, SignAction

AckMode = Literal["central", "broker"]
ScannerKind = Literal["keyboard", "serial", "evdev"]
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
class SignatureSettings:
    """`[signatures]` (contract 1.1): 21 CFR Part 11 electronic signatures at the bench.

    Absent section: `required` is empty and nothing is signed (the behaviour before 1.1).
    """

    required: tuple[SignAction, ...] = ()
    session_timeout_s: int = 900  # after this long without a signing, badge and PIN again
    max_pin_failures: int = 3  # consecutive wrong PINs that lock the operator here

    def needs(self, action: SignAction) -> bool:
        """True when `action` must be signed at this station."""
        return action in self.required


@dataclass(frozen=True)
class InterlockSettings:
    """`[interlock]` (extension, issue 16): the signed override of the instrument interlock.

    Off by default. When on, an instrument refused for one of `override_reasons` (overdue by
    at most `override_grace_days` calendar days, or lacking a valid daily check) may be used
    for the current part once a second operator holding `approver_qualification` signs as
    approver beside the operator. Quarantined and retired instruments are never overridden.
    """

    allow_override: bool = False
    override_grace_days: int = 0
    override_reasons: tuple[OverrideReason, ...] = OVERRIDE_REASONS
    approver_qualification: str | None = None  # required when allow_override is true


PARAMS_OF: dict[DriverName, type[DriverParams]] = {
    "mitutoyo": SerialParams,
    "sylvac": SerialParams,
    "mahr": SerialParams,
    "mtsics": MtsicsParams,
    "ascii": AsciiParams,
    "modbus": ModbusParams,
    "keyboard": KeyboardParams,
}
"""The parameter type each contract driver name takes: exactly that type, not a subclass (an
`AsciiParams` is a `SerialParams`, but a "mitutoyo" input has no pattern)."""

DEFAULT_DEBOUNCE_MS = 150


@dataclass(frozen=True)
class InputSettings:
    """One `[[inputs]]` entry: what the station needs to know about the input, and `params`,
    what its driver is given (the family's type from `drivers.params`, tagged by `driver`).

    The driver-specific keys read through `key(name)` under their contract names (`port`,
    `pattern`, `unit_id`...), None where the key does not apply to the driver: the entry as
    the technician wrote it. Drivers read `params`.
    """

    name: str
    driver: DriverName
    params: DriverParams
    instrument: str | None = None
    # Extension: identical frames from this input within this many milliseconds are one
    # reading (a bouncing footswitch or data button); 0 turns debouncing off.
    debounce_ms: int = DEFAULT_DEBOUNCE_MS

    def __post_init__(self) -> None:
        # An unknown name is left to `station.devices`, which lists the known ones.
        expected = PARAMS_OF.get(self.driver)
        if expected is not None and type(self.params) is not expected:
            raise TypeError(
                f"input {self.name!r}: driver {self.driver!r} takes {expected.__name__},"
                f" got {type(self.params).__name__}"
            )

    # --- keys every driver has ----------------------------------------------------------

    @property
    def mode(self) -> InputMode:
        """ "push" (the device sends) or "poll" (the station asks)."""
        return self.params.mode

    @property
    def timeout_s(self) -> float:
        """Extension: seconds to wait for a reply to a request / for a frame to complete."""
        return self.params.timeout_s

    @property
    def unit(self) -> str | None:
        """The unit the device reports in, when the frame does not carry one."""
        return self.params.unit

    def key(self, name: str) -> object:
        """A driver-specific key under its contract name (`port`, `pattern`, `unit_id`...),
        as the technician wrote it; None where the key does not apply to this driver."""
        return getattr(self.params, name, None)


@dataclass(frozen=True)
class Config:
    """A whole, validated station config file."""

    path: Path
    station: StationSettings
    mqtt: MqttSettings
    master: MasterSettings = field(default_factory=MasterSettings)
    scanner: ScannerSettings = field(default_factory=ScannerSettings)
    inputs: tuple[InputSettings, ...] = ()
    signatures: SignatureSettings = field(default_factory=SignatureSettings)
    interlock: InterlockSettings = field(default_factory=InterlockSettings)

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
    "DEFAULT_DEBOUNCE_MS",
    "DRIVER_NAMES",
    "PARAMS_OF",
    "AckMode",
    "AsciiParams",
    "Config",
    "DataType",
    "DriverName",
    "DriverParams",
    "IndeterminateAction",
    "InputMode",
    "InputSettings",
    "InterlockSettings",
    "KeyboardParams",
    "MasterSettings",
    "ModbusParams",
    "MqttSettings",
    "MtsicsParams",
    "Parity",
    "RegisterType",
    "ScannerKind",
    "ScannerSettings",
    "SerialParams",
    "SignatureSettings",
    "StationSettings",
    "WordOrder",
]
