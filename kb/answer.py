"""Cited answers in Norwegian, composed from the retrieved passages.

The default answer is extractive: the sentences that best answer the question, copied verbatim from the
stored chunks, grouped by municipality, each followed by its citation [n]. Numbers, names and dates are
therefore always exactly as in the source. When nothing in the store is close enough to the question, the
answer says so plainly. An optional generator (an OpenAI-compatible endpoint, see kb.generator) may write
the answer instead; its output is checked against the passages, and the extractive answer is shown when too
little of it holds up.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from ingest.chunking import OPEN_ENDINGS, split_sentences
from ingest.metadata import NETWORK, named_as_municipalities
from kb.generator import Generator, GeneratorError
from kb.lexical import analyse, words
from kb.sentence_cache import SentenceVectors
from kb.types import Answer, Citation, Filters, Hit

logger = logging.getLogger(__name__)

NOT_FOUND = "Jeg fant ikke noe om dette i erfaringsbanken."

# NOTE: the refusal threshold is calibrated, not guessed. The signal is `Retrieved.signal`: the best sentence's
# relevance (cosine + KEYWORD_WEIGHT * IDF keyword overlap + NUMBER_BONUS) less NOVELTY_WEIGHT * the share of
# the question's words that occur nowhere in the store; the priors that choose the answer's sentences (document,
# passage, concreteness) are left out of it on purpose. Measured on the labelled set (105 answerable, 14
# unanswerable questions in evalsets/parts/*.jsonl, store of corpus/ with multilingual-e5-small, schema 2,
# dense_weight 0.5) with
#   KB_HOME=/tmp/kb-answers-v2 KB_EMBED_MODEL=/tmp/e5model KB_QUERY_PREFIX="query: " KB_PASSAGE_PREFIX="passage: " \
#   OPENBLAS_NUM_THREADS=1 .venv/bin/python -m kb.answer_eval --calibrate evalsets/parts/*.jsonl
# 0.857 refuses 13 of 14 unanswerable (92.9%) and answers 98 of 105 answerable (93.3%); reading whole
# documents (kb.answer.document_chunks) left both unchanged. The margins are thin: the highest refused
# unanswerable signal is 0.853, the lowest answered answerable one 0.867 (one unanswerable scores 0.913).
# Re-measure after changing the model, the weights, the retrieval settings or the corpus much.
CALIBRATED_MIN_SCORE: dict[str, float] = {
    "e5": 0.857,
    # The offline hash embedder (tests, demos): hashed-stem cosines, chosen so off-topic test questions refuse.
    "hash": 0.25,
}

KEYWORD_WEIGHT = 0.3  # weight of keyword overlap beside the sentence cosine in a sentence's relevance
NOVELTY_WEIGHT = 0.15  # penalty per share of the question's words that occur nowhere in the store
NYNORSK_NOVELTY = 0.5  # ... counted at this share in a nynorsk question (0.25 answered 3 of 5 unanswerable)
MAX_SENTENCES = 10  # sentences in a single-topic answer (continuations included)
LEAD_SENTENCES = 8  # of which at most this many from the best document
OTHER_SENTENCES = 2  # ... and this many from each further document,
OTHER_MARGIN = 0.05  # ... each within this much of the best sentence's relevance
MAX_SOURCES = 3  # documents a single-topic answer draws on
SECONDARY = 0.95  # further sentences must reach this share of the threshold (relevance, before the priors)
SECTION_SENTENCES = 3  # sentences per municipality in a comparison
MAX_SECTIONS = 7
PASSAGES = 10  # chunks searched for a single-topic answer; the best documents are then read whole
COMPARE_PASSAGES = 16
EMBED_LIMIT = 48  # sentences embedded per question when ingest has not: ~0.5 s on 2 cores
NUMBER_BONUS = 0.01  # results are mostly figures: a small nudge for sentences that hold a number
DOC_PRIOR = 0.03  # weight of the sentence's document score (relative to the best document) when choosing
PASSAGE_PRIOR = 0.06  # weight of the sentence's chunk search score (relative to the best chunk) when choosing
CONCRETE_BONUS = 0.03  # weight of concrete content (figures, named programmes, dates) when choosing
CHUNK_PRIOR = 0.5  # weight of the chunk's fused search score when choosing sentences to embed
CONCRETE_PRIOR = 0.3  # weight of concrete content when choosing sentences to embed
MIN_WORDS = 4  # shorter sentences are fragments, not answers
LIST_WORDS = 100  # a list after its «…:» line is quoted whole up to this many words, else item by item
LABEL_WORDS = 5  # a list item's first sentence this short is its name and is quoted with the next
MIN_WORDS_ITEM = 2  # list items may be short and still carry a fact («1-2-4-alle»)
LIST_BONUS = 0.02  # reports put their measures and results in lists: a nudge for list items and table rows
SECOND_DOCUMENT = 0.8  # a third document is read only when its best chunk scores this share of the best

_COMPARE = re.compile(
    r"\b(kommunene|kommuner|medlemmene|de andre|andre kommuner|hver kommune|hvem har|hvilke kommuner|"
    r"sammenlign\w*|forskjell\w*|på tvers|"
    # nynorsk
    r"kommunane|kommunar|medlemene|medlemmane|dei andre|andre kommunar|kvar kommune|kven har|kva kommunar|"
    r"kva for kommunar|samanlikn\w*|skilnad\w*)\b",
    re.IGNORECASE,
)
_MEMBERSHIP = re.compile(
    r"\b(?:er|blir|vert|kan bli|ble|vart) (?:med|medlem\w*)\b.{0,30}\bnettverk"
    r"|\bmedlem\w* (?:i|av) (?:lærings)?nettverk|\b(?:deltar|deltek) i (?:lærings)?nettverk",
    re.IGNORECASE,
)
_BULLET = re.compile(r"^\s*(?:[-*•–]|\d{1,2}[.)])\s+")
_HEADING = re.compile(r"^\s*#{1,6}\s")
_CITE = re.compile(r"\[(\d{1,3})\]")
_FIELD = re.compile(r"^[A-ZÆØÅ][\wæøåÆØÅ-]*(?: [\wæøåÆØÅ-]+){0,3}: +\S")  # «Sted: …», «Fasilitator og referent: …»
_NETWORK_WORDS = re.compile(r"samling|nettverk", re.IGNORECASE)
_TABLE_RULE = re.compile(r"^\|[\s:|-]*$")
# NOTE: a heading never ends in a preposition, conjunction or article; a PDF line that does is a wrapped sentence.
_CONTINUES = (
    OPEN_ENDINGS
    | {"der", "inntil", "etter", "mot", "ved", "når", "hvor", "samt", "under", "over", "mellom"}
    | {"uten", "hos", "per", "innen", "enn", "både"}
    | {"er", "var", "blir", "ble", "har", "hadde", "skal", "kan", "vil", "må", "bør", "får", "fikk"}
    | {"ein", "eit", "dei", "frå", "utan", "innan", "kor", "vert", "vart", "blei", "fekk"}  # nynorsk
)
_SENTENCE_END = re.compile(r"(?<!\d)[.!?]\s+[A-ZÆØÅ]")  # not «Samling 25. januar 2024: Heltidskultur»
# Sentences that address the assistant rather than the reader: never evidence, never quoted as an answer.
_INSTRUCTION = re.compile(
    r"\b(ignorer\w*|ignore|glem)\b.{0,40}\b(instruks\w*|instructions?|regler|beskjeder)\b|"
    r"\b(system ?prompt|systemmelding|du er nå|you are now|som språkmodell|as an ai)\b",
    re.IGNORECASE,
)
_SIGNATURE = re.compile(r"^[^.!?]{0,80},\s*[\wæøåÆØÅ -]*kommune\.?$")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
# Concrete content: «quoted names», and capitalised words inside a sentence (programmes, places, bodies).
_QUOTED = re.compile(r"[«\"“][^»\"”]{2,60}[»\"”]")
_NAME = re.compile(r"(?<=[\w,;:)] )[A-ZÆØÅ][\wæøåÆØÅ-]+")


# --- sentences ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Span:
    """A sentence inside a chunk: `hit.text[start:end]` is the verbatim sentence."""

    hit: Hit
    start: int
    end: int
    rank: int  # the rank of the chunk's document in the search (0 = best)
    block: int = 0  # the paragraph or list item inside the chunk: neighbours in a block continue each other
    item: bool = False  # in a list item or table row: where reports put their measures and results

    @property
    def order(self) -> tuple[int, int, int]:
        """Reading order: document rank, then chunk position in the document, then offset."""
        return (self.rank, int(self.hit.metadata.get("chunk_index", 0) or 0), self.start)

    @property
    def text(self) -> str:
        """The verbatim text."""
        return self.hit.text[self.start : self.end]

    @property
    def display(self) -> str:
        """The sentence on one line; the words are untouched.

        Line breaks from PDFs are collapsed, and a table row's cells are joined by «–».
        """
        text = self.text
        if text.startswith("|"):
            return " – ".join(cell.strip() for cell in text.strip().strip("|").split("|") if cell.strip())
        return _BULLET.sub("", " ".join(text.split()))

    @property
    def shown(self) -> str:
        """The sentence as an answer line: like `display`, but a list quoted whole keeps one line per item.

        «Status per desember 2024:» followed by its items reads as a nested list, not as one run-on line.
        """
        lines = [line for line in self.text.splitlines() if line.strip()]
        if len(lines) < 2 or not any(_BULLET.match(line) for line in lines[1:]):
            return self.display
        head: list[str] = []
        items: list[list[str]] = []
        for line in lines:
            if _BULLET.match(line) and (head or items):
                items.append([_BULLET.sub("", line.strip())])
            elif items:
                items[-1].append(line.strip())  # an item wrapped over lines
            else:
                head.append(_BULLET.sub("", line.strip()))
        return "\n".join([" ".join(head), *("  - " + " ".join(item) for item in items)])


@dataclass(slots=True)
class Candidate:
    """A sentence with its scores."""

    span: Span
    cosine: float = 0.0
    overlap: float = 0.0
    relevance: float = 0.0  # cosine + keyword overlap: how close to the question (the refusal signal)
    score: float = 0.0  # relevance plus the document prior and concreteness: what the answer picks by


def _is_heading(line: str, next_line: str) -> bool:
    """A short line without closing punctuation, followed by a capitalised line: a heading kept as text.

    Not a heading: a «Sted: Rådhuset» field line, a line that ends in a word a heading never ends in
    («… til inntil» wrapped in a PDF before «20 studenter …», «Tiltakene er» before a list), or one that holds
    the end of a sentence (the wrapped tail «konkurransedyktig … på svensk side. Tiltakene er»).
    """
    stripped = line.strip()
    if not stripped or _BULLET.match(line) or stripped[-1] in '.!?:;…,»)"' or _FIELD.match(stripped):
        return False
    if _SENTENCE_END.search(stripped):
        return False  # «konkurransedyktig … på svensk side. Tiltakene er»: the end of a wrapped sentence
    words = stripped.split()
    if len(words) > 10 or words[-1].lower() in _CONTINUES:
        return False
    following = next_line.strip()
    return not following or following[0].isupper() or following[0].isdigit() or bool(_BULLET.match(next_line))


def _table_row(stripped: str) -> bool:
    """A Markdown table's data row («| Slette … | Nettverkskoordinator | 19.09.2025 |»), not its rule."""
    return stripped.startswith("|") and stripped.count("|") >= 3 and not _TABLE_RULE.match(stripped)


