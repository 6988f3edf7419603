"""End to end (issue 17): a Type-1 and a gauge R&R driven by scans, badge switches and pty
frames reach the central as contract-valid `study` records, and the study gate refuses the
instrument afterwards.

The whole demo world runs (`tests.helpers.demo_bench`: simulators on ptys, a real mosquitto,
`sim.central` and the real `station sync` daemon over the bench's store). The QMS publishes the
study procedures, a plan with a narrow caliper characteristic and three operators holding the
MSA qualification, retained on the master topics, as a QMS does; the sync daemon applies them.
Every scan goes through the scanner's pty and the serial scanner driver, every value through
the caliper simulator's pty and the Mitutoyo driver, into the bench's own `Workflow`.

- Type-1 (Bosch Booklet 10 §4.1): CAL-0042 scatters (the simulator's `noise`, s about 3 µm)
  on GB-10 against T = 0.05 mm: Cg = 0.2·T/(6·s) well below 1.33, so `unacceptable`.
- R&R (AIAG MSA 4th ed. ch. III §B): 3 parts x 3 appraisers x 2 trials, with Ana following
  the bench's suggested order for her second trial, Ben in his own order and Cleo in the
  bench's order; a badge scan switches the appraiser. Parts 0.15 mm apart and 2 µm of scatter
  against T = 0.3 mm: `acceptable`.
- The gate: CAL-0042 is then refused for pin-dia (T = 0.04 <= 0.05, with the Type-1's
  reason) and still measures bore-dia (T = 0.1 > 0.05).
"""

from __future__ import annotations

import itertools
import json
import statistics
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sim.net import wait_until
from sim.publish_master import master_topic, publish_retained
from station.bench.notice import Notice
from station.demo.environment import SITE
from station.demo.master_data import BADGE_QUALIFIED, PART_GTIN, demo_master_docs
from tests.helpers.central import delivery_problems, wait_for_central
from tests.helpers.demo_bench import DEBOUNCE_S, Bench, demo_bench

ANA, BEN, CLEO = "B-1017", "B-1023", "B-1031"  # op-17, op-23, op-31
TYPE1, GRR = "T1-E2E", "GRR-E2E"
NARROW_PART = "PN-3001"  # plan P-3001: pin-dia 6 +/- 0.02 mm (T = 0.04)
GRR_PARTS = {"P1": "12.200", "P2": "12.350", "P3": "12.500"}  # the sample parts' sizes
T1_TOLERANCE, GRR_TOLERANCE = 0.05, 0.3


def qms_master_docs() -> list[tuple[str, dict[str, Any]]]:
    """(kind, doc) the QMS publishes for the studies (contract procedure.schema.json)."""
    demo = {d["id"]: d for d in demo_master_docs(datetime.now(UTC).date())}
    msa = {"code": "MSA-1", "expires": "2099-12-31"}
    ana, ben = demo["op-17"], demo["op-23"]
    cleo = ana | {"id": "op-31", "name": "Cleo Metrologist", "badge": CLEO}
    cleo.pop("pin", None)
    operators = [op | {"qualifications": [*op["qualifications"], msa]} for op in (ana, ben, cleo)]
    study = {
        "schema": "qms.master/procedure@1", "rev": "A", "status": "released",
        "instrument_types": ["caliper"], "qualifications": ["MSA-1"], "unit": "mm",
    }  # fmt: skip
    type1 = study | {
        "id": TYPE1, "kind": "type-1", "title": "Caliper Type-1 on GB-10",
        "tolerance": T1_TOLERANCE, "readings": 25,
    }  # fmt: skip
    grr = study | {
        "id": GRR, "kind": "grr", "title": "Caliper R&R, 3 x 3 x 2",
        "tolerance": GRR_TOLERANCE, "parts": 3, "appraisers": 3, "trials": 2,
    }  # fmt: skip
    plan = {
        "schema": "qms.master/plan@1", "id": "P-3001", "rev": "A", "status": "released",
        "title": "Guide pin GP-6", "part_numbers": [NARROW_PART], "qualifications": ["DIM-2"],
        "characteristics": [
            {"id": "pin-dia", "name": "Pin diameter", "kind": "variable", "nominal": 6.0,
             "lsl": 5.98, "usl": 6.02, "unit": "mm", "instrument_type": "caliper"},
        ],
    }  # fmt: skip
    return [
        *(("operator", op) for op in operators),
        ("procedure", type1),
        ("procedure", grr),
        ("plan", plan),
    ]


