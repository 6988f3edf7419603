"""Issue 13.6: one press, two frames, must never become a fabricated sample.

A real Mitutoyo driver reads a pty gauge simulator through the bench's reader thread; the
simulator writes two frames in a single write(), as a bouncing footswitch does. Before the
fix the second frame became the next characteristic's value.
"""

from __future__ import annotations

import dataclasses
import queue
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from drivers.base import Reading
from sim import gauge_formats as fmt
from sim.net import wait_until
from sim.serial_gauge import SerialGaugeSim
from station.bench.inputs import InputEvent, InputLink, InputReader, InputValue
from station.bench.workflow import Workflow
from station.settings import Config, InputSettings, MtsicsParams, SerialParams
from station.store import Store


class Values:
    """The reader's callback: the readings it delivered, waited for with a deadline."""

    def __init__(self) -> None:
        self.q: queue.Queue[Reading] = queue.Queue()
        self.connected = threading.Event()

    def __call__(self, event: InputEvent) -> None:
        if isinstance(event, InputValue):
            self.q.put(event.reading)
        elif isinstance(event, InputLink) and event.state == "connected":
            self.connected.set()

    def take(self, n: int, timeout: float = 5.0) -> list[Reading]:
        return [self.q.get(timeout=timeout) for _ in range(n)]


@pytest.fixture
def bench(tmp_path: Path, config: Config, store: Store, clock: Any) -> Iterator[tuple[Any, ...]]:
    gauge = SerialGaugeSim("mitutoyo", tmp_path / "caliper", value="12.350").start()
    inputs = tuple(
        dataclasses.replace(i, params=dataclasses.replace(i.params, port=gauge.path))
        if i.name == "caliper"
        else i
        for i in config.inputs
    )
    cfg = dataclasses.replace(config, inputs=inputs)
    settings = next(i for i in inputs if i.name == "caliper")
    assert settings.debounce_ms == 150  # the default
    values = Values()
    reader = InputReader(settings)
    reader.start(values)
    assert values.connected.wait(5), "the reader did not open the gauge's pty"
    wf = Workflow(store, cfg, clock)
    wf.scan("B-1017")
    wf.scan("PN-778")
    wf.scan("CAL-0042")
    try:
        yield gauge, values, wf, store
    finally:
        reader.stop()
        gauge.stop()


def feed(wf: Workflow, readings: list[Reading]) -> list[Any]:
    return [wf.reading("caliper", r) for r in readings]


def test_the_same_frame_twice_in_one_write_is_one_reading(bench: tuple[Any, ...]) -> None:
    gauge, values, wf, store = bench
    frame = fmt.format_mitutoyo(gauge.value)
    gauge.send_raw(frame + frame, wait=True)  # one write(): the bounce
    first, second = feed(wf, values.take(2))
    assert first.level == "ok" and "bore-dia #1" in first.text
    assert second.level == "info" and "taken once" in second.text, second.lines()
    assert wf.state.draft is not None
    assert list(wf.state.draft.measurements) == [("bore-dia", 1)]  # seat-dia still open
    kinds = [r.body["kind"] for r in store.records() if r.type == "event"]
    assert "reading-debounced" in kinds


def test_a_different_frame_within_the_window_is_refused_press_again(
    bench: tuple[Any, ...],
) -> None:
    gauge, values, wf, store = bench
    both = fmt.format_mitutoyo(gauge.value) + fmt.format_mitutoyo(fmt.Decimal("25.000"))
    gauge.send_raw(both, wait=True)
    earlier, later = values.take(2)
    first, second = feed(wf, [earlier, later])
    assert first.level == "ok"
    assert second.refused and "press the data button again" in second.text, second.lines()
    assert wf.state.draft is not None and list(wf.state.draft.measurements) == [("bore-dia", 1)]
    refused = [
        r.body for r in store.records() if r.type == "event" and r.body["kind"] == "reading-refused"
    ]
    assert "debounce" in refused[-1]["detail"]["reasons"][0]
    # A real second press, once the window after the refused frame has passed: taken.
    wait_until("the debounce window", lambda: time.monotonic() > later.monotonic + 0.15, 5)
    gauge.value = "25.000"
    gauge.press_button()
    [again] = values.take(1)
    n = wf.reading("caliper", again)
    assert n.level == "ok" and "seat-dia #1" in n.text, n.lines()


def test_poll_inputs_are_not_debounced_and_the_window_is_per_input() -> None:
    from station.bench.debounce import Debouncer  # here: the other tests run on any version

    push = InputSettings("left", "mitutoyo", SerialParams(port="/dev/null"), debounce_ms=100)
    poll = InputSettings("scale", "mtsics", MtsicsParams(port="/dev/null", mode="poll"))
    d = Debouncer([push, poll])
    d.seen("left", 1.0, "A", taken=True)
    d.seen("scale", 1.0, "S S 1.00 g", taken=True)
    assert d.classify("left", 1.05, "A")[0] == "bounce"
    assert d.classify("left", 1.05, "B")[0] == "too-soon"
    assert d.classify("left", 1.10, "A")[0] == "new"  # exactly the window: a new press
    assert d.classify("scale", 1.01, "S S 1.00 g")[0] == "new"  # a reply to a request
    d.seen("left", 2.0, "C", taken=False)  # refused: the next value may fill the sample
    assert d.classify("left", 2.05, "D")[0] == "new"
