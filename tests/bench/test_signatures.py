"""Electronic signatures at the bench (issue 16, 21 CFR Part 11) and the signed override of the
interlock, driven through `Workflow` against a real store and the shipped master data.

Each rule of the issue has its test: the session (11.200(a)(1): badge and PIN first and
after `session_timeout_s`, the PIN alone within the session), the lockout at
`max_pin_failures` (11.300(d)) and its persistence across a new Store and Workflow until the
QMS publishes the operator again, no PIN in the store or the log, the signature bound to its
record's hash (11.70: `station verify` fails after tampering), and the override needing a
different, qualified person and never opening for a quarantined instrument.

PIN verifiers here are cheap (scrypt n=16, r=1) so the suite stays fast; the shipped cost is
measured by `benchmarks/pin_bench.py`.
"""

from __future__ import annotations

import dataclasses
import logging
import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from drivers.base import Reading
from station.bench.notice import Notice
from station.bench.workflow import Mode, Workflow
from station.cli import main
from station.core.pin import make_verifier
from station.schemas import schema_errors
from station.settings import Config, InterlockSettings, SignatureSettings
from station.store import Record, Store
from tests.helpers.clocks import SettableClock
from tests.helpers.study_setup import TYPE1_VALUES, publish_procedure, qualify

RD = Callable[[float, str | None, str], Reading]
PIN_17, PIN_23, PIN_31 = "271828", "314159", "161803"  # digits found nowhere else


def cheap(pin: str) -> str:
    """A low-cost verifier (the cost travels in the string; the station verifies any)."""
    return make_verifier(pin, salt=b"bench-test-salt!", n=16, r=1, p=1)


@pytest.fixture
def signed_config(config: Config) -> Config:
    return dataclasses.replace(
        config,
        signatures=SignatureSettings(
            required=("calibration", "override", "nonconformance", "study"),
            session_timeout_s=900,
            max_pin_failures=3,
        ),
        interlock=InterlockSettings(
            allow_override=True, override_grace_days=60, approver_qualification="QA-1"
        ),
    )


def publish(store: Store, oid: str, base: str | None = None, **change: Any) -> None:
    doc = store.master_doc("operator", base or oid)
    assert doc is not None
    store.apply_master("operator", oid, doc | {"id": oid, **change}, source="mqtt")


@pytest.fixture
def swf(store: Store, signed_config: Config, clock: SettableClock) -> Workflow:
    """op-17 (A. Inspector, also CAL-1), op-23 (B. Trainee) and op-31 (C. Approver, QA-1)."""
    op17 = store.master_doc("operator", "op-17")
    assert op17 is not None
    cal = {"code": "CAL-1", "expires": "2027-12-31"}
    publish(store, "op-17", pin=cheap(PIN_17), qualifications=[*op17["qualifications"], cal])
    publish(store, "op-23", pin=cheap(PIN_23))
    qa = [{"code": "QA-1", "expires": "2027-12-31"}]
    publish(
        store,
        "op-31",
        "op-17",
        name="C. Approver",
        badge="B-1031",
        pin=cheap(PIN_31),
        qualifications=qa,
    )
    gb = store.master_doc("standard", "GB-05")
    assert gb is not None
    store.apply_master("standard", "GB-05A", gb | {"id": "GB-05A", "cal_due": "2027-04-30"})
    return Workflow(store, signed_config, clock)


def caliper(wf: Workflow, rd: RD, value: float) -> Notice:
    return wf.reading("caliper", rd(value, "mm", f"01A+{value:08.3f}"))


def reject_a_part(wf: Workflow, rd: RD) -> None:
    assert wf.scan("PN-778").level == "ok"
    assert wf.scan("CAL-0042").level == "ok"
    caliper(wf, rd, 12.45)  # out of tolerance
    caliper(wf, rd, 25.0)
    assert "REJECTED" in wf.judge_attribute(True).text
    assert wf.state.mode is Mode.NONCONFORMANCE


def records(store: Store, kind: str) -> list[Record]:
    out = [r for r in store.records() if r.type == kind]
    for r in out:
        assert schema_errors("record", r.envelope()) == [], r.envelope()
    return out


def events(store: Store, kind: str) -> list[Record]:
    return [r for r in records(store, "event") if r.body["kind"] == kind]