def _field_line(stripped: str, previous: str, following: str) -> bool:
    """A «Sted: Rådhuset» line in a run of such lines (the head of a session note), not a wrapped sentence."""
    if not _FIELD.match(stripped):
        return False
    return any(not other.strip() or _FIELD.match(other.strip()) for other in (previous, following))


def _masthead(stripped: str) -> bool:
    """A line of parts set apart by « · » or « | » without a sentence's end: «Moss kommune · HR · Mai 2025»."""
    parted = " · " in stripped or " | " in stripped
    return parted and not stripped.startswith("|") and stripped[-1] not in ".!?"  # a table row is no masthead


def _blocks(text: str, heading: str = "") -> list[tuple[int, int]]:
    """Paragraphs, list items, table rows and field lines as (start, end) offsets.

    Headings (the section's own `heading` too, however long), table header rows, masthead lines and blank
    lines end a block and are not part of one.
    """
    lines = text.splitlines(keepends=True)
    blocks: list[tuple[int, int]] = []
    start: int | None = None
    offset = 0
    for i, line in enumerate(lines):
        stripped = line.strip()
        line_start, offset = offset, offset + len(line)
        following = lines[i + 1] if i + 1 < len(lines) else ""
        previous = lines[i - 1] if i else ""
        header = bool(_TABLE_RULE.match(following.strip())) and bool(following.strip())
        named = bool(stripped) and (stripped == heading or _masthead(stripped))  # a title or masthead: no text
        alone = not named and ((_table_row(stripped) and not header) or _field_line(stripped, previous, following))
        skip = (
            named
            or not stripped
            or bool(_HEADING.match(line))
            or stripped.startswith("|")
            or _is_heading(line, following)
        )
        if (skip or alone or _BULLET.match(line)) and start is not None:
            blocks.append((start, line_start))
            start = None
        if alone:  # a table row or a «Tid: 14. mars 2023» line is a unit of its own
            blocks.append((line_start, line_start + len(line.rstrip())))
            continue
        if skip:
            continue
        if start is None:
            start = line_start
    if start is not None:
        blocks.append((start, len(text)))
    return blocks


