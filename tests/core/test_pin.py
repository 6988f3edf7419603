"""The PIN verifier (contract `operator.schema.json`, `pin`): scrypt in a PHC string, compared
in constant time, with bounded parameters so hostile master data cannot exhaust the station.

scrypt itself is checked against RFC 7914 §12's published test vector, to its printed bytes.
"""

from __future__ import annotations

import base64
import hmac
import json
from pathlib import Path

import jsonschema
import pytest

from station.core.pin import (
    DEFAULT_LN,
    DEFAULT_P,
    DEFAULT_R,
    MAX_MEMORY,
    VerifierError,
    bound_problem,
    make_verifier,
    parse_verifier,
    verify_pin,
)

ROOT = Path(__file__).resolve().parents[2]
SALT = b"0123456789abcdef"
CHEAP = 16  # n for tests where the cost is not the point


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def test_rfc7914_vector_3_through_a_phc_string() -> None:
    # RFC 7914 §12: scrypt(P="pleaseletmein", S="SodiumChloride", N=16384, r=8, p=1, dkLen=64)
    expected = bytes.fromhex(
        "70 23 bd cb 3a fd 73 48 46 1c 06 cd 81 fd 38 eb fd a8 fb ba 90 4f 8e 3e a9 b5 43 f6 54 "
        "5d a1 f2 d5 43 29 55 61 3f 0f cf 62 d4 97 05 24 2a 9a f9 e6 1e 85 dc 0d 65 1e 40 df cf "
        "01 7b 45 57 58 87"
    )
    verifier = make_verifier("pleaseletmein", salt=b"SodiumChloride", n=16384, r=8, p=1, dklen=64)
    assert verifier == f"$scrypt$ln=14,r=8,p=1${b64(b'SodiumChloride')}${b64(expected)}"
    assert verify_pin(verifier, "pleaseletmein")
    assert not verify_pin(verifier, "pleaseletmeout")


def test_the_verifier_matches_the_contract_pattern() -> None:
    schema = json.loads((ROOT / "station" / "schemas" / "operator.schema.json").read_text())
    doc = {
        "schema": "qms.master/operator@1",
        "id": "op-1",
        "name": "A. Signer",
        "badge": "B-1",
        "qualifications": [],
        "pin": make_verifier("802413", salt=SALT, n=CHEAP),
    }
    jsonschema.validate(doc, schema)


def test_the_default_cost_is_the_documented_one() -> None:
    v = parse_verifier(make_verifier("802413", salt=SALT))
    assert (v.ln, v.r, v.p) == (DEFAULT_LN, DEFAULT_R, DEFAULT_P) == (15, 8, 1)
    assert v.memory == 32 * 2**20
    assert len(v.hash) == 32


def test_the_cost_travels_in_the_string_so_the_qms_can_raise_it() -> None:
    for n, r, p in ((2**4, 1, 1), (2**10, 8, 2), (2**12, 4, 3)):
        verifier = make_verifier("802413", salt=SALT, n=n, r=r, p=p)
        v = parse_verifier(verifier)
        assert (v.n, v.r, v.p) == (n, r, p)
        assert verify_pin(verifier, "802413")


def test_padded_base64_from_another_tool_is_accepted() -> None:
    unpadded = make_verifier("802413", salt=b"12345678", n=CHEAP)
    head, salt, digest = unpadded.rsplit("$", 2)
    pad = "=" * (-len(salt) % 4)
    assert pad  # an 8-byte salt needs padding
    assert verify_pin(f"{head}${salt}{pad}${digest}=", "802413")


