"""What did the operator just scan? A badge, an instrument, a standard, a part, or nothing known.

Contract (station.md, "Bench interaction"): a plain part scan is matched against the
`part_numbers` of released plans by its whole text; a GS1 scan by its GTIN (AI 01) or its
additional product id (AI 240), with AI 10 as the lot and AI 21 as the serial. A scan equal
to an operator `badge`, instrument `id` or standard `id` selects it.

Normalisation, before any matching:

1. Surrounding spaces, tabs, CR and LF are removed (scanner suffixes). GS (0x1D) is *not*
   whitespace here, although Python's ``str.strip`` thinks it is: it is data in GS1.
2. A leading AIM symbology identifier (ISO/IEC 15424: ``]`` + code letter + modifier
   digit, e.g. ``]d2`` GS1 DataMatrix, ``]C1`` GS1-128, ``]Q3`` GS1 QR, ``]e0`` GS1
   DataBar, ``]C0`` plain Code 128) is removed for matching, and remembered.
3. A leading GS (some scanners transmit the FNC1 in first position as GS) marks the scan
   as GS1 and is removed.

Order of matching, and why (the first match wins: a text the master data uses for two of
these selects only the first; nothing checks master data for such collisions yet):

1. operator badge - logging in/out must always work, whatever else is configured;
2. instrument id, then 3. standard id - bench equipment labels;
4. part, plain: the whole text equals a part number of some plan - unless the scan is
   marked GS1 (a GS1 AIM identifier, a leading GS or a GS inside), which is always read
   as GS1, so an EAN-13 (``]E0``) yields its GTIN;
5. part, GS1: when the scan is marked GS1, or it is in human-readable form ``(01)…``, or -
   without any AIM identifier - biip parses it as a GS1 message with AI 01/240 or as a
   bare GTIN with a valid check digit. A non-GS1 AIM identifier (``]C0``, ``]A0``…) means
   the code is not GS1, whatever its digits look like.

GTIN matching follows GS1: a GTIN is the same number whether written in 8, 12, 13 or 14
digits (zero-padded to 14), so a plan part number ``9521234543213`` matches the AI 01 value
``09521234543213``. The GTIN check digit is validated by biip (GS1 General Specifications
7.9); a wrong one makes the scan unknown, with biip's message.

Separators: GS (0x1D) and its visible stand-in U+241D (SYMBOL FOR GROUP SEPARATOR, what
some terminals and test tools show) are accepted; other printable stand-ins are not
guessed, since they may be data.

A part whose plans are all draft or obsolete (or that has several released revisions) is
still a `PartScan`, with `plan` None and `error` saying why (from `plans.select_plan`), so
the bench can tell the operator exactly what the QMS must fix. Identifiers that match no
plan at all give an `UnknownScan` naming them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import biip
from biip.gs1_element_strings import GS1ElementString
from biip.gs1_messages import GS1Message
from biip.symbology import SymbologyIdentifier

from station.core.model import Instrument, MasterData, Operator, Plan, Standard
from station.core.plans import PlanSelectionError, choose_released, plans_for_part

_AIM = re.compile(r"^\][A-Za-z][0-9]")
_SEPARATORS = ("\x1d", "\u241d")
_TRIM = " \t\r\n"
_CONFIG = biip.ParseConfig(separator_chars=_SEPARATORS)


@dataclass(frozen=True)
class OperatorScan:
    """A badge: the operator to log in (or out, when already logged in)."""

    operator: Operator
    raw: str = ""


@dataclass(frozen=True)
class InstrumentScan:
    """An instrument label."""

    instrument: Instrument
    raw: str = ""


@dataclass(frozen=True)
class StandardScan:
    """A reference standard label (instrument-check mode)."""

    standard: Standard
    raw: str = ""


@dataclass(frozen=True)
class PartScan:
    """A part: its number as the plan lists it, GS1 data when present, and its plan.

    Attributes:
        part_number: the plan's part number that matched.
        serial: AI 21, when present.
        lot: AI 10, when present.
        gtin: the GTIN as 14 digits, when the scan carried one.
        raw: the scan as received (for the record's `part.scan`).
        plan: the one released plan, or None when there is none or several.
        error: why `plan` is None (names the revisions found).
    """

    part_number: str
    serial: str | None = None
    lot: str | None = None
    gtin: str | None = None
    raw: str = ""
    plan: Plan | None = None
    error: str | None = None


@dataclass(frozen=True)
class UnknownScan:
    """A scan matching nothing, with a message for the operator."""

    raw: str
    message: str


Scan = OperatorScan | InstrumentScan | StandardScan | PartScan | UnknownScan


@dataclass(frozen=True)
class NormalizedScan:
    """A scan after normalisation: the text to match, its AIM id, and GS1 hints.

    Attributes:
        text: the data to match (no suffix, no AIM id, no leading GS).
        aim: the AIM symbology identifier, e.g. ``]d2``, or None.
        gs1_symbology: True for a GS1 symbology (``]d2``, ``]C1``, ``]E0``…), False for
            another one (``]C0``, ``]A0``…), None without an AIM id.
        leading_gs: the data started with GS (FNC1 in first position).
    """

    text: str
    aim: str | None
    gs1_symbology: bool | None
    leading_gs: bool

    @property
    def gs1_marked(self) -> bool:
        """True when the scan itself says it is GS1 (AIM id, leading GS or a GS inside)."""
        return bool(self.gs1_symbology) or self.leading_gs or _has_separator(self.text)


def _has_separator(text: str) -> bool:
    return any(sep in text for sep in _SEPARATORS)


def normalize(raw: str) -> NormalizedScan:
    """Trim scanner suffixes, split off an AIM symbology identifier and a leading GS."""
    text = raw.strip(_TRIM)
    aim = None
    gs1_symbology = None
    m = _AIM.match(text)
    if m is not None:
        aim = m.group(0)
        text = text[len(aim) :]
        try:
            gs1_symbology = SymbologyIdentifier.extract(aim).gs1_symbology is not None
        except biip.ParseError:  # a code letter biip does not know: not a GS1 symbology
            gs1_symbology = False
    leading_gs = text.startswith(_SEPARATORS)
    if leading_gs:
        text = text[1:]
    return NormalizedScan(text=text, aim=aim, gs1_symbology=gs1_symbology, leading_gs=leading_gs)


def _gtin14(digits: str) -> str | None:
    if digits.isascii() and digits.isdigit() and len(digits) in (8, 12, 13, 14):
        return digits.zfill(14)
    return None


@dataclass(frozen=True)
class _GS1:
    gtin: str | None
    additional_id: str | None
    lot: str | None
    serial: str | None


def _part(label: str, candidates: tuple[Plan, ...], raw: str, gs1: _GS1 | None = None) -> PartScan:
    try:
        plan, error = choose_released(label, candidates), None
    except PlanSelectionError as exc:
        plan, error = None, str(exc)
    return PartScan(
        part_number=label,
        serial=None if gs1 is None else gs1.serial,
        lot=None if gs1 is None else gs1.lot,
        gtin=None if gs1 is None else gs1.gtin,
        raw=raw,
        plan=plan,
        error=error,
    )


def _repeat_problem(message: GS1Message, text: str) -> str | None:
    """The reason a message repeating an AI with different values is refused, if it does.

    GS1 allows an AI to occur more than once in one message only with the same value (the
    GS1 General Specifications' rules on combining element strings; the GS1 Barcode Syntax
    Engine enforces it as its always-on "repeated AIs" check). A label with two lots or two
    serials names two things at once: taking the first would record a guess. Identical
    repeats are accepted, as the Syntax Engine accepts them: they carry one value.
    """
    seen: dict[str, str] = {}
    for es in message.element_strings:
        ai, value = es.ai.ai, es.value
        if ai in seen and seen[ai] != value:
            return (
                f"GS1 scan {text!r} is invalid: AI ({ai}) occurs twice with different values "
                f"({seen[ai]!r} and {value!r}); GS1 allows an AI to repeat only with the same "
                "value"
            )
        seen.setdefault(ai, value)
    return None


def _from_message(message: GS1Message, text: str, claims: bool) -> _GS1 | str | None:
    repeated = _repeat_problem(message, text)
    if repeated is not None:
        return repeated
    first: dict[str, GS1ElementString] = {}
    for es in message.element_strings:
        first.setdefault(es.ai.ai, es)
    gtin_es = first.get("01")
    if gtin_es is not None and gtin_es.gtin is None:
        return f"GS1 scan {text!r} has an invalid GTIN (AI 01): {gtin_es.gtin_error}"
    gtin = None if gtin_es is None or gtin_es.gtin is None else gtin_es.gtin.as_gtin_14()
    additional = first["240"].value if "240" in first else None
    if gtin is None and additional is None:
        if claims:
            return (
                f"GS1 scan {text!r} has no GTIN (AI 01) or additional product id (AI 240) "
                "to identify the part"
            )
        return None
    lot = first["10"].value if "10" in first else None
    serial = first["21"].value if "21" in first else None
    return _GS1(gtin, additional, lot, serial)


def _parse_gs1(norm: NormalizedScan) -> _GS1 | str | None:
    """GS1 data from the scan; an error message when it is GS1 but unusable; None when it
    is not GS1."""
    text = norm.text
    if norm.gs1_symbology is False or (norm.aim is None and text.startswith("]")):
        return None  # a non-GS1 symbology (or a stray "]"): plain data by definition
    has_gs = _has_separator(text)
    claims = norm.gs1_marked or text.startswith("(")
    if text.startswith("("):
        try:
            return _from_message(GS1Message.parse_hri(text, config=_CONFIG), text, True)
        except biip.ParseError as exc:
            return f"GS1 scan {text!r} could not be read: {exc}"
    result = biip.parse((norm.aim or "") + text, config=_CONFIG)
    if result.gs1_message is not None:
        parsed = _from_message(result.gs1_message, text, claims)
        if parsed is not None:
            return parsed
    if result.gtin is not None and not has_gs:
        return _GS1(result.gtin.as_gtin_14(), None, None, None)
    if claims:
        why = result.gs1_message_error or result.gtin_error or "no GTIN or AI 240 in it"
        return f"GS1 scan {text!r} could not be read: {why}"
    return None


def classify_scan(raw: str, master: MasterData) -> Scan:
    """Classify one scan against the master data (see the module docstring for the rules).

    Never raises on scanner input: anything unusable is an `UnknownScan` with a message.
    """
    norm = normalize(raw)
    text = norm.text
    if not text:
        return UnknownScan(raw, "empty scan")
    operator = master.operator_by_badge(text)
    if operator is not None:
        return OperatorScan(operator, raw)
    instrument = master.instrument(text)
    if instrument is not None:
        return InstrumentScan(instrument, raw)
    standard = master.standard(text)
    if standard is not None:
        return StandardScan(standard, raw)
    if not norm.gs1_marked:
        plain = plans_for_part(text, master.plans)
        if plain:
            return _part(text, plain, raw)
    try:
        gs1 = _parse_gs1(norm)
    except Exception as exc:
        # biip parses untrusted scanner input; whatever it raises, the bench must not crash
        # and the operator must see why the scan was not accepted.
        gs1 = f"GS1 scan {text!r} could not be read: {exc}"
    if gs1 is None:
        return UnknownScan(
            raw,
            f"unknown scan {text!r}: not a badge, instrument, standard or part number of any plan",
        )
    if isinstance(gs1, str):
        return UnknownScan(raw, gs1)
    tried: list[str] = []
    if gs1.gtin is not None:
        tried.append(f"GTIN {gs1.gtin}")
        by_gtin = [(n, p) for p in master.plans for n in p.part_numbers if _gtin14(n) == gs1.gtin]
        if by_gtin:
            candidates = tuple(dict.fromkeys(p for _, p in by_gtin))
            return _part(by_gtin[0][0], candidates, raw, gs1)
    if gs1.additional_id is not None:
        tried.append(f"additional product id (AI 240) {gs1.additional_id}")
        candidates = plans_for_part(gs1.additional_id, master.plans)
        if candidates:
            return _part(gs1.additional_id, candidates, raw, gs1)
    return UnknownScan(
        raw,
        f"GS1 scan: {' or '.join(tried)} matches no released plan "
        "(no plan lists it as a part number)",
    )


__all__ = [
    "InstrumentScan",
    "NormalizedScan",
    "OperatorScan",
    "PartScan",
    "Scan",
    "StandardScan",
    "UnknownScan",
    "classify_scan",
    "normalize",
]
