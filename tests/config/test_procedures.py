"""The `procedure` master kind (contract 1.1, `procedure.schema.json`; issue 15): the shipped
calibration procedures validate and convert, what the schema leaves open is checked, and a
procedure travels the same paths as a plan (folder, MQTT, store with every revision)."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from station.core.calibration import PointSpec
from station.master import load_master_dir, master_snapshot, validate_master
from station.store import Store
from station.sync.master_inbox import MasterInbox

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "config" / "master"


def shipped(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((SHIPPED / f"procedure-{name}.json").read_text("utf-8"))
    return doc


def test_the_shipped_procedures_validate_and_convert() -> None:
    docs, problems = load_master_dir(SHIPPED)
    assert problems == []
    snap = master_snapshot(docs)
    assert [p.id for p in snap.procedures] == [
        "CP-BALANCE", "CP-CALIPER", "CP-TORQUE-WRENCH", "GRR-CALIPER", "T1-CALIPER",
    ]  # fmt: skip
    t1, grr = snap.released_procedure("T1-CALIPER"), snap.released_procedure("GRR-CALIPER")
    assert t1 is not None and (t1.kind, t1.readings, t1.tolerance) == ("type-1", 50, 0.1)
    # AIAG MSA 4th ed.'s layout: 10 parts x 3 appraisers x 3 trials, its default limits.
    assert grr is not None and (grr.parts, grr.appraisers, grr.trials) == (10, 3, 3)
    assert dict(grr.limits) == {"pct_grr": 10.0, "pct_grr_conditional": 30.0, "ndc": 5.0}
    wrench = snap.released_procedure("CP-TORQUE-WRENCH")
    assert wrench is not None and wrench.kind == "calibration" and wrench.interval_days == 365
    assert wrench.points[0] == PointSpec(
        "set-20", 20.0, 5, mpe_rel=0.04, source="reference-instrument", standard_type="torque"
    )
    balance = snap.released_procedure("CP-BALANCE")
    assert balance is not None and balance.rule == "guarded"
    assert balance.points[0].test == "repeatability" and balance.points[0].limit == 0.02
    caliper = snap.released_procedure("CP-CALIPER")
    assert caliper is not None and caliper.instrument_types == ("caliper",)
    assert [p.nominal for p in caliper.points] == [5.0, 10.0, 25.0, 50.0, 100.0, 150.0]


@pytest.mark.parametrize(
    ("path", "value", "reason"),
    [
        (
            "points.0.mpe_rel",
            0.04,
            "$.points[0]: an error test needs exactly one of mpe and mpe_rel",
        ),
        ("points.0.mpe", ..., "$.points[0]: an error test needs exactly one of mpe and mpe_rel"),
        (
            "points.1.name",
            "outside-5",
            "$.points[1].name: duplicate point name, also at $.points[0]",
        ),
        ("interval_days", 100_000, "$.interval_days: must be at most 3660 (10 years)"),
        ("points.0.nominal", 1e300, "$.points[0].nominal: must be between -1e12 and 1e12"),
        ("points.0.test", "repeatability", "$.points[0]: a repeatability test needs limit"),
    ],
)
def test_what_the_schema_leaves_open_is_refused_with_its_path(
    path: str, value: Any, reason: str
) -> None:
    doc = copy.deepcopy(shipped("CP-CALIPER-A"))
    *parents, last = path.split(".")
    holder: Any = doc
    for key in parents:
        holder = holder[int(key)] if key.isdigit() else holder[key]
    if value is ...:
        del holder[last]
    else:
        holder[last] = value
    problems = validate_master("procedure", doc)
    assert any(line.startswith(reason) for line in problems), problems


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "station.db", site="plant-a", station="bench-01") as s:
        yield s


def test_a_procedure_arrives_over_mqtt_and_every_revision_is_kept(store: Store) -> None:
    inbox = MasterInbox(store, site="plant-a", max_bytes=1 << 20)
    rev_a = shipped("CP-CALIPER-A")
    rev_b = rev_a | {"rev": "B", "interval_days": 180}
    obsolete_a = rev_a | {"status": "obsolete"}
    topic = b"qms/v1/plant-a/master/procedure/CP-CALIPER"
    for doc in (rev_a, rev_b, obsolete_a):
        out = inbox.handle(topic, json.dumps(doc).encode())
        assert out.action == "applied", out
    snap = store.master_data()
    assert [(p.rev, p.status) for p in snap.procedures] == [("A", "obsolete"), ("B", "released")]
    released = snap.released_procedure("CP-CALIPER")
    assert released is not None and released.rev == "B" and released.interval_days == 180
    bad = inbox.handle(topic, json.dumps(rev_a | {"kind": "weighing"}).encode())
    assert bad.action == "rejected" and "$.kind" in bad.detail
