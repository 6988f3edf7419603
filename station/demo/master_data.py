"""Master data for `station demo`, dated relative to the day the demo runs.

The shipped example in `config/master/` has fixed dates (what a technician copies); the demo
cannot: an instrument "in calibration" there falls due one day. Here every date is computed
from `today`, so the demo always shows the same story: a caliper in calibration, an overdue
caliper, a balance that needs its daily check, a quarantined micrometer, a qualified operator
and one whose qualification expired, gauge blocks (one overdue) and a reference weight.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

BADGE_QUALIFIED = "B-1017"
BADGE_EXPIRED = "B-1023"
PART_GTIN = "09506000134352"  # GTIN-14 with a valid check digit (plan P-1001)
PART_PLAIN_2 = "PN-913"  # plan P-2001: balance + torque
CALIBRATION_PROCEDURE = "CP-CALIPER"
# Signing PINs (21 CFR Part 11): Ana 101717, Ben 102323, as scrypt verifiers made with
# `station pin-hash` (the same as the shipped config/master operators'); never the PIN itself.
PINS = {
    "op-17": "$scrypt$ln=15,r=8,p=1$fgyBABJBk/Go3rNXlCc1Ow"
    "$h+zS7uc/fGkfBE86Q6uHOym3Cjp7D/+PjkWVfeaOoH8",
    "op-23": "$scrypt$ln=15,r=8,p=1$3q8lh6RGJrZriQIHtBGICw"
    "$HBOoQhwz5AsPV5IMIp80J5rC1bM7DflQcyYfXp7fUUk",
}
CALIBRATION_BLOCKS = (10, 25, 50)  # mm: the demo procedure's points, gauge blocks GB-10 ...
TYPE1_PROCEDURE = "T1-CALIPER"  # a Type-1 study of the caliper on a gauge block (issue 17)
GRR_PROCEDURE = "GRR-CALIPER"  # a short gauge R&R: 3 parts P1..P3, Ana and Ben, 2 trials


def _d(day: date) -> str:
    return day.isoformat()


def demo_master_docs(today: date) -> list[dict[str, Any]]:
    """Every master-data document of the demo, valid against the contract schemas."""
    soon, later, past = (
        today + timedelta(days=200),
        today + timedelta(days=400),
        today - timedelta(days=30),
    )
    plan_1001 = {
        "schema": "qms.master/plan@1",
        "id": "P-1001",
        "rev": "C",
        "status": "released",
        "title": "Shaft bushing SB-12",
        "part_numbers": ["PN-778", PART_GTIN],
        "qualifications": ["DIM-2"],
        "instruction": "WI-1001 rev C: measure the bore at mid-depth; deburr check under the loupe",
        "characteristics": [
            {
                "id": "bore-dia",
                "name": "Bore diameter",
                "kind": "variable",
                "nominal": 12.35,
                "lsl": 12.3,
                "usl": 12.4,
                "unit": "mm",
                "instrument_type": "caliper",
                "spc": {"chart": "imr", "baseline": 10},
            },
            {"id": "visual-burr", "name": "No burr on the bore edges", "kind": "attribute"},
        ],
    }
    plan_2001 = {
        "schema": "qms.master/plan@1",
        "id": "P-2001",
        "rev": "A",
        "status": "released",
        "title": "Bracket assembly BA-4",
        "part_numbers": [PART_PLAIN_2],
        "qualifications": ["DIM-2"],
        "instruction": "WI-2001 rev A: weigh, then breakaway torque of the M6 insert",
        "characteristics": [
            {
                "id": "mass",
                "name": "Part mass",
                "kind": "variable",
                "nominal": 85.4,
                "lsl": 85.0,
                "usl": 85.8,
                "unit": "g",
                "instrument_type": "balance",
            },
            {
                "id": "breakaway-torque",
                "name": "Breakaway torque",
                "kind": "variable",
                "nominal": 12.0,
                "lsl": 11.0,
                "usl": 13.0,
                "unit": "N.m",
                "instrument_type": "torque",
            },
        ],
    }

    def instrument(iid: str, typ: str, unit: str, due: date, **more: Any) -> dict[str, Any]:
        doc = {
            "schema": "qms.master/instrument@1",
            "id": iid,
            "type": typ,
            "status": more.pop("status", "active"),
            "cal_due": _d(due),
            "unit": unit,
            "resolution": more.pop("resolution", 0.001 if unit == "mm" else 0.01),
        }
        return doc | more

    def standard(sid: str, typ: str, value: float, unit: str, due: date) -> dict[str, Any]:
        return {
            "schema": "qms.master/standard@1",
            "id": sid,
            "type": typ,
            "value": value,
            "unit": unit,
            "uncertainty": 0.0001 if unit == "mm" else 0.0005,
            "cal_due": _d(due),
        }

    def operator(oid: str, name: str, badge: str, expires: date, *codes: str) -> dict[str, Any]:
        return {
            "schema": "qms.master/operator@1",
            "id": oid,
            "name": name,
            "badge": badge,
            "active": True,
            "pin": PINS[oid],
            "qualifications": [
                {"code": code, "expires": _d(expires)} for code in ("DIM-2", *codes)
            ],
        }

    # A short caliper calibration (ISO 13385-1 style: points across the range, three
    # readings on each gauge block), so the demo walks through one in a minute.
    caliper_procedure = {
        "schema": "qms.master/procedure@1",
        "id": CALIBRATION_PROCEDURE,
        "rev": "A",
        "status": "released",
        "kind": "calibration",
        "title": "Digital caliper 0-150 mm, outside jaws (demo: 3 points)",
        "instruction": "WI-CAL-013 rev A: clean jaws and blocks, close on each block, 3 readings",
        "instrument_types": ["caliper"],
        "qualifications": ["CAL-1"],
        "unit": "mm",
        "rule": "simple",
        "interval_days": 365,
        "points": [
            {"name": f"outside-{n}", "nominal": float(n), "readings": 3, "mpe": 0.02,
             "standard_type": "gauge-block"}
            for n in CALIBRATION_BLOCKS
        ],
    }  # fmt: skip

    # Gauge studies (issue 17): a Type-1 of 25 readings (Bosch Booklet 10 asks for at least
    # 25) against the bore's 0.1 mm tolerance, and a short R&R with the two demo operators
    # (no qualification asked: Ben's DIM-2 has expired).
    type1_procedure = {
        "schema": "qms.master/procedure@1", "id": TYPE1_PROCEDURE, "rev": "A",
        "status": "released", "kind": "type-1",
        "title": "Caliper Type-1 study on a gauge block (demo: 25 readings)",
        "instrument_types": ["caliper"], "qualifications": ["DIM-2"], "unit": "mm",
        "tolerance": 0.1, "readings": 25,
    }  # fmt: skip
    grr_procedure = {
        "schema": "qms.master/procedure@1", "id": GRR_PROCEDURE, "rev": "A",
        "status": "released", "kind": "grr",
        "title": "Caliper gauge R&R (demo: 3 parts x 2 appraisers x 2 trials)",
        "instrument_types": ["caliper"], "unit": "mm", "tolerance": 0.1,
        "parts": 3, "appraisers": 2, "trials": 2,
    }  # fmt: skip

    return [
        plan_1001,
        plan_2001,
        caliper_procedure,
        type1_procedure,
        grr_procedure,
        # Calibrated 165 days ago: today's demo inspections lie after it, so a failed
        # as-found calibration makes them suspect and re-judges them.
        instrument(
            "CAL-0042",
            "caliper",
            "mm",
            soon,
            u=0.002,
            mpe=0.02,
            calibrated=_d(soon - timedelta(days=365)),
            procedure=CALIBRATION_PROCEDURE,
        ),
        instrument("CAL-0007", "caliper", "mm", past, u=0.002, mpe=0.02),
        instrument("BAL-0003", "balance", "g", later, u=0.02, mpe=0.05, check_interval_h=24),
        instrument("TRQ-0011", "torque", "N.m", soon, u=0.05, mpe=0.1),
        instrument("MIC-0099", "micrometer", "mm", soon, status="quarantined", mpe=0.002),
        operator("op-17", "Ana Inspector", BADGE_QUALIFIED, later, "CAL-1"),
        operator("op-23", "Ben Newcomer", BADGE_EXPIRED, past),
        standard("GB-10", "gauge-block", 10.0, "mm", later),
        standard("GB-25", "gauge-block", 25.0, "mm", later),
        standard("GB-50", "gauge-block", 50.0, "mm", later),
        standard("GB-05", "gauge-block", 5.0, "mm", past),
        standard("W-100", "weight", 100.0, "g", later),
    ]


__all__ = [
    "BADGE_EXPIRED",
    "BADGE_QUALIFIED",
    "CALIBRATION_BLOCKS",
    "CALIBRATION_PROCEDURE",
    "GRR_PROCEDURE",
    "PART_GTIN",
    "PART_PLAIN_2",
    "TYPE1_PROCEDURE",
    "demo_master_docs",
]
