"""Gauge R&R by ANOVA: AIAG MSA 4th ed.'s ANOVA tables for the same example, the incomplete
beta / F distribution against F-table values, pooling, flooring, invariants (hypothesis)."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from station.core.msa_anova import anova, betainc, f_sf
from station.core.msa_grr import GrrReading
from station.core.msa_tables import MsaError
from tests.helpers.aiag_grr import aiag_readings


def test_aiag_anova_table() -> None:
    """AIAG 4th ed., ANOVA method, the ANOVA table: SS appraiser 3.1673, parts 88.3619,
    appraiser-by-part 0.3590, equipment 2.7589, total 94.6471; MS 1.58363, 9.81799,
    0.01994, 0.04598; F 79.41, 492.29 (against MS_AP) and 0.434 for the interaction."""
    study = anova(aiag_readings())
    rows = {row.source: row for row in study.table}
    assert [round(rows[s].ss, 4) for s in rows] == [3.1673, 88.3619, 0.3590, 2.7589, 94.6471]
    assert [rows[s].df for s in rows] == [2, 9, 18, 60, 89]
    ms = [round(rows[s].ms, 5) for s in ("appraiser", "part", "appraiser-by-part", "equipment")]
    assert ms == [1.58363, 9.81799, 0.01994, 0.04598]
    assert [round(rows[s].f or 0, 2) for s in ("appraiser", "part")] == [79.41, 492.29]
    assert round(rows["appraiser-by-part"].f or 0, 3) == 0.434


def test_aiag_anova_results_with_the_interaction_pooled() -> None:
    """AIAG 4th ed., ANOVA method, the tabulated results: the interaction is not significant
    and is pooled: variances EV² 0.039973, AV² 0.051455, INT² 0, GRR² 0.091428, PV² 1.086446; sigmas
    EV 0.199933, AV 0.226838, PV 1.042327; % of total variation EV 18.4, AV 20.9, GRR 27.9,
    PV 96.0; ndc = 1.41 x 1.04233/0.30237 = 4.86 -> 4. McNeese (2015) prints the same
    pooled components (0.0400, 0.0515, 1.086, 0.0914). Verdict: conditional (27.86 %)."""
    study = anova(aiag_readings(), tolerance=5.0)
    r = study.result
    assert study.pooled
    assert study.p_interaction == pytest.approx(0.9741, abs=5e-5)
    assert study.interaction == 0.0
    assert [round(x**2, 6) for x in (r.ev, r.av)] == [0.039973, 0.051455]
    # AIAG adds the rounded components (0.039973 + 0.051455 = 0.091428) and takes PV² from
    # the printed MS ((9.81799 - 0.039973)/9 = 1.086446); unrounded: 0.0914285, 1.0864466.
    assert round(0.039973 + 0.051455, 6) == 0.091428
    assert round((9.81799 - 0.039973) / 9, 6) == 1.086446
    assert [round(x**2, 5) for x in (r.grr, r.pv)] == [0.09143, 1.08645]
    assert [round(x, 6) for x in (r.ev, r.av, r.pv)] == [0.199933, 0.226838, 1.042327]
    assert [round(x or 0, 1) for x in (r.pct_ev, r.pct_av, r.pct_grr, r.pct_pv)] == [
        18.4, 20.9, 27.9, 96.0,
    ]  # fmt: skip
    assert round(r.pct_grr or 0, 2) == 27.86
    assert r.ndc == 4
    assert r.verdict == "conditional"
    assert r.pct_tolerance == pytest.approx(100 * 6 * r.grr / 5.0)


@pytest.mark.parametrize(
    ("f", "df1", "df2", "alpha"),
    [
        # Upper percentage points of the F distribution (Montgomery, Design and Analysis of
        # Experiments, Appendix Table IV; NIST/SEMATECH e-Handbook §1.3.6.7.3).
        (4.96, 1, 10, 0.05),
        (3.33, 5, 10, 0.05),
        (3.15, 2, 60, 0.05),
        (2.16, 10, 30, 0.05),
        (3.37, 10, 20, 0.01),
        (1.78, 18, 60, 0.05),
        (2.61, 4, 40, 0.05),
    ],
)
def test_f_upper_tail_matches_f_tables(f: float, df1: int, df2: int, alpha: float) -> None:
    """The tables print three significant digits, so the p-value at the printed critical
    value is alpha within what that rounding moves it."""
    assert f_sf(f, df1, df2) == pytest.approx(alpha, rel=0.03)


def test_incomplete_beta_closed_forms() -> None:
    for x in (0.0, 0.1, 0.37, 0.5, 0.93, 1.0):
        assert betainc(1.0, 1.0, x) == pytest.approx(x, abs=1e-14)
        assert betainc(3.0, 1.0, x) == pytest.approx(x**3, abs=1e-14)
        assert betainc(1.0, 4.0, x) == pytest.approx(1 - (1 - x) ** 4, abs=1e-14)
        assert betainc(0.5, 0.5, x) == pytest.approx(
            2 / math.pi * math.asin(math.sqrt(x)), abs=1e-13
        )
    # F(2, 2): P(F > f) = 1/(1 + f); F(1, ∞) is chi² ~ z²: not needed, F(2, 2) suffices.
    for f in (0.1, 1.0, 2.0, 19.0):
        assert f_sf(f, 2, 2) == pytest.approx(1 / (1 + f), abs=1e-14)
    assert f_sf(0.0, 3, 7) == 1.0
    with pytest.raises(MsaError):
        betainc(0.0, 1.0, 0.5)
    with pytest.raises(MsaError):
        betainc(1.0, 1.0, 1.5)


def test_a_strong_interaction_is_kept_and_split_out() -> None:
    """Appraisers disagree part by part (not by a constant offset): p < 0.25, not pooled;
    INT² = (MS_AP - MS_E)/r and AV² from MS_AP (AIAG, ANOVA method)."""
    rng = random.Random(3)
    readings = []
    for i, a in enumerate("ABC"):
        for p in range(8):
            twist = 0.5 * ((i * 7 + p * 3) % 5 - 2)
            readings += [
                GrrReading(a, f"p{p}", t + 1, p + twist + rng.gauss(0, 0.05)) for t in range(3)
            ]
    study = anova(readings)
    assert not study.pooled
    assert (study.p_interaction or 1.0) < 1e-6
    rows = {row.source: row for row in study.table}
    int2 = (rows["appraiser-by-part"].ms - rows["equipment"].ms) / 3
    assert study.interaction**2 == pytest.approx(int2)
    r = study.result
    assert r.grr**2 == pytest.approx(r.ev**2 + r.av**2 + study.interaction**2)
    assert study.reproducibility == pytest.approx(math.hypot(r.av, study.interaction))


def test_negative_components_are_floored() -> None:
    """Appraisers agree better than repeatability allows: MS_A < MS_E', AV² < 0 -> 0."""
    values = {"1": (1.0, 1.4), "2": (2.0, 2.5), "3": (3.0, 3.3)}
    readings = [
        GrrReading(a, p, t + 1, v if a == "A" else vs[1 - t])
        for a in ("A", "B")
        for p, vs in values.items()
        for t, v in enumerate(vs)
    ]
    r = anova(readings).result
    assert r.av == 0.0
    assert any("set to 0" in n for n in r.notes)


