"""Word documents through python-docx: heading styles start sections; tables become text rows."""

from __future__ import annotations

import zipfile
from pathlib import Path

from ingest.chunking import short_question
from ingest.loaders import LoadError
from ingest.types import Section, SourceDocument

_HEADING_STYLES = ("heading", "overskrift", "title", "tittel")
BOLD_HEADING_CHARS = 80  # a bold paragraph longer than this is emphasis, not a heading


def _is_heading(style_name: str) -> bool:
    return style_name.strip().lower().startswith(_HEADING_STYLES)


def _bold_line(paragraph: object) -> bool:
    """A short bold paragraph without closing punctuation, or a short question: a heading typed without a style."""
    text = paragraph.text.strip()  # type: ignore[attr-defined]
    if not 2 < len(text) <= BOLD_HEADING_CHARS or (text[-1] in ".,;:!?" and not short_question(text)):
        return False
    runs = [r for r in paragraph.runs if r.text.strip()]  # type: ignore[attr-defined]
    return bool(runs) and all(r.bold for r in runs)


def _iter_blocks(document: object) -> list[tuple[str, str]]:
    """Paragraphs and tables in document order as (style, text); a bold line's style is «heading»."""
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    blocks: list[tuple[str, str]] = []
    for item in document.iter_inner_content():  # type: ignore[attr-defined]
        if isinstance(item, Paragraph):
            style = item.style.name if item.style is not None else ""
            typed = not _is_heading(style) and "list" not in style.lower() and _bold_line(item)
            blocks.append(("heading" if typed else style, item.text))
        elif isinstance(item, Table):
            for row in item.rows:
                cells = [c.text.strip() for c in row.cells]
                unique = [c for i, c in enumerate(cells) if c and c not in cells[:i]]
                blocks.append(("table", " | ".join(unique)))
    return blocks


def load(path: Path) -> SourceDocument:
    """Load a .docx file.

    Raises:
        LoadError: the file is not a valid Word document.
    """
    try:
        import docx
    except ImportError as exc:  # pragma: no cover - python-docx is a core dependency
        raise LoadError("Word-støtte mangler: installer pakken python-docx") from exc
    try:
        document = docx.Document(str(path))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise LoadError(f"Word-filen er ødelagt eller ikke en .docx ({type(exc).__name__})") from exc
    except Exception as exc:
        raise LoadError(f"Word-filen kan ikke leses ({type(exc).__name__}: {exc})") from exc

    sections: list[Section] = []
    heading, lines = "", []
    for style, text in _iter_blocks(document):
        if _is_heading(style) and text.strip():
            if "".join(lines).strip():
                sections.append(Section(text="\n".join(lines).strip(), heading=heading))
            heading, lines = text.strip(), [text.strip()]
            continue
        prefix = "- " if "list" in style.lower() and text.strip() else ""
        lines.append(prefix + text)
        if style != "table":
            lines.append("")
    if "".join(lines).strip():
        sections.append(Section(text="\n".join(lines).strip(), heading=heading))

    props: dict[str, str] = {}
    core = document.core_properties
    if core.title and core.title.strip():
        props["title"] = core.title.strip()
    # NOTE: python-docx's blank template carries this creation time; documents made from it never set theirs.
    if core.created is not None and core.created.isoformat()[:16] != "2013-12-23T23:15":
        props["date"] = core.created.date().isoformat()
    return SourceDocument(sections=tuple(sections), properties=props, loader="docx")
