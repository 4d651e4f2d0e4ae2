"""How well each sentence of the retrieved chunks answers a question.

Two scores per sentence: `relevance` (cosine and keyword overlap: how close it is to the question's topic, part
of the refusal signal in kb.answer.select) and `score` (the learned selector's probability that it holds the
answer, kb.answer.selector, combined with the reader's for the likeliest sentences, kb.answer.reader: what the
answer picks by).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from kb.answer.facts import about_year, asked_items, sentence_role, states_goal, value_unit
from kb.answer.question import (
    AMOUNT,
    MEASURE,
    RESULT,
    SHARE,
    Question,
    _question_stems,
    _stems,
    read_question,
)
from kb.answer.reader import Combination, Reader, load_combination, load_reader, logit
from kb.answer.selector import features, load_selector
from kb.answer.sentences import Span, opening_heading, section_heading, sentence_spans, title_line
from kb.config import DEFAULT_MODEL
from kb.store.lexical import Decompounder
from kb.store.sentence_cache import SentenceVectors
from kb.types import Filters, Hit

KEYWORD_WEIGHT = 0.3  # weight of keyword overlap beside the sentence cosine in a sentence's relevance
EMBED_LIMIT = 48  # sentences embedded per question when ingest has not: ~0.5 s on 2 cores
CHUNK_PRIOR = 0.5  # weight of the chunk's fused search score when choosing sentences to embed
# NOTE: part of the refusal signal the threshold above was calibrated on (a sentence with a figure counts 0.01
# closer); it no longer chooses sentences, the selector does.
NUMBER_BONUS = 0.01

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


@dataclass(slots=True)
class Candidate:
    """A sentence with its scores."""

    span: Span
    cosine: float = 0.0
    overlap: float = 0.0
    relevance: float = 0.0  # cosine + keyword overlap: how close to the question's topic (the refusal signal)
    score: float = 0.0  # P(the sentence holds the answer), from the learned selector: what the answer picks by
    items: tuple[str, ...] = ()  # items of the asked type (figures, dates, names) the question does not say
    year: bool = True  # names a year the question asks about (True when it asks about none)
    role: str = ""  # the sentence's role: background, measure, result, lesson, goal (kb.answer.facts)
    about: bool = True  # its chunk, heading or document names what the question names (True if it names none)
    retrieved: bool = True  # its chunk was found by the search (not only read as the rest of a document)
    goal: bool = False  # states a goal or a plan («skal», «innen 2026»), not what happened


# --- scoring -----------------------------------------------------------------------------------------------
def min_answerable(kb: Any, read: bool = True) -> float:
    """The probability a typed answer must reach: calibrated on NorQuAD, for the reader if it reads, else the selector.

    The offline hash embedder (tests, demos) has other cosines than the model the selector learned from; there
    a typed question only needs a sentence that holds the asked item. `read`: as given to `score_sentences`.
    """
    if str(kb.settings.embed_model).lower() == "hash":
        return 0.0
    reading = answer_reader(kb) if read else None
    return reading[1].answerable if reading else load_selector().answerable


def answer_reader(kb: Any) -> tuple[Reader, Combination] | None:
    """The reader and how it combines with the selector, when it reads for this knowledge base.

    It reads for the offline default model (whose cosines the selector and the combination were fitted on) once
    `kb setup` has built it, unless Settings.reader is off.
    """
    if not kb.settings.reader or str(kb.settings.embed_model) != DEFAULT_MODEL:
        return None
    combination = load_combination()
    if combination is None:
        return None

    def tokenizer() -> Any:  # the ONNX embedder's: the same vocabulary
        shared = getattr(kb.embedder, "tokenizer", None)
        return shared if hasattr(shared, "encode_batch") else None

    reader = load_reader(kb.settings.models_dir, tokenizer)
    return (reader, combination) if reader else None


# NOTE: a «hvordan» or result question is told as a story, a line per role (kb.answer.compose), not as the one
# sentence the combination was fitted to find, and the reader reads fewer sentences for it than Combination.read.
# Round eighteen of #18: with 16 read for every question (8 before), 78 of the 322 answers of the four labelled
# sets changed, mostly stories swapping one line for another (own key facts unchanged 0.503, each fact 0.605 ->
# 0.598, nynorsk one won and one lost); with stories kept at 8, own and naer-bom are as before, nynorsk key facts
# 0.571 -> 0.607, and NorQuAD 0-500 keeps its gain (0.832 -> 0.838). 32 for stories lost (round seventeen: 0.497).
STORY_READ = 8


def read_most_likely(
    reading: tuple[Reader, Combination], question: str | Question, candidates: Sequence[Candidate]
) -> None:
    """Let the reader read the selector's most likely sentences; score them by the combination.

    Combination.read of them, a story's (`STORY_READ`) at most. The others keep the selector's probability, capped
    at the lowest combined one, so they stay behind.
    """
    reader, combination = reading
    asked = question if isinstance(question, Question) else read_question(question)
    count = min(combination.read, STORY_READ) if asked.asks in (MEASURE, RESULT) else combination.read
    chosen = sorted(candidates, key=lambda c: -c.score)[:count]
    if not chosen:
        return
    logits = reader.logits(asked.text, [_as_read(c.span) for c in chosen])
    best = max(logits)
    for c, value in zip(chosen, logits, strict=True):
        c.score = combination.probability(logit(c.score), value, best)
    floor = min(c.score for c in chosen)
    read = {id(c) for c in chosen}
    for c in candidates:
        if id(c) not in read:
            c.score = min(c.score, floor)


def _as_read(span: Span) -> str:
    """The sentence as the reader reads it: after the heading of the section it opens («Neste samling: 5. februar …»).

    NOTE: measured with `kb eval --answers`: own key facts 0.469 -> 0.476, evalsets/naer-bom answerable 0.792 ->
    0.812, nye-kommuner 0.667 -> 0.625 (nye-15: the network's first sentence, under «Om nettverket», came before the
    note's «Notatet er skrevet av nettverkskoordinatoren …», which held the fact by chance; the sentence that tells
    it was read as a byline, and is quoted now that bylines are read right), NorQuAD 500 answered 0.910 -> 0.912 at
    the same 0.832, questions 500-1000 0.858 -> 0.856 (news-2400: a news story's subheading). A document's title is
    not read with its first sentence: on NorQuAD, whose titles often hold the answer («Ingen vet hva Krekar har
    kostet Norge»), that cost 500-1000 four answers (0.858 -> 0.850). The first sentence of a later chunk keeps only
    its own text: the chunk's heading may be sections above it.
    """
    heading = opening_heading(span)
    if not heading or heading in (title_line(span), span.hit.title.strip()):  # a title is what all of it is about
        return span.display
    return f"{heading.rstrip(':')}: {span.display}"


_MEMORY_ONLY: dict[str, SentenceVectors] = {}


def sentence_cache(kb: Any) -> SentenceVectors:
    """The knowledge base's sentence-vector cache (kb.store.sentence_cache), or one in memory for this model."""
    cache = getattr(kb, "sentence_vectors", None)
    if isinstance(cache, SentenceVectors):
        return cache
    model = str(kb.settings.embed_model)
    if model not in _MEMORY_ONLY:
        _MEMORY_ONLY[model] = SentenceVectors(Path(), model, persist=False)
    return _MEMORY_ONLY[model]


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=False))
    na = math.sqrt(sum(x * x for x in a)) or 1.0
    nb = math.sqrt(sum(y * y for y in b)) or 1.0
    return dot / (na * nb)


