"""Attribute agreement: Cohen's kappa against published worked examples, AIAG's per-appraiser
rates on a hand-counted study, the degenerate case and invariants (hypothesis)."""

from __future__ import annotations

from collections.abc import Mapping
from itertools import product

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from station.core.msa_attribute import (
    Decision,
    Judgement,
    attribute_agreement,
    cohen_kappa,
)
from station.core.msa_tables import MsaError

A: Decision = "accept"
R: Decision = "reject"


def table(yy: int, yn: int, ny: int, nn: int) -> list[tuple[Decision, Decision]]:
    """A 2x2 agreement table as pairs (rater 1, rater 2); 'yes' = accept."""
    return [(A, A)] * yy + [(A, R)] * yn + [(R, A)] * ny + [(R, R)] * nn


def test_cohen_kappa_worked_examples() -> None:
    """Wikipedia, "Cohen's kappa", §Examples: 50 applications, yes/yes 20, yes/no 5,
    no/yes 10, no/no 15: p_o = 0.7, p_e = 0.5, κ = 0.4. §"Same percentages but different
    numbers": (45, 15, 25, 15) gives κ = 0.1304 and (25, 35, 5, 35) gives κ = 0.2593."""
    k = cohen_kappa(table(20, 5, 10, 15))
    assert (k.p_observed, k.p_chance, k.n) == (0.7, 0.5, 50)
    assert k.kappa == pytest.approx(0.4, abs=1e-15)
    assert round(cohen_kappa(table(45, 15, 25, 15)).kappa, 4) == 0.1304
    assert round(cohen_kappa(table(25, 35, 5, 35)).kappa, 4) == 0.2593


def test_degenerate_kappa_is_one_and_flagged() -> None:
    k = cohen_kappa(table(12, 0, 0, 0))
    assert (k.kappa, k.degenerate, k.p_chance) == (1.0, True, 1.0)
    assert not cohen_kappa(table(6, 0, 0, 6)).degenerate
    with pytest.raises(MsaError):
        cohen_kappa([])


REFS: dict[str, Decision] = {"p1": A, "p2": A, "p3": A, "p4": R, "p5": R, "p6": A}


def study(decisions: Mapping[str, Mapping[str, tuple[Decision, ...]]]) -> list[Judgement]:
    return [
        Judgement(a, p, t + 1, d)
        for a, by_part in decisions.items()
        for p, ds in by_part.items()
        for t, d in enumerate(ds)
    ]


def test_rates_per_appraiser_as_aiag_defines_them() -> None:
    """Hand count. Appraiser Y: p1 all right, p2 one false alarm, p4 one miss, p5 right:
    effectiveness 4/6 (parts with every trial right), miss 1/4 (decisions on reject parts),
    false alarm 1/8 (decisions on accept parts). X is perfect."""
    perfect = {p: (d, d) for p, d in REFS.items()}
    y = dict(perfect, p2=(A, R), p4=(R, A))
    result = attribute_agreement(study({"X": perfect, "Y": y}), REFS)
    x_score, y_score = result.appraisers
    assert (x_score.effectiveness, x_score.miss_rate, x_score.false_alarm_rate) == (1.0, 0.0, 0.0)
    assert x_score.within == 1.0 and x_score.vs_reference.kappa == 1.0
    assert y_score.effectiveness == pytest.approx(4 / 6)
    assert y_score.miss_rate == pytest.approx(1 / 4)
    assert y_score.false_alarm_rate == pytest.approx(1 / 8)
    # Y within: trial 1 vs 2 over 6 parts: agree on 4 -> p_o 4/6; margins accept 4/6 and 4/6
    # -> p_e = 16/36 + 4/36 = 20/36; κ = (24/36 - 20/36)/(16/36) = 0.25.
    assert y_score.within == pytest.approx(0.25)
    ((a, b, between),) = result.between
    assert (a, b) == ("X", "Y") and between.n == 12
    assert result.verdict == "unacceptable"
    assert attribute_agreement(study({"X": perfect, "Y": y}), REFS, {"kappa": 0.2}).verdict == (
        "acceptable"
    )


def test_only_one_reference_decision_is_noted() -> None:
    refs: dict[str, Decision] = {"p1": A, "p2": A}
    result = attribute_agreement(
        study({"X": {"p1": (A, A), "p2": (A, A)}, "Y": {"p1": (A, A), "p2": (A, A)}}), refs
    )
    assert result.verdict == "acceptable"
    assert result.appraisers[0].miss_rate is None
    assert "cannot show discrimination" in result.notes[0]


def test_missing_and_unknown_parts_are_refused() -> None:
    perfect = {p: (d, d) for p, d in REFS.items()}
    partial = {p: ds for p, ds in perfect.items() if p != "p3"}
    with pytest.raises(MsaError, match="Y/p3/1"):
        attribute_agreement(study({"X": perfect, "Y": partial}), REFS)
    with pytest.raises(MsaError, match="without a reference decision: p9"):
        attribute_agreement(study({"X": {**perfect, "p9": (A, A)}, "Y": perfect}), REFS)


decisions = st.sampled_from([A, R])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(decisions, decisions), min_size=1, max_size=40))
def test_kappa_properties(pairs: list[tuple[Decision, Decision]]) -> None:
    """κ of identical decisions is 1; κ is symmetric, never above 1, order-free."""
    assert cohen_kappa([(x, x) for x, _ in pairs]).kappa == 1.0
    k = cohen_kappa(pairs).kappa
    assert k <= 1.0 + 1e-12
    assert cohen_kappa([(y, x) for x, y in pairs]).kappa == pytest.approx(k, abs=1e-12)
    assert cohen_kappa(list(reversed(pairs))).kappa == k


@settings(max_examples=50, deadline=None)
@given(st.lists(decisions, min_size=4, max_size=4), st.randoms(use_true_random=False))
def test_study_order_is_irrelevant(refs_list: list[Decision], rnd: object) -> None:
    refs = {f"p{i}": d for i, d in enumerate(refs_list)}
    judgements = [
        Judgement(a, p, t, d if (i + t) % 3 else (R if d == A else A))
        for (a, (i, (p, d)), t) in product("XYZ", enumerate(refs.items()), (1, 2))
    ]
    shuffled = list(judgements)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert attribute_agreement(shuffled, refs) == attribute_agreement(judgements, refs)