def sign_nc(wf: Workflow, pin: str = PIN_17) -> Notice:
    n = wf.submit_nonconformance("dimension-out-of-tolerance", "bore oversize")
    assert n.level == "info" and "I sign this nonconformance report as its author" in n.text
    req = wf.state.sign_request
    assert req is not None
    if req.awaiting_badge:
        assert wf.sign(pin).level == "error"  # the badge first
        assert wf.scan("B-1017").level == "info"
    return wf.sign(pin)


def test_badge_and_pin_first_then_the_pin_alone_then_both_after_the_timeout(
    swf: Workflow, store: Store, clock: SettableClock, rd: RD
) -> None:
    wf = swf
    assert wf.scan("B-1017").level == "ok"
    methods = []
    for advance in (0, 900, 901):  # at exactly the timeout still continuous; beyond: not
        clock.advance(seconds=advance)
        reject_a_part(wf, rd)
        n = sign_nc(wf)
        assert n.level == "ok", n.lines()
        methods.append(records(store, "nonconformance")[-1].body["signatures"][0]["method"])
    assert methods == ["badge+pin", "pin", "badge+pin"]
    sig = records(store, "nonconformance")[0].body["signatures"][0]
    assert sig | {"ts": "-"} == {
        "operator": "op-17",
        "name": "A. Inspector",
        "meaning": "authorship",
        "ts": "-",
        "method": "badge+pin",
    }
    # A logout ends the session: the next signing needs the badge again.
    wf.logout("test")
    wf.scan("B-1017")
    reject_a_part(wf, rd)
    wf.submit_nonconformance("dimension-out-of-tolerance", "bore oversize")
    req = wf.state.sign_request
    assert req is not None and req.awaiting_badge


def test_a_calibration_is_signed_before_it_is_recorded_and_cancelling_records_nothing(
    swf: Workflow, store: Store, rd: RD
) -> None:
    wf = swf
    wf.scan("B-1017")
    assert wf.scan("CP-CALIPER").level == "ok" and wf.state.mode is Mode.CALIBRATION
    assert wf.scan("CAL-0042").level == "ok"
    last = Notice("info", "")
    for nominal, block in ((5.0, "GB-05A"), (10.0, "GB-10"), (25.0, "GB-25"), (50.0, "GB-50")):
        assert wf.scan(block).level == "info"
        for _ in range(3):
            last = caliper(wf, rd, nominal)
    for nominal, block in ((100.0, "GB-100"), (150.0, "GB-150")):
        assert wf.scan(block).level == "info"
        for _ in range(3):
            last = caliper(wf, rd, nominal)
    assert "I sign this calibration as its author" in last.text, last.lines()
    assert records(store, "calibration") == []
    assert caliper(wf, rd, 150.0).level == "error"  # nothing else while a signature waits
    n = wf.cancel_signature()
    assert n.level == "warn" and "take the last reading again" in n.text
    assert records(store, "calibration") == []
    assert "I sign this calibration" in caliper(wf, rd, 150.0).text  # the last one again
    wf.scan("B-1017")
    n = wf.sign(PIN_17)
    assert n.level == "ok" and "PASS" in n.text, n.lines()
    [rec] = records(store, "calibration")
    [sig] = rec.body["signatures"]
    assert (sig["operator"], sig["meaning"], sig["method"]) == ("op-17", "authorship", "badge+pin")


def test_a_study_is_signed_by_its_author_with_its_verdict_shown(
    swf: Workflow, store: Store, rd: RD
) -> None:
    wf = swf
    publish_procedure(store, "T1-CALIPER", "type-1", tolerance=0.1, readings=25)
    qualify(store, "op-17")
    wf.scan("B-1017")
    assert wf.scan("T1-CALIPER").level == "ok"
    wf.scan("CAL-0042")
    wf.scan("GB-10")
    last = Notice("info", "")
    for v in TYPE1_VALUES:
        last = caliper(wf, rd, v)
    # The author sees what is signed (the verdict and its figures) before the PIN.
    assert last.text.startswith("UNACCEPTABLE: signature needed"), last.lines()
    assert "I sign this gauge study as its author (Type-1 study of CAL-0042)" in last.text
    assert any("Cg" in line for line in last.details), last.lines()
    assert wf.judge_attribute(True).refused and wf.redo().refused  # nothing else meanwhile
    assert records(store, "study") == []
    assert "scan T1-CALIPER again" in wf.cancel_signature().text
    assert records(store, "study") == []
    assert "I sign this gauge study" in wf.scan("T1-CALIPER").text  # asked again
    wf.scan("B-1017")
    n = wf.sign(PIN_17)
    assert "UNACCEPTABLE" in n.text, n.lines()
    [rec] = records(store, "study")
    [sig] = rec.body["signatures"]
    assert (sig["operator"], sig["meaning"], sig["method"]) == ("op-17", "authorship", "badge+pin")
    assert store.verify().ok


