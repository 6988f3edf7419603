"""Per-input debounce: one press of a data button or footswitch is one reading.

A footswitch's contacts bounce for a few milliseconds; some cables then send the same frame
twice, often in one write. Taken literally, the second frame became the next
characteristic's value, or the second sample of a two-sample characteristic in the same
millisecond: a fabricated measurement (issue 13.6). No operator can take two real
measurements within a debounce window (`[[inputs]] debounce_ms`, default 150 ms), so within
it, on the same input:

- a frame identical to the previous one is the same press: taken once (`bounce`);
- a different frame right after one that filled a sample is refused (`too-soon`): the
  operator presses again if it was meant; it never fills the next sample silently.

Only push inputs are debounced: a poll input's value is the reply to a request the station
sent, so two equal replies are two readings.

Times are the driver's `Reading.monotonic` stamps (when the frame's terminator arrived), not
the time the UI thread got round to the value: a busy UI must not make two presses 300 ms
apart look like one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from station.settings import InputSettings

_DEFAULT = InputSettings.__dataclass_fields__["debounce_ms"].default
DEFAULT_DEBOUNCE_MS: int = _DEFAULT if isinstance(_DEFAULT, int) else 150

Verdict = Literal["new", "bounce", "too-soon"]


@dataclass(frozen=True)
class _Frame:
    at: float
    raw: str
    taken: bool


class Debouncer:
    """Remembers the last frame of each input (see the module docstring)."""

    def __init__(self, inputs: Iterable[InputSettings]) -> None:
        # A poll input answers a request: two equal replies are two readings, never a bounce.
        self._window_s = {
            i.name: (i.debounce_ms / 1000 if i.mode == "push" else 0.0) for i in inputs
        }
        self._last: dict[str, _Frame] = {}

    def window_ms(self, input_name: str) -> float:
        """The input's debounce window in milliseconds."""
        return 1000 * self._window_s.get(input_name, DEFAULT_DEBOUNCE_MS / 1000)

    def classify(self, input_name: str, at: float, raw: str) -> tuple[Verdict, float]:
        """How to treat a frame stamped `at`, and how many ms after the previous one it came."""
        last = self._last.get(input_name)
        if last is None:
            return "new", float("inf")
        gap = at - last.at
        if not 0 <= gap < self.window_ms(input_name) / 1000:
            return "new", 1000 * gap
        if raw == last.raw:
            return "bounce", 1000 * gap
        return ("too-soon" if last.taken else "new"), 1000 * gap

    def seen(self, input_name: str, at: float, raw: str, *, taken: bool) -> None:
        """A frame that was not a bounce was handled; `taken` when it filled a sample."""
        self._last[input_name] = _Frame(at, raw, taken)


__all__ = ["DEFAULT_DEBOUNCE_MS", "Debouncer", "Verdict"]
