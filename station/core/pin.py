"""The signing PIN's verifier: scrypt in a PHC string (contract `operator.schema.json`, `pin`).

Why: 21 CFR 11.200(a)(1) makes a signature two components, the badge (identity) and a secret
the operator alone knows; 11.300(a) asks that no two people share one. The QMS therefore
publishes only a *verifier* of the PIN, never the PIN: the PHC string

    $scrypt$ln=L,r=R,p=P$<base64 salt>$<base64 hash>

with hash = scrypt(PIN as UTF-8, salt, n=2^L, r=R, p=P, dklen=len(hash)) (RFC 7914). The cost
travels in the string, so the QMS can raise it later without a station release; the station
verifies whatever cost it is given within the bounds below. Base64 is the standard alphabet;
written without padding as the PHC string format asks, read with or without it.

Default cost, DEFAULT_LN = 15 (n = 32768), r = 8, p = 1: 32 MiB and, measured with
`benchmarks/pin_bench.py` on the project's 2-core x86-64 test machine, 109-123 ms CPU median
per verification (p99 under 150 ms; wall p99 up to 260 ms only while other jobs load both
cores), about 5·10^4 times one SHA-256 of the same input: inside the 50-250 ms goal (slow
enough that each guess at a stolen verifier costs real work, fast enough that a signing is
not a wait). A Raspberry Pi Zero 2 W is not measured here (run the benchmark there): a board
up to 7x slower than the test machine stays under a second. OWASP's Password Storage Cheat
Sheet (scrypt) asks for a minimum of n = 2^17, r = 8, p = 1 (128 MiB) or an equal-work trade
of memory for p; that costs 0.45-0.8 s here, so seconds on a board several times slower (the
Pi Zero 2 W: Cortex-A53 at 1 GHz, 512 MB shared with the GPU), which misses the sub-second
goal at the bench. n = 2^15 at r = 8 is one quarter of that work, keeps the memory-hardness
(32 MiB per guess), and is backed by the online limit a PIN relies on anyway (NIST SP
800-63B §5.2.2: lockout after consecutive failures, `[signatures] max_pin_failures`). A
plant that wants OWASP's figure publishes verifiers with ln=17: that is inside the bounds.

Bounds (a verifier arrives in master data over MQTT, so it may be hostile): scrypt needs
128·n·r bytes; MAX_MEMORY (128 MiB, OWASP's top setting) caps it, and MAX_WORK caps n·r·p
(the time) at the same level, so no message makes the station allocate gigabytes or spin for
minutes. `maxmem` is passed to OpenSSL explicitly (its default, 32 MiB, would refuse even the
default cost at its edge). Salt 8-64 bytes (PHC string format: at least 8), hash 16-64 bytes.

Pure: no I/O, no clock, no randomness: the salt is an argument (`station.pinhash` draws it
from `secrets`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass

DEFAULT_LN = 15
DEFAULT_R = 8
DEFAULT_P = 1
DEFAULT_SALT_BYTES = 16
DEFAULT_HASH_BYTES = 32
MAX_MEMORY = 128 * 1024 * 1024  # bytes: 128·n·r at most
MAX_WORK = 2**17 * 8  # n·r·p at most: OWASP's n=2^17, r=8, p=1
MIN_SALT_BYTES, MAX_SALT_BYTES = 8, 64
MIN_HASH_BYTES, MAX_HASH_BYTES = 16, 64

# The contract's pattern, with ASCII digits only (\d would also match other scripts' digits).
_PHC_RE = re.compile(
    r"\$scrypt\$ln=(?P<ln>[0-9]{1,2}),r=(?P<r>[0-9]{1,2}),p=(?P<p>[0-9]{1,2})"
    r"\$(?P<salt>[A-Za-z0-9+/]+={0,2})\$(?P<hash>[A-Za-z0-9+/]+={0,2})"
)


class VerifierError(ValueError):
    """A PIN verifier is malformed or outside the bounds the station accepts."""


@dataclass(frozen=True)
class Verifier:
    """A parsed PIN verifier: scrypt parameters, salt and the expected hash."""

    ln: int
    r: int
    p: int
    salt: bytes
    hash: bytes

    @property
    def n(self) -> int:
        return 1 << self.ln

    @property
    def memory(self) -> int:
        """Bytes scrypt's V array needs: 128·n·r (RFC 7914 §5, ROMix)."""
        return 128 * self.n * self.r

    def __str__(self) -> str:
        return f"$scrypt$ln={self.ln},r={self.r},p={self.p}${_b64(self.salt)}${_b64(self.hash)}"

    def __repr__(self) -> str:  # the hash is not a secret, but nobody needs it in a log
        return f"Verifier(ln={self.ln}, r={self.r}, p={self.p})"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str, what: str) -> bytes:
    bare = text.rstrip("=")
    if len(bare) % 4 == 1:
        raise VerifierError(f"the {what} is not base64 (a length of {len(bare)} characters)")
    try:
        return base64.b64decode(bare + "=" * (-len(bare) % 4), validate=True)
    except binascii.Error as exc:
        raise VerifierError(f"the {what} is not base64: {exc}") from None


