"""Personal numbers in the forms Norwegian documents write them, and the figures that must survive."""

from __future__ import annotations

import pytest

from ingest.privacy import mask_personal_data, mask_source


def fnr_from(base: str) -> str:
    """The 11-digit number with valid control digits for nine digits (date + individual number)."""
    k1 = 11 - sum(int(d) * w for d, w in zip(base, (3, 7, 6, 1, 8, 9, 4, 5, 2), strict=True)) % 11
    base += str(0 if k1 == 11 else k1)
    k2 = 11 - sum(int(d) * w for d, w in zip(base, (5, 4, 3, 2, 7, 6, 5, 4, 3, 2), strict=True)) % 11
    return base + str(0 if k2 == 11 else k2)


FNR = fnr_from("010180123")  # 1 January 1980
D_NUMBER = fnr_from("410180123")  # day + 40
H_NUMBER = fnr_from("014180123")  # month + 40
MISTYPED = FNR[:-1] + str((int(FNR[-1]) + 1) % 10)
ACCOUNT = "12345678903"  # mod-11 valid


def groups(number: str, sep: str) -> str:
    return number[:6] + sep + number[6:]


PERSONAL = [
    (f"Deltaker {FNR} møtte.", FNR),
    (f"Fødselsnummer: {groups(FNR, ' ')}", FNR),
    (f"fnr {groups(FNR, '-')}", FNR),
    (f"Født {groups(FNR, chr(0xA0))} (Word)", FNR),
    (f"Nummeret {groups(FNR, chr(10))} står på to linjer.", FNR),
    (f"Saken gjelder {FNR}-2025.", FNR),
    (f"D-nummer {D_NUMBER}.", D_NUMBER),
    (f"Hun har H-nummer {groups(H_NUMBER, ' ')}.", H_NUMBER),
    (f"fødselsnummer {MISTYPED} (feil kontrollsiffer)", MISTYPED),
    (f"personnummer {groups(MISTYPED, ' ')}", MISTYPED),
    (f"f.nr. {MISTYPED}", MISTYPED),
    ("kontonummer 1234.56.78903", "12345678903"),
    ("Lønn til konto 1234 56 78901.", "12345678901"),
    (f"Betal til {ACCOUNT} innen fredag.", ACCOUNT),
    ("Kontonr.: 1234.56.78903", "12345678903"),
    ("Ring 41234567 i dag.", "41234567"),
    ("tlf.: 69 10 20 30", "69102030"),
    ("tlf.:41 23 45 67", "41234567"),
    ("(+47) 412 34 567", "41234567"),
    ("+4741234567", "41234567"),
    ("0047 412 34 567", "41234567"),
    ("mobil 4123 4567", "41234567"),
    ("Nås på 41 23\n45 67.", "41234567"),
    ("Nås på 412\u00a034\u00a0567.", "41234567"),
    ("telefon 69-10-20-30", "69102030"),
    ("Vakttelefon 41234567-2025", "41234567"),
]


@pytest.mark.parametrize(("text", "digits"), PERSONAL)
def test_personal_numbers_in_every_written_form_are_masked(text: str, digits: str) -> None:
    masked = mask_personal_data(text).text
    assert digits not in "".join(c for c in masked if c.isdigit()), masked


KEPT = [
    "Årsbudsjettet er 912 34 567 kroner.",
    "Rammen er kr 912 34 567 for 2025.",
    "Tilskudd: 412 34 567 NOK.",
    "Tilsvarer 41 23 45 67 årsverk.",
    "Perioden 2024 2027.",
    "Planperioden 2024-2027.",
    "Budsjett 12 500 000 kroner.",
    "Vi har 1234 5678 ansatte.",
    "Møtet varer kl. 20.00-22.00.",
    "Frist 31.12.2025.",
    "Saksnummer 24/01234.",
    "Sykefraværet falt fra 8,4 til 7,1 prosent i 2024.",
]


@pytest.mark.parametrize("text", KEPT)
def test_amounts_years_and_dates_are_kept(text: str) -> None:
    assert mask_personal_data(text).text == text


def test_masking_counts_each_kind_and_changes_nothing_the_second_time() -> None:
    text = f"fnr {FNR}, konto 1234.56.78903, tlf. 41234567, e-post a.b@kommune.no"
    result = mask_personal_data(text)
    assert result.counts == {"fødselsnummer": 1, "kontonummer": 1, "telefon": 1, "e-post": 1}
    assert mask_personal_data(result.text).text == result.text


def test_a_source_path_is_masked_part_by_part() -> None:
    assert mask_source(f"Sarpsborg/erfaringer/sluttsamtale-{FNR}.md") == (
        "Sarpsborg/erfaringer/sluttsamtale-[fødselsnummer].md"
    )
