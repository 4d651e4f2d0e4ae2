"""PDF files through pypdf: one section per page and detected heading, page numbers kept."""

from __future__ import annotations

import logging
import re
from pathlib import Path

from ingest.loaders import LoadError
from ingest.types import Section, SourceDocument

logger = logging.getLogger(__name__)

_PAGE_NUMBER = re.compile(r"^\s*(?:side\s*)?\d{1,3}\s*(?:(?:/|av)\s*\d{1,3})?\s*$", re.IGNORECASE)


def _looks_like_heading(line: str, next_line: str) -> bool:
    """A short line without closing punctuation, followed by longer body text, is taken as a heading."""
    stripped = line.strip()
    if not 2 < len(stripped) <= 70 or stripped[-1] in ".,:;!?)-–" or stripped[0] in "-•*–(":
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
    sections: list[Section] = []
    heading = ""
    for number, text in enumerate(pages, start=1):
        page_sections, heading = split_page(text, number, heading)
        sections.extend(page_sections)
    return SourceDocument(sections=tuple(sections), properties=_properties(reader), loader="pdf")
