"""`station pin-hash`: make the scrypt verifier of a signing PIN for the operator master data.

For QMS integrators and whoever prepares the master data: the station only ever receives
this verifier (contract `operator.schema.json`, `pin`), never the PIN (21 CFR 11.300(a),(b)).
On a terminal the PIN is asked twice without echo (`getpass`, which reads `/dev/tty`) and must
match; when stdin is not a terminal one line is read from it, for scripts:

    printf '%s\\n' "$PIN" | station pin-hash >> verifiers.txt

The PIN is refused when it is too weak to be one component of a signature (NIST SP 800-63B,
Digital Identity Guidelines, rev. 3):

- at least MIN_LENGTH = 6 characters. §5.1.1.1 allows a numeric secret of 6 characters only
  when it is chosen at random (a subscriber-chosen one must have 8); a bench PIN is numeric
  for a keypad, so issue PINs at random. Shorter PINs are what §5.1.1.2's blocklist is full
  of (4 digits: 10,000 guesses). Online guessing is bounded by the lockout at
  `[signatures] max_pin_failures` (§5.2.2), offline guessing at a leaked verifier by scrypt's
  cost (`station.core.pin`);
- at most MAX_LENGTH = 64 characters (§5.1.1.2: verifiers should permit at least 64);
- no control characters and no leading or trailing space: the bench's PIN field cannot type
  them, so such a PIN could never be entered (§5.1.1.2 allows spaces; inside the PIN they are
  kept);
- not one character repeated nor a run of consecutive digits (`000000`, `123456`, `987654`),
  the first entries of every list of common PINs (§5.1.1.2: compare against commonly used
  values).

Exit status: 0 the verifier is printed on stdout (one line); 2 the PIN was refused or the two
entries differ (the reason on stderr; the PIN itself is never printed).
"""

from __future__ import annotations

import getpass
import secrets
from collections.abc import Callable
from typing import TextIO

from station.core.pin import (
    DEFAULT_LN,
    DEFAULT_P,
    DEFAULT_R,
    DEFAULT_SALT_BYTES,
    VerifierError,
    make_verifier,
)

MIN_LENGTH = 6
MAX_LENGTH = 64
_DIGITS = "0123456789"


def pin_problem(pin: str) -> str | None:
    """Why `pin` may not be a signing PIN (module docstring), or None. Never quotes the PIN."""
    if not pin:
        return "the PIN is empty"
    if len(pin) < MIN_LENGTH:
        return f"the PIN has {len(pin)} characters; at least {MIN_LENGTH} are required"
    if len(pin) > MAX_LENGTH:
        return f"the PIN has {len(pin)} characters; at most {MAX_LENGTH} are accepted"
    if any(ord(c) < 32 or ord(c) == 127 for c in pin):
        return "the PIN contains a control character, which the bench cannot type"
    if pin != pin.strip():
        return "the PIN begins or ends with a space, which the bench would not keep"
    if len(set(pin)) == 1:
        return "the PIN is one character repeated: too easy to guess"
    if pin in _DIGITS or pin in _DIGITS[::-1] or pin in "1234567890" or pin in "0987654321":
        return "the PIN is a run of consecutive digits: too easy to guess"
    return None


def _read_line(stdin: TextIO) -> str:
    """One line from a pipe, without its line ending; bounded, so a stray file is no PIN."""
    text = stdin.read(4 * MAX_LENGTH + 2)
    line, _, rest = text.partition("\n")
    if rest.strip():
        raise ValueError("stdin holds more than one line: give one PIN per run")
    return line.removesuffix("\r")


def pin_hash_main(
    stdin: TextIO,
    stdout: TextIO,
    stderr: TextIO,
    *,
    ask: Callable[[str], str] = getpass.getpass,
    salt: Callable[[], bytes] = lambda: secrets.token_bytes(DEFAULT_SALT_BYTES),
    ln: int = DEFAULT_LN,
    r: int = DEFAULT_R,
    p: int = DEFAULT_P,
) -> int:
    """Read the PIN (twice without echo on a terminal, once from a pipe), print its verifier.

    `ask` prompts without echo (`getpass.getpass`: on the controlling terminal); `salt` draws
    a fresh random salt per verifier (`secrets`, so two operators with one PIN get different
    verifiers). Returns the exit status (module docstring).
    """
    try:
        if stdin.isatty():
            pin = ask("PIN: ")
            if pin != ask("PIN again: "):
                stderr.write("station pin-hash: the two PINs differ; nothing was printed\n")
                return 2
        else:
            pin = _read_line(stdin)
    except (ValueError, EOFError) as exc:
        stderr.write(f"station pin-hash: {exc or 'no PIN was given'}\n")
        return 2
    problem = pin_problem(pin)
    if problem is not None:
        stderr.write(f"station pin-hash: {problem}\n")
        return 2
    try:
        verifier = make_verifier(pin, salt=salt(), n=1 << ln, r=r, p=p)
    except VerifierError as exc:
        stderr.write(f"station pin-hash: {exc}\n")
        return 2
    stdout.write(verifier + "\n")
    stdout.flush()
    return 0


__all__ = ["MAX_LENGTH", "MIN_LENGTH", "pin_hash_main", "pin_problem"]