def publish_study_master(bench: Bench) -> None:
    """Publish the QMS's documents and wait until the sync daemon stored them."""
    docs = qms_master_docs()
    problems = publish_retained(
        [(master_topic(SITE, kind, d["id"]), json.dumps(d).encode()) for kind, d in docs],
        host="127.0.0.1",
        port=bench.env.mqtt_port,
    )
    assert problems == []

    def stored() -> bool:
        return all(bench.store.master_doc(kind, d["id"]) == d for kind, d in docs)

    wait_until("the sync daemon to store the QMS's study master data", stored, 30)


def scan(bench: Bench, text: str) -> Notice:
    """A label scanned: through the scanner simulator's pty and the serial scanner driver."""
    bench.env.scanner.scan(text)
    return bench.wf.scan(bench.scanner.read_scan(5.0))


def press(bench: Bench, value: str) -> Notice:
    """The caliper's DATA button with `value` between the jaws (plus the simulator's bias and
    noise): the Mitutoyo frame travels the pty and the driver to the workflow."""
    wait = bench.last_press + DEBOUNCE_S - time.monotonic()
    if wait > 0:
        time.sleep(wait)  # the operator's pace, not a wait for readiness
    bench.env.caliper.value = value
    bench.env.caliper.press_button()
    reading = bench.caliper.read(5.0)
    bench.last_press = time.monotonic()
    return bench.wf.reading("caliper", reading)


def run_type1(bench: Bench) -> Notice:
    """Ana's Type-1 of CAL-0042 on GB-10 with a noisy caliper; the verdict notice."""
    n = scan(bench, TYPE1)
    assert n.level == "ok" and "instrument under study" in n.text, n.lines()
    assert scan(bench, "CAL-0042").level == "ok"
    assert "reference GB-10 = 10 mm" in scan(bench, "GB-10").text
    bench.env.caliper.noise = Decimal("0.003")
    bench.env.caliper.seed(17)
    for i in range(1, 25):
        n = press(bench, "10.000")
        assert n.recorded and f"reading {i + 1}/25" in n.text, n.lines()
    n = press(bench, "10.000")
    assert n.level == "error" and "UNACCEPTABLE" in n.text, n.lines()
    assert bench.wf.leave_study().level == "info"
    return n


def grr_take(bench: Bench, part: str) -> Notice:
    n = scan(bench, part)
    assert not n.refused, n.lines()
    return press(bench, GRR_PARTS[part])


def suggested(bench: Bench) -> str:
    """The part the bench suggests next to the current appraiser (AIAG's random order)."""
    study = bench.wf.state.study
    assert study is not None
    nxt = study.suggestion()
    assert nxt is not None, study.prompt()
    return nxt[0]


def run_grr(bench: Bench) -> Notice:
    """Ana, Ben and Cleo appraise P1..P3 twice; the badge scans switch the appraiser."""
    bench.env.caliper.noise = Decimal("0.002")
    bench.env.caliper.seed(23)
    assert scan(bench, GRR).level == "ok"
    n = scan(bench, "CAL-0042")
    assert "scan a part label" in n.text, n.lines()
    for part in ("P2", "P3", "P1"):  # Ana names the parts in her order, trial 1
        assert grr_take(bench, part).recorded
    for _ in range(3):  # then her trial 2 in the order the bench suggests
        n = grr_take(bench, suggested(bench))
        assert n.recorded, n.lines()
    n = scan(bench, BEN)  # another operator's badge: Ben appraises, Ana stays logged in
    assert n.level == "ok" and "appraiser op-23" in n.text, n.lines()
    assert bench.wf.state.operator is not None and bench.wf.state.operator.id == "op-17"
    for part in ("P3", "P3", "P1", "P2", "P1", "P2"):  # any order
        n = grr_take(bench, part)
        assert n.recorded, n.lines()
    n = scan(bench, CLEO)
    assert n.level == "ok" and "appraiser op-31" in n.text, n.lines()
    for _ in range(5):
        n = grr_take(bench, suggested(bench))
        assert n.recorded, n.lines()
    n = grr_take(bench, suggested(bench))  # the last reading completes the study
    assert n.level == "ok" and "ACCEPTABLE" in n.text, n.lines()
    assert bench.wf.leave_study().level == "info"
    return n


