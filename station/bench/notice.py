"""What the bench tells the operator after each action: a level and one plain sentence."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Level = Literal["ok", "info", "warn", "error"]


@dataclass(frozen=True)
class Notice:
    """One message for the operator.

    `level` drives the colour (ok green, info plain, warn amber, error red); `details` are
    extra lines (e.g. every reason an instrument is blocked). `recorded` is True when the
    action was recorded although the news is bad (a FAIL reading, a REJECTED part, a FAILED
    instrument check): red, but not a refusal.
    """

    level: Level
    text: str
    details: tuple[str, ...] = field(default=())
    recorded: bool = False

    @property
    def refused(self) -> bool:
        """True when the action was refused and nothing was recorded (say "refused" in logs)."""
        return self.level == "error" and not self.recorded

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


def bad_news(text: str, *details: str) -> Notice:
    """Red, but recorded: a FAIL reading, a rejected part, a failed instrument check."""
    return Notice("error", text, details, recorded=True)


# What the operator does with an indeterminate part (`[station] indeterminate`): inside the
# guard band neither conformance nor nonconformance is proven (ISO 14253-1 clause 5.3), so the
# part is neither shipped nor scrapped on this measurement.
INDETERMINATE_STEPS = {
    "remeasure": (
        "INDETERMINATE (within the guard band): re-measure it with an instrument of smaller"
        " uncertainty; until then it is neither accepted nor rejected."
    ),
    "hold": (
        "INDETERMINATE (within the guard band): put it in the hold area for review by"
        " quality; do not pass it on."
    ),
}


def indeterminate_step(action: str) -> str:
    """The sentence after "part N" for an indeterminate result, with the next step."""
    return INDETERMINATE_STEPS.get(action, INDETERMINATE_STEPS["remeasure"])


__all__ = [
    "INDETERMINATE_STEPS",
    "Level",
    "Notice",
    "bad_news",
    "error",
    "indeterminate_step",
    "info",
    "ok",
    "warn",
]