def test_three_wrong_pins_lock_the_operator_across_a_restart_until_the_qms_publishes_again(
    swf: Workflow,
    store: Store,
    signed_config: Config,
    clock: SettableClock,
    rd: RD,
    store_factory: Callable[..., Store],
) -> None:
    wf = swf
    wf.scan("B-1017")
    reject_a_part(wf, rd)
    wf.submit_nonconformance("dimension-out-of-tolerance", "bore oversize")
    wf.scan("B-1017")
    assert "2 attempt(s) left" in wf.sign("000000").text
    assert "1 attempt(s) left" in wf.sign("000001").text
    n = wf.sign("000002")
    assert n.level == "error" and "locked at this station" in n.text
    assert wf.state.operator is None and wf.state.sign_request is None  # logged out
    assert [e.body["detail"]["failures"] for e in events(store, "pin-failed")] == [1, 2, 3]
    [locked] = events(store, "operator-locked")
    assert locked.body["operator"] == "op-17"
    assert records(store, "nonconformance") == []
    n = wf.scan("B-1017")
    assert n.level == "error" and "login refused" in n.text
    # A restart: a new store connection and a new workflow re-derive the lock.
    again = Workflow(store_factory(), signed_config, clock)
    assert again.scan("B-1017").level == "error"
    assert again.scan("B-1031").level == "ok"  # only op-17 is locked
    again.logout("test")
    # The QMS publishes op-17 again (a new PIN): unlocked, and the count starts over.
    publish(store, "op-17", pin=cheap("424242"))
    n = again.scan("B-1017")
    assert n.level in ("ok", "warn"), n.lines()
    assert wf.scan("B-1017").level in ("ok", "warn")  # the first workflow sees it too


def test_a_right_pin_resets_the_count_of_consecutive_failures(
    swf: Workflow, store: Store, rd: RD
) -> None:
    wf = swf
    wf.scan("B-1017")
    reject_a_part(wf, rd)
    wf.submit_nonconformance("dimension-out-of-tolerance", "bore oversize")
    wf.scan("B-1017")
    wf.sign("000000")
    wf.sign("000001")
    assert wf.sign(PIN_17).level == "ok"
    assert len(events(store, "pin-accepted")) == 1
    reject_a_part(wf, rd)
    wf.submit_nonconformance("dimension-out-of-tolerance", "bore oversize")
    assert "2 attempt(s) left" in wf.sign("000003").text


