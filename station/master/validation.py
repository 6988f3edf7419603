"""Master data validation: is a QMS document acceptable, and if not, why (one line each).

Contract: `docs/contract/schemas/{plan,instrument,operator,standard}.schema.json` and
`mqtt.md` ("Master data"). Two sources feed the same checks: the `[master] dir` folder, read
at start as an offline bootstrap (`load_master_dir`), and retained MQTT messages, checked by
the sync daemon (`validate_master`). An invalid document changes nothing; every reason is
one short line `$.json.path: what is wrong (got VALUE)`.

The JSON Schemas catch structure; `semantic_errors` catches what a schema cannot say
(impossible calendar dates, lsl above usl, duplicate characteristic ids, NaN) so that the
conversion in `convert.to_model` never meets a value it cannot represent.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeGuard, get_args

from station.core.pin import VerifierError, parse_verifier
from station.schemas import validator
from station.schemas.names import NAME_RE, NAME_RULE

if TYPE_CHECKING:  # jsonschema itself is imported on first validation (station.schemas)
    from jsonschema import ValidationError

MasterKind = Literal["plan", "instrument", "operator", "standard", "procedure"]  # schema names
MASTER_KINDS: tuple[MasterKind, ...] = get_args(MasterKind)
# Kinds whose documents carry a `rev`: every revision is kept, a released one is used.
REVISED_KINDS: tuple[MasterKind, ...] = ("plan", "procedure")
# What the schemas' patterns mean, for messages a technician can act on. Python's `$` also
# matches before a final "\n", so the schemas' own `^...$` patterns let "CAL-1\n" through;
# semantic_errors re-checks with \Z.
_DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
_ID_PATTERN = r"^[A-Za-z0-9._-]{1,64}$"
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
MAX_DEPTH = 16
_TYPE_NAMES = {
    "string": "a string",
    "number": "a number",
    "integer": "an integer",
    "boolean": "true or false",
    "array": "an array",
    "object": "an object",
    "null": "null",
}


class MasterDataError(ValueError):
    """A document could not be converted: it was not valid master data."""


@dataclass(frozen=True)
class MasterDoc:
    """One valid master-data document and the file it came from."""

    kind: str
    id: str
    doc: dict[str, Any]
    path: Path

    @property
    def rev(self) -> str | None:
        """The plan or procedure revision, None for other kinds."""
        rev = self.doc.get("rev") if self.kind in REVISED_KINDS else None
        return rev if isinstance(rev, str) else None


def show_json(value: object) -> str:
    """Render a JSON value for a problem line (compact JSON, cut at 80 characters)."""
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=True, separators=(",", ":"))
    except (TypeError, ValueError, RecursionError):
        text = f"a {type(value).__name__}"
    return text if len(text) <= 80 else text[:77] + "..."


def _path(parts: Iterable[str | int]) -> str:
    out = "$"
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", part):
            out += f".{part}"
        else:
            out += f"[{json.dumps(part)}]"
    return out


def _describe(err: ValidationError) -> list[str]:
    """Turn one jsonschema error into short lines; `required` names the missing key itself."""
    where = _path(err.absolute_path)
    value: Any = err.validator_value
    got = f" (got {show_json(err.instance)})"
    if err.validator == "required" and isinstance(err.instance, dict):
        missing = [k for k in value if k not in err.instance]
        return [f"{_path([*err.absolute_path, k])}: required key is missing" for k in missing]
    if err.validator == "anyOf" and all(set(s) == {"required"} for s in value):
        keys = " or ".join(str(k) for s in value for k in s["required"])
        return [f"{where}: needs {keys}"]
    if err.validator == "const":
        what = f"must be {show_json(value)}"
    elif err.validator == "enum":
        shown = [show_json(v) for v in value]
        what = "must be " + (
            " or ".join(shown) if len(shown) == 2 else "one of " + ", ".join(shown)
        )
    elif err.validator == "type":
        names = [_TYPE_NAMES.get(t, t) for t in ([value] if isinstance(value, str) else value)]
        what = "must be " + " or ".join(names)
    elif err.validator == "pattern":
        what = {
            _DATE_PATTERN: "must be a date YYYY-MM-DD",
            _ID_PATTERN: NAME_RULE,
        }.get(value, f"must match {value}")
    elif err.validator == "minimum":
        what = f"must be at least {value}"
    elif err.validator == "exclusiveMinimum":
        what = f"must be greater than {value}"
    elif err.validator == "maximum":
        what = f"must be at most {value}"
    elif err.validator in ("minItems", "minLength") and value == 1:
        what = "must not be empty"
    else:
        what = err.message
    return [f"{where}: {what}{got}"]


def _is_kind(kind: str) -> TypeGuard[MasterKind]:
    return kind in MASTER_KINDS


def _schema_problems(kind: MasterKind, doc: object) -> list[str]:
    lines: list[str] = []
    errors = validator(kind).iter_errors(doc)
    for err in sorted(errors, key=lambda e: [str(p).zfill(9) for p in e.absolute_path]):
        lines += [line for line in _describe(err) if line not in lines]
    return lines


def _paths(value: object) -> Iterator[tuple[tuple[str | int, ...], object]]:
    """Yield (path parts, value) for every scalar inside `value` (iterative: no depth limit)."""
    stack: list[tuple[tuple[str | int, ...], object]] = [((), value)]
    while stack:
        parts, node = stack.pop()
        if isinstance(node, dict) and node:
            stack += [((*parts, str(k)), v) for k, v in reversed(node.items())]
        elif isinstance(node, list) and node:
            stack += [((*parts, i), v) for i, v in reversed(list(enumerate(node)))]
        else:
            yield parts, node


def _date_problem(where: str, value: object) -> str | None:
    """A date that passed the schema's pattern but is no real day (2026-02-30, "…\\n")."""
    if not isinstance(value, str) or not re.search(_DATE_PATTERN, value):
        return None  # absent, or the schema already reports it
    if _DATE_RE.match(value):
        try:
            date.fromisoformat(value)
            return None
        except ValueError:
            return f"{where}: not a real calendar date (got {show_json(value)})"
    return f"{where}: must be a date YYYY-MM-DD (got {show_json(value)})"


