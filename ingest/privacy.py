"""Masking of personal data in stored text: fødselsnummer, phone numbers and e-mail addresses."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

FNR_MASK = "[fødselsnummer]"
PHONE_MASK = "[telefon]"
EMAIL_MASK = "[e-post]"

_FNR = re.compile(r"(?<![\d-])(\d{6})[ ]?(\d{5})(?![\d-])")
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[a-zA-Z]{2,}\b")
# Norwegian numbers have 8 digits and never start with 0 or 1. Written as 2-2-2-2 or 3-2-3 groups, or
# unspaced after a cue word or country code, so that years ("2024 2027") and amounts are left alone.
_PHONE = re.compile(
    r"(?:(?:\+47|0047)[ ]?|(?<=tlf\. )|(?<=tlf )|(?<=telefon )|(?<=mobil )|(?<=tlf: )|(?<=telefon: ))"
    r"[2-9]\d{7}\b"
    r"|(?<!\d)(?<!\d )(?:(?:\+47|0047)[ ]?)?[2-9]\d(?: \d\d){3}(?![ ]?\d)"
    r"|(?<!\d)(?<!\d )(?:(?:\+47|0047)[ ]?)?[2-9]\d\d \d\d \d{3}(?![ ]?\d)",
    re.IGNORECASE,
)

_K1 = (3, 7, 6, 1, 8, 9, 4, 5, 2)
_K2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def _control(digits: list[int], weights: tuple[int, ...]) -> int | None:
    rest = 11 - sum(d * w for d, w in zip(digits, weights, strict=False)) % 11
    if rest == 11:
        return 0
    return None if rest == 10 else rest


def is_fodselsnummer(number: str) -> bool:
    """Whether an 11-digit string is a valid Norwegian national identity number (also D- and test numbers).

    Both control digits must match, and the first six digits must form a date, allowing the offsets for
    D-numbers (day + 40), H-numbers (month + 40) and synthetic test numbers (month + 80).
    """
    if len(number) != 11 or not number.isdigit():
        return False
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


@dataclass(frozen=True, slots=True)
class Masked:
    """Masked text and how many of each kind were replaced."""

    text: str
    counts: Counter[str]


def mask_personal_data(text: str) -> Masked:
    """Replace valid fødselsnummer, e-mail addresses and phone numbers with placeholders."""
    counts: Counter[str] = Counter()

    def fnr(match: re.Match[str]) -> str:
        if is_fodselsnummer(match.group(1) + match.group(2)):
            counts["fødselsnummer"] += 1
            return FNR_MASK
        return match.group(0)

    def replace(kind: str, mask: str) -> object:
        def sub(_match: re.Match[str]) -> str:
            counts[kind] += 1
            return mask

        return sub

    text = _FNR.sub(fnr, text)
    text = _EMAIL.sub(replace("e-post", EMAIL_MASK), text)  # type: ignore[arg-type]
    text = _PHONE.sub(replace("telefon", PHONE_MASK), text)  # type: ignore[arg-type]
    return Masked(text=text, counts=counts)
