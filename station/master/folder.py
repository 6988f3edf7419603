"""The `[master] dir` folder: master data read from *.json files at start (the offline
bootstrap, contract station.md), and the strict JSON reading every master document gets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from station.master.validation import MasterDoc, show_json, validate_master
from station.schemas import MASTER_SCHEMA_IDS


def _strict_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {show_json(key)} in one object")
        out[key] = value
    return out


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json(text: str | bytes) -> Any:
    """Parse strict JSON: no NaN/Infinity, no duplicate keys (the later would silently win).

    Raises:
        ValueError: a `json.JSONDecodeError` (with lineno/colno) or a plain ValueError.
    """
    try:
        return json.loads(text, object_pairs_hook=_strict_object, parse_constant=_reject_constant)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def _read_doc(path: Path) -> tuple[Any, str | None]:
    try:
        return parse_json(path.read_bytes().decode("utf-8")), None
    except OSError as exc:
        return None, f"{path}: cannot read: {exc.strerror or exc}"
    except UnicodeDecodeError as exc:
        return None, f"{path}: not UTF-8 text (bad byte at offset {exc.start})"
    except json.JSONDecodeError as exc:
        return None, f"{path}: line {exc.lineno}, column {exc.colno}: invalid JSON: {exc.msg}"
    except ValueError as exc:
        return None, f"{path}: invalid JSON: {exc}"


def folder_state(folder: Path) -> dict[str, tuple[int, int]]:
    """(mtime ns, size) of each `*.json` of `folder`: what a poller compares to notice a
    change (empty when the folder cannot be read)."""
    try:
        return {p.name: (p.stat().st_mtime_ns, p.stat().st_size) for p in folder.glob("*.json")}
    except OSError:
        return {}


def load_master_dir(folder: Path) -> tuple[list[MasterDoc], list[str]]:
    """Read every `*.json` file of `folder` (sorted by name), one master document per file.

    Returns the valid documents and one `FILE: $.path: ... (got VALUE)` line per problem.
    A (kind, id) defined twice is an error naming both files; plans are keyed by (id, rev),
    so several revisions of one plan may sit side by side. The first file keeps its place.
    """
    if not folder.is_dir():
        return [], [f"{folder}: master-data folder does not exist"]
    docs: list[MasterDoc] = []
    problems: list[str] = []
    seen: dict[tuple[str, str, str | None], Path] = {}
    for path in sorted(p for p in folder.glob("*.json") if p.is_file()):
        doc, error = _read_doc(path)
        if error is not None:
            problems.append(error)
            continue
        if not isinstance(doc, dict):
            problems.append(f"{path}: $: must be a JSON object (got {show_json(doc)})")
            continue
        schema = doc.get("schema", ...)
        kind = MASTER_SCHEMA_IDS.get(schema) if isinstance(schema, str) else None
        if kind is None:
            known = ", ".join(show_json(s) for s in MASTER_SCHEMA_IDS)
            what = "required key is missing" if schema is ... else "unknown master-data schema"
            got = "" if schema is ... else f" (got {show_json(schema)})"
            problems.append(f"{path}: $.schema: {what}{got}; expected one of {known}")
            continue
        lines = validate_master(kind, doc)
        if lines:
            problems += [f"{path}: {line}" for line in lines]
            continue
        item = MasterDoc(kind=kind, id=doc["id"], doc=doc, path=path)
        key = (kind, item.id, item.rev)
        if key in seen:
            what = f"{kind} {show_json(item.id)}" + (
                f" rev {show_json(item.rev)}" if item.rev else ""
            )
            problems.append(f"{path}: $.id: {what} is also defined in {seen[key]}")
            continue
        seen[key] = path
        docs.append(item)
    return docs, problems
