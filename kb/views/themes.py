"""Facilitator view of one theme: who wrote about it, related sessions, challenges, measures and lessons.

`theme_overview` gathers it from the knowledge base and the feedback log; `theme_brief` writes it as a
one-page Markdown brief with numbered citations.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from kb.types import DocumentInfo, Filters, Hit
from kb.views.display import NETWORK, TOKEN, Session, doc_type_label, format_date, is_match, query_stems, sessions_of
from kb.views.feedback import FeedbackEntry, open_questions

logger = logging.getLogger(__name__)

# Headings and words that mark a sentence as a challenge or as a measure (lower-case, matched as substrings).
CHALLENGE_HEADINGS = ("utfordring", "problem", "bakgrunn", "situasjon", "hvorfor", "utgangspunkt")
MEASURE_HEADINGS = ("hva vi gjorde", "tiltak", "gjennomføring", "løsning", "slik gjorde", "metode", "grep")
CHALLENGE_WORDS = (
    "utfordr",
    "problem",
    "vanskelig",
    "mangel",
    "mangle",
    "sluttet",
    "slutter",
    "turnover",
    "for få",
    "krevende",
    "barriere",
    "ikke nok",
    "lav ",
    "høyt sykefravær",
    "sliter",
)
MEASURE_WORDS = (
    "innførte",
    "innført",
    "etablerte",
    "etablert",
    "startet",
    "prøvde",
    "tiltak",
    "satte i gang",
    "opprettet",
    "gjennomførte",
    "tilbyr",
    "ordning",
    "vi har ",
    "vi laget",
    "vi brukte",
)
MIN_SENTENCE, MAX_SENTENCE = 30, 400
EVIDENCE_SHARE = 0.35  # share of the best BM25 score a chunk needs to count as being about the theme
PER_SOURCE = 2  # findings per document, so one long case does not fill the list


@dataclass(frozen=True, slots=True)
class Finding:
    """A sentence pulled from a document, with where it came from."""

    text: str
    source: str
    title: str
    municipality: str
    page: int | None
    score: float


@dataclass
class ThemeOverview:
    """Everything the facilitator page shows for one theme."""

    theme: str
    documents: list[Any]  # DocumentInfo, newest first
    municipalities: dict[str, list[Any]]  # municipality → its documents on the theme
    sessions: list[Session]  # related session notes, oldest first
    challenges: list[Finding]
    measures: list[Finding]
    questions: list[FeedbackEntry] = field(default_factory=list)
    lessons: list[Finding] = field(default_factory=list)  # what members advise, from their «Dette lærte vi»

    @property
    def is_empty(self) -> bool:
        """Nothing in the knowledge base is about the theme."""
        return not self.documents


def _paragraph_sentences(text: str) -> list[str]:
    from ingest.chunking import split_sentences

    sentences = []
    for paragraph in re.split(r"\n\s*\n", text):
        lines = [ln.strip().lstrip("-•*– ").strip() for ln in paragraph.splitlines() if ln.strip()]
        body = " ".join(ln for ln in lines if not (len(ln) < 80 and not ln.endswith((".", "!", "?", ":"))))
        if lines and len(lines) == 1 and not body:
            continue  # a heading on its own
        sentences.extend(split_sentences(body))
    return [s for s in sentences if MIN_SENTENCE <= len(s) <= MAX_SENTENCE and not s.endswith(":")]


def _cue(sentence: str, heading: str, headings: Sequence[str], words: Sequence[str]) -> float:
    lowered, head = sentence.lower(), heading.lower()
    score = 2.0 if any(h in head for h in headings) else 0.0
    score += 1.0 if any(w in lowered for w in words) else 0.0
    return score


def extract_findings(hits: Sequence[Hit], theme: str, top: int = 5) -> tuple[list[Finding], list[Finding]]:
    """The sentences that best state a challenge and a measure, from the hits' texts (best first)."""
    stems = query_stems(theme)
    challenges: list[Finding] = []
    measures: list[Finding] = []
    seen: set[str] = set()
    for hit in hits:
        for sentence in _paragraph_sentences(hit.text):
            key = " ".join(sentence.lower().split())
            if key in seen:
                continue
            seen.add(key)
            mentions = 1.0 if any(is_match(m.group(0), stems) for m in TOKEN.finditer(sentence)) else 0.0
            challenge = _cue(sentence, hit.heading, CHALLENGE_HEADINGS, CHALLENGE_WORDS)
            measure = _cue(sentence, hit.heading, MEASURE_HEADINGS, MEASURE_WORDS)
            words_cue = any(w in sentence.lower() for w in (*CHALLENGE_WORDS, *MEASURE_WORDS))
            if not (challenge or measure) or not (words_cue or mentions):
                continue  # a heading alone does not make every sentence under it a finding
            target = challenges if challenge > measure else measures
            cue = max(challenge, measure)
            target.append(
                Finding(sentence, hit.source, hit.title, hit.municipality, hit.page, cue + mentions + hit.score)
            )
    return _top(challenges, top), _top(measures, top)


