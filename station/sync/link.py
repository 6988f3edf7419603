"""What the sync daemon's logic and its MQTT link share, without paho: the station's topics,
the events the link's callbacks post, MQTT v5 reason codes, and the `Link` protocol."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Topics:
    """The station's topics (contract mqtt.md, "Topics")."""

    site: str
    station: str

    @property
    def base(self) -> str:
        return f"qms/v1/{self.site}/{self.station}"

    @property
    def status(self) -> str:
        return f"{self.base}/status"

    @property
    def ack(self) -> str:
        return f"{self.base}/ack"

    @property
    def master_filter(self) -> str:
        return f"qms/v1/{self.site}/master/+/+"

    @property
    def master_prefix(self) -> str:
        return f"qms/v1/{self.site}/master/"

    def record(self, rtype: str) -> str:
        return f"{self.base}/record/{rtype}"


@dataclass(frozen=True)
class Reason:
    """An MQTT v5 reason code (§2.4): its name, value, and whether it is a failure (>= 0x80)."""

    name: str
    value: int
    failure: bool

    def __str__(self) -> str:
        return self.name


# Events posted by the link's callbacks (on the daemon's thread, inside `Link.pump`).
@dataclass(frozen=True)
class Connected:
    reason: Reason


@dataclass(frozen=True)
class Disconnected:
    reason: Reason


@dataclass(frozen=True)
class Published:
    mid: int
    reason: Reason


@dataclass(frozen=True)
class Received:
    topic: bytes
    payload: bytes


@dataclass(frozen=True)
class Subscribed:
    reasons: list[Reason]


Event = Connected | Disconnected | Published | Received | Subscribed


class Link(Protocol):
    """The MQTT connection as the daemon needs it (QoS 1 everywhere)."""

    def connect(self, will: bytes) -> None:
        """Start a clean connection (empty outgoing queue); raise OSError/ssl.SSLError."""

    def disconnect(self) -> None: ...

    def is_open(self) -> bool:
        """True while a socket exists (connecting or connected)."""

    def pump(self, timeout: float) -> None:
        """Wait up to `timeout` for the network and process it (callbacks post events)."""

    def publish(self, topic: str, payload: bytes, *, retain: bool) -> int:
        """Queue a QoS 1 PUBLISH; return its message id."""

    def subscribe(self, topics: list[str]) -> None:
        """Subscribe to each topic filter at QoS 1."""


__all__ = [
    "Connected",
    "Disconnected",
    "Event",
    "Link",
    "Published",
    "Reason",
    "Received",
    "Subscribed",
    "Topics",
]
