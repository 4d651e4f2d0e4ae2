from pathlib import Path

import pytest

from ingest.loaders import LoadError, UnsupportedFileError, load_path
from tests.conftest import DATA


def test_pdf_keeps_pages_headings_and_norwegian_letters() -> None:
    document = load_path(DATA / "flersidig.pdf")
    pages = {s.page for s in document.sections}
    assert pages == {1, 2, 3}
    mål = next(s for s in document.sections if s.heading == "Mål")
    assert mål.page == 2
    assert "øke heltidsandelen til 60 prosent" in mål.text
    assert document.properties == {"title": "Kompetanseplan for Æsøy kommune", "date": "2024-05-02"}


def test_docx_keeps_headings_lists_and_tables() -> None:
    document = load_path(DATA / "overskrifter.docx")
    headings = [s.heading for s in document.sections]
    assert headings == ["Erfaringsnotat om onboarding", "Hva vi gjorde", "Resultater"]
    assert "- Fadderne fikk to timer opplæring." in document.sections[1].text
    assert "2024 | 14 prosent" in document.sections[2].text
    assert document.properties["date"] == "2024-09-01"


def test_markdown_front_matter_and_inline_markup() -> None:
    with_fm = load_path(DATA / "med_front_matter.md")
    assert with_fm.front_matter["kommune"] == "Moss"
    assert with_fm.sections[0].heading == "Overskriften er ikke tittelen"
    without = load_path(DATA / "uten_front_matter.md")
    assert without.front_matter == {}
    assert "Deretter case fra Halden." in without.sections[1].text  # bold and link markup dropped


def test_text_falls_back_to_windows_1252() -> None:
    document = load_path(DATA / "latin1.txt")
    assert "Sykefraværet i Ørje gikk ned – til 6,1 prosent" in document.text


def test_html_drops_scripts_and_navigation() -> None:
    document = load_path(DATA / "side.html")
    assert document.properties["title"] == "Nyhet om lærlinger"
    assert "42 lærlinger" in document.text
    assert "ikke tekst" not in document.text and "Meny" not in document.text


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("ødelagt.pdf", "ødelagt"),
        ("kryptert.pdf", "kryptert"),
        ("tom.txt", "tom"),
        ("binær.txt", "binærfil"),
    ],
)
def test_bad_files_give_a_specific_reason(name: str, reason: str) -> None:
    with pytest.raises(LoadError, match=reason):
        load_path(DATA / name)


def test_unsupported_suffix_lists_supported_types() -> None:
    with pytest.raises(UnsupportedFileError, match=r"\.xlsx.*støttet: .*\.pdf"):
        load_path(DATA / "regneark.xlsx")


def test_invalid_front_matter_is_reported(tmp_path: Path) -> None:
    bad = tmp_path / "feil.md"
    bad.write_text("---\ntittel: [uavsluttet\n---\n# Tekst\n", encoding="utf-8")
    with pytest.raises(LoadError, match="YAML"):
        load_path(bad)
