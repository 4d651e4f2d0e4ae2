"""Sections to chunks along the document's structure: headings, pages, paragraphs, then sentences."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ingest.roles import section_metadata
from ingest.types import Chunk, Scalar, Section

# Abbreviations that end in a period without ending the sentence (bokmål and nynorsk).
_ABBREVIATIONS = (
    "f.eks",
    "bl.a",
    "ca",
    "nr",
    "kl",
    "jf",
    "dvs",
    "mv",
    "osv",
    "m.m",
    "pst",
    "ev",
    "evt",
    "inkl",
    "ekskl",
    "mht",
    "iht",
    "vedr",
    "tlf",
    "t.o.m",
    "f.o.m",
    "o.l",
    "m.fl",
    "s",
    "kap",
    "pkt",
    "bl.anna",
    "t.d",
    "mnd",
    "st",  # «St. Petersburg», «St. Olavs hospital»
    "dr",
    "prof",
    "jr",
    "sr",
    "avd",
    "ref",
)
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"»”)]*\s+(?=[\"«“(]?[A-ZÆØÅ0-9•\-])")
# Words a heading never ends on but a line broken mid-sentence often does («… 14 nye sykepleiere og»): the
# PDF loader's heading test, and the answer's test for headings and wrapped lines (kb.answer._CONTINUES).
OPEN_ENDINGS = frozenset(
    {"og", "eller", "men", "i", "på", "av", "for", "til", "med", "om", "fra", "som", "at", "en", "et", "ei", "den"}
    | {"det", "de", "å"}
)


@dataclass(frozen=True, slots=True)
class _Piece:
    text: str
    heading: str
    page: int | None
    start: int  # character offset of the piece in the document text


# A question this short on a line of its own heads a section («Hva gjorde vi?», «Hvem er med?»): the loaders read it
# as a heading, and so does the answer's sentence splitter; a longer question alone is the text's own.
QUESTION_HEADING_WORDS = 8


def short_question(line: str) -> bool:
    """Whether a line is a question short enough to head a section (case reports ask «Hva gjorde vi?»)."""
    text = line.strip()
    return text.endswith("?") and len(text.split()) <= QUESTION_HEADING_WORDS


def split_sentences(text: str) -> list[str]:
    """Split Norwegian text into sentences, keeping abbreviations such as «f.eks.» inside the sentence."""
    sentences: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        before = text[start : match.start()].rstrip()
        last_word = before.rsplit(None, 1)[-1].rstrip(".").lstrip("([«\"“'").lower() if before else ""
        if last_word in _ABBREVIATIONS or re.fullmatch(r"\d{1,2}", last_word):
            continue  # "f.eks. Halden", "(kl. 09.00–14.00)" or a date such as "12. mars"
        sentences.append(text[start : match.start()].strip())
        start = match.end()
    tail = text[start:].strip()
    if tail:
        sentences.append(tail)
    return [s for s in sentences if s]


def _paragraphs(section: Section, offset: int) -> list[_Piece]:
    pieces = []
    position = 0
    for block in re.split(r"\n\s*\n", section.text):
        stripped = block.strip()
        if not stripped:
            continue
        position = section.text.find(stripped, position)
        pieces.append(_Piece(stripped, section.heading, section.page, offset + max(position, 0)))
    return pieces


def _split_long(piece: _Piece, size: int) -> list[_Piece]:
    """Split an over-long paragraph at sentence ends (at a word boundary only for run-on sentences)."""
    if len(piece.text) <= size:
        return [piece]
    parts: list[_Piece] = []
    buffer = ""
    for sentence in split_sentences(piece.text):
        while len(sentence) > size:  # a run-on "sentence" (tables, lists without periods)
            cut = sentence.rfind(" ", 0, size)
            cut = cut if cut > size // 2 else size
            if buffer:
                parts.append(_Piece(buffer, piece.heading, piece.page, piece.start))
                buffer = ""
            parts.append(_Piece(sentence[:cut].strip(), piece.heading, piece.page, piece.start))
            sentence = sentence[cut:].strip()
        if buffer and len(buffer) + 1 + len(sentence) > size:
            parts.append(_Piece(buffer, piece.heading, piece.page, piece.start))
            buffer = sentence
        else:
            buffer = f"{buffer} {sentence}".strip()
    if buffer:
        parts.append(_Piece(buffer, piece.heading, piece.page, piece.start))
    return parts


def _overlap_tail(text: str, overlap: int) -> str:
    """The last whole sentences of `text` that fit in `overlap` characters."""
    if overlap <= 0:
        return ""
    tail = ""
    for sentence in reversed(split_sentences(text)):
        if len(sentence) + len(tail) + 1 > overlap:
            break
        tail = f"{sentence} {tail}".strip()
    return tail


def chunk_id(source: str, content_hash: str, index: int, text: str) -> str:
    """Stable id: the same file version always gives the same ids; a changed file gives new ones.

    The file's hash is part of the id so a new version can be written beside the old one and the old one
    deleted afterwards: a reader sees one whole version or the other, never a mix.
    """
    key = f"{source}\x1f{content_hash}\x1f{index}\x1f{text}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def chunk_sections(
    sections: Sequence[Section],
    *,
    source: str,
    metadata: Mapping[str, Scalar],
    chunk_size: int = 1000,
    overlap: int = 150,
    min_size: int = 200,
) -> list[Chunk]:
    """Pack paragraphs into chunks of at most `chunk_size` characters.

    A chunk never spans two PDF pages, and a new heading starts a new chunk unless the chunk so far is
    shorter than `min_size` (a heading with a one-line intro belongs with what follows). Consecutive chunks
    share up to `overlap` characters of whole sentences.
    """
    pieces: list[_Piece] = []
    offset = 0
    for section in sections:
        for paragraph in _paragraphs(section, offset):
            pieces.extend(_split_long(paragraph, chunk_size))
        offset += len(section.text) + 2

    groups: list[list[_Piece]] = []
    current: list[_Piece] = []
    for piece in pieces:
        if current:
            size = sum(len(p.text) + 2 for p in current)
            new_page = piece.page != current[-1].page
            new_heading = piece.heading != current[-1].heading and size >= min_size
            if new_page or new_heading or size + len(piece.text) > chunk_size:
                groups.append(current)
                current = []
        current.append(piece)
    if current:
        groups.append(current)

    chunks: list[Chunk] = []
    previous = ""
    for group in groups:
        body = "\n\n".join(p.text for p in group)
        same_context = chunks and group[0].page == chunks[-1].metadata.get("page")
        carry = _overlap_tail(previous, overlap) if same_context else ""
        text = f"{carry}\n\n{body}" if carry and len(carry) + len(body) <= chunk_size + overlap else body
        previous = body
        index = len(chunks)
        heading = group[0].heading or group[-1].heading
        meta: dict[str, Scalar] = {
            **metadata,
            "heading": heading,
            **section_metadata(p.heading for p in group),
            "chunk_index": index,
            "char_start": group[0].start,
        }
        if group[0].page is not None:
            meta["page"] = group[0].page
        content_hash = str(metadata.get("content_hash", ""))
        chunks.append(Chunk(id=chunk_id(source, content_hash, index, text), text=text, source=source, metadata=meta))
    total = len(chunks)
    return [Chunk(id=c.id, text=c.text, source=c.source, metadata={**c.metadata, "n_chunks": total}) for c in chunks]
