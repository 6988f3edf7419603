"""What a QMS does with a passing calibration (issue 15): confirm it by publishing the
instrument again with its new `cal_due` and `calibrated` date (contract mqtt.md, "Master data":
the QMS owns calibration status). The station then lifts a local quarantine of the instrument
as it does for any new calibration (a newer `cal_due`).

`station central` (`[central] answer_calibrations`) and the reference central
(`sim.central --answer-calibrations`) use this. The answerer learns the current instrument
documents from the retained master topic (`qms/v1/{site}/master/instrument/+`, as published
by `sim.publish_master` or a QMS), so it changes only the two fields and keeps the rest as
the QMS defined it. A calibration that failed, or one for an instrument it has no document
of, is not answered (logged): the QMS cannot confirm what it does not know.

Both use the class, each with its own logger; `station central` also uses `confirm`, the pure
change of a held document, to keep a confirmation when it publishes its master-data folder
again.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

log = logging.getLogger("station.master")


def passing(body: dict[str, Any]) -> bool:
    """A calibration the QMS confirms: passed (or adjusted) and with a next due date."""
    return body.get("result") in ("pass", "adjusted") and bool(body.get("next_due"))


def confirm(held: dict[str, Any], body: dict[str, Any], zone: tzinfo) -> dict[str, Any]:
    """The instrument document `held` as confirmed by the passing calibration `body`: its new
    `cal_due`, `calibrated` = the date it was completed in the site's zone, active again."""
    completed = datetime.fromisoformat(str(body["completed"])).astimezone(zone).date()
    doc = dict(held, cal_due=str(body["next_due"]), calibrated=completed.isoformat())
    if doc.get("status") == "quarantined":
        doc["status"] = "active"  # found fit by the calibration the QMS accepts
    if doc.get("procedure") is None and isinstance(body.get("procedure"), dict):
        doc["procedure"] = body["procedure"].get("id")
    return doc


class CalibrationAnswerer:
    """Instrument documents by id, and the confirmation a calibration record earns."""

    def __init__(
        self, site: str, zone: tzinfo | None = None, *, logger: logging.Logger | None = None
    ) -> None:
        self.log = logger or log
        self.site = site
        self.zone = zone or ZoneInfo("UTC")
        self.prefix = f"qms/v1/{site}/master/instrument/"
        self.instruments: dict[str, dict[str, Any]] = {}

    @property
    def subscription(self) -> str:
        return self.prefix + "+"

    def is_master(self, topic: str) -> bool:
        return topic.startswith(self.prefix)

    def remember(self, topic: str, payload: bytes) -> None:
        """A retained instrument document (an empty payload deletes it)."""
        iid = topic[len(self.prefix) :]
        if not payload:
            self.instruments.pop(iid, None)
            return
        try:
            doc = json.loads(payload)
        except ValueError:
            self.log.warning("instrument document on %s is not JSON: ignored", topic)
            return
        if isinstance(doc, dict) and doc.get("id") == iid:
            self.instruments[iid] = doc

    def answer(self, record: dict[str, Any]) -> tuple[str, bytes] | None:
        """The (topic, retained payload) confirming a `calibration` record, or None."""
        body = record.get("body", {})
        iid = str(body.get("instrument"))
        if not passing(body):
            self.log.info("calibration %s of %s: result %s, not confirmed", record.get("id"),
                          iid, body.get("result"))  # fmt: skip
            return None
        held = self.instruments.get(iid)
        if held is None:
            self.log.warning("calibration %s of %s: no instrument document held, not"
                             " confirmed", record.get("id"), iid)  # fmt: skip
            return None
        doc = confirm(held, body, self.zone)
        self.instruments[iid] = doc
        self.log.info("calibration %s of %s confirmed: cal_due %s", record.get("id"), iid,
                      doc["cal_due"])  # fmt: skip
        return self.prefix + iid, json.dumps(doc).encode()


__all__ = ["CalibrationAnswerer", "confirm", "passing"]
