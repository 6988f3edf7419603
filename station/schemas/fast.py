"""Fast validation of records against the normative `record.schema.json` (store and central).

The pure-Python `jsonschema` takes 0.25-0.5 ms to validate even a small event record here,
1.3-1.9 ms an inspection (`$ref` resolution and the five `if/then` branches of the schema's
`allOf`): most of a durable append's cost in the store and a cap of ~2k records/s at the
reference central. Two faster paths, both fed the contract's schema file
itself (never a hand-written imitation):

1. `jsonschema-rs` (Rust, Draft 2020-12), a dependency with a fallback: ~2-10 µs a record.
2. Otherwise a schema per record type derived mechanically at load time: `$ref`s inlined and
   the `allOf` replaced by the one branch whose `if` that type selects (for a known `type`
   the same constraints), about 3x faster than the original.

A record the fast path rejects is judged again by the normative validator from
`station.schemas`, whose verdict stands and whose messages are the ones reported.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from station.schemas import load_schema, schema_errors

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and len(node) == 1 and ref.startswith("#/$defs/"):
            return _inline(defs[ref.removeprefix("#/$defs/")], defs)
        return {k: _inline(v, defs) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [_inline(v, defs) for v in node]
    return node


@cache
def _by_type() -> dict[str, Draft202012Validator]:
    from jsonschema import Draft202012Validator

    schema = load_schema("record")
    defs = schema["$defs"]
    base = _inline({k: v for k, v in schema.items() if k != "allOf"}, defs)
    out: dict[str, Draft202012Validator] = {}
    for branch in schema["allOf"]:
        rtype = branch["if"]["properties"]["type"]["const"]
        body = _inline(branch["then"]["properties"]["body"], defs)
        specific = {**base, "properties": {**base["properties"], "body": body}}
        Draft202012Validator.check_schema(specific)
        out[rtype] = Draft202012Validator(specific)
    return out


@cache
def _rust() -> Any:
    """The compiled validator, or None when jsonschema-rs is not installed.

    Imported on first use, like `jsonschema`: the sync daemon validates only the few records
    it appends itself, and its memory budget is 40 MB.
    """
    try:
        import jsonschema_rs
    except ImportError:  # pragma: no cover - depends on the installed packages
        return None
    return jsonschema_rs.Draft202012Validator(load_schema("record"))


_choice = {"compiled": True}


def use_compiled(enabled: bool) -> None:
    """Choose whether this process loads the compiled validator (default: yes).

    The sync daemon appends only a few event records, while its memory budget is 40 MB and
    jsonschema-rs costs ~7 MB resident: it validates with the per-type Python schemas instead.
    """
    _choice["compiled"] = enabled


def fast_valid(doc: Any, *, use_rust: bool = True) -> bool:
    """True when `doc` is certainly a valid record; False means "ask the normative one"."""
    rust = _rust() if use_rust and _choice["compiled"] else None
    if rust is not None:
        return bool(rust.is_valid(doc))
    rtype = doc.get("type") if isinstance(doc, dict) else None
    fast = _by_type().get(rtype) if isinstance(rtype, str) else None
    return fast is not None and fast.is_valid(doc)


def record_problems(doc: Any, *, use_rust: bool = True) -> list[str]:
    """Every reason `doc` is not a valid record (empty when valid)."""
    if fast_valid(doc, use_rust=use_rust):
        return []
    return schema_errors("record", doc)  # the normative verdict and wording


__all__ = ["fast_valid", "record_problems", "use_compiled"]
