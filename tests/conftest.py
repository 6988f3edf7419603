"""Fixtures shared by every test area: a real mosquitto broker on a free loopback port.

A test that needs mosquitto fails loudly when the binary is missing (`MosquittoNotInstalled`,
never a silent skip): `bash .ci/test` installs it. The launcher is `sim.mosquitto`, the same
one the benches and the demo use.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sim.mosquitto import Mosquitto


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    """A fresh anonymous mosquitto on a free loopback port, stopped after the test."""
    broker = Mosquitto(workdir=tmp_path)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def mosquitto_factory(tmp_path: Path) -> Iterator[type[Mosquitto]]:
    """Build brokers with extra config (TLS, passwords, ACLs); all are stopped after the test."""
    started: list[Mosquitto] = []

    class _Factory(Mosquitto):
        def start(self) -> None:
            started.append(self)
            super().start()

    yield _Factory
    for b in started:
        b.stop()
