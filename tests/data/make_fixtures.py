"""Regenerate the binary test fixtures: `python tests/data/make_fixtures.py` (needs fpdf2, python-docx, pypdf)."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).parent


def make_pdf(path: Path, *, title: str, pages: list[list[str]]) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_title(title)
    pdf.set_creation_date(__import__("datetime").datetime(2024, 5, 2, tzinfo=__import__("datetime").timezone.utc))
    for lines in pages:
        pdf.add_page()
        for line in lines:
            heading = line.startswith("## ")
            pdf.set_font("Helvetica", "B" if heading else "", 14 if heading else 11)
            pdf.multi_cell(0, 7, line.removeprefix("## "), new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)
    pdf.output(str(path))


def main() -> None:
    make_pdf(
        HERE / "flersidig.pdf",
        title="Kompetanseplan for Æsøy kommune",
        pages=[
            ["## Bakgrunn", "Kommunen har store behov for sykepleiere og lærere. Planen gjelder 2024-2027."],
            ["## Mål", "Vi skal øke heltidsandelen til 60 prosent innen 2026 i pleie og omsorg."],
            ["## Tiltak", "Lærlingordningen utvides til 25 læreplasser. Ansvar: kommunalsjef for oppvekst."],
        ],
    )
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(HERE / "flersidig.pdf"))
    writer.encrypt(user_password="hemmelig", owner_password="eier")
    writer.write(HERE / "kryptert.pdf")
    (HERE / "ødelagt.pdf").write_bytes(b"%PDF-1.7\n1 0 obj <</Type /Catalog>> endobj\ntrailer <<>>\n%%EOF garbage")

    import docx

    document = docx.Document()
    document.core_properties.title = "Erfaringsnotat om onboarding"
    document.core_properties.created = __import__("datetime").datetime(2024, 9, 1, 8, 0)
    document.add_heading("Erfaringsnotat om onboarding", level=1)
    document.add_paragraph("Innledning om hvordan vi tar imot nyansatte i Våler.")
    document.add_heading("Hva vi gjorde", level=2)
    document.add_paragraph("Alle nyansatte fikk en fadder de første åtte ukene.")
    document.add_paragraph("Fadderne fikk to timer opplæring.", style="List Bullet")
    document.add_heading("Resultater", level=2)
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "År", "Turnover"
    table.cell(1, 0).text, table.cell(1, 1).text = "2024", "14 prosent"
    document.save(str(HERE / "overskrifter.docx"))

    (HERE / "latin1.txt").write_bytes("Sykefraværet i Ørje gikk ned – til 6,1 prosent i år.\n".encode("cp1252"))
    (HERE / "tom.txt").write_bytes(b"")
    (HERE / "binær.txt").write_bytes(bytes(range(256)) * 4)
    (HERE / "regneark.xlsx").write_bytes(b"PK\x03\x04 not really a spreadsheet")


if __name__ == "__main__":
    main()
