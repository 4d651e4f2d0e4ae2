"""What the app shows, computed without Streamlit: highlighting, source views, onboarding and the status line.

The app only lays these out; everything here is plain data in, plain data out, so it is unit-tested.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from kb.types import MONTHS, Filters, Scalar

logger = logging.getLogger(__name__)

NETWORK = "Læringsnettverket"
# The network's members, in the order the network lists them; documents may add others.
MEMBERS = ("Sarpsborg", "Fredrikstad", "Halden", "Råde", "Rakkestad", "Østfold fylkeskommune")
DOC_TYPE_LABELS: dict[str, str] = {
    "strategi": "Strategi/plan",
    "samlingsnotat": "Samlingsnotat",
    "erfaring": "Erfaring",
    "annet": "Annet",
}
SUGGESTED_QUESTIONS = (
    "Hvordan har kommunene jobbet med heltidskultur?",
    "Hva gjorde Sarpsborg for å beholde nyansatte?",
    "Hvilke tiltak har kommunene for å rekruttere sykepleiere?",
    "Hva er målene i kompetansestrategiene?",
    "Hva kom fram på samlingen om psykologisk trygghet?",
)

TOKEN = re.compile(r"\w+(?:-\w+)*", re.UNICODE)
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#+!|~$:])")
MIN_PARTIAL = 5  # a query stem this long also marks compounds that contain it: «heltid» in «heltidskultur»


# --- highlighting -------------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("norwegian")


def query_stems(query: str) -> frozenset[str]:
    """Stems of the query's content words (stop words dropped), lower-cased."""
    from kb.store.lexical import words

    tokens = [w for w in words(query) if len(w) > 1]
    return frozenset(_stemmer().stemWords(tokens))


def is_match(token: str, stems: frozenset[str]) -> bool:
    """Whether a word matches one of the query stems (same stem, or a long stem inside a compound)."""
    lowered = token.lower()
    if _stemmer().stemWord(lowered) in stems:
        return True
    return any(len(stem) >= MIN_PARTIAL and stem in lowered for stem in stems)


def escape_markdown(text: str) -> str:
    """Text that Streamlit's Markdown shows literally (no emphasis, LaTeX, HTML or colour directives)."""
    return _escape_plain(text)


def highlight(text: str, query: str, *, tag: str = "mark") -> str:
    """Markdown with HTML `<mark>` around the words that match the query (by stem or inside a compound).

    Everything else is escaped, so the result is safe for `st.markdown(..., unsafe_allow_html=True)`.
    Line breaks are kept.
    """
    stems = query_stems(query)
    out: list[str] = []
    position = 0
    for match in TOKEN.finditer(text):
        out.append(_escape_plain(text[position : match.start()]))
        token = match.group(0)
        if stems and is_match(token, stems):
            out.append(f"<{tag}>{_escape_plain(token)}</{tag}>")
        else:
            out.append(_escape_plain(token))
        position = match.end()
    out.append(_escape_plain(text[position:]))
    return "".join(out).replace("\n\n", "\n").replace("\n", "  \n")


