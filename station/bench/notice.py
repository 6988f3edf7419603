"""What the bench tells the operator after each action: a level and one plain sentence."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Level = Literal["ok", "info", "warn", "error"]


@dataclass(frozen=True)
class Notice:
    """One message for the operator.

    `level` drives the colour (ok green, info plain, warn amber, error red); `details` are
    extra lines (e.g. every reason an instrument is blocked).
    """

    level: Level
    text: str
    details: tuple[str, ...] = field(default=())

    def lines(self) -> list[str]:
        """The text followed by its details, one per line."""
        return [self.text, *self.details]


def ok(text: str, *details: str) -> Notice:
    """A success message."""
    return Notice("ok", text, details)


def info(text: str, *details: str) -> Notice:
    """A neutral message."""
    return Notice("info", text, details)


def warn(text: str, *details: str) -> Notice:
    """Something the operator should notice, nothing was refused."""
    return Notice("warn", text, details)


def error(text: str, *details: str) -> Notice:
    """A refusal: nothing was recorded."""
    return Notice("error", text, details)


__all__ = ["Level", "Notice", "error", "info", "ok", "warn"]