def theme_question(theme: str) -> str:
    """The question whose answer is the brief's «Tiltak som er prøvd»: what the municipalities did about it."""
    return f"Hva har kommunene gjort med {theme.strip().lower()}?"


def measures_tried(kb: Any, theme: str) -> list[Finding]:
    """What was done about a theme, per municipality: the sentences of the same answer the «Spør» page gives.

    NOTE: one answer for both pages (kb.answer.ask, extractive), so the facilitator's brief and an adviser's
    question about the theme quote the same measures and results, with the same sources.
    """
    from kb.answer import ask

    answer = ask(kb, theme_question(theme), generator=False)
    if not answer.answered:
        return []
    return [
        Finding(" ".join(quote.split()), c.source, c.title, c.municipality, c.page, 0.0)
        for c in answer.citations
        for quote in c.quotes or (c.text,)
    ]


def lessons_learned(kb: Any, theme: str, floor: float, *, k: int = 40, top: int = 5) -> list[Finding]:
    """What the members say they learnt about a theme, best first.

    The sentences of sections headed as lessons («Dette lærte vi», «Råd til andre», «Erfaringer»), from chunks
    BM25 finds about the theme (a BM25 score of at least `floor`). The chunks are found by the roles ingest
    stored (Filters.roles); a chunk may also hold the end of the section before, so each sentence is kept only
    when its own section is a lesson (its heading, as the answer reads it). Sentences that name the theme come
    first, then by the chunk's rank.
    """
    from ingest.roles import LESSON, section_role
    from kb.answer.sentences import section_heading, sentence_spans

    stems = query_stems(theme)
    hits = kb.search(theme, k=k, filters=Filters(roles=(LESSON,)))
    findings = []
    seen: set[str] = set()
    for rank, hit in enumerate(h for h in hits if h.bm25_score is not None and h.bm25_score >= floor):
        for span in sentence_spans(hit):
            text = span.display
            if text in seen or section_role(section_heading(span)) != LESSON:
                continue
            seen.add(text)
            mentions = any(is_match(m.group(0), stems) for m in TOKEN.finditer(text))
            score = float(mentions) + hit.score - 0.01 * rank
            findings.append(Finding(text, hit.source, hit.title, hit.municipality, hit.page, score))
    return _top(findings, top)


def _top(findings: list[Finding], top: int) -> list[Finding]:
    per: dict[str, int] = defaultdict(int)
    out = []
    for finding in sorted(findings, key=lambda f: -f.score):
        if per[finding.source] >= PER_SOURCE:
            continue
        per[finding.source] += 1
        out.append(finding)
        if len(out) == top:
            break
    return out


def _tagged(doc: Any, theme: str) -> bool:
    return theme.strip().lower() in (t.lower() for t in doc.themes)


def theme_overview(
    kb: Any,  # a KnowledgeBase, or a UserView of one
    theme: str,
    feedback: Sequence[FeedbackEntry] = (),
    *,
    k: int = 40,
    top: int = 5,
) -> ThemeOverview:
    """Gather a theme from the knowledge base: documents tagged with it or mentioning it, and their texts.

    A document counts as being about the theme when it is tagged with it, or when BM25 finds the theme's
    words in it (the dense side alone always finds *something*, so it is not evidence here).
    """
    theme = " ".join(theme.split())
    documents: list[DocumentInfo] = kb.documents()
    by_source = {d.source: d for d in documents}
    hits = kb.search(theme, k=k)
    top_bm25 = max((h.bm25_score or 0.0 for h in hits), default=0.0)
    # NOTE: a passing mention is not a document about the theme: keep chunks near the best BM25 match.
    evidence = [h for h in hits if h.bm25_score is not None and h.bm25_score >= EVIDENCE_SHARE * top_bm25]
    tagged = [d for d in documents if _tagged(d, theme)]
    if tagged:
        evidence += kb.search(theme, k=k, filters=Filters(themes=(theme.lower(),)))
    evidence = sorted({h.id: h for h in evidence}.values(), key=lambda h: -h.score)
    sources = {h.source for h in evidence} | {d.source for d in tagged}
    related = [by_source[s] for s in sources if s in by_source]
    related.sort(key=lambda d: (d.date, d.source), reverse=True)
    municipalities: dict[str, list[Any]] = defaultdict(list)
    for doc in related:
        if doc.doc_type != "samlingsnotat":
            municipalities[doc.municipality or "Ukjent"].append(doc)
    ordered = dict(sorted(municipalities.items(), key=lambda kv: (kv[0] == NETWORK, -len(kv[1]), kv[0])))
    challenges, _ = extract_findings(evidence, theme, top)
    measures = measures_tried(kb, theme)
    lessons = lessons_learned(kb, theme, EVIDENCE_SHARE * top_bm25, k=k, top=top) if top_bm25 else []
    return ThemeOverview(
        theme=theme,
        documents=related,
        municipalities=ordered,
        sessions=sessions_of(related),
        challenges=challenges,
        measures=measures,
        questions=open_questions(feedback, about=[theme]),
        lessons=lessons,
    )


