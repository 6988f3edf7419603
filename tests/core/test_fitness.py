"""Instrument and standard fitness at `now`, and instrument checks against a standard."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from station.core.fitness import assess_instrument, check_instrument, standard_fitness
from station.core.model import Characteristic, Instrument, Standard
from station.core.units import UnitError
from station.core.verdict import ConfigurationError

NOW = datetime(2026, 11, 21, 22, 4, 9, tzinfo=UTC)
CAL = Instrument(
    id="CAL-0042", type="caliper", status="active", cal_due=date(2027, 3, 1), unit="mm",
    resolution=0.001, u=0.004, mpe=0.02,
)  # fmt: skip
BORE = Characteristic(
    id="bore-dia", kind="variable", lsl=12.3, usl=12.4, unit="mm", instrument_type="caliper"
)
GB25 = Standard("GB-25", "gauge block", 25.0, "mm", 0.0001, date(2027, 1, 31))


def test_a_fit_instrument_is_usable_without_warnings() -> None:
    f = assess_instrument(CAL, zone=UTC, now=NOW, characteristic=BORE)
    assert (f.usable, f.reasons, f.warnings) == (True, (), ())


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        ("retired", "instrument CAL-0042 is retired"),
        ("quarantined", "instrument CAL-0042 is quarantined by the QMS"),
    ],
)
def test_status_blocks(status: str, reason: str) -> None:
    f = assess_instrument(replace(CAL, status=status), zone=UTC, now=NOW)  # type: ignore[arg-type]
    assert (f.usable, f.reasons) == (False, (reason,))


def test_local_quarantine_quotes_its_reason() -> None:
    f = assess_instrument(
        CAL, zone=UTC, now=NOW, local_quarantine_reason="check failed: bias 0.031 mm"
    )
    assert f.reasons == (
        "instrument CAL-0042 is quarantined at this station: check failed: bias 0.031 mm",
    )


@pytest.mark.parametrize(
    ("now", "usable"),
    [
        (datetime(2027, 3, 1, 0, 0, tzinfo=UTC), True),
        (datetime(2027, 3, 1, 23, 59, 59, 999999, tzinfo=UTC), True),  # the due day is valid
        (datetime(2027, 3, 2, 0, 0, tzinfo=UTC), False),
    ],
)
def test_calibration_is_valid_through_cal_due_in_a_utc_site(now: datetime, usable: bool) -> None:
    f = assess_instrument(CAL, zone=UTC, now=now)
    assert f.usable is usable
    if not usable:
        assert f.reasons == (
            "calibration of instrument CAL-0042 is overdue: it was due on 2027-03-01",
        )


DUE_MAY_31 = replace(CAL, cal_due=date(2025, 5, 31))
CHICAGO = ZoneInfo("America/Chicago")  # UTC-5 in May (CDT)
BERLIN = ZoneInfo("Europe/Berlin")  # UTC+2 in June (CEST)


def test_due_day_lasts_until_local_midnight_in_a_plant_west_of_utc() -> None:
    # Issue 12.2: 23:30 on the due day in a UTC-5 plant is 04:30 on 06-01 in UTC; the old
    # UTC-date rule refused the instrument for the last half hour of its due day.
    now = datetime(2025, 5, 31, 23, 30, tzinfo=CHICAGO)
    f = assess_instrument(DUE_MAY_31, now=now, zone=CHICAGO)
    assert (f.usable, f.reasons) == (True, ())
    assert f.warnings == ("calibration of instrument CAL-0042 is due on 2025-05-31 (today)",)
    # the same instant given in UTC is judged the same: only the site's zone counts
    assert assess_instrument(DUE_MAY_31, now=now.astimezone(UTC), zone=CHICAGO).usable


def test_day_after_due_is_overdue_from_local_midnight_in_a_plant_east_of_utc() -> None:
    # Issue 12.2: 01:30 on 06-01 in CEST is still 05-31 in UTC; the old rule accepted it.
    now = datetime(2025, 6, 1, 1, 30, tzinfo=BERLIN)
    f = assess_instrument(DUE_MAY_31, now=now.astimezone(UTC), zone=BERLIN)
    assert f.reasons == ("calibration of instrument CAL-0042 is overdue: it was due on 2025-05-31",)


def test_standard_cal_due_is_judged_on_the_site_calendar() -> None:
    std = replace(GB25, cal_due=date(2025, 5, 31))
    late_evening = datetime(2025, 5, 31, 23, 30, tzinfo=CHICAGO)
    assert standard_fitness(std, late_evening, zone=CHICAGO).usable
    after_midnight = datetime(2025, 6, 1, 1, 30, tzinfo=BERLIN)
    assert not standard_fitness(std, after_midnight, zone=BERLIN).usable


def test_the_zone_must_be_given() -> None:
    with pytest.raises(TypeError, match="zone"):
        assess_instrument(CAL, now=NOW)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="zone"):
        standard_fitness(GB25, NOW)  # type: ignore[call-arg]


def test_calibration_due_soon_warns() -> None:
    f = assess_instrument(CAL, zone=UTC, now=datetime(2027, 2, 20, tzinfo=UTC))
    assert f.usable
    assert f.warnings == ("calibration of instrument CAL-0042 is due on 2027-03-01 (in 9 days)",)
    f = assess_instrument(CAL, zone=UTC, now=datetime(2027, 3, 1, 12, tzinfo=UTC))
    assert f.warnings == ("calibration of instrument CAL-0042 is due on 2027-03-01 (today)",)
    assert (
        assess_instrument(
            CAL, zone=UTC, now=datetime(2027, 2, 20, tzinfo=UTC), due_soon_days=5
        ).warnings
        == ()
    )


DAILY = replace(CAL, check_interval_h=24)


def test_daily_check_missing() -> None:
    f = assess_instrument(DAILY, zone=UTC, now=NOW)
    assert f.reasons == (
        "instrument check required: instrument CAL-0042 has no passing check on record "
        "(a check stays valid 24 h)",
    )


@pytest.mark.parametrize(
    ("age", "usable"),
    [
        (timedelta(hours=23), True),
        (timedelta(hours=24), True),
        (timedelta(hours=24, seconds=1), False),
    ],
)
def test_daily_check_expires_after_the_interval(age: timedelta, usable: bool) -> None:
    f = assess_instrument(DAILY, zone=UTC, now=NOW, last_passing_check_at=NOW - age)
    assert f.usable is usable


def test_expired_check_message_gives_both_instants() -> None:
    f = assess_instrument(DAILY, zone=UTC, now=NOW, last_passing_check_at=NOW - timedelta(hours=30))
    assert f.reasons == (
        "instrument check of CAL-0042 expired at 2026-11-21T16:04:09.000Z (last passing check "
        "2026-11-20T16:04:09.000Z, valid 24 h)",
    )


def test_a_check_dated_in_the_future_is_not_trusted() -> None:
    f = assess_instrument(
        DAILY, zone=UTC, now=NOW, last_passing_check_at=NOW + timedelta(minutes=5)
    )
    assert not f.usable
    assert "is dated in the future" in f.reasons[0]


def test_no_check_interval_means_no_check_needed() -> None:
    assert assess_instrument(CAL, zone=UTC, now=NOW, last_passing_check_at=None).usable


def test_type_and_unit_mismatch() -> None:
    mic = replace(CAL, type="micrometer")
    assert assess_instrument(mic, zone=UTC, now=NOW, characteristic=BORE).reasons == (
        "instrument CAL-0042 is a micrometer; characteristic bore-dia needs a caliper",
    )
    scale = replace(CAL, unit="g")
    assert assess_instrument(scale, zone=UTC, now=NOW, characteristic=BORE).reasons == (
        "instrument CAL-0042 measures mass in g; characteristic bore-dia is a length in mm",
    )
    odd = replace(CAL, unit="furlong")
    assert assess_instrument(odd, zone=UTC, now=NOW, characteristic=BORE).reasons == (
        "instrument CAL-0042 has the unknown unit 'furlong'",
    )


def test_an_inch_instrument_fits_a_mm_characteristic() -> None:
    inch = replace(CAL, unit="in", resolution=0.00005, u=None)
    assert assess_instrument(inch, zone=UTC, now=NOW, characteristic=BORE).usable


def test_every_blocking_reason_is_listed_at_once() -> None:
    bad = replace(
        CAL, status="quarantined", cal_due=date(2026, 1, 1), type="micrometer", unit="g",
        check_interval_h=8,
    )  # fmt: skip
    f = assess_instrument(
        bad, zone=UTC, now=NOW, characteristic=BORE, local_quarantine_reason="dropped"
    )
    assert len(f.reasons) == 6
    assert [r.split(" ")[0:2] for r in f.reasons] == [
        ["instrument", "CAL-0042"],
        ["instrument", "CAL-0042"],
        ["calibration", "of"],
        ["instrument", "check"],
        ["instrument", "CAL-0042"],
        ["instrument", "CAL-0042"],
    ]


def test_guarded_rule_needs_u_before_use() -> None:
    guarded = replace(BORE, rule="guarded")
    f = assess_instrument(replace(CAL, u=None), zone=UTC, now=NOW, characteristic=guarded)
    assert f.reasons == (
        "characteristic bore-dia uses the guarded decision rule (ISO 14253-1) but instrument "
        "CAL-0042 has no expanded uncertainty U",
    )


def test_warnings_for_coarse_resolution_and_empty_guarded_zone() -> None:
    coarse = replace(CAL, resolution=0.02, u=0.06)
    f = assess_instrument(coarse, zone=UTC, now=NOW, characteristic=replace(BORE, rule="guarded"))
    assert f.usable
    assert f.warnings == (
        "resolution 0.02 mm of instrument CAL-0042 is coarser than a tenth of the tolerance of "
        "bore-dia (0.1 mm; 10:1 rule)",
        "with U = 0.06 mm the guarded acceptance zone of bore-dia is empty: no reading can pass "
        "(ILAC G8 guard band w = U)",
    )
    # exactly a tenth is fine
    assert (
        assess_instrument(
            replace(CAL, resolution=0.01), zone=UTC, now=NOW, characteristic=BORE
        ).warnings
        == ()
    )


def test_guard_band_of_exactly_half_the_tolerance_is_not_reported_as_empty() -> None:
    # Issue 12.6: 2U = tolerance leaves the single value lsl + U, and decide() passes it.
    half = replace(CAL, u=0.05)
    f = assess_instrument(half, zone=UTC, now=NOW, characteristic=replace(BORE, rule="guarded"))
    assert f.warnings == (
        "with U = 0.05 mm the guarded acceptance zone of bore-dia is the single value 12.35 mm: "
        "only a reading of exactly that value can pass (ILAC G8 guard band w = U)",
    )
    assert not any("no reading can pass" in w for w in f.warnings)


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="now must be timezone-aware"):
        assess_instrument(CAL, zone=UTC, now=datetime(2026, 11, 21))


def test_standard_fitness() -> None:
    assert standard_fitness(GB25, NOW, zone=UTC).usable
    late = standard_fitness(GB25, datetime(2027, 2, 1, tzinfo=UTC), zone=UTC)
    assert late.reasons == (
        "calibration of standard GB-25 is overdue: it was due on 2027-01-31; it cannot be used "
        "for instrument checks",
    )
    assert standard_fitness(GB25, datetime(2027, 1, 31, 23, tzinfo=UTC), zone=UTC).warnings == (
        "calibration of standard GB-25 is due on 2027-01-31 (today)",
    )


@pytest.mark.parametrize(
    ("readings", "verdict", "bias"),
    [
        ([25.02], "pass", 0.02),  # |bias| == mpe passes
        ([24.98], "pass", -0.02),
        ([25.021], "fail", 0.021),
        ([25.01, 25.03, 25.02], "pass", 0.02),
        ([25.03, 25.03], "fail", 0.03),
    ],
)
def test_check_instrument_bias_against_mpe(
    readings: list[float], verdict: str, bias: float
) -> None:
    out = check_instrument(readings, GB25, instrument=CAL)
    assert (out.verdict, out.bias, out.mpe, out.unit) == (verdict, pytest.approx(bias), 0.02, "mm")


def test_check_is_exact_at_the_mpe_despite_float_noise() -> None:
    out = check_instrument([25.019999980926514], GB25, instrument=CAL)  # float32 of 25.02
    assert (out.verdict, out.bias) == ("pass", pytest.approx(0.02))


def test_check_keeps_a_real_digit_beyond_the_registered_resolution() -> None:
    # As for inspections: the check record carries the instrument's value, not a rounded one.
    # 25.0204 rounded to the 0.001 grid would be 25.020 and pass at mpe 0.02.
    out = check_instrument([25.0204], GB25, instrument=CAL)
    assert (out.readings, out.verdict) == ((25.0204,), "fail")


def test_check_converts_units() -> None:
    inch = replace(CAL, unit="in", resolution=0.0001, mpe=0.001)
    out = check_instrument([0.9843], GB25, instrument=inch)  # 25 mm = 0.98425… in
    assert out.verdict == "pass"
    assert out.reference == pytest.approx(25 / 25.4)
    readings_in_um = check_instrument([25010], GB25, 0.02, instrument=CAL, unit="um")
    assert (readings_in_um.readings, readings_in_um.verdict) == ((25.01,), "pass")


def test_check_body_matches_the_schema_fields() -> None:
    out = check_instrument([25.001, 25.002], GB25, instrument=CAL)
    body = out.body("op-17", raw=["01A+0025.001", "01A+0025.002"])
    assert body == {
        "instrument": "CAL-0042", "standard": "GB-25", "reference": 25.0, "unit": "mm",
        "readings": [25.001, 25.002], "raw": ["01A+0025.001", "01A+0025.002"],
        "bias": pytest.approx(0.0015), "mpe": 0.02, "verdict": "pass", "operator": "op-17",
    }  # fmt: skip


def test_check_errors() -> None:
    with pytest.raises(ValueError, match="checking instrument CAL-0042 needs at least one reading"):
        check_instrument([], GB25, instrument=CAL)
    with pytest.raises(ConfigurationError, match=r"instrument CAL-0042 has no maximum permissible"):
        check_instrument([25.0], GB25, instrument=replace(CAL, mpe=None))
    with pytest.raises(UnitError, match=r"cannot convert from 'g' \(mass\) to 'mm' \(length\)"):
        check_instrument([25.0], replace(GB25, unit="g"), instrument=CAL)


def test_check_warns_about_a_coarse_standard() -> None:
    out = check_instrument([25.0], replace(GB25, uncertainty=0.01), instrument=CAL)
    assert out.warnings == (
        "uncertainty of standard GB-25 (0.01 mm) exceeds a quarter of the mpe (0.02 mm; 4:1 rule)",
    )
