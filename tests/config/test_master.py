"""Master data from a folder and from MQTT: every bad document is reported with its file and
JSON path, valid ones become the core's typed objects without losing a field."""

from __future__ import annotations

import copy
import json
from dataclasses import fields, is_dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from station.config_check import check_config_file
from station.core.model import Instrument, MasterData, Plan, SpcSpec
from station.master import (
    MasterDataError,
    MasterDoc,
    load_master_dir,
    master_snapshot,
    parse_json,
    semantic_errors,
    to_model,
    validate_master,
)
from station.schemas import schema_errors

SHIPPED = Path(__file__).resolve().parents[2] / "config" / "master"

INSTRUMENT: dict[str, Any] = {
    "schema": "qms.master/instrument@1",
    "id": "CAL-0042",
    "type": "caliper",
    "status": "active",
    "cal_due": "2027-06-30",
    "unit": "mm",
    "resolution": 0.01,
}
PLAN: dict[str, Any] = {
    "schema": "qms.master/plan@1",
    "id": "P-1001",
    "rev": "C",
    "status": "released",
    "part_numbers": ["PN-778"],
    "characteristics": [
        {
            "id": "bore-dia",
            "kind": "variable",
            "lsl": 12.3,
            "usl": 12.4,
            "unit": "mm",
            "instrument_type": "caliper",
        },
        {"id": "visual-burr", "kind": "attribute"},
    ],
}
OPERATOR: dict[str, Any] = {
    "schema": "qms.master/operator@1",
    "id": "op-17",
    "name": "A. Inspector",
    "badge": "B-1017",
    "qualifications": [{"code": "DIM-2", "expires": "2027-12-31"}, {"code": "VIS-1"}],
}
STANDARD: dict[str, Any] = {
    "schema": "qms.master/standard@1",
    "id": "GB-25",
    "type": "gauge-block",
    "value": 25,
    "unit": "mm",
    "uncertainty": 0.0001,
    "cal_due": "2027-04-30",
}