def timeline_rows(overview: ThemeOverview) -> list[dict[str, Any]]:
    """Rows for the timeline chart: one per related session note with a date."""
    return [
        {"Dato": s.date, "Samling": s.title, "Kilde": s.source, "Tema": ", ".join(s.themes)}
        for s in overview.sessions
        if s.date
    ]


def theme_brief(overview: ThemeOverview, *, today: dt.date | None = None, max_items: int = 5) -> str:
    """A one-page Markdown brief with numbered citations ([n] → the n-th source at the bottom)."""
    today = today or dt.date.today()
    numbers: dict[tuple[str, int | None], int] = {}
    sources: list[tuple[str, int | None]] = []
    info = {d.source: d for d in overview.documents}
    titles: dict[str, str] = {}

    def cite(source: str, page: int | None = None, title: str = "") -> str:
        key = (source, page)
        if key not in numbers:
            numbers[key] = len(sources) + 1
            sources.append(key)
        if title:
            titles.setdefault(source, title)
        return f"[{numbers[key]}]"

    lines = [
        f"# Temabrief: {overview.theme}",
        "",
        f"*Laget {format_date(today.isoformat())} fra Erfaringsbanken. Tall i hakeparentes viser til kildene nederst.*",
        "",
        "## Hvem har skrevet om temaet",
    ]
    if overview.municipalities:
        for municipality, docs in overview.municipalities.items():
            cited = ", ".join(f"{d.title} {cite(d.source, title=d.title)}" for d in docs[:3])
            lines.append(f"- **{municipality}**: {cited}")
    else:
        lines.append("- Ingen kommuner har delt dokumenter om temaet ennå.")
    lines += ["", "## Samlinger om temaet"]
    if overview.sessions:
        lines += [
            f"- **{format_date(s.date) or 'udatert'}**: {s.title} {cite(s.source, title=s.title)}"
            for s in overview.sessions[-max_items:]
        ]
    else:
        lines.append("- Temaet har ikke vært tema på en samling ennå.")
    for heading, findings, empty in (
        ("Gjentakende utfordringer", overview.challenges, "Ingen utfordringer er beskrevet i tekstene."),
        ("Tiltak som er prøvd", overview.measures, "Ingen tiltak er beskrevet i tekstene."),
        ("Erfaringer og råd", overview.lessons, "Ingen har skrevet hva de lærte om temaet ennå."),
    ):
        lines += ["", f"## {heading}"]
        if findings:
            lines += [f"- {f.text} ({f.municipality}) {cite(f.source, f.page, f.title)}" for f in findings[:max_items]]
        else:
            lines.append(f"- {empty}")
    lines += ["", "## Åpne spørsmål fra brukerne"]
    if overview.questions:
        lines += [f"- {q.question}" for q in overview.questions[:max_items]]
    else:
        lines.append("- Ingen ubesvarte spørsmål om temaet er registrert.")
    lines += ["", "## Kilder"]
    for n, (source, page) in enumerate(sources, start=1):
        doc = info.get(source)
        title = doc.title if doc else titles.get(source, source)
        details = [doc.municipality, doc_type_label(doc.doc_type)] if doc else []
        if doc and doc.date:
            details.append(format_date(doc.date))
        where = f"`{source}`" + (f", side {page}" if page else "")
        lines.append(f"{n}. {title} – {', '.join(details)} ({where})" if details else f"{n}. {title} ({where})")
    if not sources:
        lines.append("Ingen kilder.")
    return "\n".join(lines) + "\n"
