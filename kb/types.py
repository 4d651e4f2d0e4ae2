"""Result types handed from the knowledge base to the CLI and the app."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

Scalar = str | int | float | bool
# Norwegian month names (bokmål and nynorsk alike), for writing dates and reading them in text.
MONTHS = (
    "januar",
    "februar",
    "mars",
    "april",
    "mai",
    "juni",
    "juli",
    "august",
    "september",
    "oktober",
    "november",
    "desember",
)


@dataclass(frozen=True, slots=True)
class Hit:
    """One retrieved chunk.

    `score` is the fused relevance in [0, 1] (higher is better; comparable within one search only).
    `dense_score` is the cosine similarity of query and chunk (None when only BM25 found it), and
    `bm25_score` the raw BM25 score (None when only the dense side found it).
    """

    id: str
    text: str
    source: str
    score: float
    metadata: Mapping[str, Scalar] = field(default_factory=dict)
    dense_score: float | None = None
    bm25_score: float | None = None
    superseded: bool = False  # an older version of a document that has a newer one in the store

    @property
    def municipality(self) -> str:
        """The municipality (or Læringsnettverket)."""
        return str(self.metadata.get("municipality", ""))

    @property
    def doc_type(self) -> str:
        """strategi, samlingsnotat, erfaring or annet."""
        return str(self.metadata.get("doc_type", ""))

    @property
    def title(self) -> str:
        """Document title."""
        return str(self.metadata.get("title", ""))

    @property
    def date(self) -> str:
        """ISO date or ''."""
        return str(self.metadata.get("date", ""))

    @property
    def page(self) -> int | None:
        """1-based PDF page, or None."""
        page = self.metadata.get("page")
        return int(page) if isinstance(page, int | float) and page > 0 else None

    @property
    def heading(self) -> str:
        """Nearest heading above the chunk."""
        return str(self.metadata.get("heading", ""))

    @property
    def chunk_index(self) -> int:
        """The chunk's position in its document (0 = the first)."""
        return int(self.metadata.get("chunk_index", 0) or 0)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape other tools rely on."""
        return {
            "source": self.source,
            "page": self.page,
            "municipality": self.municipality,
            "doc_type": self.doc_type,
            "title": self.title,
            "date": self.date,
            "heading": self.heading,
            "text": self.text,
            "score": round(self.score, 4),
            "superseded": self.superseded,
            "themes": str(self.metadata.get("themes", "")),
        }


def readable(metadata: Mapping[str, Any], visible_to: str | None) -> bool:
    """Whether a document (its chunk metadata) is visible to a reader of `visible_to` (None: every document).

    The rule of `Filters.visible_to` for one row; store.where_clause and LexicalIndex.mask apply it in bulk.
    """
    if visible_to is None or str(metadata.get("visibility", "nettverket")) == "nettverket":
        return True
    return metadata.get("municipality") == visible_to


@dataclass(frozen=True, slots=True)
class Filters:
    """Search filters; every field is optional and all given fields must hold."""

    municipalities: tuple[str, ...] = ()
    doc_types: tuple[str, ...] = ()
    themes: tuple[str, ...] = ()
    # Parts of a text by their role (ingest.roles: background, goal, measure, result, lesson): a chunk holding
    # a section with one of them passes.
    roles: tuple[str, ...] = ()
    date_from: str = ""  # ISO date, inclusive
    date_to: str = ""  # ISO date, inclusive
    visible_to: str | None = None  # municipality whose `intern` documents are also visible; None = all

    def __bool__(self) -> bool:
        return bool(
            self.municipalities or self.doc_types or self.themes or self.roles or self.date_from or self.date_to
        )


@dataclass(frozen=True, slots=True)
class Citation:
    """A numbered source in an answer: `[n]` in the text refers to `citations[n-1]`."""

    n: int
    source: str
    title: str
    municipality: str
    page: int | None
    text: str  # the exact quoted text from the stored chunk (the first, when several sentences are quoted)
    superseded: bool = False  # quoted from an older version of a document that has a newer one in the store
    quotes: tuple[str, ...] = ()  # every sentence the answer quotes from this source (and page), in order

    def to_dict(self) -> dict[str, Any]:
        """JSON shape of `kb ask --json`."""
        return {
            "n": self.n,
            "source": self.source,
            "page": self.page,
            "municipality": self.municipality,
            "title": self.title,
            "text": self.text,
            "quotes": list(self.quotes or (self.text,)),
            "superseded": self.superseded,
        }


RELATED_HEADING = "Kanskje relevant"  # the closest documents, under a not-found answer


@dataclass(frozen=True, slots=True)
class Answer:
    """An answer with its citations; `answered` is False when the knowledge base had nothing on it."""

    text: str
    citations: tuple[Citation, ...]
    answered: bool
    mode: str = "extractive"  # or "generated"
    notice: str = ""  # why a generated answer was replaced, etc.
    related: tuple[Citation, ...] = ()  # «Kanskje relevant»: the closest documents when the answer was not found
    asks: str = ""  # what the question asked: figure, date, name, measure, result or overview
    leads: tuple[str, ...] = ()  # the role of each municipality section's first sentence (measure, result, …)

    def to_dict(self) -> dict[str, Any]:
        """JSON shape of `kb ask --json`."""
        return {
            "answer": self.text,
            "answered": self.answered,
            "citations": [c.to_dict() for c in self.citations],
            "mode": self.mode,
            "notice": self.notice,
            "asks": self.asks,
            "related": [c.to_dict() for c in self.related],
        }


@dataclass(frozen=True, slots=True)
class DocumentInfo:
    """One stored document, from the chunks' metadata."""

    source: str
    title: str
    municipality: str
    doc_type: str
    date: str
    themes: tuple[str, ...]
    chunks: int
    superseded_by: str = ""
    visibility: str = "nettverket"