COMPOUND_PART = 3  # letters of the shortest part of a compound in a question («mål»)
_IDF: dict[str, tuple[str, dict[str, float], float, Decompounder, SpellingVariants]] = {}


def visible_texts(kb: Any, lexical: Any) -> list[str]:
    """The stored chunk texts the reader may see (kb.access.view.UserView.visible_to), all of them otherwise."""
    scope = getattr(kb, "visible_to", None)
    keep = lexical.mask(Filters(visible_to=scope)) if scope is not None else None
    return lexical.texts if keep is None else [t for t, ok in zip(lexical.texts, keep, strict=True) if ok]


def _reader_key(kb: Any) -> str:
    """The store and the reader (kb.access.view.UserView.visible_to) that statistics of the stored text belong to."""
    return f"{kb.settings.store_dir}|{kb.store.name}|{getattr(kb, 'visible_to', None)}"


def _idf_entry(kb: Any) -> tuple[str, dict[str, float], float, Decompounder, SpellingVariants]:
    """Revision, IDF of every stem the reader may see, the value for unseen stems, and two readers of the stems.

    The compound splitter and the spelling variants (`SpellingVariants`) are kept with the table they read.

    NOTE: per reader (kb.access.view.UserView.visible_to): counted over every chunk, `novelty` would tell a user
    whether a word occurs in another municipality's internal documents.
    """
    lexical = kb.lexical()
    scope = getattr(kb, "visible_to", None)
    key = _reader_key(kb)
    cached = _IDF.get(key)
    if cached is not None and cached[0] == lexical.revision:
        return cached
    if scope is None and lexical.stem_df is not None:
        counts: Mapping[str, int] = lexical.stem_df  # counted when the snapshot was built
        n = max(len(lexical), 1)
    else:  # a reader who may not see every chunk: their own counts (cached per revision and reader)
        texts = visible_texts(kb, lexical)
        counts = Counter()
        for text in texts:
            counts.update(_stems(text))
        n = max(len(texts), 1)
    table = {stem: math.log((n + 1) / (c + 0.5)) for stem, c in counts.items()}
    unseen = math.log((n + 1) / 0.5)
    entry = (lexical.revision, table, unseen, Decompounder(table, min_part=COMPOUND_PART), SpellingVariants(table))
    _IDF[key] = entry
    return entry