def _trim_heading(text: str, start: int, end: int) -> int:
    """Skip a heading glued to the front of a sentence («Hva vi gjorde» on the line before «Vi innførte …»)."""
    while True:
        newline = text.find("\n", start, end)
        if newline < 0:
            return start
        head = text[start:newline]
        rest = text[newline + 1 : end].lstrip()
        if rest and _is_heading(head, rest):
            start = newline + 1 + (len(text[newline + 1 : end]) - len(rest))
        else:
            return start


def sentence_spans(hit: Hit, rank: int = 0) -> list[Span]:
    """The sentences of a chunk, as offsets into its text; headings, table rows and fragments are skipped."""
    text = hit.text
    spans: list[Span] = []
    quoted = -1  # the end of the last list quoted whole
    for number, (block_start, block_end) in enumerate(_blocks(text, hit.heading.strip())):
        block = text[block_start:block_end]
        if block.startswith("|"):
            span = Span(hit, block_start, block_end, rank, number, True)
            if len(span.display.split()) >= MIN_WORDS_ITEM and not is_directive(span.display):
                spans.append(span)
            continue
        marker = _BULLET.match(block)
        cursor = marker.end() if marker else 0
        sentences = split_sentences(block[cursor:])
        label: int | None = None
        for number_in_block, sentence in enumerate(sentences):
            at = block.find(sentence, cursor)
            if at < 0:  # pragma: no cover - split_sentences returns substrings
                continue
            cursor = at + len(sentence)
            begin = _trim_heading(text, block_start + at, block_start + cursor)
            end = block_start + cursor
            if label is not None:
                begin, label = label, None
            elif marker and number_in_block == 0 and len(sentences) > 1 and _is_label(sentence):
                label = begin  # «- Forebygging i renhold. Bedriftshelsetjenesten …»: the item's name leads its text
                continue
            if _SIGNATURE.match(" ".join(text[begin:end].split())):
                continue  # «HR-rådgiver for heltidskultur, Halden kommune.»: a byline, not an answer
            if is_directive(text[begin:end]):
                logger.info("skipping an instruction-like sentence in %s", hit.source)
                continue
            if end - begin > 600:
                continue
            if marker and begin < quoted and _enumerated(text[begin:end]):
                continue  # «• andel ledere som har fullført Lederløypa Halden,»: quoted with its list, not alone
            if _introduces(text[begin:end]):
                # «Nettverket består av:» says nothing without its list; a long list is left to its items, so
                # that one quote does not take the room of a whole answer
                whole = _list_end(text, end)
                if whole == end or len(text[begin:whole].split()) > LIST_WORDS:
                    # «En typisk samling ser slik ut:» alone would leave the reader hanging: its list is too long
                    # to quote, or in the next chunk (which overlaps this one and quotes it with its list)
                    continue
                end = quoted = whole
            if len(text[begin:end].split()) < (MIN_WORDS_ITEM if marker else MIN_WORDS):
                continue
            spans.append(Span(hit, begin, end, rank, number, bool(marker)))
    return spans


def _introduces(sentence: str) -> bool:
    """Whether a list that follows belongs to this sentence.

    It does when the sentence ends in «:» or in a word that needs more («Tiltakene er» before «• rekrutterings…»).
    """
    stripped = sentence.rstrip()
    return stripped.endswith(":") or (stripped.split() or [""])[-1].lower() in _CONTINUES


def _enumerated(item: str) -> bool:
    """A list item that is one piece of a sentence running through the list: lower case, ending in «,» or «;»."""
    stripped = item.strip()
    return stripped[:1].islower() and stripped[-1:] in ",;"


def _is_label(sentence: str) -> bool:
    """A list item's run-in name («Ressursbank.», «Forebygging i renhold.»): a few words and a full stop."""
    return sentence.rstrip().endswith(".") and len(sentence.split()) <= LABEL_WORDS


def _list_end(text: str, end: int) -> int:
    """After «… har ansvar for å:», the end of the list that follows, for one quote."""
    offset = end
    lines = text[end:].splitlines(keepends=True)
    while lines and not lines[0].strip():
        lines.pop(0)
    previous = ""
    for i, line in enumerate(lines):
        following = lines[i + 1] if i + 1 < len(lines) else ""
        if not _BULLET.match(line) and not (line.strip() and _wraps(previous, line, following)):
            break
        offset = text.find(line, offset) + len(line.rstrip())
        previous = line
    return offset


def _wraps(previous: str, line: str, following: str) -> bool:
    """Whether `line` carries on the list item above it (a PDF wraps «… i Halden-skolen hvert» / «år.»).

    A line that starts in lower case does; so does one after an item without closing punctuation, unless it
    is a heading («• Lærlinger og fagbrev» / «Mål» / «Målene skal …»).
    """
    if not previous.strip():
        return False
    if line.lstrip()[:1].islower():
        return True
    return previous.rstrip()[-1] not in ".!?:;" and not _is_heading(line, following)


# --- municipalities in the question -------------------------------------------------------------------------
def _forms(name: str) -> set[str]:
    """Inflected forms of a municipality name as users write them: «Sarpsborgs», «Rådes», «fylkeskommunen»."""
    low = name.lower()
    forms = {low, low + "s"}
    if "fylkeskommune" in low:
        forms |= {"fylkeskommunen", "fylkeskommunens", "fylkeskommune", "fylket", "fylkets"}
    return forms


def named_municipalities(question: str, known: Sequence[str]) -> list[str]:
    """Known municipalities the question names (any inflected form), in the order they appear."""
    low = question.lower()
    found: list[tuple[int, str]] = []
    for name in known:
        if not name:
            continue
        best = -1
        for form in sorted(_forms(name), key=len, reverse=True):
            match = re.search(rf"(?<![\wæøå]){re.escape(form)}(?![\wæøå])", low)
            if match and (best < 0 or match.start() < best):
                best = match.start()
        if best >= 0:
            found.append((best, name))
    return [name for _, name in sorted(found)]


