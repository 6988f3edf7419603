"""Master data with its history, and the station's local state, kept in the store."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from station.core.model import Instrument, Plan
from station.store import Store, StoreError


def plan(rev: str, status: str = "released", nominal: float = 12.35) -> dict[str, Any]:
    return {
        "schema": "qms.master/plan@1",
        "id": "P-1001",
        "rev": rev,
        "status": status,
        "part_numbers": ["PN-778"],
        "characteristics": [
            {
                "id": "bore-dia",
                "kind": "variable",
                "nominal": nominal,
                "lsl": 12.3,
                "usl": 12.4,
                "unit": "mm",
            }
        ],
    }


def instrument(status: str = "active", cal_due: str = "2027-06-30") -> dict[str, Any]:
    return {
        "schema": "qms.master/instrument@1",
        "id": "CAL-0042",
        "type": "caliper",
        "status": status,
        "cal_due": cal_due,
        "unit": "mm",
        "resolution": 0.01,
        "mpe": 0.03,
    }


def operator() -> dict[str, Any]:
    return {
        "schema": "qms.master/operator@1",
        "id": "op-17",
        "name": "A. Inspector",
        "badge": "B-1017",
        "qualifications": [{"code": "DIM-2", "expires": "2027-12-31"}],
    }


def standard() -> dict[str, Any]:
    return {
        "schema": "qms.master/standard@1",
        "id": "GB-25",
        "type": "gauge-block",
        "value": 25.0,
        "unit": "mm",
        "uncertainty": 0.0001,
        "cal_due": "2027-04-30",
    }


TOPIC = "qms/v1/plant-a/master/instrument/CAL-0042"


def test_applied_master_data_is_logged_in_the_same_transaction(store: Store) -> None:
    event = store.apply_master("instrument", "CAL-0042", instrument(), topic=TOPIC)
    assert event is not None and event.type == "event"
    assert event.body["kind"] == "master-applied" and event.body["operator"] is None
    detail = event.body["detail"]
    assert detail | {"sha256": None} == {
        "master": "instrument",
        "id": "CAL-0042",
        "rev": None,
        "action": "applied",
        "source": "mqtt",
        "topic": TOPIC,
        "sha256": None,
    }
    assert len(detail["sha256"]) == 64
    assert store.master_doc("instrument", "CAL-0042") == instrument()
    assert store.last_seq() == 1


def test_identical_retained_message_changes_nothing_and_is_not_logged(store: Store) -> None:
    store.apply_master("instrument", "CAL-0042", instrument(), topic=TOPIC)
    same_keys_other_order = dict(reversed(list(instrument().items())))
    assert store.apply_master("instrument", "CAL-0042", same_keys_other_order, topic=TOPIC) is None
    assert store.last_seq() == 1
    changed = store.apply_master("instrument", "CAL-0042", instrument("quarantined"), topic=TOPIC)
    assert changed is not None and changed.seq == 2
    history = store.master_history("instrument", "CAL-0042")
    assert [h["doc"]["status"] for h in history] == ["active", "quarantined"]
    assert [h["record_seq"] for h in history] == [1, 2]


def test_delete_removes_the_current_item_and_keeps_its_history(store: Store) -> None:
    assert store.apply_master("instrument", "CAL-0042", None) is None  # nothing to delete
    store.apply_master("instrument", "CAL-0042", instrument())
    deleted = store.apply_master("instrument", "CAL-0042", None, topic=TOPIC)
    assert deleted is not None and deleted.body["detail"]["action"] == "deleted"
    assert store.master_doc("instrument", "CAL-0042") is None
    assert store.master_data().instruments == ()
    assert [h["doc"] is None for h in store.master_history("instrument", "CAL-0042")] == [
        False,
        True,
    ]


def test_every_plan_revision_is_kept_and_master_data_is_typed(store: Store) -> None:
    store.apply_master("plan", "P-1001", plan("B"))
    store.apply_master("plan", "P-1001", plan("C", status="draft"))
    store.apply_master("plan", "P-1001", plan("B", status="obsolete"))
    store.apply_master("plan", "P-1001", plan("C"))
    store.apply_master("instrument", "CAL-0042", instrument())
    store.apply_master("operator", "op-17", operator())
    store.apply_master("standard", "GB-25", standard())
    assert store.master_doc("plan", "P-1001") == plan("C")
    data = store.master_data()
    assert [(p.rev, p.status) for p in data.plans] == [("B", "obsolete"), ("C", "released")]
    assert all(isinstance(p, Plan) for p in data.plans)
    inst = data.instrument("CAL-0042")
    assert isinstance(inst, Instrument) and inst.cal_due == date(2027, 6, 30)
    assert data.operator_by_badge("B-1017") is not None
    assert data.standard("GB-25") is not None
    assert len(store.master_history("plan", "P-1001")) == 4


def test_bootstrap_applies_folder_docs_only_where_the_qms_never_sent_the_item(
    store: Store,
) -> None:
    store.apply_master("instrument", "CAL-0042", instrument("quarantined"), topic=TOPIC)
    docs = [
        ("instrument", "CAL-0042", instrument()),  # the QMS's version wins
        ("plan", "P-1001", plan("C")),
        ("standard", "GB-25", standard()),
    ]
    assert store.bootstrap_master(docs) == 2
    assert store.master_doc("instrument", "CAL-0042") == instrument("quarantined")
    events = [r.body["detail"] for r in store.records()[1:]]
    assert [(d["master"], d["source"]) for d in events] == [("plan", "file"), ("standard", "file")]
    assert store.bootstrap_master(docs) == 0  # a restart with the same folder is quiet
    assert store.last_seq() == 3


def test_a_folder_with_two_revisions_of_a_plan_stays_quiet_on_restart(store: Store) -> None:
    docs = [("plan", "P-1001", plan("B", status="obsolete")), ("plan", "P-1001", plan("C"))]
    assert store.bootstrap_master(docs) == 2
    assert store.bootstrap_master(docs) == 0
    assert store.last_seq() == 2
    assert sorted((p.rev, p.status) for p in store.master_data().plans) == [
        ("B", "obsolete"),
        ("C", "released"),
    ]
    # A changed revision is applied (and logged) even when it is not the newest one.
    assert store.bootstrap_master([("plan", "P-1001", plan("B", status="released"))]) == 1
    assert sorted((p.rev, p.status) for p in store.master_data().plans) == [
        ("B", "released"),
        ("C", "released"),
    ]


def test_rejected_master_message_is_logged_and_changes_nothing(store: Store) -> None:
    rec = store.reject_master(TOPIC, '$.cal_due: must be a date YYYY-MM-DD (got "soon")')
    assert rec.body == {
        "kind": "master-rejected",
        "operator": None,
        "detail": {"topic": TOPIC, "reason": '$.cal_due: must be a date YYYY-MM-DD (got "soon")'},
    }
    assert store.master_data().instruments == ()


def test_master_input_errors_are_clear(store: Store) -> None:
    with pytest.raises(StoreError, match="unknown master-data kind 'gauge'"):
        store.apply_master("gauge", "X", {"id": "X"})
    with pytest.raises(
        StoreError, match="instrument document id 'CAL-0042' does not match 'CAL-1'"
    ):
        store.apply_master("instrument", "CAL-1", instrument())
    assert store.last_seq() == 0


def test_local_quarantine_is_logged_and_released(store: Store) -> None:
    q = store.quarantine_instrument("CAL-0042", "failed daily check", "op-17")
    assert q.body == {
        "kind": "instrument-quarantined",
        "operator": "op-17",
        "detail": {"instrument": "CAL-0042", "reason": "failed daily check"},
    }
    assert store.local_quarantines() == {"CAL-0042": "failed daily check"}
    r = store.release_instrument("CAL-0042", "op-23")
    assert r.body["kind"] == "instrument-released"
    assert r.body["detail"] == {
        "instrument": "CAL-0042",
        "quarantine_reason": "failed daily check",
        "why": None,
    }
    assert store.local_quarantines() == {}
    with pytest.raises(StoreError, match="'CAL-0042' is not in local quarantine"):
        store.release_instrument("CAL-0042", None)
    with pytest.raises(StoreError, match="needs a reason"):
        store.quarantine_instrument("CAL-0042", "  ", None)
    assert store.last_seq() == 2


def test_a_new_calibration_from_the_qms_lifts_the_local_quarantine(store: Store) -> None:
    store.apply_master("instrument", "CAL-0042", instrument(), topic=TOPIC)
    store.quarantine_instrument("CAL-0042", "failed instrument check", "op-17")
    # Another change (a new mpe) leaves the quarantine in force: only a calibration cures it.
    store.apply_master("instrument", "CAL-0042", {**instrument(), "mpe": 0.02}, topic=TOPIC)
    assert store.local_quarantines() == {"CAL-0042": "failed instrument check"}
    store.apply_master("instrument", "CAL-0042", instrument(cal_due="2028-06-30"), topic=TOPIC)
    assert store.local_quarantines() == {}
    last = store.record(store.last_seq())
    assert last is not None and last.body["kind"] == "instrument-released"
    assert last.body["detail"]["why"] == (
        "recalibrated: the QMS sent cal_due 2028-06-30 (was 2027-06-30)"
    )
    before = store.record(store.last_seq() - 1)
    assert before is not None and before.body["kind"] == "master-applied"


def test_bindings_draft_and_sync_state_persist(db_path: Path, store: Store) -> None:
    store.bind_instrument("left", "CAL-0042")
    store.bind_instrument("right", "MIC-0099")
    store.bind_instrument("right", None)
    store.save_draft({"plan": "P-1001", "values": [12.3, None], "note": "Zoë"})
    assert store.sync_state() == (False, "", None)
    store.set_sync_state(True, "connected to 127.0.0.1:1883")
    with Store.open(db_path, site="plant-a", station="bench-01") as other:
        assert other.bindings() == {"left": "CAL-0042"}
        assert other.load_draft() == {"plan": "P-1001", "values": [12.3, None], "note": "Zoë"}
        online, detail, ts = other.sync_state()
        assert (online, detail) == (True, "connected to 127.0.0.1:1883") and ts is not None
    store.clear_draft()
    assert store.load_draft() is None
    with pytest.raises(StoreError, match="draft is not plain JSON data"):
        store.save_draft({"x": float("inf")})
    assert store.last_seq() == 0  # local state is not audit evidence: no records


def test_append_and_clear_draft_replaces_the_draft_in_the_same_transaction(
    store: Store, mk: Any
) -> None:
    store.save_draft({"step": "measuring"})
    rec = store.append_and_clear_draft(
        "inspection", mk.inspection(result="reject"), next_draft=lambda r: {"nc_for": r.seq}
    )
    assert store.load_draft() == {"nc_for": rec.seq}
    with pytest.raises(StoreError, match="draft is not plain JSON data"):
        store.append_and_clear_draft("event", mk.event(), next_draft=lambda r: {"x": object()})
    assert store.last_seq() == rec.seq  # the record was rolled back with the bad draft
    assert store.load_draft() == {"nc_for": rec.seq}
    store.append_and_clear_draft("event", mk.event())
    assert store.load_draft() is None
