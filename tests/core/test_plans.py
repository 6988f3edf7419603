"""Plan selection: exactly one released revision per part."""

from __future__ import annotations

import pytest

from station.core.model import Characteristic, Plan
from station.core.plans import PlanSelectionError, plans_for_part, select_plan

CHARS = (Characteristic("burr-free", "attribute"),)


def plan(pid: str, rev: str, status: str, *parts: str) -> Plan:
    return Plan(pid, rev, status, parts or ("PN-1",), CHARS)  # type: ignore[arg-type]


def test_the_released_revision_is_selected() -> None:
    plans = [plan("P-1", "A", "obsolete"), plan("P-1", "B", "released"), plan("P-1", "C", "draft")]
    assert select_plan("PN-1", plans).rev == "B"


def test_no_released_revision_names_what_was_found() -> None:
    with pytest.raises(PlanSelectionError) as info:
        select_plan("PN-1", [plan("P-1", "A", "draft")])
    assert str(info.value) == "no released plan for part PN-1 (revisions found: P-1 rev A draft)"


def test_unknown_part() -> None:
    with pytest.raises(
        PlanSelectionError, match=r"^no released plan for part PN-X \(revisions found: none\)$"
    ):
        select_plan("PN-X", [plan("P-1", "A", "released")])


def test_several_released_revisions_are_an_error_naming_them() -> None:
    plans = [plan("P-1", "A", "released"), plan("P-2", "B", "released", "PN-1", "PN-2")]
    with pytest.raises(
        PlanSelectionError,
        match=r"^several released plans for part PN-1: P-1 rev A released, P-2 rev B released; "
        r"the QMS must release exactly one revision per part$",
    ):
        select_plan("PN-1", plans)
    assert select_plan("PN-2", plans).id == "P-2"


def test_part_numbers_match_exactly() -> None:
    plans = [plan("P-1", "A", "released", "PN-1")]
    assert plans_for_part("pn-1", plans) == ()
    assert plans_for_part("PN-1 ", plans) == ()
