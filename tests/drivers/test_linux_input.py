"""The pure-Python evdev reader against the kernel's own definitions.

The oracles are the kernel UAPI headers (`linux/input-event-codes.h`, `linux/input.h`, from
Debian's linux-libc-dev) and, for the ioctl numbers and the record size, a C program compiled
against them: the values a C program (and python-evdev's extension) would use. Where no C
compiler or header is installed those tests skip, saying why; the development and CI machines
have both.
"""

from __future__ import annotations

import ctypes
import errno
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from drivers.base import DeviceDisconnected
from drivers.evdev_input import open_grabbed
from drivers.linux_input import (
    EVENT,
    EVIOCGNAME,
    EVIOCGRAB,
    KEY_CODES,
    InputDevice,
    InputEvent,
    codes,
    key_name,
    parse_events,
)

HEADER = Path("/usr/include/linux/input-event-codes.h")


def header_keys() -> dict[int, str]:
    if not HEADER.exists():
        pytest.skip(f"{HEADER} not installed (apt install linux-libc-dev)")
    keys: dict[int, str] = {}
    for line in HEADER.read_text().splitlines():
        m = re.match(r"#define (KEY_\w+)\s+(\d+|0x[0-9a-fA-F]+)\b", line)
        if m and int(m.group(2), 0) <= 248:
            keys.setdefault(int(m.group(2), 0), m.group(1))  # first name of a code wins
    return keys


def test_key_codes_are_the_kernels() -> None:
    keys = header_keys()
    assert {code: key_name(code) for code in keys} == keys
    assert len(KEY_CODES) == len(keys)  # nothing invented for unassigned codes
    assert key_name(84) == "key 84"  # unassigned in the header
    assert (codes.KEY_A, codes.KEY_KPENTER, codes.EV_KEY) == (30, 96, 1)
    with pytest.raises(AttributeError, match="KEY_NOPE"):
        _ = codes.KEY_NOPE


def test_record_layout_is_the_native_struct_input_event() -> None:
    class CInputEvent(ctypes.Structure):
        _fields_ = [
            ("sec", ctypes.c_long),
            ("usec", ctypes.c_long),
            ("type", ctypes.c_uint16),
            ("code", ctypes.c_uint16),
            ("value", ctypes.c_int32),
        ]

    assert EVENT.size == ctypes.sizeof(CInputEvent)
    raw = bytes(CInputEvent(1_700_000_000, 250_000, 1, 30, 1)) * 2
    assert parse_events(raw) == [InputEvent(1_700_000_000, 250_000, 1, 30, 1)] * 2


def test_ioctl_numbers_and_size_match_a_c_program(tmp_path: Path) -> None:
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None or not Path("/usr/include/linux/input.h").exists():
        pytest.skip("no C compiler or kernel headers to compare with")
    src = tmp_path / "probe.c"
    src.write_text(
        "#include <stdio.h>\n#include <linux/input.h>\n"
        'int main(void){printf("%lu %lu %zu\\n",(unsigned long)EVIOCGRAB,'
        "(unsigned long)EVIOCGNAME(256),sizeof(struct input_event));return 0;}\n"
    )
    subprocess.run([cc, "-o", str(tmp_path / "probe"), str(src)], check=True, timeout=60)
    out = subprocess.run(
        [str(tmp_path / "probe")], capture_output=True, text=True, check=True, timeout=10
    )
    assert out.stdout.split() == [str(EVIOCGRAB), str(EVIOCGNAME), str(EVENT.size)]


def test_a_fragment_is_not_an_event_stream() -> None:
    with pytest.raises(ValueError, match="not a whole number"):
        parse_events(InputEvent(0, 0, 1, 2, 1).pack()[:-1])


def test_round_trip_through_the_kernel_format() -> None:
    events = [InputEvent(5, 6, 1, 2, 1), InputEvent(5, 6, 0, 0, 0), InputEvent(5, 7, 1, 2, 0)]
    data = b"".join(e.pack() for e in events)
    assert data[: EVENT.size] == struct.pack("@llHHi", 5, 6, 1, 2, 1)
    assert parse_events(data) == events


def test_opening_files_that_are_not_input_devices(tmp_path: Path) -> None:
    with pytest.raises(OSError) as info:
        InputDevice("/dev/null")  # EVIOCGNAME: ENOTTY
    assert info.value.errno in (errno.ENOTTY, errno.EINVAL)
    regular = tmp_path / "event3"
    regular.write_bytes(b"")
    with pytest.raises(DeviceDisconnected, match="not an evdev input device"):
        open_grabbed(str(regular))
    with pytest.raises(FileNotFoundError):
        InputDevice(str(tmp_path / "missing"))