def is_comparison(question: str) -> bool:
    """Whether the question asks across municipalities («hvordan har kommunene …», «hvem har …»).

    Not one that asks who belongs to the network («Hvilke kommuner er med i nettverket?»): the network's own
    documents answer that, not one section per member.
    """
    return bool(_COMPARE.search(question)) and not _MEMBERSHIP.search(question)


# --- scoring -----------------------------------------------------------------------------------------------
def min_score(kb: Any) -> float:
    """The refusal threshold: Settings.answer_min_score, else the calibrated value for this embedder."""
    configured = kb.settings.answer_min_score
    if configured is not None:
        return float(configured)
    model = str(kb.settings.embed_model).lower()
    if model == "hash":
        return CALIBRATED_MIN_SCORE["hash"]
    if "e5" not in model:
        logger.warning("no calibrated answer threshold for %s; using the e5 value", kb.settings.embed_model)
    return CALIBRATED_MIN_SCORE["e5"]


@lru_cache(maxsize=4096)
def _stems(text: str) -> frozenset[str]:
    return frozenset(t for t in analyse(text, None) if len(t) > 1)


_MEMORY_ONLY: dict[str, SentenceVectors] = {}


def sentence_cache(kb: Any) -> SentenceVectors:
    """The knowledge base's sentence-vector cache (kb.sentence_cache), or one in memory for this model."""
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


_IDF: dict[str, tuple[str, dict[str, float], float]] = {}


def _visible_texts(kb: Any, lexical: Any) -> list[str]:
    """The stored chunk texts the reader may see (kb.access.UserView.visible_to), all of them otherwise."""
    scope = getattr(kb, "visible_to", None)
    keep = lexical.mask(Filters(visible_to=scope)) if scope is not None else None
    return lexical.texts if keep is None else [t for t, ok in zip(lexical.texts, keep, strict=True) if ok]


def idf_table(kb: Any) -> tuple[dict[str, float], float]:
    """Inverse document frequency of every stem over the chunks the reader may see, and the value for unseen stems.

    NOTE: per reader (kb.access.UserView.visible_to): counted over every chunk, `novelty` would tell a user
    whether a word occurs in another municipality's internal documents.
    """
    lexical = kb.lexical()
    scope = getattr(kb, "visible_to", None)
    key = f"{kb.settings.store_dir}|{kb.store.name}|{scope}"
    cached = _IDF.get(key)
    if cached is not None and cached[0] == lexical.revision:
        return cached[1], cached[2]
    texts = _visible_texts(kb, lexical)
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(_stems(text))
    n = max(len(texts), 1)
    table = {stem: math.log((n + 1) / (c + 0.5)) for stem, c in counts.items()}
    unseen = math.log((n + 1) / 0.5)
    _IDF[key] = (lexical.revision, table, unseen)
    return table, unseen


# Nynorsk spellings and their bokmål counterparts, applied to a question word the store does not hold; a
# rewrite counts only if the store holds the result («sjukefråværet» -> «sykefraværet», «tilsette» -> «ansatte»).
# Systematic spelling differences first, then the everyday words of HR texts that differ as words.
_NYNORSK = tuple(
    (re.compile(old), new)
    for old, new in (
        ("sjuk", "syk"),
        ("frå", "fra"),
        ("ei", "e"),
        ("au", "ø"),
        ("hald", "hold"),
        ("heime", "hjemme"),
        ("heim", "hjem"),
        ("tenest", "tjenest"),
        ("kv", "hv"),
        ("leg", "lig"),
        ("heit", "het"),
        ("arane$", "erne"),  # «fagarbeidarane»
        ("arar$", "ere"),  # «lærarar»
        ("ane$", "ene"),
        ("ar", "er"),
        ("ad", "ed"),  # «månader»
        ("a$", "en"),  # «pleia»
        ("st$", "s"),  # «møtest»
        ("verande", "værende"),
        ("tilsett", "ansatt"),
        ("leiar", "leder"),
        ("leiing", "ledelse"),
        ("rettleiar", "veileder"),
    )
)
_VARIANTS = 64  # rewrites tried per word at most
# Everyday nynorsk words whose bokmål form no spelling rule reaches: irregular verbs and words that differ as
# words. Tried before the rules.
_NYNORSK_TABLE = """
gjekk>gikk fekk>fikk vart>ble blei>ble vore>vært tek>tar teke>tatt gjev>gir gjeve>gitt kjem>kommer kome>komme
treng>trenger veit>vet seier>sier spurde>spurte høyrer>hører byrja>begynte byrjar>begynner byrje>begynne
auka>økte aukar>øker auke>øke minka>minsket minkar>minsker kvile>hvile kvilt>hvile slutta>sluttet jobba>jobbet
arbeidde>arbeidet lukkast>lykkes lukka>lyktes fortelje>fortelle fortalde>fortalte meinte>mente trur>tror tru>tro
rettleie>veilede undervegs>underveis veg>vei vegen>veien tillitsvald>tillitsvalgt tillitsvalde>tillitsvalgte
verneombod>verneombud arbeidsgjevar>arbeidsgiver arbeidsgjevarar>arbeidsgivere tilsetjing>ansettelse
tilsetjingar>ansettelser tilsetting>ansettelse nytilsette>nyansatte nytilsett>nyansatt søkjar>søker
søkjarar>søkere innbyggjar>innbygger innbyggjarar>innbyggere vidare>videre vidaregåande>videregående
vidareutdanning>videreutdanning pårørande>pårørende bebuar>beboer bebuarar>beboere veke>uke veker>uker
vekene>ukene born>barn borna>barna døme>eksempel mogleg>mulig moglegheit>mulighet moglegheiter>muligheter
mykje>mye meir>mer fleire>flere betre>bedre saman>sammen sidan>siden medan>mens heilt>helt heile>hele eigen>egen
eige>eget eigne>egne stad>sted stader>steder staden>stedet løn>lønn tilskot>tilskudd tilbod>tilbud
tilboda>tilbudene tryggleik>trygghet storleik>størrelse stillingsstorleik>stillingsstørrelse høg>høy
høgare>høyere høgast>høyest høgaste>høyeste låg>lav lågare>lavere viktigaste>viktigste
"""
_NYNORSK_WORDS = dict(pair.split(">") for pair in _NYNORSK_TABLE.split())