def idf_table(kb: Any) -> tuple[dict[str, float], float]:
    """Inverse document frequency of every stem the reader may see (`_idf_entry`), and the value for unseen stems."""
    _, table, unseen, *_ = _idf_entry(kb)
    return table, unseen


# NOTE: a word the store mostly writes with a share or an amount after it names a measured quantity
# («sykefraværet var 10,2 prosent i 2023», «heltidsandelen økte fra 38 til 52 prosent»), so «hva var
# sykefraværet i 2021?» asks for its value. Counted in the store, not listed: in corpus/ sykefravær 0.54 of 65
# uses, andel 0.43, heltidsandel 0.50; mål 0.07, stilling 0.17, samling 0.00.
MEASURED_SHARE = 0.4  # share of a word's uses followed, within its sentence, by a share or an amount
MEASURED_USES = 5  # fewer uses tell nothing
MEASURED_REACH = 80  # characters after the word: about a clause (as kb.answer.facts.NUMBER_OF_REACH)
MEASURED_STEM = 4  # letters of the shortest stem looked up: a shorter one ends too many words
_MEASURED: dict[str, tuple[str, dict[str, str]]] = {}


def measured_unit(kb: Any, stem: str) -> str:
    """SHARE or AMOUNT when the store mostly writes the word (a stem and its endings) with one after it, else "".

    Per store revision and reader, as the IDF table: only the texts the reader may see are counted.
    """
    if not stem.isalpha() or len(stem) < MEASURED_STEM:
        return ""
    lexical = kb.lexical()
    key = _reader_key(kb)
    cached = _MEASURED.get(key)
    if cached is None or cached[0] != lexical.revision:
        cached = (lexical.revision, {})
        _MEASURED[key] = cached
    units = cached[1]
    if stem not in units:
        word = re.compile(rf"(?<![\w-]){re.escape(stem)}\w{{0,4}}(?![\w-])", re.IGNORECASE)  # sykefravær-et
        found = Counter(
            value_unit(text[m.end() : m.end() + MEASURED_REACH])
            for text in visible_texts(kb, lexical)
            for m in word.finditer(text)
        )
        uses = sum(found.values())
        unit = max((SHARE, AMOUNT), key=lambda u: found[u])
        units[stem] = unit if uses >= MEASURED_USES and found[SHARE] + found[AMOUNT] >= MEASURED_SHARE * uses else ""
    return units[stem]


