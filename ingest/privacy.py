"""Masking of personal data: fødselsnummer (and D-/H-numbers), account numbers, phone numbers, e-mail addresses.

One function, `mask_personal_data`, is the boundary every stored or shown string passes: section text, title,
headings, every string metadata value, the source path, questions in the feedback log and the audit log.

Numbers are recognised the way Norwegian public bodies write them. Validation comes from maintained libraries:
`stdnum.no.fodselsnummer` and `stdnum.no.kontonr` (python-stdnum) for the control digits, and `phonenumbers`
(Google's libphonenumber) for whether eight digits are a Norwegian phone number in use. The written forms, the
cue words and the amounts that must survive are ours:

- fødselsnummer, D- and H-numbers: DDMMYYNNNNN, DDMMYY NNNNN, DDMMYY-NNNNN, with a non-breaking space or a
  line break between the groups, when the control digits hold; any 11 digits after a cue word
  («fødselsnummer», «personnummer», «f.nr.», «fnr», «d-nummer») whatever their control digits.
- account numbers: 11 digits that pass mod-11, any 11 digits grouped 4.2.5, any 11 digits after «konto».
- phone numbers: 8 digits written straight, 2-2-2-2 or 3-2-3 (4-4 after a cue word), with or without
  +47 / 0047 / (+47), valid for Norway, unless an amount word follows («kroner», «kr», «NOK», «årsverk», «%»)
  or precedes («kr», «NOK»).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

import phonenumbers
from stdnum.no import fodselsnummer as _fnr
from stdnum.no import kontonr as _kontonr

FNR_MASK = "[fødselsnummer]"
ACCOUNT_MASK = "[kontonummer]"
PHONE_MASK = "[telefon]"
EMAIL_MASK = "[e-post]"
MASKS = (FNR_MASK, ACCOUNT_MASK, PHONE_MASK, EMAIL_MASK)
# NOTE: bump when recognition changes: a store masked by an older version is masked again on the next ingest.
MASKING_VERSION = 2

# Between two digit groups: a space, a non-breaking or narrow space, a hyphen or a dot, or a line break
# (a PDF line or a Word soft return) with spaces around it.
_SEP = r"(?:[ \u00a0\u202f\u2007.\-]|[ \t\u00a0]*\r?\n[ \t\u00a0]*)"
# Not part of a longer number: no digit right before, nor a digit before a single separator («12 500 000»).
_START = r"(?<!\d)(?<!\d[ \u00a0\u202f.,])"
_END = r"(?!\d)(?![ \u00a0\u202f.,]\d)"
_ELEVEN = re.compile(
    _START
    + rf"(?:(\d{{6}}){_SEP}?(\d{{5}})"  # DDMMYYNNNNN, DDMMYY NNNNN, DDMMYY-NNNNN, over a line break
    + r"|(\d{4})[. \u00a0](\d{2})[. \u00a0](\d{5})"  # account 4.2.5
    + rf"|(\d\d)\.(\d\d)\.(\d\d){_SEP}?(\d{{5}}))"  # DD.MM.YY NNNNN
    + _END
)
_FNR_CUE = re.compile(
    r"(?:fødsels|person)(?:nummer|nr)|f\.\s?nr|\bfnr|\bpnr|\b[dh]-?nummer|\bpers\.\s?nr|identitetsnummer",
    re.IGNORECASE,
)
_ACCOUNT_CUE = re.compile(r"konto(?!r)", re.IGNORECASE)
_PHONE_CUE = re.compile(r"\b(?:tlf|telefon|mobil|mob|tel|ring|sms|nr)\b|telefonnummer|mobilnummer", re.IGNORECASE)
_PREFIX = r"(?:\(\+47\)|\(0047\)|\+47|0047)[ \u00a0]?"
# A phone number stands alone: eight digits glued to letters belong to a file name, hash or case number.
_LETTER_BEFORE, _LETTER_AFTER = r"(?<![^\W\d_])", r"(?![^\W\d_])"
_PHONE = re.compile(
    rf"(?:(?<![\w+])({_PREFIX})|{_START}{_LETTER_BEFORE})"
    + rf"(\d{{8}}|\d\d{_SEP}\d\d{_SEP}\d\d{_SEP}\d\d|\d{{3}}{_SEP}\d\d{_SEP}\d{{3}}|(\d{{4}}){_SEP}\d{{4}})"
    + _END
    + _LETTER_AFTER
)
_AMOUNT_AFTER = re.compile(r"\s*(?:,-|kr\b|kr\.|kroner|nok\b|mill|årsverk|%|prosent|timer\b|ansatte)", re.IGNORECASE)
_AMOUNT_BEFORE = re.compile(r"(?:\bkr\.?|\bnok|kroner)\s*$", re.IGNORECASE)
_TIME_RANGE = re.compile(r"\d\d[.:]\d\d\s?[-–]\s?\d\d[.:]\d\d")  # «kl. 20.00-22.00»
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[a-zA-Z]{2,}\b")
_CUE_WINDOW = 24  # characters before a number in which a cue word counts («Fødselsnummer til deltakeren: »)

_K1 = (3, 7, 6, 1, 8, 9, 4, 5, 2)
_K2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def _control(digits: list[int], weights: tuple[int, ...]) -> int | None:
    rest = 11 - sum(d * w for d, w in zip(digits, weights, strict=False)) % 11
    if rest == 11:
        return 0
    return None if rest == 10 else rest


def is_fodselsnummer(number: str) -> bool:
    """Whether 11 digits are a valid Norwegian national identity number, D-, H-, FH- or synthetic test number.

    python-stdnum checks fødselsnummer, D-, H- and FH-numbers; the synthetic numbers of the national test
    register (month + 80) and numbers whose date lies ahead (a typo in the year) are checked here.
    """
    if len(number) != 11 or not number.isdigit():
        return False
    if _fnr.is_valid(number):
        return True
    digits = [int(c) for c in number]
    if _control(digits[:9], _K1) != digits[9] or _control(digits[:10], _K2) != digits[10]:
        return False
    day, month = int(number[0:2]), int(number[2:4])
    if day > 40:
        day -= 40
    if month > 80:
        month -= 80
    elif month > 40:
        month -= 40
    return 1 <= day <= 31 and 1 <= month <= 12


def is_account_number(number: str) -> bool:
    """Whether 11 digits pass the mod-11 check of a Norwegian bank account number (python-stdnum)."""
    return len(number) == 11 and number.isdigit() and _kontonr.is_valid(number)


def is_phone_number(digits: str) -> bool:
    """Whether 8 digits are a Norwegian phone number in use (libphonenumber's metadata for region NO)."""
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(digits, "NO"))
    except phonenumbers.NumberParseException:
        return False


