"""`[central] answer_calibrations`: the bridge confirms a passing calibration as a QMS does
(contract mqtt.md, "Master data": the QMS owns calibration status), like `sim.central
--answer-calibrations`: the instrument again, retained, with `cal_due` = the record's
`next_due` and `calibrated` = its completion date on the site's calendar, only after the
record is committed; a failed calibration is stored and not confirmed; a restart does not take
a confirmation back by publishing the master folder's older document again."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from sim.mosquitto import Mosquitto
from tests.central.conftest import ROOT, Bridge, Probe, query
from tests.helpers.records import calibration_payload

TOPIC = "qms/v1/plant-a/master/instrument/CAL-0042"
ANSWER = 'answer_calibrations = true\ntimezone = "America/Chicago"'


def docs(probe: Probe) -> list[dict[str, object]]:
    return [json.loads(m.payload) for m in probe.messages if m.topic == TOPIC and m.payload]


def master_folder(tmp_path: Path) -> tuple[Path, dict[str, object]]:
    held = json.loads((ROOT / "config/master/instrument-CAL-0042.json").read_text())
    held["status"] = "quarantined"
    folder = tmp_path / "master"
    folder.mkdir()
    (folder / "cal.json").write_text(json.dumps(held))
    return folder, held


def test_a_passing_calibration_is_confirmed_after_its_commit_and_kept_over_a_restart(
    pg_dsn: str,
    mosquitto: Mosquitto,
    probe: Probe,
    start_bridge: Callable[..., Bridge],
    tmp_path: Path,
) -> None:
    folder, held = master_folder(tmp_path)
    bridge = start_bridge(pg_dsn, mosquitto.port, master=folder, extra=ANSWER)
    probe.subscribe(TOPIC)
    probe.pump_until(lambda: len(docs(probe)) == 1, 10.0, "the folder's document")
    topic, payload = calibration_payload(tmp_path, "adjusted", "2026-12-03T03:00:00.000Z")
    probe.publish_many([(topic, payload)])
    probe.pump_until(lambda: len(docs(probe)) == 2, 15.0, "the confirmation")
    # Published after the commit: the record is in the database when the answer is out.
    stored = query(pg_dsn, "SELECT id FROM records WHERE type = 'calibration'")
    assert stored == [(json.loads(payload)["id"],)]
    doc = docs(probe)[-1]
    # Completed 2026-12-03 03:00 UTC = 2026-12-02 21:00 in Chicago: calibrated on the 2nd.
    assert (doc["cal_due"], doc["calibrated"], doc["status"]) == (
        "2027-12-02",
        "2026-12-02",
        "active",
    )
    rest = ("cal_due", "calibrated", "status", "procedure")
    assert {k: v for k, v in doc.items() if k not in rest} == {
        k: v for k, v in held.items() if k not in rest
    }
    assert "calibration " in bridge.log and "confirmed: cal_due 2027-12-02" in bridge.log

    # A restart publishes the folder again: the confirmation (later cal_due) is kept.
    bridge.term(15)
    bridge.start()
    bridge.wait_ready(
        lambda: "master data: 1 published" in bridge.log_since_start(bridge.starts),
        15.0,
        "master data published again",
    )
    late = Probe(mosquitto.port, "late-probe")
    try:
        late.subscribe(TOPIC)
        late.pump_until(lambda: len(docs(late)) == 1, 10.0, "the retained document")
        assert (docs(late)[0]["cal_due"], docs(late)[0]["status"]) == ("2027-12-02", "active")
    finally:
        late.close()

    # A person's file with a later cal_due wins over the confirmation.
    (folder / "cal.json").write_text(json.dumps(dict(held, cal_due="2029-01-31")))
    probe.pump_until(
        lambda: docs(probe)[-1].get("cal_due") == "2029-01-31", 15.0, "the edited file"
    )
    assert docs(probe)[-1]["status"] == "quarantined"


def test_a_failed_calibration_is_stored_and_not_confirmed(
    pg_dsn: str,
    mosquitto: Mosquitto,
    probe: Probe,
    start_bridge: Callable[..., Bridge],
    tmp_path: Path,
) -> None:
    folder, _ = master_folder(tmp_path)
    bridge = start_bridge(pg_dsn, mosquitto.port, master=folder, extra=ANSWER)
    probe.subscribe(TOPIC)
    probe.subscribe("qms/v1/plant-a/bench-01/ack")
    probe.pump_until(lambda: len(docs(probe)) == 1, 10.0, "the folder's document")
    probe.publish_many([calibration_payload(tmp_path, "fail", "2026-12-02T23:00:00.000Z")])
    probe.pump_until(lambda: probe.acks().get("bench-01", {}).get("seq") == 1, 15.0, "ack")
    bridge.wait_ready(lambda: "result fail, not confirmed" in bridge.log, 5.0, "log line")
    assert len(docs(probe)) == 1  # the folder's document only
