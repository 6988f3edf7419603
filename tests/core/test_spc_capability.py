"""Capability: published arithmetic, hand-derived cases, one-sided specs, no division by 0."""

from __future__ import annotations

import pytest

from station.core.spc import SpcError, capability


def test_montgomery_example_6_1_capability_ratio() -> None:
    """Montgomery, Introduction to SQC, Example 6.1 (piston rings): σ̂ = R̄/d2 = 0.023/2.326,
    printed as 0.0099, and PCR = Cp = 0.10/(6 · 0.0099) = 1.68 for specs 74.000 ± 0.05."""
    cap = capability([74.0, 74.002], lsl=73.95, usl=74.05, within_sigma=0.0099)
    assert cap.cp is not None
    assert round(cap.cp, 2) == 1.68
    assert round(0.023 / 2.326, 4) == 0.0099  # the printed sigma estimate


def test_indices_by_hand() -> None:
    """values 9, 10, 11: mean 10, sample sd 1. Specs 7..16, within sigma 0.5.

    Cp = 9/3 = 3, Cpu = 6/1.5 = 4, Cpl = 3/1.5 = 2, Cpk = 2;
    Pp = 9/6 = 1.5, Ppu = 6/3 = 2, Ppl = 3/3 = 1, Ppk = 1.
    """
    cap = capability([9.0, 10.0, 11.0], lsl=7.0, usl=16.0, within_sigma=0.5)
    assert (cap.n, cap.mean, cap.sigma_within, cap.sigma_overall) == (3, 10.0, 0.5, 1.0)
    assert (cap.cp, cap.cpu, cap.cpl, cap.cpk) == pytest.approx((3.0, 4.0, 2.0, 2.0))
    assert (cap.pp, cap.ppu, cap.ppl, cap.ppk) == pytest.approx((1.5, 2.0, 1.0, 1.0))
    assert cap.notes == ()


def test_mean_outside_the_tolerance_gives_a_negative_cpk() -> None:
    cap = capability([17.0, 18.0, 19.0], lsl=7.0, usl=16.0, within_sigma=1.0)
    assert cap.cpk == pytest.approx((16.0 - 18.0) / 3.0)


def test_one_sided_specifications() -> None:
    upper = capability([9.0, 10.0, 11.0], lsl=None, usl=16.0, within_sigma=0.5)
    assert (upper.cp, upper.cpl, upper.pp, upper.ppl) == (None, None, None, None)
    assert upper.cpk == upper.cpu == pytest.approx(4.0)
    assert upper.ppk == upper.ppu == pytest.approx(2.0)
    assert upper.notes == ("one-sided specification (only usl): Cp and Pp need both limits",)
    lower = capability([9.0, 10.0, 11.0], lsl=7.0, usl=None, within_sigma=0.5)
    assert lower.cpk == lower.cpl == pytest.approx(2.0)
    assert lower.ppk == lower.ppl == pytest.approx(1.0)
    assert (lower.cp, lower.cpu) == (None, None)
    assert "only lsl" in lower.notes[0]


def test_nothing_is_divided_by_zero() -> None:
    flat = capability([5.0, 5.0, 5.0], lsl=4.0, usl=6.0, within_sigma=0.0)
    assert (flat.cp, flat.cpk, flat.pp, flat.ppk) == (None, None, None, None)
    assert flat.sigma_overall == 0.0
    assert flat.notes == (
        "within sigma is 0: Cp and Cpk would divide by zero, not computed",
        "overall sigma is 0: Pp and Ppk would divide by zero, not computed",
    )


def test_too_little_data_or_no_limits_or_no_sigma() -> None:
    one = capability([5.0], lsl=4.0, usl=6.0, within_sigma=0.1)
    assert one.cp == pytest.approx(2.0 / 0.6)
    assert (one.sigma_overall, one.pp, one.ppk) == (None, None, None)
    assert one.notes == ("overall sigma needs at least 2 values, got 1: Pp and Ppk not computed",)
    none = capability([], lsl=4.0, usl=6.0, within_sigma=0.1)
    assert (none.n, none.mean, none.cp, none.pp) == (0, None, None, None)
    assert none.notes == ("no values",)
    free = capability([1.0, 2.0], lsl=None, usl=None, within_sigma=0.1)
    assert (free.cp, free.cpk, free.pp, free.ppk) == (None, None, None, None)
    assert free.notes == ("no specification limits: capability is not defined",)
    early = capability([1.0, 2.0], lsl=0.0, usl=3.0, within_sigma=None)
    assert (early.cp, early.cpk) == (None, None)
    assert early.pp is not None
    assert early.notes == ("no within sigma (no control limits yet): Cp and Cpk not computed",)


def test_bad_input_is_refused() -> None:
    with pytest.raises(SpcError, match=r"capability needs lsl < usl, got lsl=2\.0 usl=1\.0"):
        capability([1.0], lsl=2.0, usl=1.0, within_sigma=0.1)
    with pytest.raises(SpcError, match=r"within sigma must be a finite number >= 0, got -0\.1"):
        capability([1.0], lsl=0.0, usl=2.0, within_sigma=-0.1)
    with pytest.raises(SpcError, match="capability value 1 must be a finite number, got nan"):
        capability([1.0, float("nan")], lsl=0.0, usl=2.0, within_sigma=0.1)
    with pytest.raises(SpcError, match="capability usl must be finite or None, got inf"):
        capability([1.0], lsl=0.0, usl=float("inf"), within_sigma=0.1)


@pytest.mark.parametrize("values", [[0.1] * 3, [30.1] * 25, [12.345] * 7])
def test_constant_data_has_an_overall_sigma_of_exactly_zero(values: list[float]) -> None:
    # Issue 12.4: floating-point rounding gave sigma 1.7e-17 and a Pp of ~1e15.
    c = capability(values, 0.05, 100.0, 0.01)
    assert c.sigma_overall == 0.0
    assert (c.pp, c.ppk) == (None, None)
    assert "overall sigma is 0: Pp and Ppk would divide by zero, not computed" in c.notes
    assert c.mean == values[0]
