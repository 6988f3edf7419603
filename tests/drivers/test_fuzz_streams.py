"""Every line protocol fuzzed as a byte *stream*, the way noise reaches it on a real port.

Each parser is already fuzzed line by line in its own module; here random bytes, line noise,
partial frames and over-long runs are interleaved with real frames (`sim.gauge_formats`, the
simulators' encoder), cut into random chunks, and fed through the serial layer's
`LineBuffer` into the protocol's parser. Properties:

* nothing but the driver error tree (`drivers.base.DriverError`) ever escapes;
* every real frame that follows a line terminator comes back with its value, in order: noise
  before it never costs the operator the next good reading;
* memory stays flat: megabytes of noise without a terminator keep at most one line buffered.

Bounded: hypothesis' default 100 examples per property, streams of at most a few kB.
"""

from __future__ import annotations

import contextlib
import random
import tracemalloc
from collections.abc import Callable
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers import mahr, mitutoyo, mtsics, sylvac
from drivers.ascii_line import compile_pattern, parse_line
from drivers.base import DriverError
from drivers.frames import MAX_LINE_BYTES, Frame, LineBuffer
from sim import gauge_formats as fmt

CONTRACT_PATTERN = compile_pattern(r"^(?P<value>[+-]?\d+(\.\d+)?)\s*(?P<unit>\w+)?$")

Parser = Callable[[bytes], Frame | None]
Encoder = Callable[[Decimal], bytes]

PROTOCOLS: dict[str, tuple[Parser, Encoder]] = {
    "mitutoyo": (mitutoyo.parse_frame, fmt.format_mitutoyo),
    "sylvac": (sylvac.parse_frame, fmt.format_sylvac),
    "mahr": (mahr.parse_frame, fmt.format_mahr),
    "mahr-optors": (mahr.parse_frame, fmt.format_mahr_optors),
    "mtsics": (mtsics.parse_frame, fmt.format_mtsics),
    "ascii": (lambda line: parse_line(CONTRACT_PATTERN, line), fmt.format_ascii),
}

values = st.decimals(min_value=-9999, max_value=9999, places=3, allow_nan=False)
noise = st.one_of(
    st.binary(max_size=60),  # random bytes, terminators included
    st.binary(min_size=MAX_LINE_BYTES - 5, max_size=MAX_LINE_BYTES * 3),  # over-long runs
    st.sampled_from([b"\x00" * 40, b"\xff\xfe", b"\r\n\r\n", b"ERR", b"S S", b"01A+", b"?"]),
)


@st.composite
def streams(draw: st.DrawFn, encoder: Encoder) -> tuple[bytes, list[Decimal]]:
    """Noise and frames; each frame preceded by a CR so it starts a line."""
    parts: list[bytes] = []
    sent: list[Decimal] = []
    for _ in range(draw(st.integers(1, 6))):
        parts.append(draw(noise))
        if draw(st.booleans()):
            value = draw(values)
            frame = encoder(value)
            cut = draw(st.integers(0, len(frame)))
            if draw(st.booleans()):
                parts.append(b"\r" + frame)  # a whole frame
                sent.append(value)
            else:
                parts.append(b"\r" + frame[:cut])  # a partial frame: the rest never comes
    return b"".join(parts), sent


def feed(stream: bytes, chunks: list[int], parse: Parser) -> list[Decimal]:
    buffer = LineBuffer()
    got: list[Decimal] = []
    pos, i = 0, 0
    while pos < len(stream):
        size = chunks[i % len(chunks)]
        lines, _rejected = buffer.feed(stream[pos : pos + size])
        pos, i = pos + size, i + 1
        for line in lines:
            try:
                frame = parse(line)
            except DriverError:
                continue
            if frame is not None:
                got.append(frame.value)
        assert len(buffer.pending) <= MAX_LINE_BYTES
    return got


@pytest.mark.parametrize("protocol", PROTOCOLS)
@settings(deadline=None)
@given(data=st.data())
def test_noise_never_escapes_the_error_tree_nor_costs_a_frame(
    protocol: str, data: st.DataObject
) -> None:
    parse, encoder = PROTOCOLS[protocol]
    stream, sent = data.draw(streams(encoder))
    chunks = data.draw(st.lists(st.integers(1, 64), min_size=1, max_size=8))
    got = feed(stream, chunks, parse)
    # Every sent frame comes back, in order; noise may add values of its own (random bytes
    # can spell a valid frame), so `sent` is a subsequence of `got`.
    remaining = iter(got)
    assert all(any(v == g for g in remaining) for v in sent), (sent, got)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_megabytes_of_noise_keep_memory_flat(protocol: str) -> None:
    parse, encoder = PROTOCOLS[protocol]
    rng = random.Random(1312)  # seeded: reproducible
    buffer = LineBuffer()
    block = bytes(rng.randrange(0x20, 0x7F) for _ in range(4096))  # no terminator in it
    tracemalloc.start()
    try:
        for _ in range(64):  # warm-up
            buffer.feed(block)
        before, _ = tracemalloc.get_traced_memory()
        for _ in range(512):  # 2 MiB of noise without a line end
            lines, _rejected = buffer.feed(block)
            assert lines == []
            assert len(buffer.pending) <= MAX_LINE_BYTES
        after, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert after - before < 64 * 1024, (before, after)
    assert peak - before < 256 * 1024, (before, peak)
    # ...and the next real frame after a terminator is read.
    lines, _ = buffer.feed(b"\r" + encoder(Decimal("1.250")))  # the frame brings its own end
    assert len(lines) == 1
    frame = parse(lines[0])
    assert frame is not None and frame.value == Decimal("1.250")


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_seeded_line_noise_raises_only_driver_errors(protocol: str) -> None:
    """Bit flips and dropped bytes in real frames (a bad cable), 2000 per protocol."""
    parse, encoder = PROTOCOLS[protocol]
    rng = random.Random(protocol)
    for _ in range(2000):
        frame = bytearray(encoder(Decimal(rng.randrange(-99999, 99999)) / 1000).rstrip(b"\r\n"))
        for _ in range(rng.randrange(1, 4)):
            pos = rng.randrange(len(frame))
            if rng.random() < 0.5:
                frame[pos] ^= 1 << rng.randrange(8)
            else:
                del frame[pos]
        with contextlib.suppress(DriverError):
            parse(bytes(frame))
