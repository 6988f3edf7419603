"""What a QMS ack means for this station: a pure decision over the ack and the daemon's state.

Contract mqtt.md, "Delivery" (revision 1.1): an ack `{"seq": N, "hash": H}` says the QMS holds
every record of this station up to N and that its record N has hash H; a QMS never acks past
a gap, a broken link or a conflict. An ack marks records delivered, and delivered records may
be pruned, so an ack this station cannot check is ignored: a forged one would otherwise lose
records for good (issue 13.1), and one for a seq a rebuilt store reused would mark records
delivered that the QMS rejected (issue 13.2).

The daemon (`station.sync.daemon`) reads the store and the delivery window, calls `judge_ack`,
and carries the verdict out: nothing here writes or logs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from station.schemas import schema_errors
from station.store import DeliveryState
from station.sync.payload import ACK_MAX_BYTES, PayloadRejected, parse_payload


@dataclass(frozen=True)
class AckWindow:
    """What the delivery window knows when an ack arrives."""

    acked: int  # every seq up to here is acked
    sent_max: int  # the highest seq this daemon has published in this run
    resend_streak: int  # resends in a row without an ack moving `acked`
    awaiting: bool  # records are published and not acked yet


@dataclass(frozen=True)
class Ignore:
    """Nothing changes. `detail` says what was wrong with the payload itself (logged as a
    warning); `error` marks a reason a person must look at."""

    reason: str
    detail: str = ""
    error: bool = False


@dataclass(frozen=True)
class Accept:
    """The QMS holds this station's records up to `seq`."""

    seq: int


@dataclass(frozen=True)
class Conflict:
    """The QMS holds another record at `seq` (or will not accept it): records from there on
    stay pending until a person resolves it (docs/operations.md, "Recovering from a seq
    conflict")."""

    seq: int
    detail: str


AckVerdict = Ignore | Accept | Conflict
DeliveryInfo = Callable[[int], tuple[DeliveryState, str] | None]


def stalled(seq: int) -> Conflict:
    """The QMS answers, yet after resends it still acks `seq` and not `seq + 1`: it holds a gap
    or a conflicting record there (it never acks past one)."""
    nxt = seq + 1
    return Conflict(
        nxt,
        f"the QMS keeps acking seq {seq} after seq {nxt} was published again: it does not"
        f" accept seq {nxt} (a conflicting record or a broken link at the QMS); this"
        f" station's records from seq {nxt} stay pending until a person resolves it",
    )


def judge_ack(
    payload: bytes, window: AckWindow, delivery_info: DeliveryInfo, last_seq: Callable[[], int]
) -> AckVerdict:
    """The verdict on one ack payload. `delivery_info(seq)` is the store's (state, own hash)
    of record `seq` (None when it holds no such record); `last_seq()` is read only for the
    message about a seq the station never wrote."""
    try:
        doc = parse_payload(payload, max_bytes=ACK_MAX_BYTES)
    except PayloadRejected as exc:
        return Ignore("ignoring a malformed ack", str(exc))
    problems = schema_errors("ack", doc)
    if problems:
        return Ignore("ignoring an invalid ack", "; ".join(problems)[:500])
    seq, digest = int(doc["seq"]), str(doc["hash"])
    if seq <= window.acked:
        # Two resends answered with the same ack: the QMS had time to see seq + 1 again (one
        # could race a batch of old copies still in its queue).
        if seq == window.acked and window.resend_streak >= 2 and window.awaiting:
            return stalled(seq)
        return Ignore(f"ack for seq {seq}: already delivered")  # old news, nothing changes
    info = delivery_info(seq)
    if info is None:
        return Ignore(
            f"ignoring an ack for seq {seq}: this station holds no record {seq} (last seq"
            f" {last_seq()}); does the QMS hold records of another store under this station id?",
            error=True,
        )
    state, own = info
    if state == "pending" and seq > window.sent_max:
        return Ignore(
            f"ignoring an ack for seq {seq}: this station has not published it (forged, or"
            " from another store under this station id); nothing is marked delivered",
            error=True,
        )
    if digest != own:
        return Conflict(
            seq,
            f"ack hash mismatch at seq {seq}: the QMS holds another record {seq}"
            f" (hash {digest[:12]}…, this station's is {own[:12]}…); this station's records"
            f" from seq {window.acked + 1} stay pending until a person resolves it",
        )
    return Accept(seq)


__all__ = ["Accept", "AckVerdict", "AckWindow", "Conflict", "Ignore", "judge_ack", "stalled"]
