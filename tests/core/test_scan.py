"""Scan classification: badges, equipment, plain and GS1 part scans, and unknown scans."""

from __future__ import annotations

from datetime import date

import pytest

from station.core.model import Characteristic, Instrument, MasterData, Operator, Plan, Standard
from station.core.scan import (
    InstrumentScan,
    OperatorScan,
    PartScan,
    StandardScan,
    UnknownScan,
    classify_scan,
    normalize,
)

GTIN = "09521234543213"  # GS1 demo prefix 952, valid check digit 3
CHARS = (Characteristic("burr-free", "attribute"),)
P1001 = Plan("P-1001", "C", "released", ("PN-778", "9521234543213"), CHARS)
P1001_OLD = Plan("P-1001", "B", "obsolete", ("PN-778",), CHARS)
P2000 = Plan("P-2000", "A", "draft", ("PN-900",), CHARS)
P3000 = Plan("P-3000", "A", "released", ("AX-240",), CHARS)
MASTER = MasterData(
    plans=(P1001_OLD, P1001, P2000, P3000),
    instruments=(Instrument("CAL-0042", "caliper", "active", date(2027, 3, 1), "mm", 0.01),),
    operators=(Operator("op-17", "Ann", "B0017"),),
    standards=(Standard("GB-25", "gauge block", 25.0, "mm", 0.0001, date(2027, 1, 31)),),
)


@pytest.mark.parametrize("raw", ["B0017", "B0017\r\n", "]C0B0017\r", "  B0017\t"])
def test_badge(raw: str) -> None:
    assert classify_scan(raw, MASTER) == OperatorScan(MASTER.operators[0], raw)


def test_instrument_and_standard() -> None:
    assert classify_scan("]C0CAL-0042\n", MASTER) == InstrumentScan(
        MASTER.instruments[0], "]C0CAL-0042\n"
    )
    assert isinstance(classify_scan("GB-25", MASTER), StandardScan)


def test_plain_part_number_selects_the_released_plan() -> None:
    s = classify_scan("PN-778\r\n", MASTER)
    assert s == PartScan(part_number="PN-778", raw="PN-778\r\n", plan=P1001)


def test_gs1_datamatrix_with_aim_prefix_and_gs_separators() -> None:
    raw = f"]d201{GTIN}10L42\x1d21SN-0001\r\n"
    s = classify_scan(raw, MASTER)
    assert s == PartScan(
        part_number="9521234543213", serial="SN-0001", lot="L42", gtin=GTIN, raw=raw, plan=P1001
    )


@pytest.mark.parametrize(
    "raw",
    [
        f"]C101{GTIN}21SN-0001\x1d10L42",  # GS1-128, serial before lot
        f"01{GTIN}21SN-0001\x1d10L42",  # no AIM id (scanner not configured for it)
        f"\x1d01{GTIN}21SN-0001\x1d10L42",  # FNC1 in first position sent as GS
        f"01{GTIN}21SN-0001\u241d10L42",  # the visible GS stand-in
        f"(01){GTIN}(21)SN-0001(10)L42",  # human-readable form typed in
        f"]Q301{GTIN}21SN-0001\x1d10L42\r",
    ],
)
def test_gs1_variants(raw: str) -> None:
    s = classify_scan(raw, MASTER)
    assert isinstance(s, PartScan), s
    assert (s.part_number, s.serial, s.lot, s.gtin, s.plan) == (
        "9521234543213", "SN-0001", "L42", GTIN, P1001,
    )  # fmt: skip


def test_ean13_symbology_is_a_bare_gtin() -> None:
    s = classify_scan("]E09521234543213", MASTER)
    assert isinstance(s, PartScan)
    assert (s.gtin, s.plan, s.serial) == (GTIN, P1001, None)


def test_additional_product_id_ai_240() -> None:
    s = classify_scan("]C1240AX-240\x1d21S9", MASTER)
    assert isinstance(s, PartScan)
    assert (s.part_number, s.serial, s.gtin, s.plan) == ("AX-240", "S9", None, P3000)


def test_gs1_gtin_without_plan_is_unknown_and_names_the_gtin() -> None:
    s = classify_scan("]d20104012345000009\x1d10L1", MASTER)
    assert s == UnknownScan(
        "]d20104012345000009\x1d10L1",
        "GS1 scan: GTIN 04012345000009 matches no released plan "
        "(no plan lists it as a part number)",
    )


