"""`station pin-hash` (issue 16): the verifier for the operator master data, read from a pipe
for scripts or twice from a real terminal without echo. The PIN is never printed."""

from __future__ import annotations

import io
import os
import pty
import select
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

import pytest

from station.core.pin import parse_verifier, verify_pin
from station.pinhash import pin_hash_main, pin_problem

# The cost is not the point in these tests: ln=4, r=1, p=1.
ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def piped(data: bytes) -> Iterator[TextIO]:
    """A real pipe holding `data` as the command's stdin (not a tty)."""
    r, w = os.pipe()
    os.write(w, data)
    os.close(w)
    with open(r, encoding="utf-8") as stdin:
        yield stdin


def run_piped(data: bytes) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with piped(data) as stdin:
        rc = pin_hash_main(stdin, out, err, ln=4, r=1, p=1)
    return rc, out.getvalue(), err.getvalue()


def test_a_piped_pin_prints_one_verifier_that_verifies_it() -> None:
    rc, out, err = run_piped(b"246810\n")
    assert (rc, err) == (0, "")
    assert out.endswith("\n") and out.count("\n") == 1
    verifier = out.strip()
    assert parse_verifier(verifier).ln == 4
    assert verify_pin(verifier, "246810")
    assert not verify_pin(verifier, "246811")
    assert "246810" not in out


def test_the_line_ending_is_not_part_of_the_pin_and_crlf_is_accepted() -> None:
    for data in (b"246810", b"246810\r\n"):
        rc, out, _ = run_piped(data)
        assert rc == 0 and verify_pin(out.strip(), "246810")


def test_two_runs_give_different_salts() -> None:
    first, second = run_piped(b"246810\n")[1], run_piped(b"246810\n")[1]
    assert first != second
    assert parse_verifier(first.strip()).salt != parse_verifier(second.strip()).salt


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "the PIN is empty"),
        (b"\n", "the PIN is empty"),
        (b"2468\n", "the PIN has 4 characters; at least 6 are required"),
        (b"7" * 65 + b"\n", "the PIN has 65 characters; at most 64 are accepted"),
        (b"111111\n", "the PIN is one character repeated: too easy to guess"),
        (b"123456\n", "the PIN is a run of consecutive digits: too easy to guess"),
        (b"876543\n", "the PIN is a run of consecutive digits: too easy to guess"),
        (b" 246810\n", "the PIN begins or ends with a space, which the bench would not keep"),
        (b"2468\t10\n", "the PIN contains a control character, which the bench cannot type"),
        (b"246810\n135790\n", "stdin holds more than one line: give one PIN per run"),
    ],
)
def test_a_weak_or_malformed_pin_is_refused_without_printing_it(data: bytes, reason: str) -> None:
    rc, out, err = run_piped(data)
    assert (rc, out) == (2, "")
    assert err == f"station pin-hash: {reason}\n"
    secret = data.strip()
    if len(secret) >= 4:
        assert secret.decode() not in err


def test_the_pin_rules_accept_letters_and_inner_spaces() -> None:
    assert pin_problem("horse battery") is None
    assert pin_problem("802413") is None


def test_an_unbounded_cost_is_refused() -> None:
    out, err = io.StringIO(), io.StringIO()
    with piped(b"246810\n") as stdin:
        rc = pin_hash_main(stdin, out, err, ln=30, r=8, p=1)
    assert (rc, out.getvalue()) == (2, "")
    assert "the station computes at most 128 MiB" in err.getvalue()


# --- a real terminal: a pseudo-terminal the child process has as its controlling tty ---------

CHILD = (
    "import sys\n"
    "from station.pinhash import pin_hash_main\n"
    "sys.exit(pin_hash_main(sys.stdin, sys.stdout, sys.stderr, ln=4, r=1, p=1))\n"
)


class Terminal:
    """The master side of a pty whose slave is the child's stdin, stdout, stderr and /dev/tty."""

    def __init__(self) -> None:
        pid, fd = pty.fork()
        if pid == 0:  # the child: a new session with the pty as its controlling terminal
            os.chdir(ROOT)
            os.execv(sys.executable, [sys.executable, "-c", CHILD])
        self.pid, self.fd, self.seen = pid, fd, b""

    def expect(self, text: bytes, timeout: float = 30.0) -> None:
        """Read until `text` has appeared (observing the output, never sleeping)."""
        while text not in self.seen:
            ready, _, _ = select.select([self.fd], [], [], timeout)
            assert ready, f"timed out waiting for {text!r}; the terminal shows {self.seen!r}"
            chunk = self._read()
            assert chunk, f"the command ended before {text!r}; the terminal shows {self.seen!r}"

    def _read(self) -> bytes:
        try:
            chunk = os.read(self.fd, 4096)
        except OSError:  # EIO: the child closed the terminal (Linux pty semantics)
            return b""
        self.seen += chunk
        return chunk

    def type(self, text: bytes) -> None:
        os.write(self.fd, text)

    def finish(self) -> int:
        """Read to the end of the output and return the child's exit status."""
        while True:
            ready, _, _ = select.select([self.fd], [], [], 30.0)
            assert ready, f"the command did not end; the terminal shows {self.seen!r}"
            if not self._read():
                break
        _, status = os.waitpid(self.pid, 0)
        os.close(self.fd)
        return os.waitstatus_to_exitcode(status)


def test_on_a_terminal_the_pin_is_asked_twice_and_never_echoed() -> None:
    term = Terminal()
    term.expect(b"PIN: ")
    term.type(b"802413\n")
    term.expect(b"PIN again: ")
    term.type(b"802413\n")
    assert term.finish() == 0
    assert b"802413" not in term.seen  # not echoed while typed, not printed after
    verifier = next(line for line in term.seen.decode().splitlines() if line.startswith("$scrypt$"))
    assert verify_pin(verifier.strip(), "802413")


def test_on_a_terminal_two_different_entries_print_nothing() -> None:
    term = Terminal()
    term.expect(b"PIN: ")
    term.type(b"802413\n")
    term.expect(b"PIN again: ")
    term.type(b"802414\n")
    assert term.finish() == 2
    assert b"the two PINs differ; nothing was printed" in term.seen
    assert b"$scrypt$" not in term.seen
    assert b"80241" not in term.seen