def compound_splitter(kb: Any) -> Decompounder:
    """Splits a question's stem into two stems of the IDF table («sykefraværsmål» = sykefravær + mål).

    Built with the table, once per store revision and reader, so its cache of splits is kept with it.
    """
    return _idf_entry(kb)[3]


# NOTE: letters of the shortest unknown stem read as another spelling of a stored one. Of the question stems of
# 1,000 NorQuAD questions the HR store lacks, 6 letters or more matched 59 times, mostly other words (fredag ~
# fridag, politi ~ politik, utgitt ~ utgift, lønning ~ løsning); 8 or more 14 times, all but two the same word
# (fremstilt ~ framstilt, platform ~ plattform, medlemsskap ~ medlemskap; not historism ~ historisk, grunnlagt ~
# grunnlag).
VARIANT_STEM = 8


class SpellingVariants:
    """Stored stems one letter away from a stem the store lacks: the same word in another spelling.

    A bokmål question to a nynorsk case writes «skjønnsmidler» where the case has «skjønsmidlar» (stems
    «skjønnsmidl», «skjønsmidl»); such a word is no topic the store lacks. One insertion, deletion or substitution,
    in a stem of VARIANT_STEM letters or more whose first two letters agree.
    """

    def __init__(self, vocabulary: Iterable[str], min_length: int = VARIANT_STEM) -> None:
        self.vocabulary = vocabulary
        self.min_length = min_length

    @cached_property
    def _by_start(self) -> dict[str, list[str]]:
        """The stored stems by their first two letters; built on the first unknown word, not with the IDF table."""
        by_start: dict[str, list[str]] = {}
        for stem in self.vocabulary:
            if len(stem) >= self.min_length - 1 and stem.isalpha():
                by_start.setdefault(stem[:2], []).append(stem)
        return by_start

    def known(self, stem: str) -> bool:
        """Whether a stored stem is one letter away from `stem`."""
        return bool(self.stored(stem))

    def stored(self, stem: str) -> str:
        """The stored stem one letter away from `stem` («skjønnsmidl» -> «skjønsmidl»), "" when there is none."""
        if len(stem) < self.min_length:
            return ""
        return next((other for other in self._by_start.get(stem[:2], ()) if _one_edit(stem, other)), "")

    def in_store(self, stems: Iterable[str], idf: Mapping[str, float]) -> frozenset[str]:
        """Question stems in the store's spelling: a stem the store lacks replaced by its stored variant, if any."""
        return frozenset(t if t in idf else (self.stored(t) or t) for t in stems)


def _one_edit(a: str, b: str) -> bool:
    """Whether b is a with one letter inserted, deleted or replaced."""
    if abs(len(a) - len(b)) > 1 or a == b:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = next((k for k in range(len(a)) if a[k] != b[k]), len(a))
    return a[i + (len(a) == len(b)) :] == b[i + 1 :]


def spelling_variants(kb: Any) -> SpellingVariants:
    """`SpellingVariants` over the IDF table's stems, kept with the table (per store revision and reader)."""
    return _idf_entry(kb)[4]


def _overlap(q_stems: frozenset[str], s_stems: frozenset[str], idf: dict[str, float], unseen: float) -> float:
    """IDF-weighted share of the question's content words found in the sentence."""
    total = sum(idf.get(t, unseen) for t in q_stems)
    return sum(idf.get(t, unseen) for t in q_stems & s_stems) / total if total else 0.0