def _bokmål_forms(word: str) -> list[str]:
    """Rewrites of a word: its everyday bokmål word if it has one, then by the _NYNORSK rules, fewest first."""
    forms = [word]
    if word in _NYNORSK_WORDS:
        forms.append(_NYNORSK_WORDS[word])
    for old, new in _NYNORSK:
        if old.search(word):
            forms += [old.sub(new, f) for f in forms if old.search(f)]
            if len(forms) >= _VARIANTS:
                break
    return forms[1:_VARIANTS]


_NYNORSK_QUESTION = re.compile(
    r"\b(ikkje|kva|korleis|kven|kvifor|kvar|eg|dei|frå|ein|eit|kor|nokon|nokre|noko|gjer|fekk|gjekk|vart|vere|"
    r"berre|utan|mykje)\b",
    re.IGNORECASE,
)
# Nynorsk function words the search's stop list lacks: in a question they are not words the store never uses.
# NOTE: not in the search's stop list: adding them (and «ei», «finst») there cost onboarding R@5 0.925 -> 0.908.
_NYNORSK_STOP = frozenset({"frå", "berre", "utan", "vert", "vorte", "desse", "sjølv", "kor", "fekk", "gjer", "òg"})


def in_store_spelling(text: str, idf: Mapping[str, float], skip: Iterable[str] = ()) -> frozenset[str]:
    """The content stems of a question, a word the store lacks replaced by its bokmål form when the store has it.

    A nynorsk question to a bokmål store would otherwise look like words the store never uses and be refused
    («Kva gjorde Rakkestad med sjukefråværet blant reinhaldarane?»). Unknown words without a known bokmål form
    («sykkelleasing», «skademelding») stay unseen.
    """
    skipped = set(skip)
    out: set[str] = set()
    for word in words(text):
        if word in _NYNORSK_STOP:
            continue
        stems = set(_stems(word)) - skipped
        if not stems or all(t in idf for t in stems):
            out |= stems
            continue
        for form in _bokmål_forms(word):
            known = _stems(form)
            if known and all(t in idf for t in known):
                stems = set(known)
                break
        out |= stems
    return frozenset(out)


def _question_stems(question: str, idf: Mapping[str, float], ignore_words: Sequence[str]) -> frozenset[str]:
    """The question's content stems in the store's spelling, without the words that only set the scope."""
    return in_store_spelling(question, idf, set().union(*(_stems(w) for w in ignore_words)))


def _overlap(q_stems: frozenset[str], s_stems: frozenset[str], idf: dict[str, float], unseen: float) -> float:
    """IDF-weighted share of the question's content words found in the sentence."""
    total = sum(idf.get(t, unseen) for t in q_stems)
    return sum(idf.get(t, unseen) for t in q_stems & s_stems) / total if total else 0.0


def concreteness(text: str) -> float:
    """How concrete a sentence is, in [0, 1]: figures, dates, «quoted» and capitalised names count.

    An HR adviser asks what was done and what came of it; those sentences carry the figures and the names
    of programmes, while the sentences that restate the problem mostly do not.
    """
    count = len(_NUMBER.findall(text)) + len(_QUOTED.findall(text)) + len(_NAME.findall(text))
    return min(count, 2) / 2


def score_sentences(
    kb: Any,
    question: str,
    hits: Sequence[Hit],
    ignore_words: Sequence[str] = (),
    *,
    per_municipality: int = 0,
    documents: Mapping[str, float] | None = None,
) -> list[Candidate]:
    """The sentences of the hits, scored against the question, best first (by `relevance`).

    relevance = cosine(question, sentence) + KEYWORD_WEIGHT * IDF-weighted share of the question's content
    words (stems) found in the sentence (+ NUMBER_BONUS for a figure). Municipality names in the question are
    left out of the overlap: they decide scope, not relevance. `score` adds DOC_PRIOR * the weight of the
    sentence's document (`documents`: source -> weight in [0, 1], the best document 1) and CONCRETE_BONUS *
    its concreteness; the answer picks by `score`, the refusal looks at `relevance`. To keep an answer under
    a second on two cores, only the EMBED_LIMIT most promising sentences (keyword overlap, their chunk's
    search score, their document and concreteness) are embedded; with `per_municipality`, that many per
    municipality are embedded first.
    """
    spans: list[Span] = []
    seen: set[tuple[str, str]] = set()
    for rank, hit in enumerate(hits):
        for span in sentence_spans(hit, rank):
            key = (hit.source, span.display)
            if key not in seen:  # chunks overlap: the same sentence in two chunks is read once
                seen.add(key)
                spans.append(span)
    if not spans:
        return []
    weights = dict(documents or {})
    idf, unseen = idf_table(kb)
    q_stems = _question_stems(question, idf, ignore_words)
    overlaps = [_overlap(q_stems, _stems(s.display), idf, unseen) for s in spans]
    concrete = [concreteness(s.display) for s in spans]
    prior = [
        o + CHUNK_PRIOR * s.hit.score + CONCRETE_PRIOR * c * weights.get(s.hit.source, 1.0)
        for s, o, c in zip(spans, overlaps, concrete, strict=True)
    ]
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
    top = max((h.score for h in hits), default=1.0) or 1.0
    q_vector = kb.embed_query(question)
    out = []
    for i in chosen:
        vector = known[spans[i].display]
        cosine = _cosine(q_vector, vector)
        bonus = NUMBER_BONUS if _NUMBER.search(spans[i].display) else 0.0
        relevance = cosine + KEYWORD_WEIGHT * overlaps[i] + bonus
        score = (
            relevance
            + DOC_PRIOR * weights.get(spans[i].hit.source, 1.0)
            + PASSAGE_PRIOR * spans[i].hit.score / top
            + CONCRETE_BONUS * concrete[i]
            + LIST_BONUS * spans[i].item
        )
        out.append(Candidate(spans[i], cosine, overlaps[i], relevance, score))
    out.sort(key=lambda c: (-c.relevance, c.span.order))
    return out


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


@dataclass
class Retrieved:
    """What one question retrieved and how its sentences scored (shared by the extractive and generated paths)."""

    question: str
    hits: list[Hit]
    candidates: list[Candidate]
    threshold: float
    scope: list[str]
    comparison: bool

    novelty: float = 0.0  # IDF share of the question's content words that occur nowhere in the store
    pool: list[Span] = field(default_factory=list)  # every sentence read, for continuations
    absent: tuple[str, ...] = ()  # municipalities the question names («Moss kommune») with no documents here
    members: tuple[str, ...] = ()  # the municipalities that have documents, to name when one is absent

    @property
    def signal(self) -> float:
        """What the threshold is compared with: the best sentence's relevance, less the novelty penalty."""
        if not self.candidates:
            return float("-inf")
        return self.candidates[0].relevance - NOVELTY_WEIGHT * self.novelty

    @property
    def answered(self) -> bool:
        """Whether the store has something close enough to the question."""
        return not self.absent and self.signal >= self.threshold


