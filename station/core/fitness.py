"""Is an instrument (or a reference standard) fit for use right now?

Why: ISO 9001 7.1.5.1 requires monitoring and measuring resources to be suitable and
maintained fit for purpose; 7.1.5.2 requires calibration or verification at specified
intervals and identification of status, and equipment found unfit must not be used. The QMS
owns the calibration status; the station enforces it at the moment of use, offline, and
names *every* reason at once so the operator does not fix them one by one.

Date rules (documented, because an off-by-one here is an audit finding):

- `cal_due` is the last day the calibration is valid: an instrument is overdue when the
  site's calendar date at `now` (in `zone`, the `[station] timezone` of contract 1.1) is
  after `cal_due` (usable through the whole due day, local midnight to local midnight).
  Record timestamps stay UTC; only calendar dates are judged in the site's zone.
- A passing instrument check stays valid for `check_interval_h` hours: it has expired when
  last check + interval < now (still valid at exactly the interval).

Nothing here reads the clock or the system zone: `now` (timezone-aware) and `zone` are
arguments.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from fractions import Fraction
from typing import Literal

from station.core.model import Characteristic, Instrument, Standard
from station.core.timefmt import format_ts, require_aware, site_date
from station.core.units import Number, exact, factor, find_unit
from station.core.verdict import ConfigurationError, snap_to_resolution


@dataclass(frozen=True)
class Fitness:
    """Whether an instrument or standard may be used, with every blocking reason.

    Attributes:
        usable: True when `reasons` is empty.
        reasons: every blocking reason, in a stable order.
        warnings: non-blocking notes (calibration due soon, coarse resolution…).
    """

    usable: bool
    reasons: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


def _fmt(x: Fraction) -> str:
    return f"{float(x):g}"


def _due_warning(what: str, due: date, today: date, due_soon_days: int) -> str | None:
    days = (due - today).days
    if 0 <= days <= due_soon_days:
        when = "today" if days == 0 else f"in {days} day{'s' if days != 1 else ''}"
        return f"calibration of {what} is due on {due.isoformat()} ({when})"
    return None


def _check_reason(
    instrument: Instrument, now: datetime, last_passing_check_at: datetime | None
) -> str | None:
    """The daily-check reason, if any (ISO 9001 7.1.5.2 a: verification before use)."""
    hours = instrument.check_interval_h
    if hours is None:
        return None
    if last_passing_check_at is None:
        return (
            f"instrument check required: instrument {instrument.id} has no passing check on "
            f"record (a check stays valid {hours:g} h)"
        )
    last = require_aware(last_passing_check_at, "last_passing_check_at")
    if last > now:
        # A check "from the future" means the clock moved back; trusting it could extend
        # the validity indefinitely, so the instrument must be checked again.
        return (
            f"instrument check of {instrument.id} is dated in the future ({format_ts(last)}, "
            f"now {format_ts(now)}): check the station clock and check the instrument again"
        )
    expiry = last + timedelta(hours=hours)
    if expiry < now:
        return (
            f"instrument check of {instrument.id} expired at {format_ts(expiry)} (last passing "
            f"check {format_ts(last)}, valid {hours:g} h)"
        )
    return None


def _characteristic_findings(
    instrument: Instrument, characteristic: Characteristic
) -> tuple[list[str], list[str]]:
    """Reasons and warnings from matching the instrument to one characteristic."""
    reasons: list[str] = []
    warnings: list[str] = []
    iid, cid = instrument.id, characteristic.id
    need = characteristic.instrument_type
    if need is not None and instrument.type != need:
        reasons.append(
            f"instrument {iid} is a {instrument.type}; characteristic {cid} needs a {need}"
        )
    if characteristic.kind != "variable" or characteristic.unit is None:
        return reasons, warnings
    cu, iu = characteristic.unit, instrument.unit
    ci, ii = find_unit(cu), find_unit(iu)
    if ii is None:
        reasons.append(f"instrument {iid} has the unknown unit {iu!r}")
    if ci is None:
        reasons.append(f"characteristic {cid} has the unknown unit {cu!r}")
    if ci is None or ii is None:
        return reasons, warnings
    if ci.dimension != ii.dimension:
        reasons.append(
            f"instrument {iid} measures {ii.dimension} in {iu}; characteristic {cid} is "
            f"a {ci.dimension} in {cu}"
        )
        return reasons, warnings
    to_plan = factor(iu, cu)
    if characteristic.rule == "guarded" and instrument.u is None:
        reasons.append(
            f"characteristic {cid} uses the guarded decision rule (ISO 14253-1) but "
            f"instrument {iid} has no expanded uncertainty U"
        )
    if characteristic.lsl is None or characteristic.usl is None:
        return reasons, warnings
    tol = exact(characteristic.usl) - exact(characteristic.lsl)
    res = exact(instrument.resolution) * to_plan
    # 10:1 rule of thumb (AIAG MSA; see research anchors R8): the resolution should split
    # the tolerance into at least ten steps, or readings cannot discriminate near a limit.
    if res * 10 > tol:
        warnings.append(
            f"resolution {instrument.resolution:g} {iu} of instrument {iid} is coarser than a "
            f"tenth of the tolerance of {cid} ({_fmt(tol)} {cu}; 10:1 rule)"
        )
    if characteristic.rule == "guarded" and instrument.u is not None:
        u = exact(instrument.u) * to_plan
        # The acceptance zone is lsl + U .. usl - U, inclusive (verdict.decide): it is empty
        # only when 2U > tolerance; at 2U = tolerance exactly one value (the midpoint) passes.
        if 2 * u > tol:
            warnings.append(
                f"with U = {instrument.u:g} {iu} the guarded acceptance zone of {cid} is "
                "empty: no reading can pass (ILAC G8 guard band w = U)"
            )
        elif 2 * u == tol:
            mid = exact(characteristic.lsl) + u
            warnings.append(
                f"with U = {instrument.u:g} {iu} the guarded acceptance zone of {cid} is the "
                f"single value {_fmt(mid)} {cu}: only a reading of exactly that value can pass "
                "(ILAC G8 guard band w = U)"
            )
    return reasons, warnings


def assess_instrument(
    instrument: Instrument,
    *,
    now: datetime,
    zone: tzinfo,
    characteristic: Characteristic | None = None,
    local_quarantine_reason: str | None = None,
    last_passing_check_at: datetime | None = None,
    due_soon_days: int = 14,
) -> Fitness:
    """Every reason `instrument` may not be used now (for `characteristic`, when given).

    Args:
        instrument: the instrument as the QMS defines it.
        now: the current instant (timezone-aware).
        zone: the site's time zone: `cal_due` is judged on the site's calendar date.
        characteristic: when given, also check type, unit, guarded-rule U, resolution.
        local_quarantine_reason: set when this station quarantined the instrument (a
            failed check); the reason is quoted in the message.
        last_passing_check_at: the instant of the last passing instrument check.
        due_soon_days: warn when calibration falls due within this many days.

    Raises:
        ValueError: `now` or `last_passing_check_at` is naive.
    """
    now = require_aware(now, "now")
    today = site_date(now, zone)
    iid = instrument.id
    reasons: list[str] = []
    warnings: list[str] = []
    if instrument.status == "retired":
        reasons.append(f"instrument {iid} is retired")
    elif instrument.status == "quarantined":
        reasons.append(f"instrument {iid} is quarantined by the QMS")
    if local_quarantine_reason is not None:
        reasons.append(
            f"instrument {iid} is quarantined at this station: {local_quarantine_reason}"
        )
    if today > instrument.cal_due:
        reasons.append(
            f"calibration of instrument {iid} is overdue: it was due on "
            f"{instrument.cal_due.isoformat()}"
        )
    else:
        soon = _due_warning(f"instrument {iid}", instrument.cal_due, today, due_soon_days)
        if soon is not None:
            warnings.append(soon)
    check = _check_reason(instrument, now, last_passing_check_at)
    if check is not None:
        reasons.append(check)
    if characteristic is not None:
        more_reasons, more_warnings = _characteristic_findings(instrument, characteristic)
        reasons += more_reasons
        warnings += more_warnings
    return Fitness(not reasons, tuple(reasons), tuple(warnings))


def standard_fitness(
    standard: Standard, now: datetime, *, zone: tzinfo, due_soon_days: int = 14
) -> Fitness:
    """Whether a reference standard may be used for an instrument check now.

    An overdue standard is refused: a check against it would not be traceable
    (ISO 9001 7.1.5.2 a, traceability to measurement standards). `cal_due` is judged on the
    site's calendar date in `zone`, as for instruments.

    Raises:
        ValueError: `now` is naive.
    """
    today = site_date(now, zone)
    if today > standard.cal_due:
        reason = (
            f"calibration of standard {standard.id} is overdue: it was due on "
            f"{standard.cal_due.isoformat()}; it cannot be used for instrument checks"
        )
        return Fitness(False, (reason,))
    soon = _due_warning(f"standard {standard.id}", standard.cal_due, today, due_soon_days)
    return Fitness(True, (), () if soon is None else (soon,))


@dataclass(frozen=True)
class CheckOutcome:
    """The result of checking an instrument against a reference standard.

    All numbers are in `unit`, the instrument's unit (where its `mpe` is given).
    `bias` is mean(readings) - reference; the check passes when |bias| <= mpe.
    """

    instrument: str
    standard: str
    reference: float
    unit: str
    readings: tuple[float, ...]
    bias: float
    mpe: float
    verdict: Literal["pass", "fail"]
    warnings: tuple[str, ...] = ()

    def body(self, operator: str, raw: Sequence[str] = ()) -> dict[str, object]:
        """The `instrument-check` record body (record.schema.json `instrument_check`)."""
        return {
            "instrument": self.instrument,
            "standard": self.standard,
            "reference": self.reference,
            "unit": self.unit,
            "readings": list(self.readings),
            "raw": list(raw),
            "bias": self.bias,
            "mpe": self.mpe,
            "verdict": self.verdict,
            "operator": operator,
        }


def check_instrument(
    readings: Sequence[Number],
    reference: Standard,
    mpe: Number | None = None,
    *,
    instrument: Instrument,
    unit: str | None = None,
) -> CheckOutcome:
    """Check `instrument` against `reference` from one or more readings of it.

    Readings are freed of float noise as in `verdict.judge_variable` (`snap_to_resolution`:
    a real digit is kept); all values are converted exactly to the instrument's unit.

    Args:
        readings: the instrument's readings of the standard (at least one).
        reference: the standard measured; its certified value is the reference.
        mpe: maximum permissible error in the instrument's unit; default `instrument.mpe`.
        instrument: the instrument checked.
        unit: the readings' unit; default the instrument's unit.

    Raises:
        ValueError: no readings, or a non-finite one.
        ConfigurationError: no mpe given nor defined for the instrument, or mpe < 0.
        UnitError: the readings' or the standard's unit does not convert to the instrument's.
    """
    if not readings:
        raise ValueError(f"checking instrument {instrument.id} needs at least one reading")
    limit = instrument.mpe if mpe is None else mpe
    if limit is None:
        raise ConfigurationError(
            f"instrument {instrument.id} has no maximum permissible error (mpe) for checks"
        )
    e = exact(limit)
    if e < 0:
        raise ConfigurationError(f"mpe must be >= 0, got {limit}")
    iu = instrument.unit
    ru = iu if unit is None else unit
    to_inst = factor(ru, iu)
    values = [snap_to_resolution(exact(r), ru, instrument) * to_inst for r in readings]
    ref = exact(reference.value) * factor(reference.unit, iu)
    bias = sum(values, Fraction(0)) / len(values) - ref
    warnings: list[str] = []
    # Test uncertainty ratio of 4:1 (ANSI/NCSL Z540.3 practice): a standard whose
    # uncertainty exceeds a quarter of the mpe cannot discriminate a marginal instrument.
    if exact(reference.uncertainty) * factor(reference.unit, iu) * 4 > e:
        warnings.append(
            f"uncertainty of standard {reference.id} ({reference.uncertainty:g} "
            f"{reference.unit}) exceeds a quarter of the mpe ({_fmt(e)} {iu}; 4:1 rule)"
        )
    return CheckOutcome(
        instrument=instrument.id,
        standard=reference.id,
        reference=float(ref),
        unit=iu,
        readings=tuple(float(v) for v in values),
        bias=float(bias),
        mpe=float(e),
        verdict="pass" if abs(bias) <= e else "fail",
        warnings=tuple(warnings),
    )


__all__ = ["CheckOutcome", "Fitness", "assess_instrument", "check_instrument", "standard_fitness"]