def _id_problem(where: str, value: object) -> str | None:
    if isinstance(value, str) and re.search(_ID_PATTERN, value) and not NAME_RE.match(value):
        return f"{where}: {NAME_RULE} (got {show_json(value)})"
    return None


def _number(value: object) -> float | None:
    """The JSON number as a float; None for a non-number or one no float can hold.

    Why not `math.isfinite(value)` first: for an int beyond the float range (a plan limit of
    10**400, which JSON allows) it raises OverflowError, and validation must never raise.
    """
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


@dataclass(frozen=True)
class Bound:
    """The range a numeric master-data field must lie in (inclusive), and why.

    The schemas (fixed by the contract) say only "a number"; these bounds are the station's
    own and lie far beyond anything a plant uses, yet keep every value where the bench can
    compute with it: a resolution of 10**400 cannot become a float, a check interval of 1e8 h
    ends beyond the year 9999 (`datetime` overflows), and 10**8 samples per characteristic
    exhaust the memory when the draft is built (docs/configuration.md, "Master data folder").
    """

    lo: float
    hi: float
    what: str
    # Values at or below this are the schema's to report (exclusiveMinimum 0): one line each.
    floor: float = -math.inf

    def problem(self, where: str, value: object) -> str | None:
        """The problem line for `value` out of range; None when in range or not a number
        (the schema, or the finite-number check, reports those). Python compares an int of
        any size with a float exactly, so nothing here can overflow."""
        if not isinstance(value, int | float) or isinstance(value, bool):
            return None
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if self.lo <= value <= self.hi or value <= self.floor:
            return None
        return f"{where}: must be {self.what} (got {show_json(value)})"