def test_gs1_with_bad_check_digit_is_unknown_with_the_reason() -> None:
    s = classify_scan("]d20109521234543214", MASTER)
    assert isinstance(s, UnknownScan)
    assert s.message == (
        "GS1 scan '0109521234543214' has an invalid GTIN (AI 01): Invalid GTIN check digit for "
        "'09521234543214': Expected 3, got 4."
    )


def test_gs1_without_part_identity() -> None:
    s = classify_scan("]d210L42", MASTER)
    assert isinstance(s, UnknownScan)
    assert s.message == (
        "GS1 scan '10L42' has no GTIN (AI 01) or additional product id (AI 240) to identify "
        "the part"
    )


@pytest.mark.parametrize(
    ("raw", "ai", "values"),
    [
        (f"]d201{GTIN}10L42\x1d10L43\x1d21SN-1", "10", "('L42' and 'L43')"),
        (f"(01){GTIN}(21)SN-1(21)SN-2", "21", "('SN-1' and 'SN-2')"),
        (f"(01){GTIN}(01)09521234543220", "01", f"('{GTIN}' and '09521234543220')"),
        ("(240)AX-240(240)AX-999", "240", "('AX-240' and 'AX-999')"),
    ],
)
def test_an_ai_repeated_with_different_values_is_refused(raw: str, ai: str, values: str) -> None:
    # Issue 12.7: the first value used to win; a label naming two lots or serials is invalid.
    s = classify_scan(raw, MASTER)
    assert isinstance(s, UnknownScan)
    assert f"AI ({ai}) occurs twice with different values {values}" in s.message
    assert "GS1 allows an AI to repeat only with the same value" in s.message


def test_an_ai_repeated_with_the_same_value_is_one_value() -> None:
    raw = f"(01){GTIN}(10)L42(10)L42(21)SN-1"
    assert classify_scan(raw, MASTER) == PartScan(
        part_number="9521234543213", serial="SN-1", lot="L42", gtin=GTIN, raw=raw, plan=P1001
    )


def test_part_with_only_a_draft_plan_says_so() -> None:
    s = classify_scan("PN-900", MASTER)
    assert s == PartScan(
        part_number="PN-900",
        raw="PN-900",
        plan=None,
        error="no released plan for part PN-900 (revisions found: P-2000 rev A draft)",
    )


def test_unknown_plain_scan() -> None:
    assert classify_scan("XYZ-1\r\n", MASTER) == UnknownScan(
        "XYZ-1\r\n",
        "unknown scan 'XYZ-1': not a badge, instrument, standard or part number of any plan",
    )


def test_non_gs1_symbology_is_never_read_as_gs1() -> None:
    # Plain Code 128 (]C0) carrying digits that would parse as AI 01: not GS1 by definition.
    s = classify_scan(f"]C001{GTIN}", MASTER)
    assert isinstance(s, UnknownScan)
    assert s.message.startswith("unknown scan")


@pytest.mark.parametrize("raw", ["", "\r\n", "]d2", "   "])
def test_empty_scans(raw: str) -> None:
    assert classify_scan(raw, MASTER) == UnknownScan(raw, "empty scan")


def test_badge_wins_over_instrument_standard_and_part() -> None:
    clash = "X-1"
    master = MasterData(
        plans=(Plan("P-9", "A", "released", (clash,), CHARS),),
        instruments=(Instrument(clash, "caliper", "active", date(2027, 1, 1), "mm", 0.01),),
        operators=(Operator("op-1", "Ann", clash),),
        standards=(Standard(clash, "block", 1.0, "mm", 0.0001, date(2027, 1, 1)),),
    )
    assert isinstance(classify_scan(clash, master), OperatorScan)
    no_badge = MasterData(master.plans, master.instruments, (), master.standards)
    assert isinstance(classify_scan(clash, no_badge), InstrumentScan)
    only_std = MasterData(master.plans, (), (), master.standards)
    assert isinstance(classify_scan(clash, only_std), StandardScan)


@pytest.mark.parametrize(
    "raw", ["\x00\x01", "]", "]]]", "(", "((01)", "(01)", "\x1d", "01", "]d2(01)x", "é" * 300]
)
def test_garbage_never_raises(raw: str) -> None:
    assert isinstance(classify_scan(raw, MASTER), UnknownScan)


def test_normalize_keeps_gs_inside_and_reports_the_aim_id() -> None:
    n = normalize("]d2\x1d0109521234543213\x1d10L\r\n")
    assert (n.text, n.aim, n.leading_gs) == ("0109521234543213\x1d10L", "]d2", True)
