"""Numbers in master data that are valid JSON but would crash the bench are refused.

Issue 13.4: a resolution of 10**400 was applied and then `station bench` could not start;
`check_interval_h = 1e8` crashed the header (date out of range); `samples = 100000000`
exhausted the memory at the part scan. Issue 13.3: a plan limit of 10**400 raised
OverflowError inside validation itself. Each poison document must be rejected with its JSON
path, by `check-config` and on the MQTT master path (the sync daemon's `MasterInbox`, which
applies `validate_master` before `Store.apply_master`), and validation must never raise.
"""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from station.config_check import check_config_file
from station.master import BOUNDS, parse_json, semantic_errors, to_model, validate_master
from station.store import Store
from station.sync.master_inbox import MasterInbox
from tests.config.test_master import INSTRUMENT, PLAN, STANDARD, with_

HUGE = 10**400
SPC_PLAN = with_(PLAN, "characteristics.0.spc", {"chart": "imr", "baseline": 25})
APPROVED = with_(SPC_PLAN, "characteristics.0.spc", {"center": 12.35, "ucl": 12.4, "lcl": 12.3})

POISON: list[tuple[str, dict[str, Any], str]] = [
    ("instrument", with_(INSTRUMENT, "resolution", HUGE), "$.resolution: must be from 1e-12"),
    ("instrument", with_(INSTRUMENT, "resolution", 1e-300), "$.resolution: must be from 1e-12"),
    (
        "instrument",
        with_(INSTRUMENT, "check_interval_h", 1e8),
        "$.check_interval_h: must be at most 8784",
    ),
    ("instrument", with_(INSTRUMENT, "u", 1e308), "$.u: must be at most 1e6"),
    ("instrument", with_(INSTRUMENT, "mpe", HUGE), "$.mpe: must be at most 1e6"),
    ("standard", with_(STANDARD, "value", HUGE), "$.value: must be between -1e12 and 1e12"),
    ("standard", with_(STANDARD, "value", -1e300), "$.value: must be between -1e12 and 1e12"),
    ("standard", with_(STANDARD, "uncertainty", 1e20), "$.uncertainty: must be at most 1e6"),
    (
        "plan",
        with_(PLAN, "characteristics.0.samples", 100_000_000),
        "$.characteristics[0].samples: must be at most 1000",
    ),
    (
        "plan",
        with_(PLAN, "characteristics.0.lsl", HUGE),
        "$.characteristics[0].lsl: must be between -1e12 and 1e12",
    ),
    (
        "plan",
        with_(PLAN, "characteristics.0.usl", -HUGE),
        "$.characteristics[0].usl: must be between -1e12 and 1e12",
    ),
    (
        "plan",
        with_(PLAN, "characteristics.0.nominal", 1e200),
        "$.characteristics[0].nominal: must be between -1e12 and 1e12",
    ),
    (
        "plan",
        with_(SPC_PLAN, "characteristics.0.spc.baseline", 10**9),
        "$.characteristics[0].spc.baseline: must be at most 1000",
    ),
    (
        "plan",
        with_(APPROVED, "characteristics.0.spc.ucl", HUGE),
        "$.characteristics[0].spc.ucl: must be between -1e12 and 1e12",
    ),
]


@pytest.mark.parametrize(("kind", "doc", "reason"), POISON)
def test_validate_master_names_the_out_of_range_field(
    kind: str, doc: dict[str, Any], reason: str
) -> None:
    problems = validate_master(kind, doc)
    assert any(p.startswith(reason) for p in problems), problems


@pytest.mark.parametrize(("kind", "doc", "reason"), POISON)
def test_check_config_reports_the_poison_document(
    tmp_path: Path, kind: str, doc: dict[str, Any], reason: str
) -> None:
    (tmp_path / "master").mkdir()
    (tmp_path / "master" / f"{kind}.json").write_text(json.dumps(doc), "utf-8")
    cfg = tmp_path / "station.toml"
    cfg.write_text('[station]\nid = "b"\nsite = "s"\ndata_dir = "d"\n[master]\ndir = "master"\n')
    lines = check_config_file(cfg)
    assert any(line.startswith(f"{tmp_path}/master/{kind}.json: {reason}") for line in lines)


def huge_integer_in(value: Any) -> bool:
    """Whether `value` holds an integer beyond int64 (the poison the parser stops first)."""
    if isinstance(value, dict):
        return any(huge_integer_in(v) for v in value.values())
    if isinstance(value, list):
        return any(huge_integer_in(v) for v in value)
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**18


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "station.db", site="plant-a", station="bench-01") as s:
        yield s


@pytest.mark.parametrize(("kind", "doc", "reason"), POISON)
def test_the_mqtt_master_path_rejects_the_poison_document(
    store: Store, kind: str, doc: dict[str, Any], reason: str
) -> None:
    inbox = MasterInbox(store, site="plant-a", max_bytes=1 << 20)
    topic = f"qms/v1/plant-a/master/{kind}/{doc['id']}"
    outcome = inbox.handle(topic.encode(), json.dumps(doc).encode())
    assert outcome.action == "rejected"
    if huge_integer_in(doc):
        # The bounded payload parser (issue 13.3) refuses a 400-digit integer before the
        # document is validated, naming the same field.
        reason = f"payload: {reason.split(': ', 1)[0]}: an integer of "
    assert reason in outcome.detail
    assert store.master_doc(kind, doc["id"]) is None  # nothing applied
    rejected = [
        r.body["detail"]
        for r in store.records(0, 1000)
        if r.type == "event" and r.body["kind"] == "master-rejected"
    ]
    assert [d["topic"] for d in rejected] == [topic]
    assert reason in rejected[0]["reason"]
    # the bench can still build its snapshot: the poison never reached it
    assert store.master_data().instruments == ()