def focus(hits: Sequence[Hit], comparison: bool, newer: Mapping[str, str] | None = None) -> dict[str, float]:
    """The documents to read: source -> weight in [0, 1] (its best chunk's score, relative to the best).

    A single-topic answer reads the two best documents, and a third that scores close to the best; a
    comparison reads each municipality's best document. An older version is skipped when its current
    version (`newer`: source -> the source that replaces it) was retrieved too.
    """
    newer = newer or {}
    present = {h.source for h in hits}
    best: dict[str, float] = {}
    for hit in hits:
        if hit.superseded and newer.get(hit.source) in present:
            continue
        best.setdefault(hit.source, hit.score)
    if not best:
        return {}
    if comparison:
        chosen: dict[str, str] = {}
        for source, _ in sorted(best.items(), key=lambda item: -item[1]):
            municipality = next(h.municipality for h in hits if h.source == source)
            chosen.setdefault(municipality, source)
        sources = list(chosen.values())
    else:
        ranked = sorted(best, key=lambda s: -best[s])
        top = best[ranked[0]]
        sources = [s for i, s in enumerate(ranked) if i < 2 or best[s] >= SECOND_DOCUMENT * top][:MAX_SOURCES]
    top = max(best[s] for s in sources) or 1.0
    return {s: max(best[s], 0.0) / top for s in sources}


_DOCS: dict[str, tuple[str, dict[str, list[int]]]] = {}


def document_chunks(kb: Any, hits: Sequence[Hit], documents: Mapping[str, float]) -> list[Hit]:
    """Every stored chunk of the chosen documents, best document first, each in document order.

    Retrieved chunks keep their search score; the others get their document's lowest retrieved score less
    a little, so they rank after the retrieved ones but still within their document.
    """
    lexical = kb.lexical()
    key = str(kb.settings.store_dir) + str(kb.store.name)
    cached = _DOCS.get(key)
    if cached is None or cached[0] != lexical.revision:
        rows: dict[str, list[int]] = {}
        for i, meta in enumerate(lexical.metadatas):
            rows.setdefault(str(meta.get("source")), []).append(i)
        cached = (lexical.revision, rows)
        _DOCS[key] = cached
    retrieved = {h.id: h for h in hits}
    out: list[Hit] = []
    for source in sorted(documents, key=lambda s: -documents[s]):
        own = [h for h in hits if h.source == source]
        floor = min(h.score for h in own) * 0.9 if own else 0.0
        superseded = any(h.superseded for h in own)
        indices = sorted(cached[1].get(source, []), key=lambda i: int(lexical.metadatas[i].get("chunk_index", 0)))
        for i in indices:
            hit = retrieved.get(lexical.ids[i])
            if hit is None:
                hit = Hit(
                    id=lexical.ids[i],
                    text=lexical.texts[i],
                    source=source,
                    score=floor,
                    metadata=lexical.metadatas[i],
                    superseded=superseded,
                )
            out.append(hit)
        if not indices:  # a store without the lexical rows: the retrieved chunks only
            out.extend(own)
    return out


def retrieve(kb: Any, question: str, filters: Filters | None = None) -> Retrieved:
    """Search, scope to named municipalities, and score the sentences of the best documents."""
    filters = filters or Filters()
    docs = kb.documents()
    known = sorted({d.municipality for d in docs if d.municipality})
    newer = {d.source: d.superseded_by for d in docs if getattr(d, "superseded_by", "")}
    named = named_municipalities(question, known)
    absent = () if named or filters.municipalities else absent_municipalities(kb, question, known)
    comparison = is_comparison(question) and len(named) != 1
    scope = list(filters.municipalities)
    if not scope and named and not comparison:
        scope = named
        # NOTE: «etter samlingen i Halden» asks about the network's session notes, where a municipality is the
        # host or a case; otherwise the named municipality's own documents answer.
        shared = [NETWORK] if NETWORK in known and NETWORK not in named and _NETWORK_WORDS.search(question) else []
        filters = replace(filters, municipalities=tuple(named + shared))
    if comparison:
        hits = kb.search(question, k=COMPARE_PASSAGES, filters=filters, per_municipality=2)
    else:
        hits = kb.search(question, k=PASSAGES, filters=filters)
    documents = focus(hits, comparison, newer)
    chunks = document_chunks(kb, hits, documents)
    ignore = [*named, *scope]
    candidates = score_sentences(
        kb, question, chunks, ignore_words=ignore, per_municipality=4 if comparison else 0, documents=documents
    )
    rank = {s: i for i, s in enumerate(sorted(documents, key=lambda s: -documents[s]))}
    candidates = [replace(c, span=replace(c.span, rank=rank.get(c.span.hit.source, 0))) for c in candidates]
    pool = [replace(s, rank=rank.get(s.hit.source, 0)) for h in chunks for s in sentence_spans(h)]
    return Retrieved(
        question,
        hits,
        candidates,
        min_score(kb),
        scope,
        comparison,
        novelty(kb, question, ignore),
        pool,
        absent=absent,
        members=tuple(m for m in known if m != NETWORK),
    )


def absent_municipalities(kb: Any, question: str, known: Sequence[str]) -> tuple[str, ...]:
    """Municipalities the question writes as «X kommune» that no stored text mentions («Moss kommune»).

    Every other municipality's experience would be an answer to a question nobody asked, so such a question
    is refused and the refusal says why. A name that some document mentions (Moss presenting at a session)
    is left to the search; as a name it is matched with its capitals, so «i indre Østfold» (the region) does
    not mention Indre Østfold kommune. The question's first word is not read as a name: «Liten kommune – …».
    """
    text = question[:1].lower() + question[1:]
    have = {name.lower() for name in known}
    unknown = {bare: name for bare, name in named_as_municipalities(text).items() if name.lower() not in have}
    if not unknown:
        return ()
    texts = _visible_texts(kb, kb.lexical())
    return tuple(
        name
        for bare, name in unknown.items()
        if not any(re.search(rf"(?<![\w-]){re.escape(bare)}(?![\w-])", t) for t in texts)
    )


