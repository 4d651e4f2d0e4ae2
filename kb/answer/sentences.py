"""Sentences of a stored chunk as verbatim spans: paragraphs, list items, table rows; headings left out.

An answer quotes these spans, so they are cut from the chunk's own text (offsets), never rewritten.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace

from ingest.chunking import OPEN_ENDINGS, short_question, split_sentences
from kb.answer.facts import dates, figures
from kb.types import MONTHS, Hit

logger = logging.getLogger(__name__)

MIN_WORDS = 4  # shorter sentences are fragments, not answers
LIST_WORDS = 100  # a list after its «…:» line is quoted whole up to this many words, else item by item
LABEL_WORDS = 5  # a list item's first sentence this short is its name and is quoted with the next
MIN_WORDS_ITEM = 2  # list items may be short and still carry a fact («1-2-4-alle»)

# A list marker; not the day of a date that opens a line («5. februar 2026 i Fredrikstad.» under «Neste samling»).
_BULLET = re.compile(rf"^\s*(?:[-*•–]|\d{{1,2}}[.)](?!\s+(?:{'|'.join(MONTHS)})\b))\s+", re.IGNORECASE)
_HEADING = re.compile(r"^\s*#{1,6}\s")
_FIELD = re.compile(r"^[A-ZÆØÅ][\wæøåÆØÅ-]*(?: [\wæøåÆØÅ-]+){0,3}: +\S")  # «Sted: …», «Fasilitator og referent: …»
_ITEM_FIELD = re.compile(r"\s*[A-ZÆØÅ][a-zæøå]+: +\S")  # «Ansvar: …», «Frist: …» after an item's text
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
# A byline: a role, then the municipality alone («HR-rådgiver for heltidskultur, Halden kommune.»), not a sentence
# whose last clause ends in one («…, som for 2025 og 2026 er HR-sjefen i Våler kommune.»).
_SIGNATURE = re.compile(r"^[^.!?]{0,80},\s*(?:[\wæøåÆØÅ-]+\s+){0,2}(?:fylkes)?kommune\.?$")


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
    contact: bool = False  # a byline («HR-rådgiver for heltidskultur, Halden kommune.»): whom to contact

    @property
    def order(self) -> tuple[int, int, int]:
        """Reading order: document rank, then chunk position in the document, then offset."""
        return (self.rank, self.hit.chunk_index, self.start)

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
        head, items = self.list_parts
        if not items:
            return self.display
        return "\n".join([head, *("  - " + item for item in items)])

    @property
    def list_parts(self) -> tuple[str, tuple[str, ...]]:
        """A list quoted whole as its lead and its items, each on one line; a sentence is (`display`, ())."""
        lines = [line for line in self.text.splitlines() if line.strip()]
        if len(lines) < 2 or not any(_BULLET.match(line) for line in lines[1:]):
            return self.display, ()
        head: list[str] = []
        items: list[list[str]] = []
        for line in lines:
            if _BULLET.match(line) and (head or items):
                items.append([_BULLET.sub("", line.strip())])
            elif items:
                items[-1].append(line.strip())  # an item wrapped over lines
            else:
                head.append(_BULLET.sub("", line.strip()))
        return " ".join(head), tuple(" ".join(item) for item in items)


def _is_heading(line: str, next_line: str, previous_line: str | None = None) -> bool:
    """A short line without closing punctuation, followed by a capitalised line: a heading kept as text.

    A short question alone in its paragraph is one too («Hvem er med?», «Hva gjorde vi?»), when the line before
    it is known (`previous_line`) to be blank: a letter's or a case template's sections are often named so.

    Not a heading: a «Sted: Rådhuset» field line, a line that ends in a word a heading never ends in
    («… til inntil» wrapped in a PDF before «20 studenter …», «Tiltakene er» before a list), one that holds
    the end of a sentence (the wrapped tail «konkurransedyktig … på svensk side. Tiltakene er»), or one that
    leaves a quote or a parenthesis open.
    """
    stripped = line.strip()
    if _question_heading(stripped, next_line, previous_line):
        return True
    if not stripped or _BULLET.match(line) or stripped[-1] in '.!?:;…,»)"' or _FIELD.match(stripped):
        return False
    if _SENTENCE_END.search(stripped):
        return False  # «konkurransedyktig … på svensk side. Tiltakene er»: the end of a wrapped sentence
    if stripped.count("«") > stripped.count("»") or stripped.count("(") > stripped.count(")"):
        return False  # «… lederprogrammet «Lederløftet» wrapped before «Moss» innen 2026.»: a quote left open
    words = stripped.split()
    if len(words) > 10 or words[-1].lower() in _CONTINUES:
        return False
    following = next_line.strip()
    return not following or following[0].isupper() or following[0].isdigit() or bool(_BULLET.match(next_line))


def _question_heading(stripped: str, next_line: str, previous_line: str | None) -> bool:
    """A short question (`ingest.chunking.short_question`) on a line of its own, blank lines before and after it."""
    if previous_line is None or previous_line.strip() or next_line.strip() or not short_question(stripped):
        return False
    return not (_BULLET.match(stripped) or _SENTENCE_END.search(stripped) or not stripped[0].isupper())


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


def _blocks(text: str, heading: str = "", title: str = "") -> list[tuple[int, int]]:
    """Paragraphs, list items, table rows and field lines as (start, end) offsets.

    Headings (the section's own `heading` too, however long), the document's `title` at the top of the text
    (also wrapped over lines, as a PDF's is), table header rows, masthead lines and blank lines end a block and
    are not part of one.
    """
    lines = text.splitlines(keepends=True)
    blocks: list[tuple[int, int]] = []
    start: int | None = None
    offset = 0
    untitled = " ".join(title.split())  # what of the title the lines at the top have not yet shown
    for i, line in enumerate(lines):
        stripped = line.strip()
        line_start, offset = offset, offset + len(line)
        following = lines[i + 1] if i + 1 < len(lines) else ""
        previous = lines[i - 1] if i else ""
        header = bool(_TABLE_RULE.match(following.strip())) and bool(following.strip())
        titled = bool(stripped) and bool(untitled) and untitled.startswith(stripped)
        if stripped:
            untitled = untitled[len(stripped) :].lstrip() if titled else ""
        named = bool(stripped) and (titled or stripped == heading or _masthead(stripped))  # a title or masthead
        alone = not named and ((_table_row(stripped) and not header) or _field_line(stripped, previous, following))
        skip = (
            named
            or not stripped
            or bool(_HEADING.match(line))
            or stripped.startswith("|")
            or _is_heading(line, following, previous)
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


def heading_above(text: str, offset: int, default: str = "") -> str:
    """The heading of the section `offset` lies in: the nearest heading line above it in the chunk, else `default`.

    A chunk can hold several short sections («Utfordringen», «Hva vi gjorde», «Resultater»); the chunk's own
    heading is only the first of them.
    """
    lines = text[:offset].splitlines()
    following = text[offset:].lstrip()
    for i in range(len(lines) - 1, -1, -1):
        line = lines[i]
        after = lines[i + 1] if i + 1 < len(lines) else following
        if _is_heading_line(line, after, lines[i - 1] if i else ""):
            return line.strip().lstrip("#").strip()
    # NOTE: a chunk opens with the last sentences of the chunk before it (ingest.chunking's overlap): when its
    # own heading stands below `offset`, the text above that heading is the end of the section before, whose
    # heading this chunk does not hold («• 96 prosent av ferieønskene ble innfridd.» above «Dette lærte vi» is
    # a result, not a lesson).
    if default and any(line.strip().lstrip("#").strip() == default.strip() for line in text[offset:].splitlines()[1:]):
        return ""
    return default


def section_heading(span: Span) -> str:
    """The heading of the section the sentence stands in: the nearest above it, else its chunk's own heading.

    "" for the end of the section before that a chunk opens with (`heading_above`).
    """
    return heading_above(span.hit.text, span.start, span.hit.heading)


def _is_heading_line(line: str, after: str, before: str) -> bool:
    """Whether a line of a chunk is a heading (a Markdown one, or a short line a loader set off as one)."""
    return bool(_HEADING.match(line)) or (
        bool(line.strip()) and _is_heading(line, after, before) and not _field_line(line.strip(), "", "")
    )


# Minutes list what a meeting agreed as actions: items under a heading that names them («Oppfølging og tiltak»,
# «Avtaler», «Beslutninger»), or items that give a deadline («Frist: 15.12.2024», «… – 15.10.2025», «innen 1. mai»).
_ACTION_HEADING = re.compile(
    r"\b(?:avtal\w*|tiltak\w*|oppfølging\w*|oppfylging\w*|beslutning\w*|vedtak\w*|oppgave\w*|oppgåve\w*|"
    r"handlingspunkt\w*|aksjonspunkt\w*)",
    re.IGNORECASE,
)
_DEADLINE = re.compile(
    r"\bfrist\b|\b\d{1,2}\.\d{1,2}\.(?:\d{4}|\d{2})\b|\binnan?\s+\d{1,2}\.\s*[a-zæøå]{3,}", re.IGNORECASE
)


def is_action(span: Span) -> bool:
    """Whether the sentence is an action in minutes: an item under a heading of actions, or one with a deadline.

    An item is a list item or a table row; what was said in running text, or in a list of what members told, is no
    action.
    """
    if not span.item:
        return False
    return bool(_ACTION_HEADING.search(section_heading(span)) or _DEADLINE.search(span.display))


def title_line(span: Span) -> str:
    """The document's first line («# Samling …», marks stripped) when the sentence is in its first chunk, else ""."""
    if span.hit.chunk_index != 0:
        return ""
    return span.hit.text.lstrip().split("\n", 1)[0].strip().lstrip("#").strip()


def in_head(span: Span) -> bool:
    """Whether the sentence stands in the document's head: its first chunk, under no heading but the title."""
    if span.hit.chunk_index != 0:
        return False
    heading = heading_above(span.hit.text, span.start, "")
    return not heading or heading == title_line(span)


def opening_heading(span: Span) -> str:
    """The heading right above the sentence when the sentence opens its section, else "".

    Under «Neste samling», «5. februar 2026 i Fredrikstad.» tells when the next session is; alone it is a date.
    """
    text = span.hit.text
    before = text[: span.start].rstrip()
    heading = heading_above(text, span.start, "") if before else ""
    return heading if heading and before.splitlines()[-1].strip().lstrip("#").strip() == heading else ""


# A document speaks to its reader («Hva bør du lese først?», «Slik blir man med:»); the asker asks of themselves
# («… bør jeg …», «Hvordan blir vi med?»): any person is the same person.
_PERSONS = frozenset({"jeg", "eg", "du", "vi", "me", "dere", "de", "man"})
HEADING_WORDS = 3  # a question heading shorter than this («Hvorfor?», «Hva nå?») is asked by too many questions


def asks_heading(question: str, heading: str) -> bool:
    """Whether `question` asks what a section's heading or a list's lead poses.

    «Hvem er med?» is asked by «Hvem er med i nettverket?», and «Slik blir man med:» (how it is done) by «Hvordan
    blir vi med?»: the heading's words stand in the question in the same order, any person for any person.
    """
    text = heading.strip()
    how = re.match(r"slik\b", text, re.IGNORECASE) is not None  # «Slik søker du», «Slik blir man med:»
    if not (text.endswith("?") or how):
        return False

    def words(text: str) -> list[str]:
        return ["du" if w in _PERSONS else w for w in re.findall(r"[\wæøåÆØÅ-]+", text.lower())]

    asked, posed = words(question), words(text)
    if how:
        posed[0] = "hvordan"
    if len(posed) < HEADING_WORDS:
        return False
    return any(asked[i : i + len(posed)] == posed for i in range(len(asked) - len(posed) + 1))


def lead_in(span: Span) -> str:
    """The text of the sentence's paragraph or list item up to and including the sentence.

    «Sarpsborg presenterte …. Kommunen har økt fra 44 til 62 lærlinger.»: the last municipality named before a
    figure is the one it belongs to; in a list of municipalities' reports each item is its own.
    """
    for start, end in _blocks(span.hit.text, span.hit.heading.strip(), span.hit.title):
        if start <= span.start < end:
            return span.hit.text[start : span.end]
    return span.text


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
    for number, (block_start, block_end) in enumerate(_blocks(text, hit.heading.strip(), hit.title)):
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
                # «HR-rådgiver for heltidskultur, Halden kommune.»: a byline answers only whom to contact
                spans.append(Span(hit, begin, end, rank, number, bool(marker), contact=True))
                continue
            if is_directive(text[begin:end]):
                logger.info("skipping an instruction-like sentence in %s", hit.source)
                continue
            if end - begin > 600:
                continue
            if marker and begin < quoted and _enumerated(text[begin:end]):
                continue  # «• andel ledere som har fullført Lederløypa Halden,»: quoted with its list, not alone
            if _a_field_of(spans, sentence, hit, number, bool(marker)):
                # «- Dele rollebeskrivelsen … Ansvar: rådgiver i … Frist: 15.12.2024.»: an agreed action's owner
                # and deadline are fields of the item, and say nothing alone («Frist: 15.12.2024.»); so is the
                # theme after a session's date («5. februar 2026 i Fredrikstad. Tema: inkludering …»)
                spans[-1] = replace(spans[-1], end=end)
                continue
            if _introduces(text[begin:end]):
                # «Nettverket består av:» says nothing without its list; a long list is left to its items, so
                # that one quote does not take the room of a whole answer
                whole = _list_end(text, end)
                if whole == end or len(text[begin:whole].split()) > LIST_WORDS:
                    # «En typisk samling ser slik ut:» alone would leave the reader hanging: its list is too long
                    # to quote, or in the next chunk (which overlaps this one and quotes it with its list). One
                    # that tells a fact of its own («Programmet ble tatt i bruk 1. januar 2023 og består av fem
                    # deler:») is an answer alone.
                    if not _tells_alone(text[begin:end]):
                        continue
                else:
                    end = quoted = whole
            if len(text[begin:end].split()) < (MIN_WORDS_ITEM if marker else MIN_WORDS):
                continue
            spans.append(Span(hit, begin, end, rank, number, bool(marker)))
    return spans


def _a_field_of(spans: list[Span], sentence: str, hit: Hit, block: int, item: bool) -> bool:
    """Whether `sentence` is a field («Ansvar: …», «Tema: …») of the span before it, in the same list item.

    In a paragraph (`item` false) only after a label-short first sentence («5. februar 2026 i Fredrikstad.»): in
    running text a «Word: …» sentence is a sentence of its own (NorQuAD's news lost three answers when joined).
    """
    if not spans or not _ITEM_FIELD.match(sentence):
        return False
    last = spans[-1]
    if last.hit is not hit or last.block != block or last.contact:
        return False
    return item or len(last.display.split()) <= LABEL_WORDS


def _introduces(sentence: str) -> bool:
    """Whether a list that follows belongs to this sentence.

    It does when the sentence ends in «:» or in a word that needs more («Tiltakene er» before «• rekrutterings…»).
    """
    stripped = sentence.rstrip()
    return stripped.endswith(":") or (stripped.split() or [""])[-1].lower() in _CONTINUES


def _tells_alone(intro: str) -> bool:
    """Whether a list's intro tells a fact of its own: a figure in digits or a day or month, beside the list.

    A year or a number word only sets the list's scope («Målene skal være nådd innen utgangen av 2027:», «… viser
    fire hovedutfordringer:»), and a label-short intro («Status per desember 2024:») is no sentence.
    """
    if len(intro.split()) <= LABEL_WORDS:
        return False
    return any(any(c.isdigit() for c in f) for f in figures(intro)) or any(not d.isdigit() for d in dates(intro))


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