def check_gate(bench: Bench, type1_date: str) -> None:
    """The gate: refused for pin-dia (T 0.04 <= 0.05), not for bore-dia (T 0.1 > 0.05)."""
    bench.env.caliper.noise = Decimal(0)
    assert scan(bench, f"01{PART_GTIN}21E2E-1").level == "ok"  # plan P-1001: bore-dia
    n = scan(bench, "CAL-0042")
    assert not n.refused, n.lines()
    n = press(bench, "12.350")
    assert n.recorded and not n.refused and "Type-1" not in " ".join(n.lines()), n.lines()
    n = bench.wf.judge_attribute(True)  # visual-burr: the inspection completes
    assert "ACCEPTED" in n.text, n.lines()
    assert scan(bench, NARROW_PART).level == "ok"  # plan P-3001: pin-dia
    n = scan(bench, "CAL-0042")
    reason = (
        f"instrument CAL-0042: its Type-1 study {TYPE1} of {type1_date} is unacceptable for "
        "tolerances up to 0.05 mm; pin-dia has 0.04 mm"
    )
    assert n.refused and any(reason in line for line in n.lines()), n.lines()
    n = press(bench, "6.000")
    assert n.refused and any(reason in line for line in n.lines()), n.lines()


def shown(notice: Notice) -> str:
    return "\n".join(notice.lines())


def check_type1_figures(body: dict[str, Any], notice: Notice) -> None:
    """The central's Type-1 holds the readings and the figures the bench showed."""
    values = [r["value"] for r in body["readings"]]
    assert len(values) == 25 and len(set(values)) > 1  # the simulator's scatter arrived
    res = body["results"]
    s = statistics.stdev(values)
    cg = 0.2 * T1_TOLERANCE / (6 * s)  # Bosch Booklet 10 §4.1
    cgk = (0.1 * T1_TOLERANCE - abs(statistics.fmean(values) - 10.0)) / (3 * s)
    assert abs(res["cg"] - cg) < 1e-9 and abs(res["cgk"] - cgk) < 1e-9, res
    assert res["cg"] < 1.33 and body["verdict"] == "unacceptable"
    text = shown(notice)
    assert f"Cg {res['cg']:.3g}  Cgk {res['cgk']:.3g}" in text, text
    assert f"s {res['s']:.3g}" in text, text
    assert body["standard"] == "GB-10" and body["reference"] == 10.0
    assert body["operator"] == "op-17" and body["tolerance"] == T1_TOLERANCE


def check_grr_figures(body: dict[str, Any], notice: Notice) -> None:
    """The central's R&R holds every appraiser's readings and the figures shown."""
    got = {(r["appraiser"], r["part"], r["trial"]) for r in body["readings"]}
    want = itertools.product(("op-17", "op-23", "op-31"), GRR_PARTS, (1, 2))
    assert got == set(want) and len(body["readings"]) == 18
    assert body["appraisers"] == ["op-17", "op-23", "op-31"] and body["verdict"] == "acceptable"
    text = shown(notice)
    for method in ("average-range", "anova"):
        m = body["results"][method]
        assert m["pct_grr"] <= 10 and m["ndc"] >= 5, (method, m)
        line = f"{method}: %GRR {m['pct_grr']:.3g}  %tol {m['pct_tolerance']:.3g}  ndc {m['ndc']}"
        assert line in text, text


def test_a_type1_and_an_rr_reach_the_central_and_the_gate_refuses_the_instrument(
    tmp_path: Path,
) -> None:
    with demo_bench(tmp_path / "demo", with_sync=True, broker="mosquitto") as bench:
        publish_study_master(bench)
        assert scan(bench, BADGE_QUALIFIED).level == "ok"  # Ana logs in
        type1_shown = run_type1(bench)
        grr_shown = run_grr(bench)
        t1_local = bench.records("study")[0]  # the Type-1: it gates
        completed = datetime.fromisoformat(t1_local["completed"]).astimezone(UTC)
        check_gate(bench, completed.date().isoformat())
        last_seq = bench.store.last_seq()
        recs = wait_for_central(bench.env.workdir / "central.db", last_seq)
        assert delivery_problems(recs) == []  # once each, no gap, chained, contract-valid
        studies = [r["body"] for r in recs if r["type"] == "study"]
        assert [s["kind"] for s in studies] == ["type-1", "grr"]
        assert [s["procedure"] for s in studies] == [
            {"id": TYPE1, "rev": "A"},
            {"id": GRR, "rev": "A"},
        ]
        assert all(s["instrument"] == "CAL-0042" for s in studies)
        assert studies == bench.records("study")  # the bench's records, unchanged
        check_type1_figures(studies[0], type1_shown)
        check_grr_figures(studies[1], grr_shown)
        switched = [
            r["body"]["detail"]["appraiser"]
            for r in recs
            if r["type"] == "event" and r["body"]["kind"] == "appraiser-switched"
        ]
        assert switched == ["op-23", "op-31"]
