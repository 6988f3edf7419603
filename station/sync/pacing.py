"""Timing helpers for the sync daemon: capped exponential backoff with jitter, and a token
bucket for the publish rate. Pure (no paho, no SQLite): time and randomness are injected.

Jitter matters because paho's own `reconnect_delay_set` doubles a fixed delay (paho-mqtt 2.x
`Client.reconnect_delay_set` documentation):
after a central broker restart every station of a plant would retry in lockstep. Each delay
here is drawn uniformly from [cap/2, cap] ("equal jitter"), so retries spread out yet a
station never hammers the broker faster than half its nominal delay.
"""

from __future__ import annotations

import random
from collections.abc import Callable


class Backoff:
    """Delays min_s, 2·min_s, 4·min_s … capped at max_s, each jittered into [d/2, d]."""

    def __init__(
        self,
        min_s: float,
        max_s: float,
        *,
        rand: Callable[[float, float], float] = random.uniform,
    ) -> None:
        if not 0 < min_s <= max_s:
            raise ValueError(f"backoff needs 0 < min_s <= max_s (got {min_s}, {max_s})")
        self.min_s = min_s
        self.max_s = max_s
        self._rand = rand
        self.failures = 0

    def next_delay(self) -> float:
        """The delay before the next attempt; each call counts one more failure."""
        nominal = min(self.max_s, self.min_s * (2 ** min(self.failures, 30)))
        self.failures += 1
        return self._rand(nominal / 2, nominal)

    def reset(self) -> None:
        """A success: the next failure starts again from min_s."""
        self.failures = 0


class TokenBucket:
    """At most `rate` tokens per second on average, bursts of at most `burst` tokens."""

    def __init__(self, rate: float, burst: float, now: float) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError(f"token bucket needs rate > 0 and burst >= 1 (got {rate}, {burst})")
        self.rate = rate
        self.burst = burst
        self._tokens = burst
        self._at = now

    def _refill(self, now: float) -> None:
        if now > self._at:
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
            self._at = now

    def available(self, now: float) -> int:
        """Whole tokens that may be taken now."""
        self._refill(now)
        return int(self._tokens)

    def take(self, n: int, now: float) -> None:
        self._refill(now)
        self._tokens -= n

    def wait_s(self, now: float) -> float:
        """Seconds until at least one token is available (0 when one is)."""
        self._refill(now)
        return 0.0 if self._tokens >= 1 else (1 - self._tokens) / self.rate


__all__ = ["Backoff", "TokenBucket"]
