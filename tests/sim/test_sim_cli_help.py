"""Every simulator command line a technician runs names itself as it is invoked and explains
each of its options in `--help` (issue 12.19)."""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Callable

import pytest

from sim import broker, modbus_instrument, scanner, serial_gauge

CLIS: dict[str, Callable[..., int]] = {
    "sim.serial_gauge": serial_gauge.main,
    "sim.broker": broker.main,
    "sim.scanner": scanner.main,
    "sim.modbus_instrument": modbus_instrument.main,
}


def parser_of(main: Callable[..., int]) -> argparse.ArgumentParser:
    """The parser `main` builds, captured at parse_args (nothing is started)."""
    captured: list[argparse.ArgumentParser] = []

    def capture(self: argparse.ArgumentParser, *args: object, **kw: object) -> None:
        captured.append(self)
        raise SystemExit(0)

    original = argparse.ArgumentParser.parse_args
    argparse.ArgumentParser.parse_args = capture  # type: ignore[method-assign,assignment]
    try:
        with pytest.raises(SystemExit):
            main([])
    finally:
        argparse.ArgumentParser.parse_args = original  # type: ignore[method-assign]
    (parser,) = captured
    return parser


@pytest.mark.parametrize("module", CLIS)
def test_every_option_has_help(module: str) -> None:
    parser = parser_of(CLIS[module])
    assert parser.prog == f"python -m {module}"
    undocumented = [
        action.dest
        for action in parser._actions
        if not isinstance(action, argparse._HelpAction) and not action.help
    ]
    assert undocumented == []


@pytest.mark.parametrize("module", CLIS)
def test_help_runs_and_names_the_module(module: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", module, "--help"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: python -m {module} ")
    assert ".py" not in result.stdout.splitlines()[0]
