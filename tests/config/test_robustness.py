"""Property tests: no input makes the config parser or the master-data checks crash, and a
document the checks accept always converts (the sync daemon relies on both)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from station.config import (
    COMMON_KEYS,
    DRIVER_KEYS,
    MQTT_KEYS,
    STATION_KEYS,
    ConfigError,
    load_config,
)
from station.config_check import check_config_file
from station.master import to_model, validate_master

TOML_VALUES = [
    "1", "0", "-1", "65536", "1.5", "9600", "true", "nan", "inf", '""', '"x"', '"a b"',
    '"bench-01"', '"/dev/ttyUSB0"', '"loop://"', '"tcp://h:502"', '"socket://h:0"', "[1, 2]",
    "{ a = 1 }", "2026-01-01", '"(?P<value>.*)"', '"(("', '"poll"', '"push"', '"modbus"',
    '"ascii"', '"mtsics"', '"keyboard"', '"serial"', '"evdev"', '"float32"', '"int16"',
    '"central"', '"E"', '"holding"', '"little"', '"../var"',
]  # fmt: skip
INPUT_KEYS = [*COMMON_KEYS, *DRIVER_KEYS, "baud", "nmae"]
SECTIONS = {
    "[station]": [*STATION_KEYS, "side"],
    "[mqtt]": [*MQTT_KEYS, "hots"],
    "[master]": ["dir", "directory"],
    "[scanner]": ["kind", "port", "baudrate"],
    "[[inputs]]": INPUT_KEYS,
}


@st.composite
def toml_texts(draw: st.DrawFn) -> str:
    lines: list[str] = []
    headers = draw(st.lists(st.sampled_from(list(SECTIONS)), max_size=6))
    for header in headers:
        lines.append(header)
        keys = draw(st.lists(st.sampled_from(SECTIONS[header]), max_size=8, unique=True))
        lines += [f"{k} = {draw(st.sampled_from(TOML_VALUES))}" for k in keys]
    return "\n".join(lines) + "\n"


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=toml_texts())
def test_any_config_loads_or_fails_with_file_prefixed_lines(tmp_path: Path, text: str) -> None:
    path = tmp_path / "station.toml"
    path.write_text(text, "utf-8")
    try:
        load_config(path)
    except ConfigError as exc:
        assert exc.problems
        assert all(line.startswith(f"{path}: ") for line in exc.problems), exc.problems
    for line in check_config_file(path):
        assert line.startswith(str(tmp_path))


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 70_000) | st.floats() | st.text(max_size=12)
    | st.sampled_from(["2026-02-30", "2027-01-01", "imr", "xbar-r", "nelson-1", "variable",
                       "attribute", "guarded", "active", "released"]),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)  # fmt: skip
SHIPPED = Path(__file__).resolve().parents[2] / "config" / "master"
TEMPLATES = [json.loads(p.read_text("utf-8")) for p in sorted(SHIPPED.glob("*.json"))]
CHAR_KEYS = ["id", "kind", "nominal", "lsl", "usl", "unit", "samples", "rule", "critical", "spc"]
SPC_KEYS = ["chart", "subgroup", "rules", "baseline", "center", "ucl", "lcl"]


@settings(max_examples=400, deadline=None)
@given(
    template=st.sampled_from(TEMPLATES),
    edits=st.lists(
        st.tuples(st.sampled_from(["top", "char", "spc", "qual"]), st.integers(0, 20), JSON),
        min_size=1,
        max_size=3,
    ),
)
def test_accepted_master_documents_always_convert(
    template: dict[str, Any], edits: list[tuple[str, int, Any]]
) -> None:
    doc = copy.deepcopy(template)
    kind = doc["schema"].split("/")[1].split("@")[0]
    for where, pick, value in edits:
        if where == "top":
            keys = sorted(doc)
            doc[keys[pick % len(keys)]] = value
        elif where in ("char", "spc") and isinstance(doc.get("characteristics"), list):
            chars = [c for c in doc["characteristics"] if isinstance(c, dict)]
            if chars:
                c = chars[pick % len(chars)]
                if where == "char":
                    c[CHAR_KEYS[pick % len(CHAR_KEYS)]] = value
                else:
                    spc = c.setdefault("spc", {})
                    if isinstance(spc, dict):
                        spc[SPC_KEYS[pick % len(SPC_KEYS)]] = value
        elif where == "qual" and isinstance(doc.get("qualifications"), list):
            doc["qualifications"].append({"code": "X", "expires": value})
    problems = validate_master(kind, doc)
    assert all(isinstance(p, str) and p for p in problems)
    if not problems:
        to_model(kind, doc)  # must not raise for anything validate_master accepted