def with_(doc: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of `doc` with the dotted `path` set (`...` deletes it)."""
    out = copy.deepcopy(doc)
    *parents, last = path.split(".")
    node: Any = out
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    key: Any = int(last) if last.isdigit() else last
    if value is ...:
        del node[key]
    else:
        node[key] = value
    return out


def folder(tmp_path: Path, files: dict[str, Any]) -> Path:
    for name, content in files.items():
        text = content if isinstance(content, str) else json.dumps(content, indent=2)
        (tmp_path / name).write_text(text, "utf-8")
    return tmp_path


INVALID: list[tuple[str, str, dict[str, Any], list[str]]] = [
    (
        "missing required key",
        "instrument",
        with_(INSTRUMENT, "cal_due", ...),
        ["$.cal_due: required key is missing"],
    ),
    (
        "enum",
        "instrument",
        with_(INSTRUMENT, "status", "broken"),
        ['$.status: must be one of "active", "quarantined", "retired" (got "broken")'],
    ),
    (
        "date pattern",
        "instrument",
        with_(INSTRUMENT, "cal_due", "30.06.2027"),
        ['$.cal_due: must be a date YYYY-MM-DD (got "30.06.2027")'],
    ),
    (
        "impossible date",
        "instrument",
        with_(INSTRUMENT, "cal_due", "2026-02-30"),
        ['$.cal_due: not a real calendar date (got "2026-02-30")'],
    ),
    (
        "date with a trailing newline passes the schema's $ but not here",
        "standard",
        with_(STANDARD, "cal_due", "2027-04-30\n"),
        ['$.cal_due: must be a date YYYY-MM-DD (got "2027-04-30\\n")'],
    ),
    (
        "id with a trailing newline",
        "instrument",
        with_(INSTRUMENT, "id", "CAL-0042\n"),
        ['$.id: must be 1-64 characters of A-Z a-z 0-9 . _ - (got "CAL-0042\\n")'],
    ),
    (
        "id pattern",
        "instrument",
        with_(INSTRUMENT, "id", "CAL 42"),
        ['$.id: must be 1-64 characters of A-Z a-z 0-9 . _ - (got "CAL 42")'],
    ),
    (
        "resolution zero",
        "instrument",
        with_(INSTRUMENT, "resolution", 0),
        ["$.resolution: must be greater than 0 (got 0)"],
    ),
    (
        "negative uncertainty",
        "instrument",
        with_(INSTRUMENT, "u", -0.01),
        ["$.u: must be at least 0 (got -0.01)"],
    ),
    (
        "bool is not a number",
        "instrument",
        with_(INSTRUMENT, "mpe", True),
        ["$.mpe: must be a number or null (got true)"],
    ),
    (
        "NaN",
        "standard",
        with_(STANDARD, "value", float("nan")),
        ["$.value: must be a finite number (got nan)"],
    ),
    (
        "wrong schema for the kind",
        "plan",
        with_(PLAN, "schema", "qms.master/instrument@1"),
        ['$.schema: must be "qms.master/plan@1" (got "qms.master/instrument@1")'],
    ),
    (
        "characteristic kind, with its JSON path",
        "plan",
        with_(PLAN, "characteristics.1.kind", "visual"),
        ['$.characteristics[1].kind: must be "variable" or "attribute" (got "visual")'],
    ),
    (
        "variable without limits",
        "plan",
        with_(with_(PLAN, "characteristics.0.lsl", ...), "characteristics.0.usl", ...),
        ["$.characteristics[0]: needs lsl or usl"],
    ),
    (
        "variable without unit",
        "plan",
        with_(PLAN, "characteristics.0.unit", ...),
        ["$.characteristics[0].unit: required key is missing"],
    ),
    (
        "no characteristics",
        "plan",
        with_(PLAN, "characteristics", []),
        ["$.characteristics: must not be empty (got [])"],
    ),
    (
        "lsl above usl",
        "plan",
        with_(PLAN, "characteristics.0.lsl", 12.5),
        ["$.characteristics[0].lsl: must not be greater than usl 12.4 (got 12.5)"],
    ),
    (
        "duplicate characteristic id",
        "plan",
        with_(PLAN, "characteristics.1.id", "bore-dia"),
        [
            "$.characteristics[1].id: duplicate characteristic id, also at "
            '$.characteristics[0] (got "bore-dia")'
        ],
    ),
    (
        "limits on an attribute",
        "plan",
        with_(PLAN, "characteristics.1.usl", 1),
        ["$.characteristics[1].usl: only for variable characteristics (got 1)"],
    ),
    (
        "imr chart with subgroups",
        "plan",
        with_(PLAN, "characteristics.0.spc", {"chart": "imr", "subgroup": 5}),
        ['$.characteristics[0].spc.subgroup: must be 1 for chart "imr" (got 5)'],
    ),
    (
        "xbar chart without subgroups",
        "plan",
        with_(PLAN, "characteristics.0.spc", {"chart": "xbar-r"}),
        ['$.characteristics[0].spc.subgroup: must be at least 2 for chart "xbar-r" (got 1)'],
    ),
    (
        "control limits incomplete",
        "plan",
        with_(PLAN, "characteristics.0.spc", {"center": 12.35, "ucl": 12.38}),
        ["$.characteristics[0].spc: center, ucl and lcl go together; missing lcl"],
    ),
    (
        "control limits out of order",
        "plan",
        with_(PLAN, "characteristics.0.spc", {"center": 12.35, "ucl": 12.32, "lcl": 12.38}),
        ["$.characteristics[0].spc: needs lcl < center < ucl (got 12.38, 12.35, 12.32)"],
    ),
    (
        "impossible expiry date",
        "operator",
        with_(OPERATOR, "qualifications.0.expires", "2027-13-01"),
        ['$.qualifications[0].expires: not a real calendar date (got "2027-13-01")'],
    ),
    (
        "qualification without code",
        "operator",
        with_(OPERATOR, "qualifications.1", {"expires": None}),
        ["$.qualifications[1].code: required key is missing"],
    ),
]


@pytest.mark.parametrize(
    ("kind", "doc", "expected"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID]
)
def test_validate_master_gives_short_reasons_with_json_paths(
    kind: str, doc: dict[str, Any], expected: list[str]
) -> None:
    assert validate_master(kind, doc) == expected


@pytest.mark.parametrize("doc", [INSTRUMENT, PLAN, OPERATOR, STANDARD])
def test_valid_documents_have_no_problems(doc: dict[str, Any]) -> None:
    kind = doc["schema"].split("/")[1].split("@")[0]
    assert validate_master(kind, doc, expected_id=doc["id"]) == []
    assert schema_errors(kind, doc) == []


def test_schema_problems_agree_with_the_packaged_validator() -> None:
    # The nicer messages must never hide or invent a schema failure.
    for _, kind, doc, _ in INVALID:
        if schema_errors(kind, doc):  # type: ignore[arg-type]
            assert validate_master(kind, doc)


def test_topic_id_must_match() -> None:
    assert validate_master("instrument", INSTRUMENT, expected_id="CAL-0007") == [
        '$.id: must equal the id in the topic "CAL-0007" (got "CAL-0042")'
    ]


def test_not_an_object_and_unknown_kind() -> None:
    assert validate_master("plan", ["x"]) == ['$: must be a JSON object (got ["x"])']
    assert validate_master("gauge", {}) == [
        'unknown master-data kind (got "gauge"); expected plan, instrument, operator, standard,'
        " procedure"
    ]


def test_semantic_errors_never_raise_on_garbage() -> None:
    garbage: list[Any] = [None, 1, "x", [], {"characteristics": [1, {"spc": 3}]}, {"cal_due": 1}]
    for doc in garbage:
        for kind in ("plan", "instrument", "operator", "standard"):
            assert isinstance(semantic_errors(kind, doc), list)  # and did not raise


def test_parse_json_rejects_duplicate_keys_and_nan() -> None:
    with pytest.raises(ValueError, match='duplicate key "id" in one object'):
        parse_json('{"id": "a", "id": "b"}')
    with pytest.raises(ValueError, match="NaN is not JSON"):
        parse_json('{"value": NaN}')


def test_folder_problems_name_the_file_and_json_path(tmp_path: Path) -> None:
    files = {
        "a-bad-json.json": '{\n  "schema": "qms.master/plan@1",\n  "id": }\n',
        "b-schema.json": with_(PLAN, "characteristics.0.kind", "measured"),
        "c-unknown.json": with_(INSTRUMENT, "schema", "qms.master/gauge@1"),
        "d-date.json": with_(STANDARD, "cal_due", "2026-02-30"),
        "e-instrument.json": INSTRUMENT,
        "f-instrument-again.json": with_(INSTRUMENT, "description", "second copy"),
        "g-array.json": "[1, 2]",
        "h-no-schema.json": with_(OPERATOR, "schema", ...),
        "i-dupkey.json": '{"id": "x", "id": "y"}',
        "notes.txt": "not master data: ignored",
    }
    docs, problems = load_master_dir(folder(tmp_path, files))
    d = tmp_path
    known = '"qms.master/plan@1", "qms.master/instrument@1", "qms.master/operator@1", ' + (
        '"qms.master/standard@1", "qms.master/procedure@1"'
    )
    assert problems == [
        f"{d}/a-bad-json.json: line 3, column 9: invalid JSON: Expecting value",
        f'{d}/b-schema.json: $.characteristics[0].kind: must be "variable" or "attribute"'
        ' (got "measured")',
        f'{d}/c-unknown.json: $.schema: unknown master-data schema (got "qms.master/gauge@1");'
        f" expected one of {known}",
        f'{d}/d-date.json: $.cal_due: not a real calendar date (got "2026-02-30")',
        f'{d}/f-instrument-again.json: $.id: instrument "CAL-0042" is also defined in '
        f"{d}/e-instrument.json",
        f"{d}/g-array.json: $: must be a JSON object (got [1,2])",
        f"{d}/h-no-schema.json: $.schema: required key is missing; expected one of {known}",
        f'{d}/i-dupkey.json: invalid JSON: duplicate key "id" in one object',
    ]
    assert [(m.kind, m.id, m.path.name) for m in docs] == [
        ("instrument", "CAL-0042", "e-instrument.json")
    ]


def test_plan_revisions_may_share_an_id_but_not_a_revision(tmp_path: Path) -> None:
    files = {
        "p-b.json": with_(PLAN, "rev", "B"),
        "p-c.json": PLAN,
        "p-c-copy.json": with_(PLAN, "title", "copy"),
    }
    docs, problems = load_master_dir(folder(tmp_path, files))
    assert problems == [
        f'{tmp_path}/p-c.json: $.id: plan "P-1001" rev "C" is also defined in '
        f"{tmp_path}/p-c-copy.json"
    ]
    assert sorted(m.rev or "" for m in docs) == ["B", "C"]


def test_missing_folder(tmp_path: Path) -> None:
    assert load_master_dir(tmp_path / "nope") == (
        [],
        [f"{tmp_path}/nope: master-data folder does not exist"],
    )


def test_check_config_file_includes_master_problems(tmp_path: Path) -> None:
    (tmp_path / "master").mkdir()
    folder(tmp_path / "master", {"i.json": with_(INSTRUMENT, "cal_due", "2026-02-30")})
    cfg = tmp_path / "station.toml"
    cfg.write_text(
        '[station]\nid = "b"\nsite = "s"\ndata_dir = "d"\nsite2 = 1\n[master]\ndir = "master"\n'
    )
    assert check_config_file(cfg) == [
        f'{cfg}: station.site2: unknown key (got 1); did you mean "site"?',
        f'{tmp_path}/master/i.json: $.cal_due: not a real calendar date (got "2026-02-30")',
    ]


def as_json(value: Any) -> Any:
    """A model value back in its JSON form: dates ISO, tuples lists, dataclasses dicts."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: as_json(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, tuple):
        return [as_json(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


def assert_carried(doc: Any, model: Any, where: str) -> None:
    """Every field of the JSON document reappears, equal, in the model."""
    if isinstance(doc, dict):
        if isinstance(model, list):  # a mapping kept as sorted (key, value) pairs
            model = dict(model)
        for key, value in doc.items():
            assert key in model, f"{where}.{key} is lost by to_model"
            assert_carried(value, model[key], f"{where}.{key}")
    elif isinstance(doc, list):
        assert len(doc) == len(model), where
        for i, (a, b) in enumerate(zip(doc, model, strict=True)):
            assert_carried(a, b, f"{where}[{i}]")
    else:
        same = doc == model and isinstance(doc, bool) == isinstance(model, bool)
        assert same, f"{where}: {doc!r} != {model!r}"


def test_to_model_round_trips_the_shipped_master_data() -> None:
    docs, problems = load_master_dir(SHIPPED)
    assert problems == [] and len(docs) == 22
    for item in docs:
        model = to_model(item.kind, item.doc)
        assert type(model).__name__.lower() == item.kind
        doc = {k: v for k, v in item.doc.items() if k != "schema"}  # the kind, not a field
        assert_carried(doc, as_json(model), f"{item.path.name}: $")


def test_to_model_applies_schema_defaults() -> None:
    spc_plan = with_(PLAN, "characteristics.0.spc", {})
    plan = to_model("plan", spc_plan)
    assert isinstance(plan, Plan)
    bore = plan.characteristic("bore-dia")
    assert (bore.samples, bore.rule, bore.critical, bore.nominal) == (1, "simple", False, None)
    assert bore.spc == SpcSpec(chart="imr", subgroup=1, rules=("nelson-1", "nelson-2"), baseline=25)
    assert plan.characteristic("visual-burr").spc is None
    inst = to_model("instrument", INSTRUMENT)
    assert isinstance(inst, Instrument)
    assert (inst.u, inst.mpe, inst.check_interval_h, inst.description) == (None, None, None, "")
    assert inst.cal_due == date(2027, 6, 30)


def test_to_model_refuses_what_it_cannot_represent() -> None:
    with pytest.raises(MasterDataError, match=r'"2026-02-30"|day is out of range'):
        to_model("instrument", with_(INSTRUMENT, "cal_due", "2026-02-30"))
    with pytest.raises(MasterDataError, match=r"instrument \"CAL-0042\": not valid master data"):
        to_model("instrument", with_(INSTRUMENT, "resolution", ...))
    with pytest.raises(MasterDataError, match='"broken" is not one of active'):
        to_model("instrument", with_(INSTRUMENT, "status", "broken"))


def test_master_snapshot_keeps_every_plan_revision_and_accepts_pairs() -> None:
    docs = [
        MasterDoc("plan", "P-1001", with_(PLAN, "rev", "D"), Path("d.json")),
        MasterDoc("plan", "P-1001", PLAN, Path("c.json")),
    ]
    snap = master_snapshot([*docs, ("instrument", INSTRUMENT), ("operator", OPERATOR)])
    assert isinstance(snap, MasterData)
    assert [(p.id, p.rev) for p in snap.plans] == [("P-1001", "C"), ("P-1001", "D")]
    assert snap.instrument("CAL-0042") is not None
    op = snap.operator_by_badge("B-1017")
    assert op is not None and op.qualifications[1].expires is None


def test_hostile_nesting_is_a_problem_not_a_crash() -> None:
    with pytest.raises(ValueError, match="nested too deeply"):
        parse_json("[" * 100_000 + "]" * 100_000)
    deep: Any = 1.5
    for _ in range(5_000):  # deeper than Python's recursion limit
        deep = [deep]
    doc = {**INSTRUMENT, "description": deep}  # (deepcopy itself would overflow)
    assert validate_master("instrument", doc) == ["$: nested 5001 levels deep, at most 16 allowed"]
    assert semantic_errors("instrument", doc) == []