def local_overlaps(q_stems: frozenset[str], sentences: Sequence[frozenset[str]]) -> list[float]:
    """Each sentence's share of the question's words, each word weighted by how rare it is among these sentences.

    Read from one or two documents about the question's topic, every sentence shares the topic's words
    («anakonda»); the words that set the answer apart («tennene») are the ones few of them hold. Global IDF
    cannot see that: the topic word is rare in the store.
    """
    df = Counter(t for stems in sentences for t in stems & q_stems)
    n = len(sentences)
    weight = {t: math.log((n + 1) / (df.get(t, 0) + 0.5)) for t in q_stems}
    total = sum(weight.values())
    if not total:
        return [0.0] * n
    return [sum(weight[t] for t in q_stems & stems) / total for stems in sentences]


def previous_in_document(sources: Sequence[str], values: Sequence[float]) -> list[float]:
    """For each sentence, `values` of the sentence before it if that is in the same document, else 0."""
    return [values[i - 1] if i and sources[i - 1] == sources[i] else 0.0 for i in range(len(values))]


def _answering_part(span: Span, q_stems: frozenset[str], idf: Mapping[str, float], unseen: float) -> str:
    """Where in a sentence the asked item may stand: in a quoted list, its lead and the items closest to the question.

    A list's items are statements of their own: in «Tiltakene er • rekrutteringstillegg for sykepleiere … •
    betalt videreutdanning … for sykepleiere som har jobbet i kommunen i minst to år», «to» is no size of the
    recruitment bonus. The items that share most of the question's words (IDF-weighted) are the ones it asks
    about; when none shares any, the whole list.
    """
    head, items = span.list_parts
    if not items:
        return span.display
    shares = [_overlap(q_stems, _stems(item), idf, unseen) for item in items]
    best = max(shares)
    if best <= 0.0:
        return span.display
    return " ".join([head, *(item for item, share in zip(items, shares, strict=True) if share == best)])


# A dash joining two words inside a name («Titius–Bodes lov»), written as a hyphen or as an en or em dash.
_JOINING_DASH = re.compile(r"(?<=\w)[–—](?=\w)")


def _about(names: Sequence[str], context: str) -> bool:
    """Whether the text names one of the things a question names (every word of it, as stems).

    A name is the same whether its words are joined by a hyphen or a dash: «Titius-Bodes lov» asked of a text
    that writes «Titius–Bodes lov» (the hyphenated form also stems as one word, «titiusbod», the dashed one not).
    """
    # NOTE: NorQuAD 500-1000 answered 0.932 -> 0.934 («Når ble Titius-Bodes lov nedskrevet?» was refused with the
    # answer shown as the likeliest sentence); every other figure of NorQuAD 0-1000 and the four labelled sets, and
    # their 322 answers, unchanged.
    if not names:
        return True
    stems = _stems(_JOINING_DASH.sub("-", context))
    return any(_stems(_JOINING_DASH.sub("-", name)) <= stems for name in names)


