"""Generate the PDF and DOCX files of the corpus from Markdown sources.

Every ``*.pdf.md`` and ``*.docx.md`` file under ``scripts/corpus_src/`` becomes
``corpus/<same relative path without .md>``.  Optional YAML front matter with
``tittel`` and ``dato`` is written to the document properties and not printed.

Supported Markdown: ``#``/``##``/``###`` headings, paragraphs (consecutive
lines are joined), ``- `` bullet items, ``1. `` numbered items and a line
containing only ``<!-- sidebrudd -->`` (forces a new page).

Usage:
    .venv/bin/python scripts/build_corpus.py [--verify] [FOLDER_PREFIX ...]
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from docx import Document
from docx.enum.text import WD_BREAK
from fpdf import FPDF
from fpdf.enums import XPos, YPos

REPO_ROOT = Path(__file__).resolve().parents[1]
PAGE_BREAK = "<!-- sidebrudd -->"
# The PDF core fonts (Helvetica) are encoded as WinAnsi (cp1252): it holds
# æ ø å Æ Ø Å, the en dash and typographic quotes.  Anything else is mapped.
PDF_ENCODING = "windows-1252"
PDF_REPLACEMENTS = {
    "\u2010": "-",  # hyphen
    "\u2011": "-",  # non-breaking hyphen
    "\u2212": "-",  # minus sign
    "\u2192": "->",
    "\u2264": "<=",
    "\u2265": ">=",
    "\u2009": " ",  # thin space
    "\u202f": " ",  # narrow no-break space
    "\u2713": "x",  # check mark
}
FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Block:
    """One rendered unit of a document."""

    kind: str  # "h1", "h2", "h3", "p", "bullet", "number" or "pagebreak"
    text: str = ""
    label: str = ""  # the number of a numbered item, e.g. "3."


@dataclass(frozen=True)
class SourceDoc:
    meta: dict[str, Any]
    blocks: list[Block]

    @property
    def title(self) -> str:
        if self.meta.get("tittel"):
            return str(self.meta["tittel"])
        return next((b.text for b in self.blocks if b.kind == "h1"), "")

    @property
    def created(self) -> dt.datetime | None:
        value = self.meta.get("dato")
        if value is None:
            return None
        if isinstance(value, dt.datetime):
            day = value.date()
        elif isinstance(value, dt.date):
            day = value
        else:
            day = dt.date.fromisoformat(str(value))
        return dt.datetime(day.year, day.month, day.day, 12, 0, tzinfo=dt.UTC)

    @property
    def author(self) -> str:
        return str(self.meta.get("kommune", ""))


# ---------------------------------------------------------------- parsing


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """Return (front matter, body); front matter is empty if absent."""
    match = re.match(r"\A---\s*\n(.*?)\n---\s*\n", text, flags=re.DOTALL)
    if not match:
        return {}, text
    meta = yaml.safe_load(match.group(1)) or {}
    return dict(meta), text[match.end() :]


def strip_inline(text: str) -> str:
    """Remove simple inline Markdown (emphasis, code, links)."""
    text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"(\*\*|__)(.+?)\1", r"\2", text)
    text = re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", r"\1", text)
    return text.replace("`", "")


def parse_blocks(body: str) -> list[Block]:
    blocks: list[Block] = []
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            blocks.append(Block("p", strip_inline(" ".join(paragraph))))
            paragraph.clear()

    for raw in body.splitlines():
        line = raw.strip()
        heading = re.match(r"(#{1,3})\s+(.*)", line)
        numbered = re.match(r"(\d+\.)\s+(.*)", line)
        if not line:
            flush()
        elif line == PAGE_BREAK:
            flush()
            blocks.append(Block("pagebreak"))
        elif heading:
            flush()
            level = len(heading.group(1))
            blocks.append(Block(f"h{level}", strip_inline(heading.group(2))))
        elif line.startswith(("- ", "* ")):
            flush()
            blocks.append(Block("bullet", strip_inline(line[2:].strip())))
        elif numbered:
            flush()
            blocks.append(Block("number", strip_inline(numbered.group(2)), numbered.group(1)))
        elif blocks and blocks[-1].kind in ("bullet", "number") and not paragraph and raw.startswith("  "):
            last = blocks.pop()  # continuation line of a list item
            blocks.append(Block(last.kind, f"{last.text} {strip_inline(line)}", last.label))
        else:
            paragraph.append(line)
    flush()
    return blocks


def read_source(path: Path) -> SourceDoc:
    meta, body = split_front_matter(path.read_text(encoding="utf-8"))
    return SourceDoc(meta, parse_blocks(body))


# ---------------------------------------------------------------- PDF


def pdf_safe(text: str) -> str:
    """Map characters the PDF core fonts cannot encode to safe equivalents."""
    text = unicodedata.normalize("NFC", text)
    out: list[str] = []
    for char in text:
        char = PDF_REPLACEMENTS.get(char, char)
        try:
            char.encode(PDF_ENCODING)
        except UnicodeEncodeError:
            decomposed = unicodedata.normalize("NFKD", char)
            char = decomposed.encode("ascii", "ignore").decode() or "?"
        out.append(char)
    return "".join(out)


class CorpusPDF(FPDF):
    def footer(self) -> None:
        self.set_y(-15)
        self.set_font("Helvetica", size=9)
        self.cell(0, 10, f"Side {self.page_no()} av {{nb}}", align="C")


PDF_HEADING_SIZES = {"h1": 18.0, "h2": 14.0, "h3": 12.0}
PDF_LINE = 5.5
PDF_BODY_SIZE = 11.0


def write_pdf(doc: SourceDoc, out: Path) -> None:
    pdf = CorpusPDF(format="A4")
    pdf.core_fonts_encoding = PDF_ENCODING
    pdf.set_margins(22, 20, 22)
    pdf.set_auto_page_break(auto=True, margin=22)
    pdf.set_title(pdf_safe(doc.title))
    pdf.set_author(pdf_safe(doc.author))
    pdf.set_creator("scripts/build_corpus.py")
    pdf.set_lang("nb-NO")
    if doc.created:
        pdf.set_creation_date(doc.created)
    pdf.add_page()

    for block in doc.blocks:
        text = pdf_safe(block.text)
        if block.kind == "pagebreak":
            pdf.add_page()
        elif block.kind in PDF_HEADING_SIZES:
            size = PDF_HEADING_SIZES[block.kind]
            if pdf.get_y() > pdf.page_break_trigger - 35:  # keep heading with text
                pdf.add_page()
            elif pdf.get_y() > pdf.t_margin + 1:
                pdf.ln(size * 0.35)
            pdf.set_font("Helvetica", style="B", size=size)
            pdf.multi_cell(0, size * 0.5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            pdf.ln(2)
        elif block.kind in ("bullet", "number"):
            pdf.set_font("Helvetica", size=PDF_BODY_SIZE)
            label = "\u2022" if block.kind == "bullet" else block.label
            pdf.set_x(pdf.l_margin + 4)
            pdf.cell(7, PDF_LINE, label)
            pdf.multi_cell(0, PDF_LINE, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            pdf.ln(1)
        else:
            pdf.set_font("Helvetica", size=PDF_BODY_SIZE)
            pdf.multi_cell(0, PDF_LINE, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            pdf.ln(2.5)
    pdf.output(str(out))


# ---------------------------------------------------------------- DOCX

DOCX_STYLES = {"bullet": "List Bullet", "number": "List Number"}


def write_docx(doc: SourceDoc, out: Path) -> None:
    document = Document()
    for block in doc.blocks:
        if block.kind == "pagebreak":
            document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
        elif block.kind in ("h1", "h2", "h3"):
            document.add_heading(block.text, level=int(block.kind[1]))
        else:
            document.add_paragraph(block.text, style=DOCX_STYLES.get(block.kind))

    props = document.core_properties
    props.title = doc.title
    props.author = doc.author
    props.last_modified_by = doc.author
    props.language = "nb-NO"
    props.revision = 1
    props.comments = ""
    if doc.created:
        created = doc.created.replace(tzinfo=None)  # python-docx writes it as UTC
        props.created = created
        props.modified = created
    document.save(str(out))
    normalize_zip(out)


def normalize_zip(path: Path) -> None:
    """Rewrite a zip archive with fixed timestamps so rebuilds are byte-identical."""
    with zipfile.ZipFile(path) as source:
        entries = [(info.filename, source.read(info)) for info in source.infolist()]
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(info, data)


# ---------------------------------------------------------------- verification


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()


def verify(doc: SourceDoc, out: Path) -> list[str]:
    """Check page count/styles and that every block's text can be read back."""
    problems: list[str] = []
    if out.suffix == ".pdf":
        from pypdf import PdfReader

        reader = PdfReader(str(out))
        text = " ".join(page.extract_text() or "" for page in reader.pages)
        extracted = _squash(re.sub(r"Side \d+ av \d+", " ", text))  # drop footers
        expected = [pdf_safe(b.text) for b in doc.blocks if b.text]
        if reader.metadata is None or reader.metadata.title != pdf_safe(doc.title):
            problems.append("PDF title missing or wrong")
        forced = 1 + sum(b.kind == "pagebreak" for b in doc.blocks)
        if len(reader.pages) < forced:
            problems.append(f"{len(reader.pages)} pages, expected at least {forced}")
    else:
        document = Document(str(out))
        extracted = _squash(" ".join(p.text for p in document.paragraphs))
        expected = [b.text for b in doc.blocks if b.text]
        styles = {p.style.name for p in document.paragraphs if p.style is not None}
        wanted = {"h1": "Heading 1", "h2": "Heading 2", "bullet": "List Bullet"}
        for kind, style in wanted.items():
            if any(b.kind == kind for b in doc.blocks) and style not in styles:
                problems.append(f"style {style!r} not used")
        if document.core_properties.title != doc.title:
            problems.append("DOCX title missing or wrong")
    problems += [f"text not found: {t[:60]!r}" for t in expected if _squash(t) not in extracted]
    return problems


