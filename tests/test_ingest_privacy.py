import pytest

from ingest.privacy import is_fodselsnummer, mask_personal_data


def valid_fnr() -> str:
    base = "010180123"  # 1 January 1980, individual number 123
    k1 = 11 - sum(int(d) * w for d, w in zip(base, (3, 7, 6, 1, 8, 9, 4, 5, 2), strict=True)) % 11
    k1 = 0 if k1 == 11 else k1
    base += str(k1)
    k2 = 11 - sum(int(d) * w for d, w in zip(base, (5, 4, 3, 2, 7, 6, 5, 4, 3, 2), strict=True)) % 11
    return base + str(0 if k2 == 11 else k2)


def test_valid_fodselsnummer_is_masked_and_counted() -> None:
    number = valid_fnr()
    assert is_fodselsnummer(number)
    result = mask_personal_data(f"Deltakeren limte inn {number} i notatet.")
    assert number not in result.text and "[fødselsnummer]" in result.text
    assert result.counts["fødselsnummer"] == 1


def test_eleven_digits_failing_control_digits_are_kept() -> None:
    number = valid_fnr()
    wrong = number[:-1] + str((int(number[-1]) + 1) % 10)
    assert not is_fodselsnummer(wrong)
    assert wrong in mask_personal_data(f"Saksnummer {wrong}.").text


@pytest.mark.parametrize("phone", ["+47 412 34 567", "69 10 20 30", "tlf. 41234567", "0047 98765432"])
def test_phone_numbers_are_masked(phone: str) -> None:
    assert "[telefon]" in mask_personal_data(f"Ring {phone} i dag.").text


@pytest.mark.parametrize("text", ["Perioden 2024 2027.", "Budsjett 12 500 000 kroner.", "Vi har 1234 5678 ansatte."])
def test_numbers_that_are_not_phones_are_kept(text: str) -> None:
    assert mask_personal_data(text).text == text


@pytest.mark.parametrize("text", ["Dokument nq-de93477840e2.", "Sak ab41234567 er lukket.", "Fil id41234567.txt"])
def test_digits_inside_an_identifier_are_no_phone_number(text: str) -> None:
    # eight digits glued to letters are part of a file name, hash or case number, not a number to call
    assert mask_personal_data(text).text == text


def test_email_is_masked() -> None:
    result = mask_personal_data("Skriv til hr.raadgiver@sarpsborg.kommune.no for mer.")
    assert result.text == "Skriv til [e-post] for mer."