def test_a_400_digit_limit_does_not_raise_in_validation() -> None:
    # Issue 13.3: `master._number` called math.isfinite(10**400): OverflowError.
    plan = with_(PLAN, "characteristics.0.lsl", HUGE)
    assert semantic_errors("plan", plan) == [
        "$.characteristics[0].lsl: must be between -1e12 and 1e12 (got " + "1" + "0" * 76 + "...)"
    ]
    parsed = parse_json(json.dumps(with_(APPROVED, "characteristics.0.spc.center", HUGE)))
    assert validate_master("plan", parsed)[0].startswith("$.characteristics[0].spc.center:")


def test_values_at_the_bounds_are_accepted_and_convert() -> None:
    edge = with_(INSTRUMENT, "resolution", 1e6)
    edge = with_(with_(edge, "check_interval_h", 8784), "u", 1e6)
    assert validate_master("instrument", edge) == []
    assert to_model("instrument", edge).check_interval_h == 8784  # type: ignore[union-attr]
    plan = with_(with_(PLAN, "characteristics.0.samples", 1000), "characteristics.0.lsl", -1e12)
    assert validate_master("plan", plan) == []


# -- never raises, whatever number arrives ---------------------------------------------

NUMBERS = st.one_of(
    st.integers(),
    st.integers(min_value=10**300, max_value=10**420),
    st.integers(max_value=-(10**300), min_value=-(10**420)),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([-0.0, 0.0, 1e308, -1e308, 5e-324, 1e-12, 1e12, 8784, 8784.0001]),
    st.sampled_from(["NaN", "nan", "Infinity", "-inf", "1e400", ""]),
    st.booleans(),
    st.none(),
)
PROCEDURE = json.loads(
    (Path(__file__).resolve().parents[2] / "config/master/procedure-CP-CALIPER-A.json").read_text()
)
BASE = {"instrument": INSTRUMENT, "standard": STANDARD, "plan": APPROVED, "procedure": PROCEDURE}


def _field_paths() -> list[tuple[str, str]]:
    out = []
    for kind, bounds in BOUNDS.items():
        for key in bounds:
            path = key
            if kind == "plan":
                path = f"characteristics.0.{key}"
            elif key.startswith("points."):
                path = key.replace("points.", "points.0.", 1)
            out.append((kind, path))
    return out


FIELDS = _field_paths()


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(FIELDS), NUMBERS)
def test_validation_never_raises_and_what_it_accepts_converts(
    field: tuple[str, str], value: object
) -> None:
    kind, path = field
    doc = with_(BASE[kind], path, value)
    problems = validate_master(kind, doc)  # must not raise
    assert all(isinstance(p, str) and p.startswith("$") for p in problems)
    if not problems:
        model = to_model(kind, doc)  # accepted means usable by the core
        for number in _numbers(model):
            assert math.isfinite(number) and abs(number) <= 1e12


def _numbers(obj: object) -> Iterator[float]:
    from dataclasses import fields, is_dataclass

    if is_dataclass(obj) and not isinstance(obj, type):
        for f in fields(obj):
            yield from _numbers(getattr(obj, f.name))
    elif isinstance(obj, tuple):
        for item in obj:
            yield from _numbers(item)
    elif isinstance(obj, int | float) and not isinstance(obj, bool):
        yield float(obj)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(FIELDS), NUMBERS)
def test_check_config_never_raises_on_any_number(field: tuple[str, str], value: object) -> None:
    kind, path = field
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "master").mkdir()
        text = json.dumps(with_(BASE[kind], path, value), allow_nan=True)
        (root / "master" / "doc.json").write_text(text, "utf-8")
        cfg = root / "station.toml"
        cfg.write_text(
            '[station]\nid = "b"\nsite = "s"\ndata_dir = "d"\n[master]\ndir = "master"\n'
        )
        lines = check_config_file(cfg)  # must not raise
        assert all(line.startswith(f"{root}/master/doc.json: ") for line in lines)


def test_poison_already_in_an_older_store_is_left_out_of_the_bench_snapshot(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    # Issue 13.4: a store written before the bounds existed may hold a resolution of 10**400;
    # `Store.apply_master` trusts its caller, as the older daemon was. The bench must start.
    store.apply_master("instrument", "CAL-0042", with_(INSTRUMENT, "resolution", HUGE))
    store.apply_master("standard", STANDARD["id"], STANDARD)
    with caplog.at_level("WARNING", logger="station.master"):
        snapshot = store.master_data()
    assert snapshot.instruments == ()  # left out: the bench refuses CAL-0042 as unknown
    assert [s.id for s in snapshot.standards] == [STANDARD["id"]]
    assert 'master data instrument "CAL-0042" left out: $.resolution: must be from' in caplog.text