@dataclass(frozen=True, slots=True)
class Masked:
    """Masked text and how many of each kind were replaced."""

    text: str
    counts: Counter[str]


def _cue_before(text: str, start: int) -> str:
    """The kind named by the cue word nearest before `start` («fnr», «konto», «tlf»), or "" when none is close.

    A cue counts only within a few characters and with no other number in between, so «Mobil 412 34 567.
    Årsbudsjettet er 912 34 567 kroner» cues the phone number and not the amount after it.
    """
    window = text[max(0, start - _CUE_WINDOW) : start]
    best, kind = -1, ""
    for name, cue in (("fødselsnummer", _FNR_CUE), ("kontonummer", _ACCOUNT_CUE), ("telefon", _PHONE_CUE)):
        for match in cue.finditer(window):
            between = window[match.end() :]
            if match.end() > best and not any(c.isdigit() for c in between) and "[" not in between:
                best, kind = match.end(), name
    return kind


def mask_personal_data(text: str) -> Masked:
    """Replace personal numbers and e-mail addresses with placeholders such as «[fødselsnummer]».

    Placeholders hold no digits, so masking masked text changes nothing.
    """
    counts: Counter[str] = Counter()
    if not text:
        return Masked(text=text, counts=counts)

    def eleven(match: re.Match[str]) -> str:
        number = "".join(g for g in match.groups() if g)
        account_form = match.group(3) is not None
        cue = _cue_before(text, match.start())
        if cue == "fødselsnummer" or (cue != "kontonummer" and not account_form and is_fodselsnummer(number)):
            counts["fødselsnummer"] += 1
            return FNR_MASK
        # NOTE: nothing but an account number is written 4.2.5, so that form is masked whatever its check digit
        if account_form or cue == "kontonummer" or is_account_number(number):
            counts["kontonummer"] += 1
            return ACCOUNT_MASK
        return match.group(0)

    text = _ELEVEN.sub(eleven, text)

    def email(_match: re.Match[str]) -> str:
        counts["e-post"] += 1
        return EMAIL_MASK

    text = _EMAIL.sub(email, text)

    def phone(match: re.Match[str]) -> str:
        prefixed = match.group(1) is not None
        cue = prefixed or _cue_before(text, match.start()) == "telefon"
        if match.group(3) is not None and not cue:
            return match.group(0)  # 4-4 digits without a cue are years («2024 2027», «2024-2027»)
        if not prefixed and (
            _AMOUNT_AFTER.match(text, match.end())
            or _AMOUNT_BEFORE.search(text, max(0, match.start() - 12), match.start())
            or _TIME_RANGE.fullmatch(match.group(2))
        ):
            return match.group(0)
        digits = re.sub(r"\D", "", match.group(2))
        if not (is_phone_number(digits) or (cue and digits[0] in "23456789")):
            return match.group(0)
        counts["telefon"] += 1
        return PHONE_MASK

    text = _PHONE.sub(phone, text)
    return Masked(text=text, counts=counts)


def mask_text(text: str) -> str:
    """The text with personal data masked (no counts)."""
    return mask_personal_data(text).text


V = TypeVar("V")


def mask_metadata(metadata: Mapping[str, V], counts: Counter[str] | None = None) -> dict[str, V]:
    """Every string value masked; numbers, booleans and keys are kept."""
    masked: dict[str, V] = {}
    for key, value in metadata.items():
        if isinstance(value, str):
            result = mask_personal_data(value)
            if counts is not None:
                counts.update(result.counts)
            masked[key] = result.text  # type: ignore[assignment]
        else:
            masked[key] = value
    return masked


def mask_source(source: str) -> str:
    """A source path as stored and shown: each path part masked («sluttsamtale-[fødselsnummer].md»)."""
    return "/".join(mask_text(part) for part in source.split("/"))
