"""The repository carries its own copy of the contract and cites nothing outside itself.

`docs/contract/` is what integrators and every comment cite (issue 12.18): it must be the
contract byte for byte, the schemas the station validates with (`station/schemas/`) must be
the same bytes, and no file may send a reader to a folder that exists only on the
developers' machines (`shared/…`, the research notes).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COPY = ROOT / "docs" / "contract"
SHARED_NAME = "shared"
# CI clones main with the steering folder beside it; developers have it at /work.
SHARED_CONTRACT = next(
    (
        p
        for p in (ROOT.parent / SHARED_NAME / "contract", Path("/work") / SHARED_NAME / "contract")
        if (p / "schemas").is_dir()
    ),
    None,
)

SKIP_DIRS = {".git", ".venv", "__pycache__", "build", "dist", ".mypy_cache", ".ruff_cache"}
CHECKED_SUFFIXES = {".py", ".md", ".toml", ".service", ".rules", ".sh", ".sysusers", ".tmpfiles"}
# The two tests that compare the copy with the original have to name where it lives.
ALLOWED = {Path("tests/deploy/test_contract_copy.py"), Path("tests/config/test_shipped.py")}
SHARED_PATH = re.compile(r"(?<![\w.-])(?:\.\./)?" + SHARED_NAME + r"/\S*")
RESEARCH_NOTE = re.compile(r"(?<![\w/.-])(?:research/)?(?:tech|protocols)\.md\b")


def files(base: Path) -> dict[str, bytes]:
    return {
        p.relative_to(base).as_posix(): p.read_bytes()
        for p in sorted(base.rglob("*"))
        if p.is_file()
    }


def repo_files() -> list[Path]:
    """README, docs, code, config, units and CI scripts (docs/contract is the contract)."""
    out: list[Path] = []
    for p in sorted(ROOT.rglob("*")):
        rel = p.relative_to(ROOT)
        if not p.is_file() or SKIP_DIRS & set(rel.parts) or rel.parts[:2] == ("docs", "contract"):
            continue
        if p.suffix in CHECKED_SUFFIXES or rel.parts[0] in ("systemd", ".ci"):
            out.append(rel)
    return out


def offenders(pattern: re.Pattern[str]) -> list[str]:
    found = []
    for rel in repo_files():
        if rel in ALLOWED:
            continue
        text = (ROOT / rel).read_text("utf-8", errors="replace")
        for n, line in enumerate(text.splitlines(), 1):
            for m in pattern.finditer(line):
                found.append(f"{rel}:{n}: {m.group(0)}")
    return found


def test_the_schemas_the_station_uses_are_the_contract_copy_byte_for_byte() -> None:
    copy = files(COPY / "schemas")
    packaged = {
        name: data
        for name, data in files(ROOT / "station" / "schemas").items()
        if name.endswith(".json")
    }
    assert sorted(copy) == sorted(packaged)
    differ = [name for name in copy if copy[name] != packaged[name]]
    assert differ == [], f"station/schemas/ and docs/contract/schemas/ differ in {differ}"


def test_the_contract_copy_is_the_contract_byte_for_byte() -> None:
    if SHARED_CONTRACT is None:
        pytest.skip("the contract's original is not beside this checkout")
    original, copy = files(SHARED_CONTRACT), files(COPY)
    assert sorted(copy) == sorted(original), "docs/contract/ lacks or adds files"
    differ = [name for name in original if original[name] != copy[name]]
    assert differ == [], f"docs/contract/ differs from the contract in {differ}"


def test_no_file_points_at_the_shared_folder() -> None:
    found = offenders(SHARED_PATH)
    assert found == [], "cite docs/contract/... instead:\n" + "\n".join(found)


def test_no_file_cites_the_research_notes() -> None:
    found = offenders(RESEARCH_NOTE)
    assert found == [], "cite the standard or datasheet instead:\n" + "\n".join(found)
