"""The signing dialog on the real bench UI (issue 16, 21 CFR 11.50 and 11.200(a)): the
manifestation shown before signing, the badge step, a wrong PIN with the attempts left, and
the PIN never on the screen (read back from Textual's compositor at every step).

Real simulators and a real store (tests/ui/conftest.py); the PIN verifiers are cheap (scrypt
n=16, r=1): the shipped cost is measured by benchmarks/pin_bench.py.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from station.bench.workflow import Mode
from station.core.pin import make_verifier
from station.settings import Config, InterlockSettings, SignatureSettings
from station.store import Store
from station.ui.pindialog import PinDialog
from tests.helpers.stores import open_store
from tests.ui.conftest import Harness, Sims, fixed_clock

PIN = "583920"


def cheap(pin: str) -> str:
    return make_verifier(pin, salt=b"ui-test-salt-16b", n=16, r=1, p=1)


def store_with_pin(cfg: Config) -> Store:
    """A real store for `cfg` where op-17 (A. Inspector) signs with `PIN`."""
    store = open_store(cfg, fixed_clock)
    doc = store.master_doc("operator", "op-17")
    assert doc is not None
    store.apply_master("operator", "op-17", doc | {"pin": cheap(PIN)}, source="mqtt")
    return store


@pytest.fixture
def signing_harness(cfg: Config, sims: Sims) -> Any:
    signed = dataclasses.replace(
        cfg, signatures=SignatureSettings(required=("nonconformance",), max_pin_failures=3)
    )
    store = store_with_pin(signed)
    yield Harness(signed, sims, store)
    store.close()


@pytest.mark.asyncio
async def test_the_pin_dialog_shows_the_meaning_and_never_the_pin(signing_harness: Any) -> None:
    h = signing_harness
    screens: list[str] = []

    def look() -> str:
        screens.append(h.text())
        return screens[-1]

    async with h.run() as pilot:
        await h.ready(pilot)
        await h.scans(pilot, "B-1017", "PN-778", "CAL-0042")
        await h.push(pilot, "12.450")
        await h.push(pilot, "25.000")
        await pilot.press("ctrl+p")
        await h.until(pilot, lambda: "REJECTED: nonconformance" in h.text(), "the NC dialog")
        await pilot.press("enter", *"bore oversize", "enter")
        await h.until(pilot, lambda: isinstance(h.app.screen, PinDialog), "the PIN dialog")
        screen = look()
        assert "I sign this nonconformance report as its author" in screen
        assert "A. Inspector (op-17)" in screen and "authorship" in screen
        assert "scan your badge again" in screen  # the first signing: badge and PIN
        # The PIN typed into the badge field by mistake: masked, refused without quoting it.
        await pilot.press(*PIN)
        look()
        await pilot.press("enter")
        await h.until(pilot, lambda: "that was not a badge" in h.text(), "the refused badge")
        look()
        await h.scan(pilot, "B-1017")  # the serial scanner: the dialog follows
        await h.until(pilot, lambda: "type your PIN" in h.text(), "the PIN step")
        await pilot.press(*"000000")
        look()
        await pilot.press("enter")
        await h.until(pilot, lambda: "2 attempt(s) left" in h.text(), "the wrong PIN")
        look()
        await pilot.press(*PIN)
        look()
        await pilot.press("enter")
        await h.until(pilot, lambda: h.wf.state.mode is Mode.READY, "the NC signed and saved")
        look()
        assert not isinstance(h.app.screen, PinDialog)
    for screen in screens:
        assert PIN not in screen and "000000" not in screen
    nc = next(r for r in h.records() if r["type"] == "nonconformance")
    [sig] = nc["body"]["signatures"]
    assert (sig["operator"], sig["name"], sig["method"]) == ("op-17", "A. Inspector", "badge+pin")
    assert "pin-failed" in h.events()


@pytest.mark.asyncio
async def test_esc_cancels_the_signature_and_records_nothing(signing_harness: Any) -> None:
    h = signing_harness
    async with h.run() as pilot:
        await h.ready(pilot)
        await h.scans(pilot, "B-1017", "PN-778", "CAL-0042")
        await h.push(pilot, "12.450")
        await h.push(pilot, "25.000")
        await pilot.press("ctrl+p")
        await h.until(pilot, lambda: "REJECTED: nonconformance" in h.text(), "the NC dialog")
        await pilot.press("enter", *"bore oversize", "enter")
        await h.until(pilot, lambda: isinstance(h.app.screen, PinDialog), "the PIN dialog")
        await pilot.press("escape")
        await h.until(pilot, lambda: h.wf.state.sign_request is None, "cancelled")
        await h.until(pilot, lambda: "REJECTED: nonconformance" in h.text(), "the NC again")
        assert h.wf.state.mode is Mode.NONCONFORMANCE
    assert not any(r["type"] == "nonconformance" for r in h.records())


@pytest.mark.asyncio
async def test_the_override_on_screen_author_then_approver(cfg: Config, sims: Sims) -> None:
    signed = dataclasses.replace(
        cfg,
        signatures=SignatureSettings(required=("override",)),
        interlock=InterlockSettings(
            allow_override=True, override_grace_days=60, approver_qualification="QA-1"
        ),
    )
    store = store_with_pin(signed)
    try:
        doc = store.master_doc("operator", "op-17")
        assert doc is not None
        approver = doc | {"id": "op-31", "name": "C. Approver", "badge": "B-1031"}
        approver |= {"qualifications": [{"code": "QA-1", "expires": "2027-12-31"}]}
        approver["pin"] = cheap("777001")
        store.apply_master("operator", "op-31", approver, source="mqtt")
        h = Harness(signed, sims, store)
        async with h.run() as pilot:
            await h.ready(pilot)
            await h.scans(pilot, "B-1017", "PN-778")
            assert (await h.scan(pilot, "CAL-0007")).level == "error"  # overdue
            await pilot.press("ctrl+o")
            await h.until(pilot, lambda: "OVERRIDE THE INSTRUMENT" in h.text(), "the reason")
            await pilot.press(*"rush order", "enter")
            await h.until(pilot, lambda: isinstance(h.app.screen, PinDialog), "the PIN dialog")
            assert "I sign this override of the instrument interlock as its author" in h.text()
            await h.scan(pilot, "B-1017")
            await pilot.press(*PIN, "enter")
            await h.until(pilot, lambda: "approver" in h.text(), "the approver step")
            assert "its approver" in h.text() and "signature 2 of 2" in h.text()
            await h.scan(pilot, "B-1031")
            await h.until(pilot, lambda: "C. Approver (op-31)" in h.text(), "the approver")
            await pilot.press(*"777001", "enter")
            await h.until(pilot, lambda: "override" in h.notice.text, "the override recorded")
            assert not isinstance(h.app.screen, PinDialog)
            n = await h.push(pilot, "12.346")
            assert n.level == "ok", n.lines()
        [ov] = [r for r in h.records() if r["type"] == "event" and r["body"]["kind"] == "override"]
        assert [s["meaning"] for s in ov["body"]["signatures"]] == ["authorship", "approval"]
    finally:
        store.close()


@pytest.mark.asyncio
async def test_a_signed_redo_asks_its_reason_then_the_pin(cfg: Config, sims: Sims) -> None:
    signed = dataclasses.replace(cfg, signatures=SignatureSettings(required=("redo",)))
    store = store_with_pin(signed)
    try:
        h = Harness(signed, sims, store)
        async with h.run() as pilot:
            await h.ready(pilot)
            await h.scans(pilot, "B-1017", "PN-778", "CAL-0042")
            await h.push(pilot, "12.390")
            await pilot.press("ctrl+r")
            await h.until(pilot, lambda: "REDO A READING" in h.text(), "the reason dialog")
            assert "not-seated" in h.text()
            await pilot.press("down", "enter")  # "not-seated", then the note field
            await pilot.press(*"tilted", "enter")
            await h.until(pilot, lambda: "REDO A READING" not in h.text(), "the dialog closed")
            await h.push(pilot, "12.350")
            await h.until(pilot, lambda: isinstance(h.app.screen, PinDialog), "the PIN dialog")
            assert "I sign this replacement of a reading as its author" in h.text()
            await h.scan(pilot, "B-1017")
            await h.until(pilot, lambda: "type your PIN" in h.text(), "the PIN step")
            await pilot.press(*PIN, "enter")
            await h.until(pilot, lambda: "reading-replaced" in h.events(), "the redo recorded")
        [ev] = [r for r in h.records() if r["body"].get("kind") == "reading-replaced"]
        assert ev["body"]["detail"]["reason"] == "not-seated"
        assert ev["body"]["detail"]["note"] == "tilted"
        assert [s["method"] for s in ev["body"]["signatures"]] == ["badge+pin"]
    finally:
        store.close()