def bound_problem(ln: int, r: int, p: int) -> str | None:
    """Why scrypt parameters are outside what the station computes, or None."""
    if ln < 1 or r < 1 or p < 1:
        return f"ln={ln}, r={r}, p={p}: ln, r and p must be at least 1"
    n = 1 << ln
    memory = 128 * n * r
    if memory > MAX_MEMORY:
        need = f"{memory >> 20} MiB" if memory < 2**40 else "more than 1 TiB"
        return (
            f"ln={ln}, r={r} needs {need}; the station computes at most "
            f"{MAX_MEMORY >> 20} MiB (128·n·r)"
        )
    if n * r * p > MAX_WORK:
        return f"ln={ln}, r={r}, p={p}: n·r·p = {n * r * p} exceeds the bound {MAX_WORK}"
    return None


def parse_verifier(text: str) -> Verifier:
    """Parse and bound-check a PHC scrypt string.

    Raises:
        VerifierError: the string is not `$scrypt$ln=L,r=R,p=P$salt$hash`, is not base64, or
            its parameters, salt or hash length are outside the bounds (module docstring).
    """
    if not isinstance(text, str):
        raise VerifierError(f"a PIN verifier is a string, not {type(text).__name__}")
    m = _PHC_RE.fullmatch(text)
    if m is None:
        shown = text if len(text) <= 40 else text[:37] + "..."
        raise VerifierError(
            f"not a PHC scrypt string $scrypt$ln=L,r=R,p=P$<salt>$<hash> (got {shown!r})"
        )
    ln, r, p = int(m["ln"]), int(m["r"]), int(m["p"])
    problem = bound_problem(ln, r, p)
    if problem is not None:
        raise VerifierError(problem)
    salt, digest = _unb64(m["salt"], "salt"), _unb64(m["hash"], "hash")
    if not MIN_SALT_BYTES <= len(salt) <= MAX_SALT_BYTES:
        raise VerifierError(
            f"the salt is {len(salt)} bytes; {MIN_SALT_BYTES}-{MAX_SALT_BYTES} are accepted"
        )
    if not MIN_HASH_BYTES <= len(digest) <= MAX_HASH_BYTES:
        raise VerifierError(
            f"the hash is {len(digest)} bytes; {MIN_HASH_BYTES}-{MAX_HASH_BYTES} are accepted"
        )
    return Verifier(ln, r, p, salt, digest)


def _scrypt(pin: str, v: Verifier, dklen: int) -> bytes:
    salt, r, p, n = v.salt, v.r, v.p, v.n
    # OpenSSL's own accounting (EVP_PBE_scrypt): V is 128·r·(n + 2) bytes and B 128·r·p;
    # maxmem must cover both or it refuses. One extra MiB absorbs rounding across versions.
    maxmem = 128 * r * (n + 2 + p) + 2**20
    return hashlib.scrypt(pin.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=maxmem, dklen=dklen)


def make_verifier(
    pin: str,
    *,
    salt: bytes,
    n: int = 1 << DEFAULT_LN,
    r: int = DEFAULT_R,
    p: int = DEFAULT_P,
    dklen: int = DEFAULT_HASH_BYTES,
) -> str:
    """The PHC verifier of `pin` with this salt and cost (n a power of two, n = 2**ln).

    Raises:
        VerifierError: the cost, salt or hash length is outside the bounds `parse_verifier`
            accepts (a verifier the station itself would refuse is never made).
        ValueError: `pin` is empty.
    """
    if not pin:
        raise ValueError("an empty PIN has no verifier")
    if n < 2 or n & (n - 1):
        raise VerifierError(f"n must be a power of two of at least 2 (got {n})")
    ln = n.bit_length() - 1
    problem = bound_problem(ln, r, p)
    if problem is not None:
        raise VerifierError(problem)
    if not MIN_SALT_BYTES <= len(salt) <= MAX_SALT_BYTES:
        raise VerifierError(
            f"the salt is {len(salt)} bytes; {MIN_SALT_BYTES}-{MAX_SALT_BYTES} are accepted"
        )
    if not MIN_HASH_BYTES <= dklen <= MAX_HASH_BYTES:
        raise VerifierError(f"dklen {dklen}: {MIN_HASH_BYTES}-{MAX_HASH_BYTES} are accepted")
    return str(Verifier(ln, r, p, salt, _scrypt(pin, Verifier(ln, r, p, salt, b""), dklen)))


def verify_pin(verifier: str, pin: str) -> bool:
    """True when `pin` matches `verifier`; the hashes are compared in constant time
    (`hmac.compare_digest`), so the time taken tells nothing about how much matched.

    Raises:
        VerifierError: `verifier` is malformed or out of bounds: the operator's master data is
            broken, which is not the same as a wrong PIN (it must not count as a failure).
    """
    v = parse_verifier(verifier)
    candidate = _scrypt(pin, v, len(v.hash))
    return hmac.compare_digest(candidate, v.hash)


__all__ = [
    "DEFAULT_HASH_BYTES",
    "DEFAULT_LN",
    "DEFAULT_P",
    "DEFAULT_R",
    "DEFAULT_SALT_BYTES",
    "MAX_MEMORY",
    "MAX_WORK",
    "Verifier",
    "VerifierError",
    "bound_problem",
    "make_verifier",
    "parse_verifier",
    "verify_pin",
]