# ---------------------------------------------------------------- main


def build(src_root: Path, out_root: Path, only: list[str], check: bool) -> int:
    failures = 0
    for path in sorted(src_root.rglob("*.md")):
        relative = path.relative_to(src_root).as_posix()
        if not path.name.endswith((".pdf.md", ".docx.md")):
            continue
        if only and not any(relative.startswith(prefix) for prefix in only):
            continue
        out = out_root / path.relative_to(src_root).with_suffix("")
        out.parent.mkdir(parents=True, exist_ok=True)
        doc = read_source(path)
        if out.suffix == ".pdf":
            write_pdf(doc, out)
        else:
            write_docx(doc, out)
        message = f"wrote {out.relative_to(out_root)}"
        if check:
            problems = verify(doc, out)
            failures += bool(problems)
            message += " - OK" if not problems else "".join(f"\n  ! {p}" for p in problems)
        print(message)
    return failures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", type=Path, default=REPO_ROOT / "scripts" / "corpus_src")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "corpus")
    parser.add_argument("--verify", action="store_true", help="read every output back and check it")
    parser.add_argument("only", nargs="*", help="only sources whose path under --src starts with this")
    args = parser.parse_args()
    only = [unicodedata.normalize("NFC", prefix) for prefix in args.only]
    failures = build(args.src, args.out, only, args.verify)
    if failures:
        raise SystemExit(f"{failures} file(s) failed verification")


if __name__ == "__main__":
    main()
