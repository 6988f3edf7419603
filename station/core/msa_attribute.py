"""Attribute agreement (AIAG MSA 4th ed., 2010, ch. III §C "Attribute Measurement Systems
Study": the hypothesis test / cross-tab analyses and the signal detection rates).

Each appraiser decides accept/reject for every sample part in every trial; the procedure holds
the reference (expert) decision of each part.

Cohen's kappa (Cohen 1960; AIAG, cross-tab method): κ = (p_o - p_e)/(1 - p_e), p_o the observed
agreement, p_e the agreement expected by chance from the two margins.

- between an appraiser pair (AIAG's cross-tab A*B): trial t of one against trial t of the
  other, for every part and trial (n·r pairs);
- against the reference (AIAG's A*reference): every decision against the part's reference;
- within an appraiser (repeatability): the mean of Cohen's kappa over every pair of trials
  (Light's kappa, Light 1971), since Cohen's kappa compares two ratings.

Degenerate case: when both sides used one and the same decision throughout, p_e = 1 and
κ = 0/0. Then agreement is perfect but says nothing about discrimination: κ is defined as 1
here, and a note says the parts lacked the other decision. (p_e = 1 implies p_o = 1, so no
other 0/0 arises.)

Per appraiser (AIAG's effectiveness / miss rate / false alarm rate table):
effectiveness = parts whose every trial matched the reference / parts; miss rate = "accept"
of a reference-reject part / all decisions on reference-reject parts; false alarm rate =
"reject" of a reference-accept part / all decisions on reference-accept parts (None when
there was no such opportunity).

Verdict: acceptable when every kappa >= 0.75 (AIAG: kappa above 0.75 is good to excellent agreement;
limit `kappa`, overridable), else unacceptable.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Literal

from station.core.msa_tables import MsaError

Decision = Literal["accept", "reject"]
DEFAULT_LIMITS: dict[str, float] = {"kappa": 0.75}


@dataclass(frozen=True)
class Judgement:
    """One attribute decision: who judged which part in which trial, and how."""

    appraiser: str
    part: str
    trial: int
    decision: Decision


@dataclass(frozen=True)
class Kappa:
    """Cohen's kappa with what it was computed from."""

    kappa: float
    p_observed: float
    p_chance: float
    n: int
    degenerate: bool  # p_chance = 1: both sides used one decision only


def cohen_kappa(pairs: Sequence[tuple[Decision, Decision]]) -> Kappa:
    """Cohen's kappa of paired decisions (Cohen 1960); 1 in the degenerate case (see above)."""
    n = len(pairs)
    if n == 0:
        raise MsaError("kappa needs at least one pair of decisions")
    agree = sum(1 for x, y in pairs if x == y)
    a_acc = sum(1 for x, _ in pairs if x == "accept")
    b_acc = sum(1 for _, y in pairs if y == "accept")
    p_o = agree / n
    p_e = (a_acc * b_acc + (n - a_acc) * (n - b_acc)) / (n * n)
    if p_e == 1.0:
        return Kappa(1.0, p_o, p_e, n, True)
    return Kappa((p_o - p_e) / (1.0 - p_e), p_o, p_e, n, False)


@dataclass(frozen=True)
class AppraiserScore:
    """AIAG's per-appraiser figures."""

    appraiser: str
    within: float  # Light's kappa over trial pairs
    vs_reference: Kappa
    effectiveness: float
    miss_rate: float | None
    false_alarm_rate: float | None


@dataclass(frozen=True)
class AttributeResult:
    """The attribute agreement study."""

    appraisers: tuple[AppraiserScore, ...]
    between: tuple[tuple[str, str, Kappa], ...]
    verdict: Literal["acceptable", "unacceptable"]
    notes: tuple[str, ...] = ()


def attribute_agreement(
    judgements: Iterable[Judgement],
    references: Mapping[str, Decision],
    limits: Mapping[str, float] | None = None,
) -> AttributeResult:
    """Kappas, effectiveness, miss and false-alarm rates (AIAG MSA 4th ed., ch. III §C)."""
    grid: dict[str, dict[str, dict[int, Decision]]] = {}
    for j in judgements:
        trials = grid.setdefault(j.appraiser, {}).setdefault(j.part, {})
        if j.trial in trials:
            raise MsaError(f"appraiser {j.appraiser} part {j.part} trial {j.trial} given twice")
        trials[j.trial] = j.decision
    appraisers = tuple(sorted(grid))
    parts = tuple(sorted(references))
    trial_numbers = tuple(sorted({t for bp in grid.values() for ts in bp.values() for t in ts}))
    if len(appraisers) < 2 or len(parts) < 2 or len(trial_numbers) < 2:
        raise MsaError("need 2+ appraisers, 2+ reference parts and 2+ trials")
    unknown = sorted({p for bp in grid.values() for p in bp} - set(parts))
    if unknown:
        raise MsaError(f"parts without a reference decision: {', '.join(unknown)}")
    missing = [
        f"{a}/{p}/{t}"
        for a in appraisers
        for p in parts
        for t in trial_numbers
        if t not in grid[a].get(p, {})
    ]
    if missing:
        raise MsaError(f"unbalanced study, missing appraiser/part/trial: {', '.join(missing)}")

    def d(a: str, p: str, t: int) -> Decision:
        return grid[a][p][t]

    notes: list[str] = []
    if len(set(references.values())) < 2:
        notes.append("every reference decision is the same: kappa cannot show discrimination")
    scores: list[AppraiserScore] = []
    for a in appraisers:
        within = [
            cohen_kappa([(d(a, p, t1), d(a, p, t2)) for p in parts]).kappa
            for t1, t2 in combinations(trial_numbers, 2)
        ]
        vs_ref = cohen_kappa([(d(a, p, t), references[p]) for p in parts for t in trial_numbers])
        correct = sum(1 for p in parts if all(d(a, p, t) == references[p] for t in trial_numbers))
        bad = [d(a, p, t) for p in parts if references[p] == "reject" for t in trial_numbers]
        good = [d(a, p, t) for p in parts if references[p] == "accept" for t in trial_numbers]
        scores.append(
            AppraiserScore(
                a,
                math.fsum(within) / len(within),
                vs_ref,
                correct / len(parts),
                bad.count("accept") / len(bad) if bad else None,
                good.count("reject") / len(good) if good else None,
            )
        )
    between = tuple(
        (a, b, cohen_kappa([(d(a, p, t), d(b, p, t)) for p in parts for t in trial_numbers]))
        for a, b in combinations(appraisers, 2)
    )
    limit = {**DEFAULT_LIMITS, **(limits or {})}["kappa"]
    kappas = [s.within for s in scores] + [s.vs_reference.kappa for s in scores]
    kappas += [k.kappa for _, _, k in between]
    verdict: Literal["acceptable", "unacceptable"] = (
        "acceptable" if all(k >= limit for k in kappas) else "unacceptable"
    )
    return AttributeResult(tuple(scores), between, verdict, tuple(notes))


__all__ = [
    "DEFAULT_LIMITS",
    "AppraiserScore",
    "AttributeResult",
    "Decision",
    "Judgement",
    "Kappa",
    "attribute_agreement",
    "cohen_kappa",
]