MAX_VALUE = 1e12  # any limit, nominal or standard value, in any unit
_MAGNITUDE = Bound(-MAX_VALUE, MAX_VALUE, "between -1e12 and 1e12")
# Where the schema already sets the lower end (minimum 0, exclusiveMinimum 0, minimum 1),
# only the upper end is checked here, so one mistake gives one line.
_UNCERTAINTY = Bound(-math.inf, 1e6, "at most 1e6")
# Field -> bound, per kind; plan fields are per characteristic (`spc.` ones in its spc block).
BOUNDS: dict[str, dict[str, Bound]] = {
    "instrument": {
        "resolution": Bound(1e-12, 1e6, "from 1e-12 to 1e6", floor=0),
        "u": _UNCERTAINTY,
        "mpe": _UNCERTAINTY,
        # 366 days: a verification interval longer than a calibration interval is no check.
        "check_interval_h": Bound(-math.inf, 8784, "at most 8784 (366 days)"),
    },
    "standard": {"value": _MAGNITUDE, "uncertainty": _UNCERTAINTY},
    "plan": {
        "nominal": _MAGNITUDE,
        "lsl": _MAGNITUDE,
        "usl": _MAGNITUDE,
        "samples": Bound(-math.inf, 1000, "at most 1000"),
        "spc.baseline": Bound(-math.inf, 1000, "at most 1000"),  # subgroup: 1-25 in the schema
        "spc.center": _MAGNITUDE,
        "spc.ucl": _MAGNITUDE,
        "spc.lcl": _MAGNITUDE,
    },
    # procedure fields are per point (`points[i].`) or of the whole document
    "procedure": {
        "points.nominal": _MAGNITUDE,
        "points.mpe": _UNCERTAINTY,
        "points.limit": _UNCERTAINTY,
        "interval_days": Bound(-math.inf, 3660, "at most 3660 (10 years)"),
        "tolerance": _UNCERTAINTY,
        "readings": Bound(-math.inf, 1000, "at most 1000"),
        "parts": Bound(-math.inf, 1000, "at most 1000"),
        "appraisers": Bound(-math.inf, 100, "at most 100"),
        "trials": Bound(-math.inf, 100, "at most 100"),
    },
}


def _bound_problems(kind: str, doc: Mapping[str, Any]) -> list[str]:
    bounds = BOUNDS.get(kind, {})
    if kind == "procedure":
        top = {k: b for k, b in bounds.items() if not k.startswith("points.")}
        out = list(filter(None, (b.problem(f"$.{k}", doc.get(k)) for k, b in top.items())))
        points = doc.get("points")
        for i, pt in enumerate(points if isinstance(points, list) else []):
            for key, bound in bounds.items():
                if key.startswith("points.") and isinstance(pt, dict):
                    name = key.removeprefix("points.")
                    out += filter(None, [bound.problem(f"$.points[{i}].{name}", pt.get(name))])
        return out
    if kind != "plan":
        return list(filter(None, (b.problem(f"$.{k}", doc.get(k)) for k, b in bounds.items())))
    out = []
    chars = doc.get("characteristics")
    for i, c in enumerate(chars if isinstance(chars, list) else []):
        if not isinstance(c, dict):
            continue
        spc = c.get("spc")
        for key, bound in bounds.items():
            block, _, name = key.rpartition(".")
            holder = spc if block == "spc" else c
            if isinstance(holder, dict):
                where = f"$.characteristics[{i}].{key}"
                out += filter(None, [bound.problem(where, holder.get(name))])
    return out


