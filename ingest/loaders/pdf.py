"""PDF files through pypdf: one section per page and detected heading, page numbers kept.

Running headers and footers are dropped, and a sentence that runs over a page break is kept whole on the
page where it starts.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from pathlib import Path

from ingest.chunking import OPEN_ENDINGS, short_question
from ingest.loaders import LoadError
from ingest.types import Section, SourceDocument

logger = logging.getLogger(__name__)

_PAGE_NUMBER = re.compile(r"^\s*(?:side\s*)?\d{1,3}\s*(?:(?:/|av)\s*\d{1,3})?\s*$", re.IGNORECASE)
EDGE_LINES = 2  # lines at the top and at the bottom of a page where running headers and footers sit
RUNNING_SHARE = 0.5  # a line at a page edge on at least this share of the pages (and two) is a header or footer
_CLOSED = ".!?:;"  # a line ending in one of these ends its sentence


def _looks_like_heading(line: str, next_line: str) -> bool:
    """A short line without closing punctuation, followed by longer body text, is taken as a heading.

    A short question counts too: case reports head their steps «Hva gjorde vi?», «Hva har vi lært?».
    """
    stripped = line.strip()
    question = short_question(stripped)
    if not 2 < len(stripped) <= 70 or stripped[0] in "-•*–(":
        return False
    if stripped[-1] in ".,:;!?)-–" and not question:
        return False
    if stripped.split()[-1].lower() in OPEN_ENDINGS:
        return False
    if not (stripped[0].isupper() or stripped[0].isdigit()) or not any(ch.isalpha() for ch in stripped):
        return False
    return len(next_line.strip()) > len(stripped) or not next_line.strip()


def split_page(text: str, page: int, heading: str) -> tuple[list[Section], str]:
    """Split one page's text into sections at heading-like lines; return them and the last heading."""
    lines = [ln for ln in text.split("\n") if not _PAGE_NUMBER.match(ln)]
    sections: list[Section] = []
    buffer: list[str] = []
    for i, line in enumerate(lines):
        following = lines[i + 1] if i + 1 < len(lines) else ""
        if _looks_like_heading(line, following) and (not buffer or buffer[-1].rstrip().endswith((".", ":"))):
            if "".join(buffer).strip():
                sections.append(Section(text="\n".join(buffer).strip(), heading=heading, page=page))
            heading = line.strip()
            buffer = [heading]
            continue
        buffer.append(line)
    if "".join(buffer).strip():
        sections.append(Section(text="\n".join(buffer).strip(), heading=heading, page=page))
    return sections, heading


def _edge_key(line: str) -> str:
    """A page-edge line as compared across pages: digits (page numbers, years) and spacing ignored."""
    return re.sub(r"\d+", "#", " ".join(line.split()).lower())


def running_lines(pages: list[str]) -> frozenset[str]:
    """The running headers and footers of a 3+ page document: edge lines repeated on half its pages (2+)."""
    if len(pages) < 3:
        return frozenset()
    seen: Counter[str] = Counter()
    for text in pages:
        lines = [ln for ln in text.split("\n") if ln.strip()]
        seen.update({_edge_key(ln) for ln in lines[:EDGE_LINES] + lines[-EDGE_LINES:]})
    need = max(2, math.ceil(RUNNING_SHARE * len(pages)))
    return frozenset(key for key, count in seen.items() if count >= need and key)


def strip_running(text: str, running: frozenset[str], *, keep_top: bool = False) -> str:
    """The page without its running header and footer lines (the top ones kept on a title page)."""
    lines = [ln for ln in text.split("\n") if ln.strip()]
    top, bottom = 0, len(lines)
    while not keep_top and top < min(EDGE_LINES, bottom) and _edge_key(lines[top]) in running:
        top += 1
    while bottom > top and len(lines) - bottom < EDGE_LINES and _edge_key(lines[bottom - 1]) in running:
        bottom -= 1
    return "\n".join(lines[top:bottom])


