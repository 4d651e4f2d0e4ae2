"""Plain text files: UTF-8 first, then Windows-1252, then latin-1; YAML front matter as in Markdown."""

from __future__ import annotations

import codecs
import logging
import re
from pathlib import Path

from ingest.loaders import LoadError
from ingest.types import Section, SourceDocument

logger = logging.getLogger(__name__)

# NOTE: cp1252 before latin-1: Norwegian Word exports use cp1252's quotes and dashes, which latin-1
# would turn into control characters. latin-1 never fails, so binary data is caught before it.
FALLBACK_ENCODINGS = ("cp1252", "latin-1")


def decode(data: bytes) -> str:
    """Decode file bytes as text, trying UTF-8 (with or without BOM), UTF-16 (BOM) and the fallbacks.

    Raises:
        LoadError: the bytes look binary, so no text encoding applies.
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16")
    if b"\x00" in data[:4096]:
        raise LoadError("filen ser ut som en binærfil, ikke tekst (ukjent tegnkoding)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    for encoding in FALLBACK_ENCODINGS:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if _control_share(text) > 0.01:
            continue
        logger.info("decoded as %s after UTF-8 failed", encoding)
        return text
    raise LoadError("tegnkodingen kan ikke leses (verken UTF-8, Windows-1252 eller latin-1)")


def _control_share(text: str) -> float:
    controls = sum(1 for ch in text if (ord(ch) < 32 and ch not in "\n\r\t\f") or 0x80 <= ord(ch) < 0xA0)
    return controls / max(len(text), 1)


def read_text(path: Path) -> str:
    """Read a text file with encoding fallback and normalised newlines."""
    return decode(path.read_bytes()).replace("\r\n", "\n").replace("\r", "\n")


_UNDERLINE = re.compile(r"^\s*(?:={3,}|-{3,})\s*$")  # «BAKGRUNN» / «--------»: a setext heading's rule
HEADING_CHARS = 80  # a heading line is at most this long


def _is_heading(line: str, previous: str, following: str) -> bool:
    """A line underlined with === or ---, or an ALL-CAPS line standing alone after a blank line."""
    stripped = line.strip()
    if not stripped or len(stripped) > HEADING_CHARS or _UNDERLINE.match(stripped):
        return False
    if _UNDERLINE.match(following):
        return True
    letters = [ch for ch in stripped if ch.isalpha()]
    shouting = len(letters) >= 3 and all(ch.isupper() for ch in letters) and stripped[-1] not in ".!?"
    return shouting and not previous.strip()


def split_sections(text: str) -> list[Section]:
    """Sections at the headings a plain text marks («BAKGRUNN» over «--------», ALL-CAPS lines)."""
    lines = text.split("\n")
    sections: list[Section] = []
    heading, buffer = "", []
    rule = -1  # the line of the rule under the last heading
    for i, line in enumerate(lines):
        if i == rule:
            continue
        previous = lines[i - 1] if i else ""
        following = lines[i + 1] if i + 1 < len(lines) else ""
        if _is_heading(line, previous, following):
            if "".join(buffer).strip():
                sections.append(Section(text="\n".join(buffer).strip(), heading=heading))
            heading, buffer = line.strip(), [line.strip()]
            rule = i + 1 if _UNDERLINE.match(following) else -1
            continue
        buffer.append(line)
    if "".join(buffer).strip():
        sections.append(Section(text="\n".join(buffer).strip(), heading=heading))
    return sections or [Section(text=text)]


def load(path: Path) -> SourceDocument:
    """Load a plain text file: YAML front matter as in Markdown, then sections at the headings it marks."""
    from ingest.loaders.frontmatter import split_front_matter

    front_matter, body = split_front_matter(read_text(path))
    return SourceDocument(sections=tuple(split_sections(body)), front_matter=front_matter, loader="text")