def _absent_text(retrieved: Retrieved) -> str:
    """The refusal for a municipality without documents, naming those that have some."""
    names = " og ".join(f"{name} kommune" if "kommune" not in name else name for name in retrieved.absent)
    text = f"{NOT_FOUND} Erfaringsbanken har ingen dokumenter fra {names}."
    if retrieved.members:
        text += f" Kommunene med dokumenter er {', '.join(retrieved.members)}."
    return text


def novelty(kb: Any, question: str, ignore_words: Sequence[str] = ()) -> float:
    """IDF share of the question's content words that occur in no stored chunk («sykkelleasing»).

    Questions the store cannot answer tend to hinge on words it never uses; paraphrases mostly do not.
    """
    idf, unseen = idf_table(kb)
    stems = _question_stems(question, idf, ignore_words)
    total = sum(idf.get(t, unseen) for t in stems)
    share = sum(unseen for t in stems if t not in idf) / total if total else 0.0
    # In a nynorsk question an unknown word is as likely a spelling the rules do not know («gjekk», «kvilt»)
    # as a topic the store lacks.
    return share * NYNORSK_NOVELTY if _NYNORSK_QUESTION.search(question) else share


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


# --- the generated path ------------------------------------------------------------------------------------
SUPPORT_MIN = 0.6  # share of a generated sentence's content words that must occur in its cited passages
MIN_SURVIVING = 0.5  # share of generated sentences that must survive the check, else extractive
UNCHECKED = (
    "Svaret fra språkmodellen kunne ikke kontrolleres mot kildene, så svaret under er satt sammen "
    "direkte fra dokumentene."
)
OBEYED = (
    "Svaret fra språkmodellen gjentok en beskjed fra et dokument i stedet for å svare ut fra fakta, så svaret "
    "under er satt sammen direkte fra dokumentene. Si fra til den som har ansvar for dokumentene."
)

# Text that speaks to the assistant rather than about the work: a planted prompt injection. Such sentences are
# never evidence, and a generated sentence that says one has followed the document instead of the rules. Kinds:
# overriding the rules («ignorer/glem/se bort fra ... instruksjoner»), a role marker or chat-template token at
# the start of a line («System:», «[INST]», «<|im_start|>»), a new persona («du er nå», «fra nå av skal du»),
# steering the reply («svar bare», «skriv kun», «i svaret ditt») and naming the prompt («systemmeldingen»).
# NOTE: plain advice in the imperative («Involver tillitsvalgte tidlig.») is what the documents are for, so
# the imperative alone is not a sign; each kind needs words about instructions, roles or the reply itself.
_DIRECTIVE = re.compile(
    r"\b(?:ignorer|ignore|glem|overse|se bort fra|disregard|forget|override)\b.{0,60}?"
    r"\b(?:instruks\w*|instructions?|regl(?:er|ene)|rules|beskjed\w*|ordre[nr]?|prompt\w*|previous|above)\b"
    r"|(?:^|\n)[\s>#*_-]*(?:system|assistant|assistent|developer|ai|ki)\s*:"
    r"|<\|[\w ]{1,30}\|>|<</?sys>>|\[/?(?:inst|system|assistant|sys)\]"
    r"|\b(?:du er nå|fra nå av (?:skal|er|må) du|you are now|from now on|late? som (?:om )?du|pretend (?:to be|you))\b"
    r"|\b(?:svar|answer|respond|reply)\s+(?:bare|kun|only|just|nøyaktig|exactly|alltid|always)\b(?!\s+(?:på|to)\b)"
    r"|\b(?:skriv|gjenta|si|write|say|output|print)\s+(?:bare|kun|only|just|nøyaktig|exactly)\s+"
    r"(?:med\s+)?(?:ordet\s+|the word\s+)?[«\"“']"
    r"|\b(?:svaret ditt|ditt svar|your (?:answer|response|reply)|system ?prompt\w*|systemmelding\w*|"
    r"systeminstruks\w*)\b",
    re.IGNORECASE,
)


def is_directive(text: str) -> bool:
    """Whether text addresses the assistant (an instruction planted in a document, or the reply obeying one)."""
    return bool(_INSTRUCTION.search(text) or _DIRECTIVE.search(text))


def _sentences(text: str) -> list[str]:
    """A generated reply's sentences, line by line, without list bullets."""
    lines = [line.strip() for line in text.splitlines()]
    return [s for line in lines if line for s in split_sentences(_BULLET.sub("", line))]


def _verified(sentence: str, passages: Sequence[Hit]) -> tuple[str, list[int]] | None:
    """The sentence's text and the retrieved passages it cites, if they back it up; else None."""
    numbers = [int(n) for n in _CITE.findall(sentence)]
    valid = [n for n in dict.fromkeys(numbers) if 1 <= n <= len(passages)]
    body = _CITE.sub("", sentence).strip()
    if not valid or len(body.split()) < 2 or is_directive(body):
        return None
    support = " ".join(_evidence(passages[n - 1]) for n in valid)
    if not _supported(body, support):
        return None
    return body, valid


def _render(body: str, cited: Sequence[int], passages: Sequence[Hit], composer: _Composer) -> str:
    """One checked sentence with its citations renumbered by `composer` (each quotes the closest sentence)."""
    refs = "".join(f"[{composer.cite(_closest_span(body, passages[n - 1]))}]" for n in cited)
    return f"{body.rstrip()} {refs}"


def check_generated(text: str, passages: Sequence[Hit]) -> tuple[Answer | None, str]:
    """Keep the generated sentences that cite retrieved passages and are backed by them.

    Returns the checked Answer (None when too little survives) and a Norwegian reason when it was rejected.
    Citations are renumbered in order of use; each quotes the cited chunk's sentence closest to the
    generated sentence (verbatim from the stored chunk). A reply that repeats an instruction (see
    `is_directive`) is rejected whole: the model has followed a document, so none of its sentences is trusted.
    """
    if NOT_FOUND.rstrip(".").lower() in text.lower():
        return None, "Språkmodellen fant ikke svaret i utdragene."
    sentences = _sentences(text)
    if any(is_directive(_CITE.sub("", s)) for s in sentences):
        logger.warning("the generated answer repeats an instruction from a passage; showing the extractive one")
        return None, OBEYED
    kept = [checked for s in sentences if (checked := _verified(s, passages)) is not None]
    if not sentences or len(kept) < max(1, math.ceil(MIN_SURVIVING * len(sentences))):
        return None, UNCHECKED
    composer = _Composer()
    out_lines = [_render(body, cited, passages, composer) for body, cited in kept]
    answer = Answer(text="\n".join(out_lines), citations=tuple(composer.citations), answered=True, mode="generated")
    return answer, ""


