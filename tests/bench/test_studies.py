"""Gauge studies at the bench (issue 17), driven by scans, badges, readings and Ctrl+P/F
through `Workflow` against a real store: a Type-1 of 25 readings, a gauge R&R with appraiser
switches in any order, an attribute agreement, a restart mid-study, a redo with its audit
trail, and the study gate refusing (or warning about) the instrument afterwards."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from drivers.base import Reading
from station.bench.notice import Notice
from station.bench.workflow import Mode, Workflow, poll_targets
from station.core.msa_type1 import type1
from station.schemas import schema_errors
from station.settings import Config
from station.store import Record, Store
from station.ui.offered import offered
from tests.helpers.clocks import SettableClock
from tests.helpers.study_setup import TYPE1_VALUES, publish_procedure, qualify

RD = Callable[[float, str | None, str], Reading]
PART = "0109506000134352"  # P-1001's GTIN (plan P-1001 rev C: bore-dia, seat-dia T = 0.1 mm)

# 3 parts x 2 appraisers x 2 trials: %GRR 22.25 (average and range), 21.99 (ANOVA): between
# 10 and 30, conditional (AIAG MSA 4th ed. guidelines); values computed with station.core.
GRR = {
    ("op-17", "P1", 1): 10.00, ("op-17", "P1", 2): 10.02,
    ("op-17", "P2", 1): 10.05, ("op-17", "P2", 2): 10.06,
    ("op-17", "P3", 1): 10.10, ("op-17", "P3", 2): 10.10,
    ("op-23", "P1", 1): 10.01, ("op-23", "P1", 2): 10.03,
    ("op-23", "P2", 1): 10.06, ("op-23", "P2", 2): 10.07,
    ("op-23", "P3", 1): 10.11, ("op-23", "P3", 2): 10.11,
}  # fmt: skip
REFERENCES = {"S-1": "accept", "S-2": "reject", "S-3": "accept", "S-4": "reject"}


@pytest.fixture
def study_wf(wf: Workflow, store: Store) -> Workflow:
    """op-17 and op-23 hold MSA-1; op-31 (badge B-1031) does not; the study procedures."""
    op = store.master_doc("operator", "op-23")
    assert op is not None
    new = op | {"id": "op-31", "badge": "B-1031", "name": "C. New"}
    store.apply_master("operator", "op-31", new, source="test")
    qualify(store, "op-17")
    qualify(store, "op-23")
    publish_procedure(store, "T1-CALIPER", "type-1", tolerance=0.1, readings=25)
    publish_procedure(store, "T1-NARROW", "type-1", tolerance=0.05, readings=25)
    publish_procedure(store, "GRR-CALIPER", "grr", tolerance=0.5, parts=3, appraisers=2, trials=2)
    publish_procedure(
        store, "AA-VISUAL", "attribute-agreement", parts=4, appraisers=2, trials=2,
        references=REFERENCES,
    )  # fmt: skip
    wf.refresh_master()
    return wf


def caliper(wf: Workflow, rd: RD, value: float) -> Notice:
    return wf.reading("caliper", rd(value, "mm", f"01A+{value:08.3f}"))


def records(store: Store, kind: str) -> list[Record]:
    return [r for r in store.records(limit=100_000) if r.type == kind]


def events(store: Store, kind: str) -> list[dict[str, Any]]:
    return [r.body for r in records(store, "event") if r.body["kind"] == kind]


def assert_contract_valid(rec: Record) -> None:
    assert schema_errors("record", rec.envelope()) == []


def run_type1(wf: Workflow, rd: RD, procedure: str = "T1-CALIPER") -> Notice:
    assert wf.scan(procedure).level == "ok"
    assert wf.scan("CAL-0042").level == "ok"
    assert wf.scan("GB-10").level == "info"
    n = Notice("info", "")
    for v in TYPE1_VALUES:
        n = caliper(wf, rd, v)
    return n


def test_type1_of_25_readings_records_a_contract_valid_study(
    study_wf: Workflow, store: Store, rd: RD
) -> None:
    wf = study_wf
    wf.scan("B-1017")
    n = wf.scan("T1-CALIPER")
    assert n.level == "ok" and wf.state.mode is Mode.STUDY, n.lines()
    assert "instrument under study" in n.text
    assert wf.scan("GB-10").refused  # the instrument first
    assert wf.scan("CAL-0007").refused  # overdue: not fit for a study either
    assert wf.scan("CAL-0042").level == "ok"
    assert caliper(wf, rd, 10.0).level == "warn"  # no reference standard yet: not taken
    assert "reference GB-10 = 10 mm" in wf.scan("GB-10").text
    for i, v in enumerate(TYPE1_VALUES[:-1]):
        n = caliper(wf, rd, v)
        assert n.recorded and f"reading {i + 2}/25" in n.text, n.lines()
    assert records(store, "study") == []
    n = caliper(wf, rd, TYPE1_VALUES[-1])
    assert n.level == "error" and n.recorded and "UNACCEPTABLE" in n.text, n.lines()
    [rec] = records(store, "study")  # the store validated it against the schema
    assert_contract_valid(rec)
    b = rec.body
    expected = type1(TYPE1_VALUES, reference=10.0, tolerance=0.1, resolution=0.01)
    assert b["kind"] == "type-1" and b["procedure"] == {"id": "T1-CALIPER", "rev": "A"}
    assert b["instrument"] == "CAL-0042" and b["standard"] == "GB-10" and b["reference"] == 10.0
    assert b["operator"] == "op-17" and b["tolerance"] == 0.1 and b["resolution"] == 0.01
    assert [r["value"] for r in b["readings"]] == TYPE1_VALUES
    assert [r["trial"] for r in b["readings"]] == list(range(1, 26))
    assert b["readings"][0]["raw"] == "01A+0010.000"
    assert b["results"]["cg"] == pytest.approx(expected.cg) and expected.cg is not None
    assert expected.cg < 1.33 and b["verdict"] == "unacceptable"
    assert store.load_draft() is None
    assert wf.leave_study().level == "info" and wf.state.mode is Mode.READY


def test_the_gate_refuses_the_instrument_for_a_tolerance_within_an_unacceptable_type1(
    study_wf: Workflow, store: Store, rd: RD
) -> None:
    wf = study_wf
    wf.scan("B-1017")
    run_type1(wf, rd)  # unacceptable for T = 0.1 mm
    wf.leave_study()
    assert wf.scan(PART + "21S1").level == "ok"
    wf.scan("CAL-0042")
    n = caliper(wf, rd, 12.35)  # bore-dia: T = 12.4 - 12.3 = 0.1 <= 0.1: refused
    assert n.refused, n.lines()
    assert any("Type-1 study T1-CALIPER" in line and "unacceptable" in line for line in n.lines())
    refused = events(store, "reading-refused")
    assert refused and "Type-1" in refused[-1]["detail"]["reasons"][0]


def test_a_narrower_unacceptable_study_leaves_wider_tolerances_alone(
    study_wf: Workflow, store: Store, rd: RD
) -> None:
    wf = study_wf
    wf.scan("B-1017")
    run_type1(wf, rd, "T1-NARROW")  # unacceptable for T = 0.05 mm only
    wf.leave_study()
    wf.scan(PART + "21S1")
    wf.scan("CAL-0042")
    n = caliper(wf, rd, 12.35)  # bore-dia T = 0.1 > 0.05
    assert n.level == "ok" and not any("Type-1" in line for line in n.lines()), n.lines()


@dataclass(frozen=True)
class Input:
    """What choosing a poll input reads of an input reader: its name and mode."""

    name: str
    mode: str


def test_the_inputs_follow_the_instrument_under_study(
    study_wf: Workflow, store: Store, rd: RD
) -> None:
    wf = study_wf
    wf.scan("B-1017")
    wf.scan("T1-CALIPER")
    assert "no instrument under study" in (wf.input_refusal("caliper") or "")
    wf.scan("CAL-0042")
    wf.scan("GB-10")
    assert wf.input_refusal("caliper") is None
    assert caliper(wf, rd, 10.0).recorded  # binds the input to CAL-0042
    # A poll key asks the input that reads the instrument under study, not the balance
    # (the inspection rule would look for the type of a characteristic: there is none).
    readers = [Input("balance", "poll"), Input("caliper", "poll"), Input("torque", "poll")]
    chosen, why = poll_targets(wf, readers)
    assert [r.name for r in chosen] == ["caliper"], why
    assert offered("poll", wf, wf.ctx.config, readers)  # the bench offers the poll key
    # The instrument falls overdue mid-study: the screen says why before a reading is refused.
    inst = store.master_doc("instrument", "CAL-0042")
    assert inst is not None
    store.apply_master("instrument", "CAL-0042", inst | {"cal_due": "2026-11-01"}, source="test")
    refusal = wf.input_refusal("caliper") or ""
    assert "CAL-0042" in refusal and "overdue" in refusal
    assert caliper(wf, rd, 10.01).refused


def grr_reading(wf: Workflow, rd: RD, appraiser: str, part: str, trial: int) -> Notice:
    n = wf.scan(part)
    assert not n.refused, n.lines()
    return caliper(wf, rd, GRR[(appraiser, part, trial)])


def test_grr_with_badge_switches_in_any_order_records_both_methods(
    study_wf: Workflow, store: Store, rd: RD
) -> None:
    wf = study_wf
    wf.scan("B-1017")
    n = wf.scan("GRR-CALIPER")
    assert n.level == "ok", n.lines()
    n = wf.scan("CAL-0042")
    assert "scan a part label" in n.text and "not named yet" in n.text, n.lines()
    assert grr_reading(wf, rd, "op-17", "P2", 1).recorded
    assert grr_reading(wf, rd, "op-17", "P3", 1).recorded
    n = wf.scan("B-1031")  # op-31 lacks MSA-1: may not appraise
    assert n.refused and "MSA-1" in " ".join(n.lines()), n.lines()
    assert events(store, "appraiser-refused")
    n = wf.scan("B-1023")  # another badge: the appraiser switches, nobody logs out
    assert n.level == "ok" and wf.state.operator is not None, n.lines()
    assert wf.state.operator.id == "op-17" and wf.state.study is not None
    assert wf.state.study.appraiser == "op-23"
    for part, trial in (("P1", 1), ("P1", 2), ("P3", 1), ("P2", 1), ("P3", 2), ("P2", 2)):
        n = grr_reading(wf, rd, "op-23", part, trial)
        assert n.recorded, n.lines()
    assert caliper(wf, rd, 10.0).refused  # op-23 has P2 twice: not taken
    n = wf.scan("B-1017")  # the logged-in operator's own badge: appraiser again, no logout
    assert wf.state.operator is not None and wf.state.study.appraiser == "op-17", n.lines()
    assert "suggested: P1" in wf.state.study.prompt()  # the only part op-17 still needs
    for part, trial in (("P1", 1), ("P2", 2), ("P1", 2), ("P3", 2)):
        n = grr_reading(wf, rd, "op-17", part, trial)
    assert n.level == "warn" and "CONDITIONAL" in n.text, n.lines()
    [rec] = records(store, "study")
    assert_contract_valid(rec)
    b = rec.body
    assert b["kind"] == "grr" and b["appraisers"] == ["op-17", "op-23"]
    assert b["verdict"] == "conditional" and len(b["readings"]) == 12
    got = {(r["appraiser"], r["part"], r["trial"]): r["value"] for r in b["readings"]}
    assert got == GRR
    ar, an = b["results"]["average-range"], b["results"]["anova"]
    assert round(ar["pct_grr"], 2) == 22.25 and round(an["pct_grr"], 2) == 21.99
    assert ar["ndc"] == 6 and an["p_interaction"] is not None
    assert [e["detail"]["appraiser"] for e in events(store, "appraiser-switched")] == [
        "op-23",
        "op-17",
    ]
    # The gate afterwards: bore-dia's T = 0.1 <= 0.5, conditional: taken, with a warning.
    wf.leave_study()
    wf.scan(PART + "21S9")
    wf.scan("CAL-0042")
    n = caliper(wf, rd, 12.35)
    assert not n.refused and any("conditional" in line for line in n.lines()), n.lines()
    # Once the study is recorded the own badge logs out as always.
    assert "logged out" in wf.scan("B-1017").text


def test_attribute_agreement_with_ctrl_p_and_ctrl_f(
    study_wf: Workflow, store: Store, rd: RD
) -> None:
    wf = study_wf
    wf.scan("B-1017")
    wf.scan("AA-VISUAL")
    wf.scan("CAL-0042")
    assert wf.judge_attribute(True).level == "warn"  # no part named yet: not taken
    assert wf.scan("S-9").refused  # not a sample part of the procedure
    assert wf.scan("S-3").level == "info"
    assert caliper(wf, rd, 10.0).refused  # decisions, not readings
    for badge in ("B-1017", "B-1023"):
        if badge == "B-1023":
            assert wf.scan(badge).level == "ok"
        for part in ("S-3", "S-1", "S-4", "S-2"):
            wf.scan(part)
            for _ in range(2):
                n = wf.judge_attribute(REFERENCES[part] == "accept")
    assert n.level == "ok" and "ACCEPTABLE" in n.text, n.lines()
    [rec] = records(store, "study")
    assert_contract_valid(rec)
    b = rec.body
    assert b["kind"] == "attribute-agreement" and b["verdict"] == "acceptable"
    assert {r["decision"] for r in b["readings"]} == {"accept", "reject"}
    assert all(r["value"] is None for r in b["readings"])
    assert all(a["kappa_reference"]["kappa"] == 1.0 for a in b["results"]["appraisers"])


def test_a_restart_mid_study_resumes_it_for_its_operator_with_the_same_suggestions(
    study_wf: Workflow, store: Store, config: Config, clock: SettableClock, rd: RD
) -> None:
    wf = study_wf
    wf.scan("B-1017")
    wf.scan("GRR-CALIPER")
    wf.scan("CAL-0042")
    for part in ("P1", "P2", "P3"):
        grr_reading(wf, rd, "op-17", part, 1)
    wf.scan("B-1023")
    grr_reading(wf, rd, "op-23", "P1", 1)
    assert wf.state.study is not None
    order = wf.state.study.order("op-23")
    again = Workflow(store, config, clock)  # the bench restarted
    n = again.load_unfinished()
    assert n is not None and "log in as op-17" in n.text, n.lines()
    assert again.scan("B-1023").level == "warn"  # not the study's operator: only Esc
    assert again.state.mode is Mode.STUDY and again.scan("P2").refused
    again.logout("test")
    n = again.scan("B-1017")
    assert "resumed" in n.text and again.state.mode is Mode.STUDY, n.lines()
    study = again.state.study
    assert study is not None and study.appraiser == "op-23" and study.part == "P1"
    assert study.order("op-23") == order and len(study.readings) == 4
    assert grr_reading(again, rd, "op-23", "P1", 2).recorded
    for part, trial in (("P2", 1), ("P2", 2), ("P3", 1), ("P3", 2)):
        grr_reading(again, rd, "op-23", part, trial)
    again.scan("B-1017")
    for part in ("P1", "P2", "P3"):
        n = grr_reading(again, rd, "op-17", part, 2)
    assert "CONDITIONAL" in n.text, n.lines()
    assert len(records(store, "study")) == 1


def test_logout_keeps_the_study_and_esc_abandons_it_as_an_event(
    study_wf: Workflow, store: Store, rd: RD
) -> None:
    wf = study_wf
    wf.scan("B-1017")
    wf.scan("T1-CALIPER")
    wf.scan("CAL-0042")
    wf.scan("GB-10")
    caliper(wf, rd, 10.0)
    n = wf.scan("B-1017")  # a Type-1 has one operator: the own badge logs out
    assert "unfinished study is kept" in n.text and wf.state.study is not None
    wf.scan("B-1017")
    assert wf.state.mode is Mode.STUDY
    assert wf.start_check().refused
    assert wf.leave_study().level == "warn"
    [abandoned] = events(store, "study-abandoned")
    assert abandoned["operator"] == "op-17" and len(abandoned["detail"]["study"]["readings"]) == 1
    assert store.load_draft() is None and wf.state.mode is Mode.READY


def test_redo_replaces_the_last_reading_and_keeps_the_old_one_in_the_audit_trail(
    study_wf: Workflow, store: Store, rd: RD
) -> None:
    wf = study_wf
    wf.scan("B-1017")
    assert wf.scan("T1-CALIPER").level == "ok"
    wf.scan("CAL-0042")
    wf.scan("GB-10")
    assert wf.redo().refused  # nothing taken yet
    caliper(wf, rd, 10.00)
    caliper(wf, rd, 10.30)  # a slip
    n = wf.redo()
    assert n.level == "info" and "replaces reading 2" in n.text, n.lines()
    n = caliper(wf, rd, 10.01)
    assert n.recorded and "reading 2" in n.text, n.lines()
    [ev] = events(store, "reading-replaced")
    assert ev["detail"]["old"]["value"] == 10.30 and ev["detail"]["new"]["value"] == 10.01
    assert ev["detail"]["old"]["trial"] == ev["detail"]["new"]["trial"] == 2
    for v in TYPE1_VALUES[2:]:
        n = caliper(wf, rd, v)
    [rec] = records(store, "study")
    assert [r["value"] for r in rec.body["readings"]] == TYPE1_VALUES


def test_a_grr_redo_belongs_to_the_appraiser_who_took_it(
    study_wf: Workflow, store: Store, rd: RD
) -> None:
    wf = study_wf
    wf.scan("B-1017")
    wf.scan("GRR-CALIPER")
    wf.scan("CAL-0042")
    grr_reading(wf, rd, "op-17", "P1", 1)
    wf.scan("B-1023")
    assert wf.redo().refused  # op-17's reading: op-23 may not replace it
    wf.scan("B-1017")
    assert wf.redo().level == "info"
    n = caliper(wf, rd, 10.004)
    assert n.recorded and "op-17/P1 trial 1" in n.text, n.lines()
    study = wf.state.study
    assert study is not None and [r.value for r in study.readings] == [10.004]
