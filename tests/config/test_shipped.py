"""The shipped example config and master data are valid, load as documented, and agree with
the contract (its example config, its schemas)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

from station.config import load_config
from station.config_check import check_config_file
from station.master import load_master_dir, master_snapshot
from station.schemas import SCHEMA_NAMES, load_schema, validator

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "config" / "station.toml"
STATION = Path(sys.executable).parent / "station"
# CI clones main with shared/ beside it; developers have it at /work/shared.
CONTRACT = next(
    (
        p
        for p in (ROOT.parent / "shared" / "contract", Path("/work/shared/contract"))
        if (p / "schemas").is_dir()
    ),
    None,
)


def test_check_config_of_the_shipped_example_exits_0_via_the_console_script() -> None:
    out = subprocess.run(
        [str(STATION), "check-config", str(SHIPPED)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    # Issue 12.19: the verdict is on stdout, where a script looks; stderr stays empty.
    assert out.stdout.strip() == f"{SHIPPED}: ok"
    assert out.stderr == ""


def test_check_config_works_from_another_folder_with_a_relative_file_name() -> None:
    # Relative paths in the file are relative to the file, not to the working directory.
    out = subprocess.run(
        [str(STATION), "check-config", "station.toml"],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=SHIPPED.parent,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_shipped_example_loads_with_documented_values() -> None:
    cfg = load_config(SHIPPED)
    assert (cfg.station.id, cfg.station.site) == ("bench-01", "plant-a")
    assert cfg.station.data_dir == ROOT / "var"
    assert cfg.station.db_path == ROOT / "var" / "station.db"
    assert cfg.master.dir == ROOT / "config" / "master"
    assert cfg.mqtt.client_id == "bench-01"  # defaults to the station id
    assert cfg.mqtt.ack == "central"
    assert cfg.scanner.kind == "keyboard"
    caliper, balance, torque = cfg.inputs
    assert (caliper.driver, caliper.mode, caliper.key("baudrate")) == ("mitutoyo", "push", None)
    assert (balance.driver, balance.mode, balance.instrument) == ("mtsics", "poll", "BAL-0003")
    assert torque.driver == "modbus"
    assert torque.key("url") == "tcp://127.0.0.1:5020"
    assert (torque.mode, torque.key("data_type"), torque.key("word_order")) == (
        "poll",
        "float32",
        "big",
    )
    assert (torque.unit, torque.instrument, torque.key("port")) == ("N.m", "TRQ-0011", None)
    assert cfg.input("torque") is torque


def test_shipped_master_data_is_complete_and_valid() -> None:
    docs, problems = load_master_dir(ROOT / "config" / "master")
    assert problems == []
    data = master_snapshot(docs)
    assert [(p.id, p.rev, p.status) for p in data.plans] == [
        ("P-1001", "B", "obsolete"),
        ("P-1001", "C", "released"),
        ("P-2001", "A", "released"),
    ]
    bore = next(p for p in data.plans if p.status == "released" and p.id == "P-1001")
    assert {c.id for c in bore.characteristics} >= {"bore-dia", "visual-burr"}
    assert any(c.rule == "guarded" and c.critical for c in bore.characteristics)
    assert bore.characteristic("visual-burr").kind == "attribute"
    cal = data.instrument("CAL-0042")
    assert cal is not None
    assert (cal.cal_due, cal.u, cal.mpe, cal.resolution) == (date(2027, 6, 30), 0.02, 0.03, 0.01)
    overdue = data.instrument("CAL-0007")
    assert overdue is not None and overdue.cal_due == date(2026, 9, 30)
    bal = data.instrument("BAL-0003")
    assert bal is not None and bal.check_interval_h == 24
    quarantined = data.instrument("MIC-0099")
    assert quarantined is not None and quarantined.status == "quarantined"
    op23 = data.operator_by_badge("B-1023")
    assert op23 is not None
    assert {q.code: q.expires for q in op23.qualifications}["DIM-2"] == date(2026, 6, 30)
    gb25 = data.standard("GB-25")
    assert gb25 is not None and (gb25.value, gb25.unit) == (25.0, "mm")


def test_shipped_gtins_have_correct_check_digits() -> None:
    from biip.gtin import Gtin

    docs, _ = load_master_dir(ROOT / "config" / "master")
    gtins = [pn for d in docs if d.kind == "plan" for pn in d.doc["part_numbers"] if pn.isdigit()]
    assert gtins, "every plan carries a GTIN-14 besides its plain part number"
    for gtin in gtins:
        assert len(gtin) == 14
        assert Gtin.parse(gtin).value.endswith(gtin.lstrip("0"))


def test_check_config_file_reports_nothing_for_the_shipped_example() -> None:
    assert check_config_file(SHIPPED) == []


# The contract's own example (station.md) must be accepted by the parser. Its paths point at
# /etc/station, so only load_config (no file checks) is used. A copy is kept for machines
# without the contract checked out beside the project.
CONTRACT_EXAMPLE_COPY = r"""
[station]
id = "bench-01"
site = "plant-a"
data_dir = "/var/lib/station"
storage_budget_mb = 512
[mqtt]
host = "127.0.0.1"
port = 1883
client_id = "bench-01"
ack = "central"
resend_after_s = 30
username = "bench-01"
password_file = "/etc/station/mqtt.pass"
tls_ca = "/etc/station/ca.pem"
tls_cert = "/etc/station/bench-01.pem"
tls_key = "/etc/station/bench-01.key"
[master]
dir = "/etc/station/master"
[scanner]
kind = "keyboard"
port = "/dev/ttyACM0"
[[inputs]]
name = "left"
driver = "mitutoyo"
port = "/dev/serial/by-id/usb-…"
baudrate = 9600
mode = "push"
instrument = "CAL-0042"
[[inputs]]
name = "torque"
driver = "modbus"
url = "tcp://127.0.0.1:5020"
unit_id = 1
register = 0
register_type = "holding"
data_type = "float32"
word_order = "big"
scale = 1.0
unit = "N.m"
[[inputs]]
name = "formula"
driver = "ascii"
port = "/dev/ttyUSB2"
pattern = '^(?P<value>[+-]?\d+(\.\d+)?)\s*(?P<unit>\w+)?$'
request = "?\r"
unit = "mm"
"""


def test_the_contract_example_config_is_accepted(tmp_path: Path) -> None:
    text = CONTRACT_EXAMPLE_COPY
    if CONTRACT is not None:
        md = (CONTRACT / "station.md").read_text("utf-8")
        match = re.search(r"```toml\n(.*?)```", md, re.S)
        assert match, "station.md carries a ```toml example"
        text = match.group(1)
    path = tmp_path / "station.toml"
    path.write_text(text, "utf-8")
    cfg = load_config(path)
    assert cfg.mqtt.tls and cfg.mqtt.password_file == Path("/etc/station/mqtt.pass")
    assert [i.name for i in cfg.inputs] == ["left", "torque", "formula"]
    assert cfg.input("formula").key("request") == "?\r"


def test_packaged_schemas_are_the_contract_schemas() -> None:
    packaged = ROOT / "station" / "schemas"
    if CONTRACT is not None:
        contract = sorted(p.name for p in (CONTRACT / "schemas").glob("*.json"))
        assert contract == sorted(p.name for p in packaged.glob("*.json"))
        for name in contract:
            same = (CONTRACT / "schemas" / name).read_bytes() == (packaged / name).read_bytes()
            assert same, f"station/schemas/{name} differs from the contract's copy"
    # Always: every packaged schema parses, is a valid Draft 2020-12 schema, and is the one
    # `station.schemas` loads (validator() runs check_schema).
    for name in SCHEMA_NAMES:
        on_disk = json.loads((packaged / f"{name}.schema.json").read_text("utf-8"))
        assert load_schema(name) == on_disk
        validator(name)
