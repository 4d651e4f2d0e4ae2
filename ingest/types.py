"""Record types that flow from files to chunks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

Scalar = str | int | float | bool


@dataclass(frozen=True, slots=True)
class Section:
    """A run of text under one heading (and on one page, for PDFs)."""

    text: str
    heading: str = ""  # nearest heading above the text; "" before the first heading
    page: int | None = None  # 1-based PDF page; None for formats without pages


@dataclass(frozen=True, slots=True)
class SourceDocument:
    """What a loader read from one file, before metadata is resolved."""

    sections: tuple[Section, ...]
    front_matter: Mapping[str, object] = field(default_factory=dict)  # YAML front matter, raw
    properties: Mapping[str, str] = field(default_factory=dict)  # document properties: title, date
    loader: str = ""

    @property
    def text(self) -> str:
        """All section text joined, for hashing and title detection."""
        return "\n\n".join(s.text for s in self.sections)


@dataclass(frozen=True, slots=True)
class Chunk:
    """One searchable piece of a document, with flat metadata (Chroma stores scalars only)."""

    id: str  # hash of source, position and text: unchanged text keeps its id
    text: str
    source: str  # path relative to the ingested root, with forward slashes
    metadata: Mapping[str, Scalar]

    def __repr__(self) -> str:
        short = self.text[:40].replace("\n", " ")
        return f"Chunk(id={self.id[:10]!r}, source={self.source!r}, text={short!r}...)"
