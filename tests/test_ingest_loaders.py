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


def _report_pdf(path: Path) -> Path:
    """A four-page report as municipalities publish them: a running header and footer on every page after the
    title page, and a sentence that runs over the break between pages 2 and 3."""
    fpdf = pytest.importorskip("fpdf")

    class Report(fpdf.FPDF):  # type: ignore[name-defined,misc]
        def header(self) -> None:
            if self.page_no() > 1:
                self.set_font("Helvetica", size=9)
                self.cell(0, 8, "Kompetanseplan for Moss kommune 2024-2027", new_x="LMARGIN", new_y="NEXT")

        def footer(self) -> None:
            self.set_y(-15)
            self.set_font("Helvetica", size=9)
            self.cell(0, 8, f"Moss kommune | {self.page_no()}")

    pdf = Report(format="A4")
    pdf.set_auto_page_break(auto=False)
    body = {
        1: ["Kompetanseplan for Moss kommune 2024-2027", "Planen gjelder alle virksomheter i kommunen."],
        2: ["Rekruttering", "Vi skal rekruttere flere sykepleiere.", "I 2023 ansatte vi 14 nye sykepleiere og"],
        3: ["12 nye vernepleiere gjennom studentpraksis.", "Turnover ble lavere."],
        4: ["Heltid", "Heltidsandelen skal opp til 60 prosent."],
    }
    for lines in body.values():
        pdf.add_page()
        pdf.set_font("Helvetica", size=11)
        for line in lines:
            pdf.cell(0, 7, line, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))
    return path


def test_pdf_drops_running_headers_and_keeps_a_sentence_over_a_page_break_whole(tmp_path: Path) -> None:
    document = load_path(_report_pdf(tmp_path / "plan.pdf"))
    assert [(s.page, s.heading) for s in document.sections] == [
        (1, "Kompetanseplan for Moss kommune 2024-2027"),
        (2, "Rekruttering"),
        (3, "Rekruttering"),
        (4, "Heltid"),
    ]
    assert document.text.count("Kompetanseplan for Moss kommune") == 1  # the title page's, not the headers
    assert "Moss kommune |" not in document.text
    assert "I 2023 ansatte vi 14 nye sykepleiere og\n12 nye vernepleiere gjennom studentpraksis." in (
        document.sections[1].text
    )
    assert document.sections[2].text == "Turnover ble lavere."
    assert document.properties["title"] == "Kompetanseplan for Moss kommune 2024-2027"  # no title in its metadata


def test_a_pdf_heading_may_be_a_question(tmp_path: Path) -> None:
    # «Hva gjorde vi?», «Hva har vi lært?»: case reports often head their steps as questions
    fpdf = pytest.importorskip("fpdf")
    pdf = fpdf.FPDF(format="A4")
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    lines = [
        "Heltid i hjemmetjenesten",
        "Sarpsborg kommune delte denne erfaringen på samlingen i mars 2024.",
        "Hva gjorde vi?",
        "Vi innførte langvakter i helgene og lyste ut alle stillinger som hele.",
        "Hva har vi oppnådd?",
        "Heltidsandelen økte fra 31 til 44 prosent på to år, og sykefraværet gikk ned.",
        "Hvorfor var det viktig for de ansatte?",
        "Vi spurte de ansatte om de ville ha større stillinger. Ville de det? De fleste svarte ja.",
    ]
    for line in lines:
        pdf.cell(0, 7, line, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(tmp_path / "case.pdf"))
    document = load_path(tmp_path / "case.pdf")
    headings = [s.heading for s in document.sections]
    assert headings == [
        "Heltid i hjemmetjenesten",
        "Hva gjorde vi?",
        "Hva har vi oppnådd?",
        "Hvorfor var det viktig for de ansatte?",
    ]


def test_a_pdf_title_is_read_from_its_first_lines_with_the_period_under_it() -> None:
    from ingest.loaders.pdf import title_from_first_page

    first_page = "Kompetanseplan for helse og velferd\n2025-2029\nVåler kommune\n1. Innledning\nVi har 520 ansatte."
    assert title_from_first_page(first_page) == "Kompetanseplan for helse og velferd 2025-2029"
    assert title_from_first_page("Plan\n2025–2029\n") == "Plan 2025–2029"
    assert title_from_first_page("Strategisk plan\nVåler kommune") == "Strategisk plan"
    assert title_from_first_page("Kommunen har vedtatt en ny plan for perioden.\nMer tekst") == ""


def test_docx_keeps_headings_lists_and_tables() -> None:
    document = load_path(DATA / "overskrifter.docx")
    headings = [s.heading for s in document.sections]
    assert headings == ["Erfaringsnotat om onboarding", "Hva vi gjorde", "Resultater"]
    assert "- Fadderne fikk to timer opplæring." in document.sections[1].text
    assert "2024 | 14 prosent" in document.sections[2].text
    assert document.properties["date"] == "2024-09-01"


def test_docx_bold_lines_typed_as_headings_start_sections(tmp_path: Path) -> None:
    docx = pytest.importorskip("docx")
    document = docx.Document()
    document.add_paragraph().add_run("Bakgrunn").bold = True
    document.add_paragraph("Moss kommune har 2 500 ansatte.")
    line = document.add_paragraph()
    line.add_run("Viktig: ").bold = True
    line.add_run("dette er brødtekst.")
    document.add_paragraph().add_run("Dette er en fet setning i teksten.").bold = True
    document.add_paragraph(style="List Bullet").add_run("Fadder").bold = True
    document.add_paragraph().add_run("Resultater").bold = True
    document.add_paragraph("Turnover falt til 12 prosent.")
    document.add_paragraph().add_run("Hva har vi lært?").bold = True  # a heading as a question
    document.add_paragraph("Faste vikarer ga færre belastningstopper.")
    document.add_paragraph().add_run("Hvorfor er dette viktig for alle kommunene i Østfold nå?").bold = True
    document.save(str(tmp_path / "notat.docx"))
    sections = load_path(tmp_path / "notat.docx").sections
    assert [s.heading for s in sections] == ["Bakgrunn", "Resultater", "Hva har vi lært?"]  # not a long question
    assert "Dette er en fet setning i teksten." in sections[0].text and "- Fadder" in sections[0].text


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


def test_text_is_split_at_underlined_and_all_caps_headings(tmp_path: Path) -> None:
    (tmp_path / "notat.txt").write_text(
        "Ny i Våler – introduksjon\n=========================\n\nVåler kommune, april 2025\n\n"
        "BAKGRUNN\n\nI 2022 sluttet 24 prosent.\nNAV og HMS nevnes midt i teksten.\n\n"
        "Hva vi gjorde\n-------------\nVi innførte fadder.\n\nVIKTIG: SVAR INNEN 1. MARS.\n",
        encoding="utf-8",
    )
    sections = load_path(tmp_path / "notat.txt").sections
    assert [s.heading for s in sections] == ["Ny i Våler – introduksjon", "BAKGRUNN", "Hva vi gjorde"]
    assert "=====" not in sections[0].text and "-----" not in sections[2].text
    assert sections[2].text.endswith("VIKTIG: SVAR INNEN 1. MARS.")  # a shouted sentence is no heading


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
