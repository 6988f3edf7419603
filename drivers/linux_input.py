"""A pure-Python reader of Linux input devices (`/dev/input/event*`): what the station used
python-evdev for, without a C extension to compile.

python-evdev has no binary wheel for every platform (2.0.0: none for Raspberry Pi OS), so
`pip install` needed gcc and the Python headers. The station needs only four kernel
interfaces, all reachable from the standard library (Linux `include/uapi/linux/input.h`):

* `struct input_event` records read from the device node: a `struct timeval` (two C longs),
  `__u16 type`, `__u16 code`, `__s32 value`, native size and alignment: 24 bytes on 64-bit,
  16 bytes on 32-bit ARM (Raspberry Pi OS armhf; a 32-bit process on a 64-bit kernel gets the
  same 16-byte compat layout);
* `EVIOCGNAME(len)`: the device name, which also tells an input device from any other file
  (anything else answers ENOTTY/EINVAL);
* `EVIOCGRAB`: exclusive access, so keystrokes do not reach the console or another reader;
  closing the fd releases it;
* the event and key codes of `include/uapi/linux/input-event-codes.h` (keys 0-248: every key
  of a keyboard; higher codes are media/gamepad buttons and are named ``key <n>``).

The ioctl numbers use the generic `_IOC` encoding of `include/uapi/asm-generic/ioctl.h`, which
x86, ARM and arm64 use (PowerPC, MIPS, SPARC and Alpha encode the direction differently and
are not supported).
"""

from __future__ import annotations

import array
import errno
import fcntl
import os
import struct
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

EV_SYN, EV_KEY, EV_MSC = 0x00, 0x01, 0x04
SYN_REPORT = 0
MSC_SCAN = 0x04

EVENT = struct.Struct("@llHHi")
"""`struct input_event` in the kernel's native layout (`@`: native sizes and alignment)."""

_IOC_WRITE, _IOC_READ = 1, 2


def _ioc(direction: int, number: int, size: int) -> int:
    """`_IOC(dir, 'E', nr, size)` (asm-generic/ioctl.h: dir 2 bits, size 14, type 8, nr 8)."""
    return (direction << 30) | (size << 16) | (ord("E") << 8) | number


EVIOCGRAB = _ioc(_IOC_WRITE, 0x90, struct.calcsize("i"))  # _IOW('E', 0x90, int)
NAME_MAX = 256
EVIOCGNAME = _ioc(_IOC_READ, 0x06, NAME_MAX)  # _IOC(_IOC_READ, 'E', 0x06, len)

# input-event-codes.h, KEY_ codes 0..248 in order ("-" = unassigned).
_KEY_TABLE = """
RESERVED ESC 1 2 3 4 5 6 7 8 9 0 MINUS EQUAL BACKSPACE TAB Q W E R T Y U I O P LEFTBRACE
RIGHTBRACE ENTER LEFTCTRL A S D F G H J K L SEMICOLON APOSTROPHE GRAVE LEFTSHIFT BACKSLASH Z
X C V B N M COMMA DOT SLASH RIGHTSHIFT KPASTERISK LEFTALT SPACE CAPSLOCK F1 F2 F3 F4 F5 F6
F7 F8 F9 F10 NUMLOCK SCROLLLOCK KP7 KP8 KP9 KPMINUS KP4 KP5 KP6 KPPLUS KP1 KP2 KP3 KP0 KPDOT
- ZENKAKUHANKAKU 102ND F11 F12 RO KATAKANA HIRAGANA HENKAN KATAKANAHIRAGANA MUHENKAN
KPJPCOMMA KPENTER RIGHTCTRL KPSLASH SYSRQ RIGHTALT LINEFEED HOME UP PAGEUP LEFT RIGHT END
DOWN PAGEDOWN INSERT DELETE MACRO MUTE VOLUMEDOWN VOLUMEUP POWER KPEQUAL KPPLUSMINUS PAUSE
SCALE KPCOMMA HANGEUL HANJA YEN LEFTMETA RIGHTMETA COMPOSE STOP AGAIN PROPS UNDO FRONT COPY
OPEN PASTE FIND CUT HELP MENU CALC SETUP SLEEP WAKEUP FILE SENDFILE DELETEFILE XFER PROG1
PROG2 WWW MSDOS COFFEE ROTATE_DISPLAY CYCLEWINDOWS MAIL BOOKMARKS COMPUTER BACK FORWARD
CLOSECD EJECTCD EJECTCLOSECD NEXTSONG PLAYPAUSE PREVIOUSSONG STOPCD RECORD REWIND PHONE ISO
CONFIG HOMEPAGE REFRESH EXIT MOVE EDIT SCROLLUP SCROLLDOWN KPLEFTPAREN KPRIGHTPAREN NEW REDO
F13 F14 F15 F16 F17 F18 F19 F20 F21 F22 F23 F24 - - - - - PLAYCD PAUSECD PROG3 PROG4
ALL_APPLICATIONS SUSPEND CLOSE PLAY FASTFORWARD BASSBOOST PRINT HP CAMERA SOUND QUESTION
EMAIL CHAT SEARCH CONNECT FINANCE SPORT SHOP ALTERASE CANCEL BRIGHTNESSDOWN BRIGHTNESSUP
MEDIA SWITCHVIDEOMODE KBDILLUMTOGGLE KBDILLUMDOWN KBDILLUMUP SEND REPLY FORWARDMAIL SAVE
DOCUMENTS BATTERY BLUETOOTH WLAN UWB UNKNOWN VIDEO_NEXT VIDEO_PREV BRIGHTNESS_CYCLE
BRIGHTNESS_AUTO DISPLAY_OFF WWAN RFKILL MICMUTE
"""