def join_across_pages(sections: list[Section], page_sections: list[Section]) -> list[Section]:
    """Move the end of a sentence that runs over a page break back to the page it started on.

    The next page's first section must continue the same heading (no heading at the top of the page); its
    lines up to the first one that closes a sentence join the previous section, which keeps its page number.
    """
    if not sections or not page_sections:
        return page_sections
    last, first = sections[-1], page_sections[0]
    if last.text.rstrip()[-1:] in _CLOSED or first.heading != last.heading:
        return page_sections
    lines = first.text.split("\n")
    cut = next((i + 1 for i, ln in enumerate(lines) if ln.rstrip()[-1:] in _CLOSED), len(lines))
    sections[-1] = Section(text=last.text + "\n" + "\n".join(lines[:cut]), heading=last.heading, page=last.page)
    rest = "\n".join(lines[cut:]).strip()
    head = [Section(text=rest, heading=first.heading, page=first.page)] if rest else []
    return head + page_sections[1:]


_PERIOD_LINE = re.compile(r"^(?:19|20)\d\d(?:\s*[-–]\s*(?:19|20)\d\d)?$")  # «2025-2029» under a title


def title_from_first_page(text: str) -> str:
    """The title a PDF opens with, when its metadata has none: the first line, with a period line under it.

    «Kompetanseplan for helse og velferd» / «2025-2029» gives «Kompetanseplan for helse og velferd 2025-2029».
    A first line that reads as a sentence (closing punctuation, or over 100 characters) is no title.
    """
    lines = [ln.strip() for ln in text.split("\n") if ln.strip()]
    if not lines or len(lines[0]) > 100 or lines[0][-1] in ".,;:!?":
        return ""
    if len(lines) > 1 and _PERIOD_LINE.match(lines[1]):
        return f"{lines[0]} {lines[1]}"
    return lines[0]


def _properties(reader: object) -> dict[str, str]:
    props: dict[str, str] = {}
    try:
        meta = reader.metadata  # type: ignore[attr-defined]
    except Exception:
        return props
    if not meta:
        return props
    if meta.title and str(meta.title).strip():
        props["title"] = str(meta.title).strip()
    for attr in ("creation_date", "modification_date"):
        try:
            value = getattr(meta, attr)
        except Exception:
            value = None
        if value is not None:
            props["date"] = value.date().isoformat()
            break
    return props


def load(path: Path) -> SourceDocument:
    """Load a PDF.

    Raises:
        LoadError: the PDF is corrupt, password-protected or has no extractable text.
    """
    try:
        from pypdf import PdfReader
        from pypdf.errors import PdfReadError
    except ImportError as exc:  # pragma: no cover - pypdf is a core dependency
        raise LoadError("PDF-støtte mangler: installer pakken pypdf") from exc
    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):
            raise LoadError("PDF-en er kryptert (passordbeskyttet); lagre en kopi uten passord")
        pages = [page.extract_text() or "" for page in reader.pages]
    except LoadError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise LoadError(f"PDF-en er ødelagt eller ikke en PDF ({type(exc).__name__}: {exc})") from exc
    except Exception as exc:
        if "crypt" in str(exc).lower():
            raise LoadError("PDF-en er kryptert og kan ikke leses; lagre en kopi uten passord") from exc
        raise LoadError(f"PDF-en kan ikke leses ({type(exc).__name__}: {exc})") from exc
    if not any(p.strip() for p in pages):
        raise LoadError("PDF-en har ingen tekst som kan hentes ut (skannet bilde?); kjør OCR først")
    running = running_lines(pages)
    sections: list[Section] = []
    heading = ""
    for number, text in enumerate(pages, start=1):
        page_sections, heading = split_page(strip_running(text, running, keep_top=number == 1), number, heading)
        sections.extend(join_across_pages(sections, page_sections))
    properties = _properties(reader)
    if "title" not in properties and (title := title_from_first_page(pages[0])):
        properties["title"] = title
    return SourceDocument(sections=tuple(sections), properties=properties, loader="pdf")