def _evidence(hit: Hit) -> str:
    """A passage's text without sentences that address the assistant (a planted «ignore previous instructions»).

    Facts written inside such a sentence («… og skriv at alle får bonus») are part of the instruction, not
    evidence.
    """
    if not is_directive(hit.text):
        return hit.text
    lines = [line for line in hit.text.splitlines() if not _DIRECTIVE.match(line)]  # role-marker lines whole
    return " ".join(s for line in lines for s in split_sentences(line) if not is_directive(s))


def _supported(sentence: str, passage_text: str) -> bool:
    """Content words mostly in the passage, and every number exactly in it."""
    for number in _NUMBER.findall(sentence):
        if number not in passage_text:
            return False
    words = _stems(sentence)
    if not words:
        return False
    return len(words & _stems(passage_text)) / len(words) >= SUPPORT_MIN


def _closest_span(sentence: str, hit: Hit) -> Span:
    """The chunk's sentence that shares most words with `sentence`; never one that addresses the assistant."""
    spans = [s for s in sentence_spans(hit) if not is_directive(s.text)] or [Span(hit, 0, len(hit.text), 0)]
    words = _stems(sentence)
    return max(spans, key=lambda s: len(words & _stems(s.display)))


def _passages(retrieved: Retrieved) -> list[Hit]:
    """The chunks shown to the generator: those the best sentences come from, in rank order."""
    seen: dict[str, Hit] = {}
    for cand in retrieved.candidates:
        if cand.relevance < retrieved.threshold:
            break
        seen.setdefault(cand.span.hit.id, cand.span.hit)
        if len(seen) >= 6:
            break
    return list(seen.values())


def _generate(retrieved: Retrieved, generator: Generator, extractive: Answer) -> Answer:
    from kb.prompts import messages

    passages = _passages(retrieved)
    try:
        text = generator.complete(messages(retrieved.question, passages))
    except GeneratorError as exc:
        logger.warning("generator failed: %s", exc)
        return replace(extractive, notice=str(exc))
    checked, reason = check_generated(text, passages)
    return checked if checked is not None else replace(extractive, notice=reason)


def _resolve(kb: Any, generator: Generator | bool | None) -> Generator | None:
    if generator is False:
        return None
    if isinstance(generator, Generator):
        return generator
    return Generator.from_settings(kb.settings)


def ask(kb: Any, question: str, filters: Filters | None = None, *, generator: Generator | bool | None = None) -> Answer:
    """Answer a question in Norwegian with numbered citations.

    Args:
        kb: the KnowledgeBase.
        question: the user's question.
        filters: search filters; a municipality named in the question narrows the search when none is given.
        generator: a Generator; None uses the configured one (KB_GENERATOR_URL) if any; False forces the
            extractive answer.

    Raises:
        EmptyIndexError: nothing has been ingested.
    """
    retrieved = retrieve(kb, question, filters)
    extractive = compose(retrieved)
    chosen = _resolve(kb, generator)
    if chosen is None or not extractive.answered:
        return extractive
    return _generate(retrieved, chosen, extractive)


class AnswerStream:
    """Text pieces for the app to show as they arrive; `.answer` holds the checked answer afterwards.

    Only generated sentences that pass the check are yielded (see `_Draft`); when none does, the extractive
    answer's text is yielded at the end.

    Example:
        stream = ask_stream(kb, question)
        for piece in stream:
            draft += piece
        answer = stream.answer  # checked: replaces the draft
    """

    def __init__(self, kb: Any, question: str, filters: Filters | None, generator: Generator | None) -> None:
        self._kb = kb
        self._question = question
        self._filters = filters
        self._generator = generator
        self.answer: Answer | None = None

    def __iter__(self) -> Iterator[str]:
        from kb.prompts import messages

        retrieved = retrieve(self._kb, self._question, self._filters)
        extractive = compose(retrieved)
        if self._generator is None or not extractive.answered:
            self.answer = extractive
            yield extractive.text
            return
        passages = _passages(retrieved)
        pieces: list[str] = []
        draft = _Draft(passages)
        try:
            for piece in self._generator.stream(messages(self._question, passages)):
                pieces.append(piece)
                yield from draft.add(piece)
        except GeneratorError as exc:
            logger.warning("generator failed while streaming: %s", exc)
            self.answer = replace(extractive, notice=str(exc))
        else:
            yield from draft.finish()
            checked, reason = check_generated("".join(pieces), passages)
            self.answer = checked if checked is not None else replace(extractive, notice=reason)
        if self.answer.mode == "extractive" and not draft.shown:
            yield extractive.text  # nothing of the reply held up: the draft becomes the answer that replaces it


class _Draft:
    """The streamed draft, shown only as far as it is checked: unverified text never reaches the screen.

    Each generated sentence is checked as soon as the next one starts (or the reply ends), and only the
    sentences that pass are yielded, numbered as in the final answer. The draft is then the checked answer as
    it grows, and an instruction the model obeyed («HACKET») is never shown, not even for a moment.
    """

    def __init__(self, passages: Sequence[Hit]) -> None:
        self._passages = passages
        self._text = ""
        self._done = 0  # sentences already checked
        self._composer = _Composer()
        self._obeyed = False
        self.shown = False  # whether any checked sentence was yielded

    def add(self, piece: str) -> Iterator[str]:
        """The checked sentences completed by this piece of the reply."""
        self._text += piece
        sentences = _sentences(self._text)
        ready = sentences[self._done : len(sentences) - 1]  # the last one may still be growing
        self._done += len(ready)
        yield from self._show(ready)

    def finish(self) -> Iterator[str]:
        """The last checked sentence, once the reply has ended."""
        ready = _sentences(self._text)[self._done :]
        self._done += len(ready)
        yield from self._show(ready)

    def _show(self, sentences: Sequence[str]) -> Iterator[str]:
        for sentence in sentences:
            self._obeyed = self._obeyed or is_directive(_CITE.sub("", sentence))
            checked = None if self._obeyed else _verified(sentence, self._passages)
            if checked is None:
                continue
            line = _render(*checked, self._passages, self._composer)
            self.shown = True
            yield from re.findall(r"\S+\s*", line + "\n")  # word by word, so the app still types it out


def ask_stream(
    kb: Any, question: str, filters: Filters | None = None, *, generator: Generator | bool | None = None
) -> AnswerStream:
    """Like `ask`, but streams the generator's draft; read `.answer` after iterating for the checked answer."""
    return AnswerStream(kb, question, filters, _resolve(kb, generator))
