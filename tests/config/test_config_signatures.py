"""`[signatures]` (contract 1.1, 21 CFR Part 11) and `[interlock]` (the signed override), as
`load_config` and `check-config` read them: typed, frozen, every problem at once."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from station.config import ConfigError, load_config
from station.config_check import check_config_file
from station.settings import InterlockSettings, SignatureSettings

BASE = '[station]\nid = "bench-01"\nsite = "plant-a"\ndata_dir = "data"\n'


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "station.toml"
    path.write_text(BASE + text, "utf-8")
    return path


def problems(tmp_path: Path, text: str) -> list[str]:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert check_config_file(path) == info.value.problems
    return [p.removeprefix(f"{path}: ") for p in info.value.problems]


def test_without_the_sections_nothing_is_signed_and_there_is_no_override(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, ""))
    assert cfg.signatures == SignatureSettings()
    assert cfg.signatures.required == ()
    assert not any(cfg.signatures.needs(a) for a in ("calibration", "study", "override"))
    assert cfg.interlock == InterlockSettings()
    assert cfg.interlock.allow_override is False


def test_the_contract_example_is_read(tmp_path: Path) -> None:
    cfg = load_config(
        write(
            tmp_path,
            '[signatures]\nrequired = ["calibration", "study", "override"]\n'
            "session_timeout_s = 900\nmax_pin_failures = 3\n",
        )
    )
    s = cfg.signatures
    assert s.required == ("calibration", "study", "override")
    assert (s.session_timeout_s, s.max_pin_failures) == (900, 3)
    assert s.needs("study") and not s.needs("redo")
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.max_pin_failures = 100  # type: ignore[misc]


def test_every_action_and_the_defaults(tmp_path: Path) -> None:
    actions = '["spc-ack", "redo", "nonconformance", "override", "study", "calibration"]'
    cfg = load_config(write(tmp_path, f"[signatures]\nrequired = {actions}\n"))
    assert set(cfg.signatures.required) == {
        *("calibration", "study", "override", "nonconformance", "redo", "spc-ack")
    }
    assert (cfg.signatures.session_timeout_s, cfg.signatures.max_pin_failures) == (900, 3)


def test_an_empty_list_keeps_todays_behaviour(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, "[signatures]\nrequired = []\n")).signatures.required == ()


def test_every_signatures_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = (
        '[signatures]\nrequired = ["calibration", "calibraton", "study", "study", 3]\n'
        "session_timeout_s = 0\nmax_pin_failures = 101\nmax_pin_failure = 3\n"
    )
    one = '"calibration", "study", "override", "nonconformance", "redo", "spc-ack"'
    assert problems(tmp_path, text) == [
        f'signatures.required[1]: must be one of {one} (got "calibraton")',
        'signatures.required[3]: listed twice (got "study")',
        f"signatures.required[4]: must be one of {one} (got 3)",
        "signatures.session_timeout_s: must be 1-86400 (got 0)",
        "signatures.max_pin_failures: must be 1-100 (got 101)",
        'signatures.max_pin_failure: unknown key (got 3); did you mean "max_pin_failures"?',
    ]


def test_required_is_required_and_a_list(tmp_path: Path) -> None:
    assert problems(tmp_path, "[signatures]\nmax_pin_failures = 3\n") == [
        "signatures.required: required key is missing"
    ]
    assert problems(tmp_path, '[signatures]\nrequired = "calibration"\n') == [
        'signatures.required: must be a list of strings (got "calibration")'
    ]
    path = tmp_path / "top.toml"
    path.write_text("signatures = 3\n" + BASE, "utf-8")
    assert check_config_file(path) == [
        f"{path}: signatures: must be a table ([signatures]) (got 3)"
    ]


def test_the_override_is_read(tmp_path: Path) -> None:
    cfg = load_config(
        write(
            tmp_path,
            '[signatures]\nrequired = ["override"]\n'
            "[interlock]\nallow_override = true\noverride_grace_days = 7\n"
            'override_reasons = ["check-missing"]\napprover_qualification = "QA-APPROVER"\n',
        )
    )
    assert cfg.interlock == InterlockSettings(
        allow_override=True,
        override_grace_days=7,
        override_reasons=("check-missing",),
        approver_qualification="QA-APPROVER",
    )


def test_interlock_defaults_allow_both_reasons_and_no_grace(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, "[interlock]\nallow_override = false\n"))
    assert cfg.interlock.override_reasons == ("overdue-within-grace", "check-missing")
    assert cfg.interlock.override_grace_days == 0
    assert cfg.interlock.approver_qualification is None


def test_an_override_needs_an_approver_and_a_signed_override(tmp_path: Path) -> None:
    assert problems(tmp_path, "[interlock]\nallow_override = true\n") == [
        "interlock.approver_qualification: required with interlock.allow_override = true"
        " (who may approve)",
        'interlock.allow_override: needs "override" in signatures.required (the approver signs'
        " the override) (got true)",
    ]


def test_a_bad_required_list_is_not_reported_twice_through_the_interlock(tmp_path: Path) -> None:
    text = (
        '[signatures]\nrequired = "override"\n'
        '[interlock]\nallow_override = true\napprover_qualification = "QA-1"\n'
    )
    assert problems(tmp_path, text) == [
        'signatures.required: must be a list of strings (got "override")'
    ]


def test_every_interlock_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = (
        '[interlock]\nallow_override = "yes"\noverride_grace_days = 400\n'
        'override_reasons = ["quarantined"]\napprover_qualification = ""\ngrace = 1\n'
    )
    assert problems(tmp_path, text) == [
        'interlock.allow_override: must be true or false (got "yes")',
        "interlock.override_grace_days: must be 0-365 (got 400)",
        'interlock.override_reasons[0]: must be "overdue-within-grace" or "check-missing"'
        ' (got "quarantined")',
        'interlock.approver_qualification: must not be empty (got "")',
        "interlock.grace: unknown key (got 1); known keys: allow_override, override_grace_days,"
        " override_reasons, approver_qualification",
    ]


def test_the_shipped_config_still_passes() -> None:
    root = Path(__file__).resolve().parents[2]
    assert check_config_file(root / "config" / "station.toml") == []