def test_no_pin_reaches_the_store_or_the_log(
    swf: Workflow, store: Store, signed_config: Config, rd: RD, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wf = swf
    wf.scan("B-1017")
    reject_a_part(wf, rd)
    wf.submit_nonconformance("dimension-out-of-tolerance", "bore oversize")
    wf.scan("B-1017")
    wf.sign(PIN_23)  # a wrong PIN (another operator's) and the right one
    assert wf.sign(PIN_17).level == "ok"
    texts = [r.payload().decode("utf-8") for r in store.records()]
    texts += [str(store.load_draft())]
    for pin in (PIN_17, PIN_23):
        assert not any(pin in t for t in texts)
        assert not any(pin in r.getMessage() for r in caplog.records)
    db = signed_config.station.db_path
    with closing(sqlite3.connect(db)) as conn:  # every table, the master documents included
        tables = [n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for t in tables:
            for row in conn.execute(f'SELECT * FROM "{t}"'):
                assert not any(PIN_17 in str(c) or PIN_23 in str(c) for c in row), t


def _verify(tmp_path: Path, config: Config) -> Any:
    cfg = tmp_path / "verify.toml"
    st = config.station
    cfg.write_text(f'[station]\nid = "{st.id}"\nsite = "{st.site}"\ndata_dir = "{st.data_dir}"\n')
    return CliRunner().invoke(main, ["verify", "-c", str(cfg)])


@pytest.mark.parametrize("tamper", ["edit", "move"])
def test_a_tampered_signature_makes_station_verify_fail(
    swf: Workflow, store: Store, signed_config: Config, tmp_path: Path, rd: RD, tamper: str
) -> None:
    wf = swf
    wf.scan("B-1017")
    reject_a_part(wf, rd)
    assert sign_nc(wf).level == "ok"
    assert _verify(tmp_path, signed_config).exit_code == 0
    [nc] = records(store, "nonconformance")
    [insp] = records(store, "inspection")
    with closing(sqlite3.connect(signed_config.station.db_path, isolation_level=None)) as conn:
        conn.execute("DROP TRIGGER records_no_update")
        if tamper == "edit":  # the signer's name changed in place
            conn.execute(
                "UPDATE records SET envelope = replace(envelope, 'A. Inspector', 'B. Trainee') "
                "WHERE seq = ?",
                (nc.seq,),
            )
        else:  # the manifestation copied onto another record (11.70)
            text = conn.execute("SELECT envelope FROM records WHERE seq = ?", (insp.seq,))
            env = text.fetchone()[0]
            sig = nc.payload().decode().split('"signatures":')[1].split("]")[0] + "]"
            forged = env.replace('"body":{', '"body":{"signatures":' + sig + ",", 1)
            conn.execute("UPDATE records SET envelope = ? WHERE seq = ?", (forged, insp.seq))
        assert conn.total_changes == 1
    out = _verify(tmp_path, signed_config)
    assert out.exit_code == 1
    assert "hash" in out.output or "seq" in out.output, out.output


def start_with_overdue_caliper(wf: Workflow) -> None:
    assert wf.scan("B-1017").level == "ok"
    assert wf.scan("PN-778").level == "ok"
    n = wf.scan("CAL-0007")  # overdue since 2026-09-30: 52 days, within the 60-day grace
    assert n.level == "error" and "overdue" in " ".join(n.lines())


def test_the_override_needs_a_different_qualified_approver_and_is_traced_to_the_part(
    swf: Workflow, store: Store, rd: RD
) -> None:
    wf = swf
    start_with_overdue_caliper(wf)
    assert wf.request_override("  ").level == "error"  # a reason is required
    n = wf.request_override("CAL-0042 is at the lab; rush order")
    assert "I sign this override of the instrument interlock as its author" in n.text
    wf.scan("B-1017")
    n = wf.sign(PIN_17)
    assert n.level == "info" and "approver" in n.lines()[-1]
    n = wf.scan("B-1017")  # the author cannot approve themself
    assert n.level == "error" and "another person" in " ".join(n.lines())
    n = wf.scan("B-1023")  # another person, without QA-1
    assert n.level == "error" and "QA-1" in " ".join(n.lines())
    assert events(store, "override") == []
    assert wf.scan("B-1031").level == "info"
    assert wf.sign("999999").level == "error"  # the approver's wrong PIN counts for them
    assert events(store, "pin-failed")[-1].body["operator"] == "op-31"
    n = wf.sign(PIN_31)
    assert n.level == "ok", n.lines()
    [ov] = events(store, "override")
    d = ov.body["detail"]
    assert ov.body["operator"] == "op-17" and d["approver"] == "op-31"
    assert d["instrument"] == "CAL-0007" and d["reasons"] == ["overdue-within-grace"]
    assert d["reason"] == "CAL-0042 is at the lab; rush order" and d["part"]["number"] == "PN-778"
    sigs = ov.body["signatures"]
    assert [(s["operator"], s["meaning"], s["method"]) for s in sigs] == [
        ("op-17", "authorship", "badge+pin"),
        ("op-31", "approval", "badge+pin"),
    ]
    assert caliper(wf, rd, 12.346).level == "ok"
    assert caliper(wf, rd, 25.01).level == "ok"
    assert "ACCEPTED" in wf.judge_attribute(True).text
    [insp] = records(store, "inspection")
    used = [m for m in insp.body["measurements"] if m.get("instrument") == "CAL-0007"]
    assert len(used) == 2 and all(m["override"] == ov.id for m in used)
    [nc] = records(store, "nonconformance")
    assert nc.body["inspection"] == insp.id and nc.body["reason_code"] == "override-review"
    assert nc.body["disposition"] == "pending" and ov.id in nc.body["description"]
    # The override was for that part only.
    assert wf.scan("PN-778").level == "ok"
    assert wf.scan("CAL-0007").level == "error"


def test_the_override_survives_a_restart_of_the_bench_for_its_part(
    swf: Workflow,
    store: Store,
    signed_config: Config,
    clock: SettableClock,
    rd: RD,
    store_factory: Callable[..., Store],
) -> None:
    wf = swf
    start_with_overdue_caliper(wf)
    wf.request_override("rush order")
    wf.scan("B-1017")
    wf.sign(PIN_17)
    wf.scan("B-1031")
    assert wf.sign(PIN_31).level == "ok"
    assert caliper(wf, rd, 12.346).level == "ok"
    again = Workflow(store_factory(), signed_config, clock)
    again.load_unfinished()
    again.scan("B-1017")
    assert again.state.mode is Mode.INSPECTING
    assert again.reading("caliper", rd(25.01, "mm", "01A+0025.010")).level == "ok"
    assert "ACCEPTED" in again.judge_attribute(True).text
    [insp] = records(store, "inspection")
    assert all(m.get("override") for m in insp.body["measurements"] if m.get("instrument"))


def test_no_override_for_a_quarantined_instrument_nor_beyond_the_grace(
    swf: Workflow, store: Store, signed_config: Config, clock: SettableClock
) -> None:
    wf = swf
    store.quarantine_instrument("CAL-0042", "failed its check", "op-17")
    wf.scan("B-1017")
    wf.scan("PN-778")
    assert wf.scan("CAL-0042").level == "error"
    n = wf.request_override("rush order")
    assert n.level == "error" and "never overridden" in " ".join(n.lines())
    assert wf.state.sign_request is None
    assert [e.body["detail"]["instrument"] for e in events(store, "override-refused")] == [
        "CAL-0042"
    ]
    strict = dataclasses.replace(
        signed_config,
        interlock=dataclasses.replace(signed_config.interlock, override_grace_days=30),
    )
    wf2 = Workflow(store, strict, clock)
    wf2.load_unfinished()
    wf2.scan("B-1017")
    assert wf2.scan("CAL-0007").level == "error"
    n = wf2.request_override("rush order")
    assert n.level == "error" and "beyond the 30-day grace" in " ".join(n.lines())
    closed = dataclasses.replace(signed_config, interlock=InterlockSettings())
    wf3 = Workflow(store, closed, clock)
    wf3.load_unfinished()
    wf3.scan("B-1017")
    assert wf3.request_override("rush order").level == "error"


def test_without_a_signatures_section_nothing_is_signed(wf: Workflow, store: Store, rd: RD) -> None:
    wf.scan("B-1017")
    reject_a_part(wf, rd)
    assert wf.submit_nonconformance("dimension-out-of-tolerance", "bore oversize").level == "ok"
    [nc] = records(store, "nonconformance")
    assert "signatures" not in nc.body and wf.state.sign_request is None


def test_the_assignable_cause_of_an_spc_signal_is_signed(
    store: Store, signed_config: Config, swf: Workflow, clock: SettableClock, rd: RD
) -> None:
    spc = dataclasses.replace(
        signed_config,
        signatures=dataclasses.replace(signed_config.signatures, required=("spc-ack",)),
        interlock=InterlockSettings(),
    )
    wf = Workflow(store, spc, clock)
    wf.scan("B-1017")
    wf.scan("CAL-0042")
    stable = [12.35, 12.36, 12.34, 12.35, 12.37, 12.33, 12.35, 12.36, 12.34, 12.35] * 2
    drift = [12.36 + 0.001 * (i % 2) for i in range(9)]  # nine in a row above: Nelson 2
    for bore in [*stable, 12.36, 12.34, 12.35, 12.35, 12.35, *drift]:
        assert wf.scan("PN-778").level == "ok"
        caliper(wf, rd, bore)
        caliper(wf, rd, 25.0)
        wf.judge_attribute(True)
    assert wf.state.mode is Mode.SPC_SIGNAL
    n = wf.acknowledge_spc("tool-wear", "insert changed")
    assert "I sign this assignable cause of the SPC signal as its author" in n.text
    wf.scan("B-1017")
    assert wf.sign(PIN_17).level == "ok"
    [signal] = events(store, "spc-signal")
    assert [s["operator"] for s in signal.body["signatures"]] == ["op-17"]


def test_a_redo_is_signed_with_its_reason_and_cancelling_keeps_the_old_value(
    store: Store, signed_config: Config, clock: SettableClock, rd: RD, swf: Workflow
) -> None:
    redo = dataclasses.replace(
        signed_config,
        signatures=dataclasses.replace(signed_config.signatures, required=("redo",)),
    )
    wf = Workflow(store, redo, clock)
    wf.scan("B-1017")
    wf.scan("PN-778")
    wf.scan("CAL-0042")
    assert caliper(wf, rd, 12.39).recorded
    assert wf.redo_needs_reason()
    n = wf.redo()  # a signed redo names why
    assert n.refused and "misread" in n.lines()[-1]
    assert wf.redo("typo").refused
    assert wf.redo("not-seated", "part tilted in the V-block").level == "ok"
    n = caliper(wf, rd, 12.35)
    assert "I sign this replacement of a reading as its author" in n.text, n.lines()
    assert "bore-dia #1 (12.39 mm by 12.35 mm)" in n.text
    assert wf.cancel_signature().level == "warn"
    assert events(store, "reading-replaced") == []
    draft = store.load_draft()
    assert draft is not None and "12.39" in str(draft)  # the old value still counts
    n = caliper(wf, rd, 12.35)  # the redo stays armed: asked again
    wf.scan("B-1017")
    assert wf.sign(PIN_17).level == "ok"
    [ev] = events(store, "reading-replaced")
    detail = ev.body["detail"]
    assert (detail["old"]["value"], detail["new"]["value"]) == (12.39, 12.35)
    assert (detail["reason"], detail["note"]) == ("not-seated", "part tilted in the V-block")
    [sig] = ev.body["signatures"]
    assert (sig["operator"], sig["meaning"], sig["method"]) == ("op-17", "authorship", "badge+pin")
    assert store.verify().ok


def test_a_redo_in_a_study_is_signed_with_its_reason_and_survives_a_restart(
    store: Store, signed_config: Config, clock: SettableClock, rd: RD, swf: Workflow
) -> None:
    redo = dataclasses.replace(
        signed_config,
        signatures=dataclasses.replace(signed_config.signatures, required=("redo",)),
    )
    publish_procedure(store, "T1-CALIPER", "type-1", tolerance=0.1, readings=25)
    qualify(store, "op-17")
    wf = Workflow(store, redo, clock)
    wf.scan("B-1017")
    for scan in ("T1-CALIPER", "CAL-0042", "GB-10"):
        wf.scan(scan)
    assert caliper(wf, rd, 10.03).recorded
    assert wf.redo_needs_reason() and wf.redo().refused
    assert wf.redo("misread", "jaws not closed").level == "ok"
    # The bench restarts with the redo armed: its reason is in the draft.
    wf = Workflow(store, redo, clock)
    wf.load_unfinished()
    wf.scan("B-1017")
    n = caliper(wf, rd, 10.0)
    assert "I sign this replacement of a reading as its author" in n.text, n.lines()
    wf.scan("B-1017")
    assert wf.sign(PIN_17).level != "error"
    [ev] = events(store, "reading-replaced")
    detail = ev.body["detail"]
    assert (detail["old"]["value"], detail["new"]["value"]) == (10.03, 10.0)
    assert (detail["reason"], detail["note"]) == ("misread", "jaws not closed")
    assert [s["operator"] for s in ev.body["signatures"]] == ["op-17"]


def test_a_request_left_waiting_past_the_timeout_needs_the_badge_again(
    swf: Workflow, store: Store, clock: SettableClock, rd: RD
) -> None:
    wf = swf
    wf.scan("B-1017")
    reject_a_part(wf, rd)
    assert sign_nc(wf).level == "ok"  # badge and PIN: the session's first
    reject_a_part(wf, rd)
    wf.submit_nonconformance("dimension-out-of-tolerance", "bore oversize")
    req = wf.state.sign_request
    assert req is not None and not req.awaiting_badge  # the PIN alone, asked now...
    clock.advance(seconds=901)  # ...but typed after the bench stood unattended
    n = wf.sign(PIN_17)
    assert n.level == "error" and "badge" in n.text
    wf.scan("B-1017")
    assert wf.sign(PIN_17).level == "ok"
    assert records(store, "nonconformance")[-1].body["signatures"][0]["method"] == "badge+pin"
