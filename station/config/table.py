"""The typed reader of one TOML table: every value checked against what it must be, every
problem collected as `FILE: key.path: what is wrong (got VALUE)` (private to station.config)."""

from __future__ import annotations

import difflib
import json
import math
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

from station.schemas.names import NAME_RE, NAME_RULE

_S = TypeVar("_S", bound=str)


class ConfigError(Exception):
    """The config file is unusable; `problems` holds one line per problem found."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems: list[str] = list(problems)
        super().__init__("\n".join(self.problems))


def show_toml(value: object) -> str:
    """Render a TOML value for a problem line: strings quoted, booleans as TOML spells them."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, str | list):
        text = json.dumps(value, ensure_ascii=False, default=str)
    else:
        text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def one_of(choices: Sequence[object]) -> str:
    shown = [show_toml(c) for c in choices]
    if len(shown) == 2:
        return f"must be {shown[0]} or {shown[1]}"
    return "must be one of " + ", ".join(shown)


class Table:
    """One TOML table being read. Every accessor reports its own problems and returns None
    when the key is absent or wrong; `leftovers()` then names the keys nobody asked for."""

    def __init__(self, out: list[str], file: str, where: str, data: Mapping[str, object]) -> None:
        self.out, self.file, self.where, self.data = out, file, where, data

    def key(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def problem(self, key: str, what: str, value: object = ...) -> None:
        got = "" if value is ... else f" (got {show_toml(value)})"
        self.out.append(f"{self.file}: {self.key(key)}: {what}{got}")

    def _get(self, key: str, required: bool) -> object:
        if key not in self.data:
            if required:
                self.problem(key, "required key is missing")
            return ...
        return self.data[key]

    def string(
        self, key: str, *, required: bool = False, check: Callable[[str], str | None] | None = None
    ) -> str | None:
        value = self._get(key, required)
        if value is ...:
            return None
        if not isinstance(value, str):
            self.problem(key, "must be a string", value)
            return None
        what = "must not be empty" if value == "" else (check(value) if check else None)
        if what:
            self.problem(key, what, value)
            return None
        return value

    def integer(self, key: str, lo: int, hi: int, *, required: bool = False) -> int | None:
        value = self._get(key, required)
        if value is ...:
            return None
        if not isinstance(value, int) or isinstance(value, bool):
            self.problem(key, "must be an integer", value)
            return None
        if not lo <= value <= hi:
            self.problem(key, f"must be {lo}-{hi}", value)
            return None
        return value

    def number(self, key: str, *, positive: bool = True) -> float | None:
        value = self._get(key, False)
        if value is ...:
            return None
        if not isinstance(value, int | float) or isinstance(value, bool):
            self.problem(key, "must be a number", value)
            return None
        if not math.isfinite(value):
            self.problem(key, "must be a finite number", value)
            return None
        if positive and value <= 0:
            self.problem(key, "must be greater than 0", value)
            return None
        return float(value)

    def boolean(self, key: str) -> bool | None:
        value = self._get(key, False)
        if value is ...:
            return None
        if not isinstance(value, bool):
            self.problem(key, "must be true or false", value)
            return None
        return value

    def choice(self, key: str, choices: Sequence[_S], *, required: bool = False) -> _S | None:
        value = self._get(key, required)
        if value is ...:
            return None
        for choice in choices:
            if value == choice and isinstance(value, str):
                return choice
        self.problem(key, one_of(choices), value)
        return None

    def int_choice(self, key: str, choices: Sequence[int]) -> int | None:
        value = self._get(key, False)
        if value is ...:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or value not in choices:
            self.problem(key, one_of(choices), value)  # 9600.0 is not a baud rate
            return None
        return value

    def path(self, key: str, base: Path, *, required: bool = False) -> Path | None:
        """A file or folder path; relative ones are relative to the config file's folder."""
        text = self.string(key, required=required, check=path_problem)
        return None if text is None else Path(os.path.normpath(base / text))

    def leftovers(
        self, known: Sequence[str], foreign: Callable[[str], str | None] | None = None
    ) -> None:
        """Report every key not in `known`: foreign to this context, or simply unknown."""
        for key, value in self.data.items():
            if key in known:
                continue
            reason = foreign(key) if foreign else None
            if reason is None:
                near = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
                hint = (
                    f'; did you mean "{near[0]}"?' if near else "; known keys: " + ", ".join(known)
                )
                self.out.append(
                    f"{self.file}: {self.key(key)}: unknown key (got {show_toml(value)}){hint}"
                )
            else:
                self.problem(key, reason, value)


def path_problem(text: str) -> str | None:
    return "must not contain a NUL character" if "\x00" in text else None


def host_problem(text: str) -> str | None:
    if "://" in text or "/" in text or any(c.isspace() for c in text):
        return "must be a host name or IP address (no scheme, path or spaces)"
    return None


def name_problem(text: str) -> str | None:
    return None if NAME_RE.match(text) else NAME_RULE


def table_of(out: list[str], file: str, where: str, raw: object, required: bool) -> Table | None:
    if raw is ...:
        if required:
            out.append(f"{file}: {where}: required table [{where}] is missing")
        return None
    if not isinstance(raw, dict):
        out.append(f"{file}: {where}: must be a table ([{where}]) (got {show_toml(raw)})")
        return None
    return Table(out, file, where, raw)