def test_the_comparison_is_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def recording(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", recording)  # what verify_pin calls
    verifier = make_verifier("802413", salt=SALT, n=CHEAP)
    assert verify_pin(verifier, "802413") and not verify_pin(verifier, "802414")
    assert len(calls) == 2
    assert all(isinstance(a, bytes) and len(a) == len(b) == 32 for a, b in calls)


def test_the_pin_is_utf8_and_not_normalised() -> None:
    verifier = make_verifier("güte-2026", salt=SALT, n=CHEAP)
    assert verify_pin(verifier, "güte-2026")
    assert not verify_pin(verifier, "gu\u0308te-2026")  # the same text, decomposed


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "not a PHC scrypt string"),
        ("802413", "not a PHC scrypt string"),
        ("$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2g", "not a PHC scrypt string"),
        ("$scrypt$ln=15,r=8$c2FsdHNhbHQ$aGFzaGhhc2g", "not a PHC scrypt string"),
        ("$scrypt$ln=١٥,r=8,p=1$c2FsdHNhbHQ$aGFzaGhhc2g", "not a PHC scrypt string"),
        ("$scrypt$ln=15,r=8,p=1$c2FsdHNhbHQ$aGFzaGhhc2g\n", "not a PHC scrypt string"),
        ("$scrypt$ln=0,r=8,p=1$c2FsdHNhbHQxMjM$aGFzaGhhc2doYXNoaGFzaA", "at least 1"),
        ("$scrypt$ln=15,r=0,p=1$c2FsdHNhbHQxMjM$aGFzaGhhc2doYXNoaGFzaA", "at least 1"),
        ("$scrypt$ln=15,r=8,p=1$c2FsdA$aGFzaGhhc2doYXNoaGFzaA", "the salt is 4 bytes"),
        ("$scrypt$ln=15,r=8,p=1$c2FsdHNhbHQxMjM$aGFzaA", "the hash is 4 bytes"),
        ("$scrypt$ln=15,r=8,p=1$c2FsdHNhbHQxMjM$a", "the hash is not base64"),
    ],
)
def test_a_malformed_verifier_raises_a_clear_error(text: str, message: str) -> None:
    with pytest.raises(VerifierError, match=message):
        verify_pin(text, "802413")


def test_a_verifier_that_is_not_a_string_raises_a_clear_error() -> None:
    with pytest.raises(VerifierError, match="a PIN verifier is a string, not int"):
        parse_verifier(12345)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("ln", "r", "p", "message"),
    [
        (99, 99, 99, "the station computes at most 128 MiB"),  # 2^99 blocks: the pattern allows it
        (18, 8, 1, "needs 256 MiB; the station computes at most 128 MiB"),
        (17, 9, 1, "the station computes at most 128 MiB"),
        (17, 8, 2, "exceeds the bound"),  # 128 MiB, but twice the time
        (13, 8, 99, "exceeds the bound"),  # 8 MiB, but 99 times over
    ],
)
def test_hostile_parameters_are_refused_before_any_memory_is_taken(
    ln: int, r: int, p: int, message: str
) -> None:
    assert bound_problem(ln, r, p) is not None
    hostile = f"$scrypt$ln={ln},r={r},p={p}${b64(SALT)}${b64(bytes(32))}"
    with pytest.raises(VerifierError, match=message):
        verify_pin(hostile, "802413")  # returns at once: no scrypt is run


def test_the_largest_accepted_cost_is_computed_with_an_explicit_maxmem() -> None:
    # OpenSSL's default maxmem is 32 MiB; the bound (128 MiB, OWASP's n=2^17, r=8) must work.
    assert bound_problem(17, 8, 1) is None
    assert MAX_MEMORY == 128 * 2**17 * 8
    verifier = make_verifier("802413", salt=SALT, n=2**17, r=8, p=1)
    assert verify_pin(verifier, "802413")


def test_make_verifier_refuses_what_verify_would_refuse() -> None:
    with pytest.raises(VerifierError, match="power of two"):
        make_verifier("802413", salt=SALT, n=1000)
    with pytest.raises(VerifierError, match="the salt is 4 bytes"):
        make_verifier("802413", salt=b"salt", n=CHEAP)
    with pytest.raises(VerifierError, match="needs 256 MiB"):
        make_verifier("802413", salt=SALT, n=2**18)
    with pytest.raises(ValueError, match="empty PIN"):
        make_verifier("", salt=SALT, n=CHEAP)


def test_the_parsed_verifier_does_not_show_its_hash() -> None:
    v = parse_verifier(make_verifier("802413", salt=SALT, n=CHEAP))
    assert repr(v) == "Verifier(ln=4, r=8, p=1)"