def _escape_plain(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def mark_quote(text: str, quote: str, query: str = "") -> str:
    """Like `highlight`, and the quoted part of `text` (if found) in bold inside a `<mark>`."""
    needle = quote.strip()
    start = text.find(needle) if needle else -1
    if start < 0 and needle:
        start = text.find(needle[:80])
        needle = needle[:80] if start >= 0 else needle
    if start < 0:
        return highlight(text, query)
    end = start + len(needle)
    quoted = highlight(text[start:end], "").replace("  \n", " ")
    return highlight(text[:start], query) + f"<mark><b>{quoted}</b></mark>" + highlight(text[end:], query)


def matched_words(text: str, query: str) -> list[str]:
    """The words of `text` that `highlight` marks, in order (for tests and summaries)."""
    stems = query_stems(query)
    return [m.group(0) for m in TOKEN.finditer(text) if stems and is_match(m.group(0), stems)]


def part_text(hit: Any, roles: Sequence[str]) -> str:
    """The hit's text from its first sentence in a section with one of `roles` (a search by part of the text).

    A chunk opens with the end of the chunk before it, and a short section shares a chunk with the next one: a
    search for «resultat» would otherwise show the measures first. The whole text when no role is asked or found.
    """
    if not roles:
        return str(hit.text)
    from ingest.roles import section_role
    from kb.answer.sentences import section_heading, sentence_spans

    for span in sentence_spans(hit):
        if section_role(section_heading(span)) in roles:
            return str(hit.text[span.start :])
    return str(hit.text)


def excerpt(text: str, query: str, width: int = 450) -> str:
    """About `width` characters of `text` around the first query word, cut at word boundaries."""
    text = text.strip()
    if len(text) <= width:
        return text
    stems = query_stems(query)
    first = next((m.start() for m in TOKEN.finditer(text) if stems and is_match(m.group(0), stems)), 0)
    start = max(0, min(first - width // 4, len(text) - width))
    if start > 0:
        space = text.find(" ", start)
        start = space + 1 if 0 <= space < first else start
    end = min(len(text), start + width)
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > start else end
    return ("… " if start > 0 else "") + text[start:end].strip() + (" …" if end < len(text) else "")


# --- filters and labels -------------------------------------------------------------------------------------
def build_filters(
    municipalities: Iterable[str] = (),
    doc_types: Iterable[str] = (),
    themes: Iterable[str] = (),
    years: tuple[int, int] | None = None,
    all_years: tuple[int, int] | None = None,
    roles: Iterable[str] = (),
) -> Filters:
    """Filters from the sidebar's widgets; a year range equal to the whole range is no filter."""
    date_from = date_to = ""
    if years is not None and years != all_years:
        date_from, date_to = f"{years[0]}-01-01", f"{years[1]}-12-31"
    return Filters(
        municipalities=tuple(municipalities),
        doc_types=tuple(doc_types),
        themes=tuple(themes),
        roles=tuple(roles),
        date_from=date_from,
        date_to=date_to,
    )


def doc_type_label(doc_type: str) -> str:
    """The Norwegian label of a document type."""
    return DOC_TYPE_LABELS.get(doc_type, doc_type.capitalize() or "Ukjent")


def format_date(iso: str) -> str:
    """`2024-03-01` → `1. mars 2024`; '' stays ''."""
    try:
        date = dt.date.fromisoformat(iso)
    except ValueError:
        return iso
    return f"{date.day}. {MONTHS[date.month - 1]} {date.year}"


def meta_line(metadata: Mapping[str, Scalar]) -> str:
    """«Sarpsborg · Erfaring · 1. mars 2024 · side 3» for a card."""
    parts = [str(metadata.get("municipality", "")) or "Ukjent kommune"]
    parts.append(doc_type_label(str(metadata.get("doc_type", ""))))
    if metadata.get("date"):
        parts.append(format_date(str(metadata["date"])))
    page = metadata.get("page")
    if isinstance(page, int | float) and page > 0:
        parts.append(f"side {int(page)}")
    return " · ".join(parts)


@dataclass(frozen=True, slots=True)
class FilterChoices:
    """What the sidebar offers, from the stored documents."""

    municipalities: tuple[str, ...]
    doc_types: tuple[str, ...]
    themes: tuple[str, ...]
    years: tuple[int, int] | None


def filter_choices(documents: Sequence[Any]) -> FilterChoices:
    """Municipalities (members first), types, themes (most used first) and the year range of `documents`."""
    present = {d.municipality for d in documents if d.municipality}
    municipalities = [m for m in MEMBERS if m in present] + sorted(present - set(MEMBERS))
    types = [t for t in DOC_TYPE_LABELS if any(d.doc_type == t for d in documents)]
    theme_counts: Counter[str] = Counter(t for d in documents for t in d.themes)
    themes = [t for t, _ in sorted(theme_counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    years = sorted(int(d.date[:4]) for d in documents if d.date[:4].isdigit())
    return FilterChoices(tuple(municipalities), tuple(types), tuple(themes), (years[0], years[-1]) if years else None)


# --- source view --------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Block:
    """One chunk of a document as shown in the source view, with the overlap to the previous chunk removed."""

    index: int  # chunk_index
    page: int | None
    heading: str
    text: str


def strip_overlap(previous: str, text: str) -> str:
    """`text` without the sentences it repeats from the end of `previous` (the chunker's overlap)."""
    best = 0
    for match in re.finditer(r"\n\n", text):
        head = text[: match.start()]
        if head.strip() and previous.rstrip().endswith(head.strip()):
            best = match.end()
    return text[best:]


def document_blocks(chunks: Sequence[tuple[str, Mapping[str, Scalar]]]) -> list[Block]:
    """A document's chunks (from `KnowledgeBase.chunks_of`) as readable blocks in order."""
    blocks: list[Block] = []
    previous = ""
    previous_page: object = None
    for text, meta in chunks:
        page = meta.get("page")
        page_no = int(page) if isinstance(page, int | float) and page > 0 else None
        shown = strip_overlap(previous, text) if page == previous_page else text
        blocks.append(
            Block(int(meta.get("chunk_index", len(blocks)) or 0), page_no, str(meta.get("heading", "")), shown)
        )
        previous, previous_page = text, page
    return blocks


def locate_passage(
    blocks: Sequence[Block],
    *,
    chunk_index: int | None = None,
    quote: str = "",
    page: int | None = None,
) -> int | None:
    """Position in `blocks` of the cited passage: by chunk index, else by quoted text, else by page."""
    if chunk_index is not None:
        for i, block in enumerate(blocks):
            if block.index == chunk_index:
                return i
    needle = " ".join(quote.split())
    if needle:
        candidates = [i for i, b in enumerate(blocks) if page is None or b.page == page] or range(len(blocks))
        for probe in (needle, needle[:120], needle[:60]):
            for i in candidates:
                if probe and probe in " ".join(blocks[i].text.split()):
                    return i
        # the quote may straddle the overlap that was stripped: the best word overlap wins
        wanted = set(needle.lower().split())
        scored = [(len(wanted & set(blocks[i].text.lower().split())), -i) for i in candidates]
        if scored and max(scored)[0] > 0:
            return -max(scored)[1]
    if page is not None:
        for i, block in enumerate(blocks):
            if block.page == page:
                return i
    return None


def pages_of(blocks: Sequence[Block]) -> list[int]:
    """The PDF pages that have text, in order ([] for documents without pages)."""
    return sorted({b.page for b in blocks if b.page is not None})


# --- onboarding ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Session:
    """One network session (samlingsnotat) for the timeline and the onboarding list."""

    date: str
    title: str
    source: str
    themes: tuple[str, ...]


@dataclass
class Onboarding:
    """What a new member needs first."""

    members: list[tuple[str, int]]  # municipality, documents
    sessions: list[Session]
    key_documents: dict[str, list[Any]]  # municipality → DocumentInfo, most useful first
    about: list[Any]  # the network's own documents (mandate, welcome letter)
    questions: list[str] = field(default_factory=list)


def sessions_of(documents: Iterable[Any]) -> list[Session]:
    """The network's session notes, oldest first."""
    notes = [d for d in documents if d.doc_type == "samlingsnotat"]
    return [
        Session(d.date, d.title, d.source, tuple(d.themes))
        for d in sorted(notes, key=lambda d: (d.date or "9999", d.source))
    ]


def onboarding(documents: Sequence[Any], per_municipality: int = 3) -> Onboarding:
    """Members, sessions in date order, key documents per municipality and first questions to try."""
    counts = Counter(d.municipality for d in documents if d.municipality and d.municipality != NETWORK)
    members = [(m, counts[m]) for m in MEMBERS if m in counts]
    members += sorted((m, c) for m, c in counts.items() if m not in MEMBERS)
    rank = {"strategi": 0, "erfaring": 1, "samlingsnotat": 2, "annet": 3}
    key: dict[str, list[Any]] = {}
    for municipality, _ in members:
        docs = [d for d in documents if d.municipality == municipality and not d.superseded_by]
        docs.sort(key=lambda d: (rank.get(d.doc_type, 9), _negative_date(d.date), d.title))
        key[municipality] = docs[:per_municipality]
    about = [d for d in documents if d.municipality == NETWORK and d.doc_type != "samlingsnotat"]
    themes = Counter(t for d in documents for t in d.themes)
    questions = list(SUGGESTED_QUESTIONS)
    for theme, _ in themes.most_common(3):
        question = f"Hva har kommunene gjort med {theme}?"
        if question not in questions:
            questions.append(question)
    return Onboarding(members, sessions_of(documents), key, sorted(about, key=lambda d: d.title), questions)


def _negative_date(date: str) -> str:
    # sort newest first inside an ascending sort key
    return "".join(chr(255 - ord(c)) for c in (date or "0000"))


# --- status ---------------------------------------------------------------------------------------------
def answer_mode(settings: Any) -> str:
    """How answers are made: extractive (default) or generated by the configured endpoint."""
    if getattr(settings, "generator_url", None):
        model = getattr(settings, "generator_model", "") or "ukjent modell"
        return f"generert ({model}), med uttrekk som reserve"
    return "uttrekk fra dokumentene"


def status_line(stats: Mapping[str, Any], settings: Any) -> str:
    """One line for the sidebar: size, last ingest, model and answer mode."""
    last = stats.get("last_ingest")
    when = dt.datetime.fromtimestamp(float(last)).strftime("%d.%m.%Y kl. %H:%M") if last else "aldri"
    return (
        f"{stats.get('documents', 0)} dokumenter · {stats.get('chunks', 0)} tekstbiter · "
        f"sist oppdatert {when} · modell: {stats.get('embed_model', '')} · svar: {answer_mode(settings)}"
    )


def per_municipality_rows(stats: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Rows of the status table: municipality, documents, chunks."""
    per = stats.get("per_municipality", {}) or {}
    return [
        {"Kommune": name, "Dokumenter": row["documents"], "Tekstbiter": row["chunks"]}
        for name, row in sorted(per.items())
    ]