def _characteristic_problems(i: int, c: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    where = f"$.characteristics[{i}]"
    lsl, usl = _number(c.get("lsl")), _number(c.get("usl"))
    if lsl is not None and usl is not None and lsl > usl:
        out.append(
            f"{where}.lsl: must not be greater than usl {c['usl']} (got {show_json(c['lsl'])})"
        )
    if c.get("kind") == "attribute":
        for key in ("nominal", "lsl", "usl", "spc"):
            if c.get(key) is not None:
                out.append(
                    f"{where}.{key}: only for variable characteristics (got {show_json(c[key])})"
                )
        return out
    spc = c.get("spc")
    if not isinstance(spc, dict):
        return out
    chart, subgroup = spc.get("chart", "imr"), spc.get("subgroup", 1)
    if isinstance(subgroup, int) and chart == "imr" and subgroup != 1:
        out.append(f'{where}.spc.subgroup: must be 1 for chart "imr" (got {show_json(subgroup)})')
    if isinstance(subgroup, int) and chart in ("xbar-r", "xbar-s") and subgroup < 2:
        out.append(f"{where}.spc.subgroup: must be at least 2 for chart {show_json(chart)} (got 1)")
    limits = {k: _number(spc.get(k)) for k in ("center", "ucl", "lcl")}
    given = [k for k in limits if k in spc]
    if given and len(given) < 3:
        missing = ", ".join(k for k in limits if k not in spc)
        out.append(f"{where}.spc: center, ucl and lcl go together; missing {missing}")
    center, ucl, lcl = limits["center"], limits["ucl"], limits["lcl"]
    if center is not None and ucl is not None and lcl is not None and not lcl < center < ucl:
        out.append(f"{where}.spc: needs lcl < center < ucl (got {lcl}, {center}, {ucl})")
    return out


def semantic_errors(kind: str, doc: Any) -> list[str]:
    """What the schema cannot check; safe on any input (it never raises).

    Dates must be real calendar days, ids must not end in a newline, numbers must be finite
    and every numeric field within its `BOUNDS`, a plan's characteristic ids must be unique,
    lsl must not exceed usl, attribute characteristics carry no limits, SPC settings must be
    coherent. A nominal outside the limits is allowed (one-sided and offset tolerances exist).
    """
    if not isinstance(doc, dict):
        return []
    out: list[str] = []
    for parts, value in _paths(doc):
        if isinstance(value, float) and not math.isfinite(value):
            out.append(f"{_path(parts)}: must be a finite number (got {value})")
    out += filter(None, [_id_problem("$.id", doc.get("id"))])
    out += _bound_problems(kind, doc)
    if kind in ("instrument", "standard"):
        out += filter(None, [_date_problem("$.cal_due", doc.get("cal_due"))])
    if kind == "instrument":
        out += filter(None, [_date_problem("$.calibrated", doc.get("calibrated"))])
    if kind == "procedure":
        out += _procedure_problems(doc)
    if kind == "operator" and isinstance(doc.get("pin"), str):
        # The schema's pattern admits costs no station can afford (ln=99) and a trailing
        # newline: a verifier the bench could never check is refused on arrival.
        try:
            parse_verifier(doc["pin"])
        except VerifierError as exc:
            out.append(f"$.pin: {exc}")
    quals = doc.get("qualifications")
    if kind == "operator" and isinstance(quals, list):
        for i, q in enumerate(quals):
            if isinstance(q, dict):
                problem = _date_problem(f"$.qualifications[{i}].expires", q.get("expires"))
                out += filter(None, [problem])
    chars = doc.get("characteristics")
    if kind == "plan" and isinstance(chars, list):
        first: dict[str, int] = {}
        for i, c in enumerate(chars):
            if not isinstance(c, dict):
                continue
            cid = c.get("id")
            out += filter(None, [_id_problem(f"$.characteristics[{i}].id", cid)])
            if isinstance(cid, str) and cid in first:
                out.append(
                    f"$.characteristics[{i}].id: duplicate characteristic id, "
                    f"also at $.characteristics[{first[cid]}] (got {show_json(cid)})"
                )
            elif isinstance(cid, str):
                first[cid] = i
            out += _characteristic_problems(i, c)
    return out


def _procedure_problems(doc: Mapping[str, Any]) -> list[str]:
    """What the procedure schema leaves open: a point's test needs its limit, names are unique."""
    out: list[str] = []
    points = doc.get("points")
    first: dict[str, int] = {}
    for i, pt in enumerate(points if isinstance(points, list) else []):
        if not isinstance(pt, dict):
            continue
        where = f"$.points[{i}]"
        name = pt.get("name")
        if isinstance(name, str) and name in first:
            out.append(f"{where}.name: duplicate point name, also at $.points[{first[name]}]")
        elif isinstance(name, str):
            first[name] = i
        if pt.get("test", "error") == "error":
            if ("mpe" in pt) == ("mpe_rel" in pt):
                out.append(f"{where}: an error test needs exactly one of mpe and mpe_rel")
        elif "limit" not in pt:
            out.append(f"{where}: a repeatability test needs limit")
    return out


def validate_master(kind: str, doc: Any, expected_id: str | None = None) -> list[str]:
    """Every reason `doc` is not a valid `kind` document; empty when it is valid.

    `expected_id` is the `{id}` of the MQTT topic it arrived on (contract: they must match).
    """
    if not _is_kind(kind):
        return [
            f"unknown master-data kind (got {show_json(kind)}); expected " + ", ".join(MASTER_KINDS)
        ]
    if not isinstance(doc, dict):
        return [f"$: must be a JSON object (got {show_json(doc)})"]
    # Master documents are at most 5 levels deep; a hostile depth would overflow the stack
    # of the validator (jsonschema recurses), so it is refused before validation.
    if (deepest := max(len(parts) for parts, _ in _paths(doc))) > MAX_DEPTH:
        return [f"$: nested {deepest} levels deep, at most {MAX_DEPTH} allowed"]
    out = _schema_problems(kind, doc) + semantic_errors(kind, doc)
    if expected_id is not None and doc.get("id") != expected_id:
        got = show_json(doc.get("id"))
        out.append(f"$.id: must equal the id in the topic {show_json(expected_id)} (got {got})")
    return out
