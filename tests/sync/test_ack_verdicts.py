"""`station.sync.acks.judge_ack`, the daemon's decision on a QMS ack, case by case (contract
mqtt.md "Delivery", revision 1.1; issue 13.1 and 13.2). The same cases run end to end against
mosquitto and the daemon process in test_sync_acks.py; here each branch is pinned alone."""

from __future__ import annotations

import json

from station.store import DeliveryState
from station.sync.acks import Accept, AckWindow, Conflict, Ignore, judge_ack

OWN = {seq: f"{seq:064x}" for seq in range(1, 51)}  # the station's own hashes, seq 1-50
PENDING_FROM = 31  # 1-30 delivered, 31-50 pending


def info(seq: int) -> tuple[DeliveryState, str] | None:
    if seq not in OWN:
        return None
    return ("pending" if seq >= PENDING_FROM else "delivered"), OWN[seq]


def ack(seq: int, digest: str) -> bytes:
    return json.dumps({"seq": seq, "hash": digest}).encode()


WINDOW = AckWindow(acked=30, sent_max=40, resend_streak=0, awaiting=True)


def judge(payload: bytes, window: AckWindow = WINDOW) -> object:
    return judge_ack(payload, window, info, lambda: 50)


def test_an_ack_of_a_published_seq_with_our_hash_is_accepted() -> None:
    assert judge(ack(35, OWN[35])) == Accept(35)
    assert judge(ack(40, OWN[40])) == Accept(40)


def test_an_ack_beyond_what_was_published_is_ignored_as_forged() -> None:
    verdict = judge(ack(45, OWN[45]))  # even with the right hash: never published in this run
    assert isinstance(verdict, Ignore) and verdict.error
    assert "has not published it" in verdict.reason


def test_an_ack_of_a_seq_the_station_never_wrote_is_an_error() -> None:
    verdict = judge(ack(10_000, "0" * 64))
    assert isinstance(verdict, Ignore) and verdict.error
    assert "holds no record 10000 (last seq 50)" in verdict.reason


def test_another_hash_at_a_published_seq_is_a_conflict_from_there() -> None:
    verdict = judge(ack(33, "f" * 64))
    assert isinstance(verdict, Conflict) and verdict.seq == 33
    assert "from seq 31 stay pending" in verdict.detail


def test_old_news_changes_nothing_and_a_stuck_qms_is_a_conflict_at_the_next_seq() -> None:
    assert judge(ack(20, OWN[20])) == Ignore("ack for seq 20: already delivered")
    stuck = AckWindow(acked=30, sent_max=40, resend_streak=2, awaiting=True)
    verdict = judge(ack(30, OWN[30]), stuck)
    assert isinstance(verdict, Conflict) and verdict.seq == 31


def test_payloads_that_are_not_acks_are_ignored_with_the_reason() -> None:
    for payload, reason in (
        (b"[" * 100 + b"]" * 100, "nested 100 levels deep"),
        (json.dumps({"seq": 35}).encode(), "hash"),  # contract 1.1: the hash is required
        (b"\xff", "not UTF-8"),
    ):
        verdict = judge(payload)
        assert isinstance(verdict, Ignore) and not verdict.error
        assert reason in verdict.detail, (payload, verdict)
