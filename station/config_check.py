"""`station check-config`: every problem of a config file and of the master data it names.

Kept apart from the TOML parser (`station.config`), which knows nothing of master data or
the sync daemon's file rules; this module joins the three.
"""

from __future__ import annotations

from pathlib import Path

from station.config import parse_config_file, show_toml
from station.master import load_master_dir
from station.sync.security import secret_file_problem


def check_config_file(path: Path) -> list[str]:
    """Every problem of the config file and of the master data it names (`station check-config`).

    Beyond `load_config`, this checks that the files the config names exist (password file,
    TLS files, the master folder) and validates every master-data file in that folder.
    Devices are not checked: they are validated when a driver opens them.
    """
    parsed = parse_config_file(path)
    problems = list(parsed.problems)
    for key, file in parsed.files:
        if not file.is_file():
            problems.append(f"{path}: {key}: file does not exist (got {show_toml(str(file))})")
        elif key in ("mqtt.password_file", "mqtt.tls_key"):
            secret = secret_file_problem(key, file)  # the sync daemon's own rule
            if secret is not None:
                problems.append(f"{path}: {key}: {secret.removeprefix(f'{key} ')}")
    if parsed.master_dir is not None:
        if parsed.master_dir.is_dir():
            docs, lines = load_master_dir(parsed.master_dir)
            problems += lines
            # An input fixed to an unknown instrument would refuse every reading at the bench
            # ("not in the master data") until the QMS happens to send it: say so now.
            known = {d.id for d in docs if d.kind == "instrument"}
            shown = show_toml(str(parsed.master_dir))
            for i, iid in parsed.fixed:
                if iid not in known:
                    problems.append(
                        f"{path}: inputs[{i}].instrument: no valid instrument with this id in "
                        f"the master data folder {shown} (got {show_toml(iid)})"
                    )
        else:
            shown = show_toml(str(parsed.master_dir))
            problems.append(f"{path}: master.dir: folder does not exist (got {shown})")
    return problems


__all__ = ["check_config_file"]
