"""One bounded JSON parser for every payload that arrives over MQTT (acks, master data).

Anything on a topic the daemon subscribes to may be hostile or broken, and a retained one is
delivered again at every connect: a payload that raises out of the loop is a restart loop
under systemd. So every inbound payload is parsed here, and every way it can be bad becomes
one `PayloadRejected` with a reason a person can act on, before `json` or a validator ever
sees it:

- size: checked first, on the raw bytes (a 10 MB payload is refused without decoding it);
- UTF-8: RFC 8259 §8.1 requires it; the reason names the offset of the first bad byte;
- nesting: a cheap bracket-depth scan (strings blanked out first, by a C-level regex) runs
  before `json.loads`, whose recursive decoder would raise RecursionError near depth 1000;
- numbers: integers of more than `MAX_INT_DIGITS` digits (beyond any int64 a contract field
  holds; `int()` of a 400-digit string costs time and overflows `float()` later) and floats
  that are not finite (`1e400` parses as inf) are refused by `parse_int`/`parse_float`
  hooks; the non-JSON constants NaN/Infinity (RFC 8259 §6) by `parse_constant`;
- duplicate keys: refused (with `json`, the later one would silently win).

No paho and no store here: plain functions over bytes.
"""

from __future__ import annotations

import json
import math
import re
from itertools import accumulate
from typing import Any

MAX_DEPTH = 64  # the contract's deepest document (a calibration record) nests ~8 levels
MAX_INT_DIGITS = 18  # |n| < 10**18: inside int64, above any seq or count a station reaches
ACK_MAX_BYTES = 4096  # an ack is `{"seq": N, "hash": H}`: ~100 bytes

# A JSON string (RFC 8259 §7): quotes around unescaped non-quote/backslash chars or escapes.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)  # unrolled: one step per run
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


class PayloadRejected(ValueError):
    """The payload is not acceptable JSON; the message says why (for the log and events)."""


def nesting_depth(text: str) -> int:
    """The deepest bracket nesting of `text` outside strings (0 for a scalar)."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub('""', text))
    if not brackets:
        return 0
    return max(accumulate(map(_STEP.__getitem__, brackets), initial=0))


def _int(token: str) -> int:
    if len(token.lstrip("-")) > MAX_INT_DIGITS:
        raise PayloadRejected(
            f"payload has an integer of {len(token.lstrip('-'))} digits"
            f" (at most {MAX_INT_DIGITS} accepted)"
        )
    return int(token)


def _float(token: str) -> float:
    value = float(token)
    if not math.isfinite(value):
        shown = token if len(token) <= 40 else token[:37] + "..."
        raise PayloadRejected(f"payload has a number out of range: {shown} (not a finite double)")
    return value


def _constant(token: str) -> Any:
    raise PayloadRejected(f"payload: {token} is not JSON (RFC 8259 §6)")


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            shown = key if len(key) <= 40 else key[:37] + "..."
            raise PayloadRejected(f"payload has a duplicate key {json.dumps(shown)}")
        out[key] = value
    return out


def parse_payload(payload: bytes, *, max_bytes: int, max_depth: int = MAX_DEPTH) -> Any:
    """The JSON value of `payload`, or PayloadRejected saying what is wrong with it."""
    if len(payload) > max_bytes:
        raise PayloadRejected(f"payload is {len(payload)} bytes, more than the {max_bytes} allowed")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PayloadRejected(f"payload is not UTF-8 (bad byte at {exc.start})") from None
    depth = nesting_depth(text)
    if depth > max_depth:
        raise PayloadRejected(
            f"payload is nested {depth} levels deep (at most {max_depth} accepted)"
        )
    try:
        return json.loads(
            text,
            parse_int=_int,
            parse_float=_float,
            parse_constant=_constant,
            object_pairs_hook=_object,
        )
    except PayloadRejected as exc:
        if str(exc).startswith("payload has an integer of"):
            raise PayloadRejected(_with_path(text, str(exc))) from None
        raise
    except json.JSONDecodeError as exc:
        raise PayloadRejected(
            f"payload is not valid JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    except (ValueError, RecursionError) as exc:  # belt and braces: the scan bounds depth
        raise PayloadRejected(f"payload is not valid JSON: {exc}") from None


class _Big:
    """Stands for an oversized integer in the second pass that finds where it is."""


def _with_path(text: str, reason: str) -> str:
    """`reason` with the JSON path of the first oversized integer (for the person who fixes
    the document). Depth is already bounded, so the walk is short."""
    big = _Big()
    doc = json.loads(
        text, parse_int=lambda t: big if len(t.lstrip("-")) > MAX_INT_DIGITS else int(t)
    )
    stack: list[tuple[str, Any]] = [("$", doc)]
    while stack:
        path, value = stack.pop()
        if value is big:
            return reason.replace("payload has", f"payload: {path}:", 1)
        if isinstance(value, dict):
            stack += [(f"{path}.{k}", v) for k, v in reversed(list(value.items()))]
        elif isinstance(value, list):
            stack += [(f"{path}[{i}]", v) for i, v in reversed(list(enumerate(value)))]
    return reason


__all__ = [
    "ACK_MAX_BYTES",
    "MAX_DEPTH",
    "MAX_INT_DIGITS",
    "PayloadRejected",
    "nesting_depth",
    "parse_payload",
]