def test_exact_repeats_leave_nothing_to_test() -> None:
    readings = [
        GrrReading(a, p, t, float(p) + (0.1 if a == "B" else 0.0))
        for a in "AB"
        for p in "123"
        for t in (1, 2)
    ]
    study = anova(readings)
    assert study.p_interaction is None and not study.pooled
    assert study.result.ev == 0.0


@st.composite
def studies(draw: st.DrawFn) -> list[GrrReading]:
    a, n, r = draw(st.integers(2, 4)), draw(st.integers(2, 10)), draw(st.integers(2, 4))
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    part = [rng.gauss(0, 1) for _ in range(n)]
    bias = [rng.gauss(0, 0.2) for _ in range(a)]
    return [
        GrrReading(f"op{i}", f"p{j}", t + 1, part[j] + bias[i] + rng.gauss(0, 0.1))
        for i in range(a)
        for j in range(n)
        for t in range(r)
    ]


@settings(max_examples=60, deadline=None)
@given(studies(), st.randoms(use_true_random=False))
def test_invariants(readings: list[GrrReading], rnd: random.Random) -> None:
    """SS add up to the total; GRR² = EV² + AV² + INT²; TV² = GRR² + PV²; order-free."""
    study = anova(readings)
    r = study.result
    rows = {row.source: row for row in study.table}
    mean = math.fsum(float(x.value) for x in readings) / len(readings)
    ss_total = math.fsum((float(x.value) - mean) ** 2 for x in readings)
    assert rows["total"].ss == pytest.approx(ss_total, rel=1e-9)
    assert r.grr**2 == pytest.approx(r.ev**2 + r.av**2 + study.interaction**2, rel=1e-12)
    assert r.tv**2 == pytest.approx(r.grr**2 + r.pv**2, rel=1e-12)
    assert study.p_interaction is None or 0.0 <= study.p_interaction <= 1.0
    shuffled = list(readings)
    rnd.shuffle(shuffled)
    again = anova(shuffled)
    assert (again.result, again.p_interaction, again.pooled) == (
        r,
        study.p_interaction,
        study.pooled,
    )