KEY_NAMES: Mapping[int, str] = {
    code: f"KEY_{name}" for code, name in enumerate(_KEY_TABLE.split()) if name != "-"
}
"""Key code -> name, e.g. 59 -> "KEY_F1"."""

KEY_CODES: Mapping[str, int] = {name: code for code, name in KEY_NAMES.items()}
"""Key name -> code, e.g. "KEY_A" -> 30."""


class _Codes:
    """Attribute access to the codes, as python-evdev's `ecodes` offered: `codes.KEY_A`."""

    _OTHER: Mapping[str, int] = {
        "EV_SYN": EV_SYN,
        "EV_KEY": EV_KEY,
        "EV_MSC": EV_MSC,
        "SYN_REPORT": SYN_REPORT,
        "MSC_SCAN": MSC_SCAN,
    }

    def __getattr__(self, name: str) -> int:
        code = KEY_CODES.get(name, self._OTHER.get(name))
        if code is None:
            raise AttributeError(f"no input event code named {name}")
        return code


codes = _Codes()


def key_name(code: int) -> str:
    """`KEY_F1` for 59; ``key 330`` for a code outside the keyboard range."""
    return KEY_NAMES.get(code, f"key {code}")


@dataclass(frozen=True, slots=True)
class InputEvent:
    """One `struct input_event` (the field names are the kernel's and python-evdev's)."""

    sec: int
    usec: int
    type: int
    code: int
    value: int

    def pack(self) -> bytes:
        """The record as the kernel writes it (for replays and tests)."""
        return EVENT.pack(self.sec, self.usec, self.type, self.code, self.value)


def parse_events(data: bytes) -> list[InputEvent]:
    """Split bytes read from an event device into events.

    The kernel only ever returns whole records (evdev_read() in drivers/input/evdev.c), so a
    trailing fragment means the bytes did not come from an input device.

    Raises:
        ValueError: `data` is not a whole number of records.
    """
    if len(data) % EVENT.size:
        raise ValueError(f"{len(data)} bytes is not a whole number of {EVENT.size}-byte events")
    return [InputEvent(*fields) for fields in EVENT.iter_unpack(data)]


class InputDevice:
    """An opened `/dev/input/event*` node, non-blocking (wait with `select` on `fileno()`).

    Raises (from the constructor): FileNotFoundError, PermissionError, or OSError when the
    path is not an input device (the EVIOCGNAME ioctl fails).
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            buf = array.array("B", bytes(NAME_MAX))
            length = fcntl.ioctl(self.fd, EVIOCGNAME, buf, True)
        except OSError:
            os.close(self.fd)
            raise
        self.name = buf.tobytes()[: max(0, length - 1)].decode("utf-8", "replace")

    def fileno(self) -> int:
        return self.fd

    def grab(self) -> None:
        """Take exclusive access (EVIOCGRAB). Raises OSError (EBUSY) if another holds it."""
        fcntl.ioctl(self.fd, EVIOCGRAB, 1)

    def read(self) -> Iterator[InputEvent]:
        """The events available now.

        Raises:
            BlockingIOError: none yet. OSError(ENODEV): the device was unplugged.
        """
        data = os.read(self.fd, EVENT.size * 64)
        if not data:
            raise OSError(errno.ENODEV, "No such device")
        try:
            return iter(parse_events(data))
        except ValueError as exc:
            raise OSError(errno.EIO, f"{self.path}: {exc}") from None

    def close(self) -> None:
        """Close the fd (which also releases a grab); safe to call twice."""
        fd, self.fd = self.fd, -1
        if fd >= 0:
            os.close(fd)


__all__ = [
    "EVENT",
    "EVIOCGNAME",
    "EVIOCGRAB",
    "EV_KEY",
    "EV_MSC",
    "EV_SYN",
    "KEY_CODES",
    "KEY_NAMES",
    "MSC_SCAN",
    "SYN_REPORT",
    "InputDevice",
    "InputEvent",
    "codes",
    "key_name",
    "parse_events",
]
