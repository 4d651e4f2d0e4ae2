"""The extractive answer: verbatim sentences grouped by municipality, one citation per source."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from kb.answer.select import (
    _NUMBER,
    LEAD_SENTENCES,
    MAX_SECTIONS,
    MAX_SENTENCES,
    MAX_SOURCES,
    OTHER_MARGIN,
    OTHER_SENTENCES,
    SECONDARY,
    SECTION_SENTENCES,
    Candidate,
    Retrieved,
)
from kb.answer.sentences import Span
from kb.types import Answer, Citation

NOT_FOUND = "Jeg fant ikke noe om dette i erfaringsbanken."

# --- composing ---------------------------------------------------------------------------------------------
OLDER_VERSION = "eldre versjon"  # label on a superseded document in an answer


@dataclass
class _Composer:
    """Numbers citations and renders sections."""

    citations: list[Citation] = field(default_factory=list)
    index: dict[tuple[str, int, int], int] = field(default_factory=dict)

    def cite(self, span: Span) -> int:
        key = (span.hit.id, span.start, span.end)
        if key not in self.index:
            n = len(self.citations) + 1
            self.index[key] = n
            hit = span.hit
            self.citations.append(
                Citation(
                    n=n,
                    source=hit.source,
                    title=hit.title,
                    municipality=hit.municipality,
                    page=hit.page,
                    text=span.text,
                    superseded=hit.superseded,
                )
            )
        return self.index[key]

    def section(self, name: str, spans: Sequence[Span]) -> str:
        """One municipality: a line naming it and its documents, then one line per sentence with its [n]."""
        titles: dict[str, None] = {}
        for span in sorted(spans, key=lambda s: s.order):
            if span.hit.title:
                titles[span.hit.title + (f" – {OLDER_VERSION}" if span.hit.superseded else "")] = None
        head = f"{name or 'Ukjent'}" + (f" ({'; '.join(titles)})" if titles else "") + ":"
        lines = [head]
        # NOTE: keep each document's sentences in document order, so the section reads as in the source.
        for span in sorted(spans, key=lambda s: s.order):
            lines.append(f"- {span.shown} [{self.cite(span)}]")
        return "\n".join(lines)


def _group(spans: Sequence[Span]) -> dict[str, list[Span]]:
    groups: dict[str, list[Span]] = {}
    for span in spans:
        groups.setdefault(span.hit.municipality, []).append(span)
    return groups


def _continuations(chosen: Sequence[Span], pool: Sequence[Span], room: int) -> list[Span]:
    """Sentences that continue a chosen one: the next sentence of its paragraph when it holds the figures.

    «Vi innførte en ressursbank.» followed by «Heltidsandelen økte fra 38 til 52 prosent.» reads as one
    fact; the second is rarely closest to the question, so it is fetched by position rather than by score.
    """
    by_place: dict[tuple[str, int], list[Span]] = {}
    for span in pool:
        by_place.setdefault((span.hit.id, span.block), []).append(span)
    shown = {(s.hit.source, s.display) for s in chosen}
    extra: list[Span] = []
    for span in chosen:
        if len(extra) >= room or _NUMBER.search(span.display):
            continue
        block = sorted(by_place.get((span.hit.id, span.block), []), key=lambda s: s.start)
        following = [s for s in block if s.start >= span.end]
        if (
            following
            and _NUMBER.search(following[0].display)
            and (following[0].hit.source, following[0].display) not in shown
            and not _repeats(following[0], [*chosen, *extra])
        ):
            extra.append(following[0])
            shown.add((following[0].hit.source, following[0].display))
    return extra


def _pick_single(candidates: Sequence[Candidate], threshold: float, pool: Sequence[Span] = ()) -> list[Span]:
    """Most sentences from the best document, a few close ones from the next documents, and continuations.

    The best document (the search's first) gives up to LEAD_SENTENCES sentences that pass the floor; each
    other document up to OTHER_SENTENCES, and only sentences about as close to the question as the best one
    (within OTHER_MARGIN), so the answer stays one story with its figures rather than a collage.
    """
    if not candidates:
        return []
    best = candidates[0].relevance
    floor = SECONDARY * min(threshold, best)
    chosen: list[Span] = []
    per_source: Counter[str] = Counter()
    for cand in sorted(candidates, key=lambda c: (-c.score, c.span.order)):
        if len(chosen) >= MAX_SENTENCES - 1:
            break
        source = cand.span.hit.source
        lead = cand.span.rank == 0
        if cand.relevance < (floor if lead else max(floor, best - OTHER_MARGIN)) and chosen:
            continue
        if source not in per_source and len(per_source) >= MAX_SOURCES:
            continue
        if per_source[source] >= (LEAD_SENTENCES if lead else OTHER_SENTENCES):
            continue
        # NOTE: not the same sentence from an overlapping chunk, nor an item of a list already quoted whole.
        added = _add(cand.span, chosen)
        if added:  # a skipped sentence must not count its document as one the answer draws on
            per_source[source] += added
    return chosen + _continuations(chosen, pool, MAX_SENTENCES + 1 - len(chosen))


def _pick_sections(
    candidates: Sequence[Candidate], threshold: float, pool: Sequence[Span] = ()
) -> list[tuple[str, list[Span]]]:
    """Up to SECTION_SENTENCES sentences per municipality that pass the floor, none repeating another."""
    sections: dict[str, list[Span]] = {}
    floor = SECONDARY * threshold
    # NOTE: every municipality above the floor gets its section. Keeping only those whose best sentence is
    # within 0.03-0.1 of the best one's dropped relevant ones: key facts 0.517 -> 0.469-0.503 (measured).
    for cand in sorted(candidates, key=lambda c: (-c.score, c.span.order)):
        if cand.relevance < floor:
            continue
        bucket = sections.setdefault(cand.span.hit.municipality, [])
        if len(bucket) < SECTION_SENTENCES:
            _add(cand.span, bucket)
    order = {name: i for i, name in enumerate(dict.fromkeys(c.span.hit.municipality for c in candidates))}
    out = []
    for name, spans in sorted(sections.items(), key=lambda item: order[item[0]]):
        out.append((name, spans + _continuations(spans, pool, 1)))
    return out[:MAX_SECTIONS]


def _repeats(span: Span, chosen: Sequence[Span]) -> bool:
    """Whether a chosen sentence already shows this one.

    The same text counts from any document (another version of a strategy repeats it); a sentence inside a
    chosen one only from the same document (a list quoted whole after «Status per desember 2024:» holds its
    items).
    """
    return any(
        span.display == s.display or (s.hit.source == span.hit.source and span.display in s.display) for s in chosen
    )


def _add(span: Span, chosen: list[Span]) -> int:
    """Add `span` unless a chosen one shows it; chosen items it quotes whole give way.

    Returns how many more spans `chosen` holds (0 when `span` was not added, less when it replaced items).
    """
    if _repeats(span, chosen):
        return 0
    inside = [s for s in chosen if s.hit.source == span.hit.source and s.display in span.display]
    for s in inside:
        chosen.remove(s)
    chosen.append(span)
    return 1 - len(inside)


def _absent_text(retrieved: Retrieved) -> str:
    """The refusal for a municipality without documents, naming those that have some."""
    names = " og ".join(f"{name} kommune" if "kommune" not in name else name for name in retrieved.absent)
    text = f"{NOT_FOUND} Erfaringsbanken har ingen dokumenter fra {names}."
    if retrieved.members:
        text += f" Kommunene med dokumenter er {', '.join(retrieved.members)}."
    return text


def compose(retrieved: Retrieved) -> Answer:
    """The extractive answer: verbatim sentences grouped by municipality, each with its citation."""
    if not retrieved.answered:
        text = _absent_text(retrieved) if retrieved.absent else NOT_FOUND
        return Answer(text=text, citations=(), answered=False, mode="extractive")
    composer = _Composer()
    if retrieved.comparison:
        sections = _pick_sections(retrieved.candidates, retrieved.threshold, retrieved.pool)
    else:
        chosen = _pick_single(retrieved.candidates, retrieved.threshold, retrieved.pool)
        sections = list(_group(chosen).items())
    text = "\n\n".join(composer.section(name, spans) for name, spans in sections)
    return Answer(text=text, citations=tuple(composer.citations), answered=True, mode="extractive")