def score_sentences(
    kb: Any,
    question: str | Question,
    hits: Sequence[Hit],
    ignore_words: Sequence[str] = (),
    *,
    per_municipality: int = 0,
    read: bool = True,
) -> list[Candidate]:
    """The sentences of the hits, scored against the question, best first (by `relevance`).

    relevance = cosine(question, sentence) + KEYWORD_WEIGHT * IDF-weighted share of the question's content
    words (stems) found in the sentence: how close it is to the question's topic, which decides refusal.
    Municipality names in the question are left out of the overlap: they decide scope, not relevance.
    `score` is the learned selector's probability that the sentence holds the answer (kb.answer.selector):
    what the answer picks by; with `read` and the reader built (kb.answer.reader), the selector's most likely
    ones are read with the question and scored by the fitted combination instead. To keep an
    answer under a second on two cores, only the EMBED_LIMIT most promising sentences (keyword overlap and their
    chunk's search score) are embedded when ingest has not; with `per_municipality`, that many per municipality
    are embedded first.
    """
    asked = question if isinstance(question, Question) else read_question(question)
    spans: list[Span] = []
    seen: set[tuple[str, str]] = set()
    for rank, hit in enumerate(hits):
        for span in sentence_spans(hit, rank):
            if span.contact and not asked.contact:
                continue  # a byline is no answer, except to whom to contact
            key = (hit.source, span.display)
            if key not in seen:  # chunks overlap: the same sentence in two chunks is read once
                seen.add(key)
                spans.append(span)
    if not spans:
        return []
    idf, unseen = idf_table(kb)
    # NOTE: «skjønnsmidler» asked of a case that writes «skjønsmidlar» shares that word with it; novelty already
    # counts the variant as known (kb.answer.select.novelty), and so must the overlap, or the question is refused
    # as off the topic its key word names.
    q_stems = spelling_variants(kb).in_store(_question_stems(asked.text, idf, ignore_words), idf)
    stems = [_stems(s.display) for s in spans]
    overlaps = [_overlap(q_stems, st, idf, unseen) for st in stems]
    local = local_overlaps(q_stems, stems)
    previous = previous_in_document([s.hit.source for s in spans], local)
    prior = [o + CHUNK_PRIOR * s.hit.score for s, o in zip(spans, overlaps, strict=True)]
    order = sorted(range(len(spans)), key=lambda i: -prior[i])
    cache = sentence_cache(kb)
    known = cache.known(s.display for s in spans)
    chosen: list[int] = []
    if per_municipality:
        taken: Counter[str] = Counter()
        for i in order:
            if taken[spans[i].hit.municipality] < per_municipality:
                taken[spans[i].hit.municipality] += 1
                chosen.append(i)
    picked = set(chosen)
    chosen += [i for i in order if i not in picked]
    # Sentences embedded at ingest are all scored; the others only up to the budget, the most promising first.
    budget = EMBED_LIMIT * 3 // 2 if per_municipality else EMBED_LIMIT
    missing = [i for i in chosen if spans[i].display not in known][:budget]
    if missing:
        known.update(cache.add([spans[i].display for i in missing], kb.embedder.get_text_embedding_batch))
    chosen = [i for i in chosen if spans[i].display in known]
    if not chosen:
        return []
    q_vector = kb.embed_query(asked.text)
    cosines = {i: _cosine(q_vector, known[spans[i].display]) for i in chosen}
    best_cosine = max(cosines.values())
    best_overlap = max(overlaps[i] for i in chosen)
    best_local = max(local[i] for i in chosen)
    selector = load_selector()
    about: dict[str, bool] = {}  # per chunk: its text, heading and title name what the question names
    out = []
    for i in chosen:
        span = spans[i]
        text = span.display
        if span.hit.id not in about:  # stemmed once per chunk, not once per sentence
            about[span.hit.id] = _about(asked.names, f"{span.hit.text} {span.hit.heading} {span.hit.title}")
        # NOTE: from the heading, not the role stored with the chunk at ingest: a store keeps the roles of the
        # rules it was built with, and the heading gives the same role under today's rules without re-ingesting.
        role = sentence_role(text, section_heading(span))
        items = asked_items(asked, _answering_part(span, q_stems, idf, unseen))
        values = features(
            asked,
            text,
            cosines[i],
            overlaps[i],
            best_cosine,
            best_overlap,
            items,
            local=local[i],
            best_local=best_local,
            previous=previous[i],
        )
        out.append(
            Candidate(
                span,
                cosine=cosines[i],
                overlap=overlaps[i],
                relevance=cosines[i] + KEYWORD_WEIGHT * overlaps[i] + (NUMBER_BONUS if _NUMBER.search(text) else 0.0),
                score=selector.probability(values),
                items=items,
                year=about_year(text, f"{span.hit.heading} {span.hit.title}", asked.years),
                role=role,
                about=about[span.hit.id],
                goal=states_goal(text),
            )
        )
    reading = answer_reader(kb) if read else None
    if reading:
        read_most_likely(reading, asked, out)
    out.sort(key=lambda c: (-c.relevance, c.span.order))
    return out
