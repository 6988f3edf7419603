"""The contract's JSON Schemas, shipped inside the package.

These files are byte-for-byte copies of `docs/contract/schemas/` (a test compares them when
the contract is checked out beside the project). They are normative: records and master data
are validated against them, never against a hand-written imitation.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any, Literal, get_args

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator

SchemaName = Literal[
    "ack", "instrument", "operator", "plan", "procedure", "record", "standard", "status"
]

SCHEMA_NAMES: tuple[SchemaName, ...] = get_args(SchemaName)

# The `schema` field value of each master-data kind, as the contract's schemas define it.
MASTER_SCHEMA_IDS: dict[str, str] = {
    "qms.master/plan@1": "plan",
    "qms.master/instrument@1": "instrument",
    "qms.master/operator@1": "operator",
    "qms.master/standard@1": "standard",
    "qms.master/procedure@1": "procedure",
}


@cache
def load_schema(name: SchemaName) -> dict[str, Any]:
    """Return the parsed JSON Schema `name` (e.g. "record")."""
    text = resources.files(__name__).joinpath(f"{name}.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def validator(name: SchemaName) -> Draft202012Validator:
    """Return a (cached) Draft 2020-12 validator for schema `name`."""
    # Imported on first use: jsonschema costs the sync daemon ~5 MB of its 40 MB budget,
    # and it needs it only when a master message or an invalid record arrives.
    from jsonschema import Draft202012Validator

    schema = load_schema(name)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def schema_errors(name: SchemaName, doc: object) -> list[str]:
    """Validate `doc` against schema `name`; return one message per problem, with its JSON path.

    An empty list means valid. Messages look like `$.characteristics[0].kind: 'x' is not one of …`.
    """
    problems: list[str] = []
    for err in sorted(validator(name).iter_errors(doc), key=lambda e: list(e.absolute_path)):
        problems.append(f"{err.json_path}: {err.message}")
    return problems


__all__ = [
    "MASTER_SCHEMA_IDS",
    "SCHEMA_NAMES",
    "SchemaName",
    "load_schema",
    "schema_errors",
    "validator",
]
