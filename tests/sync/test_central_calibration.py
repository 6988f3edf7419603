"""The reference central confirms a passing calibration as a QMS does (issue 15, "Also"):
with `--answer-calibrations` it publishes the instrument again, retained, with `cal_due` =
the record's `next_due` and `calibrated` = its completion date on the site's calendar; a
failed calibration is stored and not confirmed. Real mosquitto, the central as a process, a
contract-valid record sealed by a real store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.records import calibration_payload

pytestmark = pytest.mark.mosquitto
INSTRUMENT_TOPIC = "qms/v1/plant-a/master/instrument/CAL-0042"
ROOT = Path(__file__).resolve().parents[2]


def test_a_passing_calibration_is_confirmed_with_the_new_due_date(
    mosquitto: Any, start_central: Any, probe_factory: Any, tmp_path: Path
) -> None:
    probe = probe_factory(mosquitto.port)
    held = json.loads((ROOT / "config/master/instrument-CAL-0042.json").read_text())
    held["status"] = "quarantined"
    assert not probe.publish(INSTRUMENT_TOPIC, json.dumps(held).encode(), retain=True).is_failure
    central = start_central(
        mosquitto.port, None, "--answer-calibrations", "--timezone", "America/Chicago"
    )
    probe.subscribe(INSTRUMENT_TOPIC)
    probe.pump_until(lambda: len(probe.payloads(INSTRUMENT_TOPIC)) == 1, 5.0, "retained doc")
    # Completed 2026-12-03 03:00 UTC = 2026-12-02 21:00 in Chicago: calibrated on the 2nd.
    probe.publish(*calibration_payload(tmp_path, "adjusted", "2026-12-03T03:00:00.000Z"))
    probe.pump_until(lambda: len(probe.payloads(INSTRUMENT_TOPIC)) == 2, 15.0, "confirmation")
    doc = json.loads(probe.payloads(INSTRUMENT_TOPIC)[-1])
    assert (doc["cal_due"], doc["calibrated"], doc["status"]) == (
        "2027-12-02",
        "2026-12-02",
        "active",
    )
    assert {k: v for k, v in doc.items() if k not in ("cal_due", "calibrated", "status")} == {
        k: v for k, v in held.items() if k not in ("cal_due", "calibrated", "status")
    } | {"procedure": "CP-CALIPER"}
    central.wait_log("confirmed: cal_due 2027-12-02", 5.0)


def test_a_failed_calibration_is_stored_and_not_confirmed(
    mosquitto: Any, start_central: Any, probe_factory: Any, tmp_path: Path
) -> None:
    probe = probe_factory(mosquitto.port)
    held = (ROOT / "config/master/instrument-CAL-0042.json").read_bytes()
    probe.publish(INSTRUMENT_TOPIC, held, retain=True)
    central = start_central(mosquitto.port, None, "--answer-calibrations")
    probe.subscribe(INSTRUMENT_TOPIC)
    probe.publish(*calibration_payload(tmp_path, "fail", "2026-12-02T23:00:00.000Z"))
    central.wait_log("result fail, not confirmed", 10.0)
    probe.pump(0.5)
    assert len(probe.payloads(INSTRUMENT_TOPIC)) == 1  # the retained original only
