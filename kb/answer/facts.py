"""The kinds of fact a sentence holds: figures, dates and times, names; and the role of the section it is in.

A question that asks for a figure is answered by a sentence that holds one, not by the sentence that repeats
the question's words best. These are read from the form of the text (digits, number words, month names,
capitals, «quotes»), so they work on any document, in bokmål and nynorsk.
"""

from __future__ import annotations

import re
from functools import lru_cache, partial

from ingest.chunking import split_sentences
from ingest.roles import MEASURE as MEASURE_ROLE
from ingest.roles import RESULT as RESULT_ROLE
from ingest.roles import section_role
from kb.answer.question import (
    _QUOTED,
    _YEAR,
    AMOUNT,
    COUNT,
    DATE,
    DAY,
    DURATION,
    FIGURE,
    FREQUENCY,
    MONTH,
    NAME,
    SHARE,
    WORD,
    YEAR,
    Question,
    past_verb_root,
)
from kb.store.nynorsk import bokmål_forms
from kb.types import MONTHS

# Number words up to «tusen», in bokmål and nynorsk; «en/ett/ei/ein/eit» are left out (articles far more often).
_NUMBER_WORDS = (
    r"to|tre|fire|fem|seks|sju|syv|åtte|ni|ti|elleve|tolv|tretten|fjorten|femten|seksten|sytten|atten|nitten|tjue|"
    r"tjueen|tretti|tritti|førti|femti|seksti|sytti|åtti|nitti|hundre|tusen|million\w*|milliard\w*|"
    r"halvparten|dobbelt|tredobbel\w*|en tredjedel|en fjerdedel|ein tredjedel|eit dusin|tredve|én|"
    # round counts: «et tredvetalls», «hundrevis av»
    r"(?:ti|tjue|tretti|tredve|førti|femti|seksti|sytti|åtti|nitti|hundre|tusen)talls?|dusin|"
    r"hundrevis|tusenvis|titusenvis|hundretusenvis|millionvis"
)
# A fraction: «to tredeler», «en fjerdedel»
_FRACTION = r"(?:\b(?:en|ein|to|tre|fire|fem)\s+)?\b(?:tredel|tredjedel|fjerdedel|firedel|femtedel|tidel|tiendedel)\w*"
_NUMBER = re.compile(rf"\d+(?:[ .,]\d{{3}})*(?:[.,]\d+)?|\b(?:{_NUMBER_WORDS})\b", re.IGNORECASE)
_MONTHS = "|".join(MONTHS) + "|jan|feb|mar|apr|jun|jul|aug|sep|sept|okt|nov|des"
# A day: «12. mars», «12.03.2024», a weekday.
_DAY_TEXT = (
    rf"\b\d{{1,2}}\.\s*(?:{_MONTHS})\b|\b\d{{1,2}}\.\d{{1,2}}\.(?:\d{{2}}|\d{{4}})\b"
    r"|\b(?:mandag|tirsdag|onsdag|torsdag|fredag|laurdag|lørdag|søndag|sundag|måndag|tysdag)\w*\b"
)
_DATE = re.compile(
    rf"{_DAY_TEXT}|\b(?:{_MONTHS})\b(?:\s+(?:19|20)\d{{2}})?"
    r"|\b(?:våren|vår|hausten|høsten|høst|sommeren|sommaren|vinteren|jula|julen|påske\w*|nyttår\w*)\s+(?:19|20)\d{2}\b"
    r"|\b\d{3,4}-tallet\b|\b(?:i|år|året|fra|frå|til|siden|sidan|innen|før|etter)\s+1\d{3}\b"
    r"|\b(?:kvartal|tertial|semester|skoleår|skuleår|halvår)\w*\b"
    # time said relative to now, on the clock, or by era: «i fjor», «neste år», «i sommer», «ved åttetiden»,
    # «kl. 09.30», «600 f.Kr.», «1880-årene»
    r"|\b(?:i|til|fra|frå|neste|forrige|førre|sist\w*|kommende|komande)\s+"
    r"(?:fjor|år|året|sommer|sommar|høst|haust|vinter|vår|jul|påske|helg|uke|veke|måned|månad|sesong\w*)\b"
    r"|\b(?:i dag|i går|i morgen|i kveld|i natt|nylig|nyleg|snart|tidligere i år)\b"
    r"|\b\w+tiden\b|\bkl\.?\s*\d{1,2}(?:[.:]\d{2})?|\b\d{1,2}[.:]\d{2}-tiden\b"
    r"|\b(?:f\.\s?Kr|e\.\s?Kr)\b|\b\d{3,4}-årene\b|\b(?:1\d|20)\d0-(?:tallet|årene)\b",
    re.IGNORECASE,
)
# A span of time answers «hvor lenge»: a number and a unit of time.
_DURATION = re.compile(
    rf"(?:\d+(?:[.,]\d+)?|\b(?:{_NUMBER_WORDS}|ett|ein|eit|en|ei|et)\b)\s*(?:-|–)?\s*"
    r"(?:år|måned\w*|månad\w*|uke\w*|veke\w*|dag\w*|døgn\w*|time\w*|timar|minutt\w*|semester\w*)\b"
    r"|\b(?:siden|sidan|fra|frå)\s+(?:1\d|20)\d{2}\b",  # «stengt siden 2016» answers «hvor lenge»
    re.IGNORECASE,
)
# How often: every so long («hver fjerde uke», «annenhver måned», «hvert år»), so many times or sessions in a span
# of time («fire ganger i året», «4–5 fysiske samlinger i året», «to timer i uken»), or an adverb of it («årlig»).
_SPAN_OF_TIME = r"(?:dag|døgn|uke|veke|måned|månad|kvartal|halvår|år|semester|termin|helg|skoleår|studieår)\w*"
_FREQUENCY = re.compile(
    rf"\b(?:hver|hvert|kvar|kvart|annenhver|annethvert|annakvar|annankvar)\s+(?:\w+\s+)?{_SPAN_OF_TIME}\b"
    rf"|(?:\d+(?:\s*[–-]\s*\d+)?|\b(?:{_NUMBER_WORDS})|\b(?:en|ei|ein|én|éin)(?=\s+g[ao]ng))\s+(?:[\w-]+\s+){{0,3}}?"
    rf"(?:i|per|pr\.|om|i løpet av)\s+(?:året|månaden|måneden|uken|uka|veka|døgnet|dagen|semesteret|halvåret|"
    r"kvartalet|skoleåret|studieåret|helga|helgen)\b"
    r"|\b(?:daglig|dagleg|ukentlig|vekentleg|månedlig|månadleg|årlig|årleg|kvartalsvis|halvårlig|halvårleg)\b",
    re.IGNORECASE,
)
# A capitalised word not at the start of a sentence or line: a programme, a place, a body, a person.
_CAPITAL = re.compile(r"(?<=[\w,;:)–-] )[A-ZÆØÅ][\wæøåÆØÅ-]+(?:\s+[A-ZÆØÅ0-9][\wæøåÆØÅ-]*)*")
_FIRST = re.compile(r"\W*([A-ZÆØÅ][\wæøåÆØÅ-]+)(?:\s+[A-ZÆØÅ][\wæøåÆØÅ-]*)*")
_ACRONYM = re.compile(r"\b[A-ZÆØÅ]{2,}[\wÆØÅ-]*\b")


def _lower_words(text: str) -> set[str]:
    return {w.lower() for w in WORD.findall(text)}


def _figure_matches(text: str) -> list[re.Match[str]]:
    """The figures a text writes (digits or number words), without years and the numbers of dates."""
    dates = {m.group(0) for m in _YEAR.finditer(text)}
    for m in _DATE.finditer(text):
        dates.update(re.findall(r"\d+", m.group(0)))
    return [m for m in _NUMBER.finditer(text) if m.group(0) not in dates]


@lru_cache(maxsize=8192)
def figures(text: str) -> tuple[str, ...]:
    """The figures a text writes (digits or number words), without years and dates."""
    return tuple(m.group(0) for m in _figure_matches(text))


@lru_cache(maxsize=8192)
def dates(text: str) -> tuple[str, ...]:
    """Years, dates, months, seasons with a year, weekdays and spans of time («åtte uker») a text writes."""
    found = [m.group(0) for m in _YEAR.finditer(text)]
    found += [m.group(0) for m in _DATE.finditer(text)]
    found += [m.group(0) for m in _DURATION.finditer(text)]
    return tuple(found)


@lru_cache(maxsize=8192)
def names(text: str) -> tuple[str, ...]:
    """Names a text writes: «quoted» ones, acronyms, capitalised words inside a sentence, and a first word.

    A capitalised first word counts when it is not a common word: «Glomma renner …», not «Kommunen …».
    """
    found = [m.group(1) for m in _QUOTED.finditer(text)]
    first = _FIRST.match(text)
    if first and not _common_word(first.group(1)):
        found.append(first.group(0).strip())
    found += [m.group(0) for m in _ACRONYM.finditer(text)]
    found += [m.group(0) for m in _CAPITAL.finditer(text)]
    return tuple(found)


_SHARE = re.compile(
    r"\d+(?:[.,]\d+)?\s*(?:%|prosent\w*)|\b(?:halvparten|en tredjedel|ein tredjedel|en fjerdedel|to av tre|"
    r"tre av fire|ni av ti|åtte av ti|sju av ti|syv av ti|seks av ti|fire av fem|annenhver|kvar fjerde|hver fjerde|"
    rf"hver tredje|kvar tredje|hver femte|kvar femte|hver tiende|kvar tiande)\b|{_FRACTION}",
    re.IGNORECASE,
)
_AMOUNT = re.compile(
    r"(?:\bkr\.?|\bNOK)\s*\d[\d .,]*|\d[\d .,]*\s*(?:kroner|kr\b|NOK\b|mill\w*|milliard\w*|tusen kroner)"
    r"|\d[\d .]*,-"  # «25 000,-»: whole kroner, as price lists write it
    rf"|\b(?:{_NUMBER_WORDS}|ett|ein|eit|en)\s+(?:kroner|million\w*|milliard\w*)",  # «over én million kroner»
    re.IGNORECASE,
)
_DAY = re.compile(_DAY_TEXT, re.IGNORECASE)


def value_unit(after: str) -> str:
    """SHARE or AMOUNT when the text that follows a word gives it one («… var 10,2 prosent i 2023»), else "".

    `after`: the text right after the word, up to the end of its sentence.
    """
    clause = next(iter(split_sentences(after)), "")
    if _SHARE.search(clause):
        return SHARE
    return AMOUNT if _AMOUNT.search(clause) else ""


_NOT_COUNT = re.compile(r"^\s*(?:%|prosent|kroner|kr\b|nok\b|mill|milliard)", re.IGNORECASE)
_MONTH = re.compile(rf"\b(?:{'|'.join(MONTHS)})\b", re.IGNORECASE)


def _counts(text: str) -> tuple[str, ...]:
    """Figures that count something: not shares, amounts, years or dates."""
    return tuple(m.group(0) for m in _figure_matches(text) if not _NOT_COUNT.match(text[m.end() :]))


_UNIT_FINDERS = {
    SHARE: lambda text: tuple(m.group(0) for m in _SHARE.finditer(text)),
    AMOUNT: lambda text: tuple(m.group(0) for m in _AMOUNT.finditer(text)),
    MONTH: lambda text: tuple(m.group(0) for m in _MONTH.finditer(text)),
    YEAR: lambda text: tuple(_YEAR.findall(text)),
    DURATION: lambda text: tuple(m.group(0) for m in _DURATION.finditer(text)),
    DAY: lambda text: tuple(m.group(0) for m in _DAY.finditer(text)),
    FREQUENCY: lambda text: tuple(m.group(0) for m in _FREQUENCY.finditer(text)),
}
_FINDERS = {FIGURE: figures, DATE: dates, NAME: names}


@lru_cache(maxsize=4096)
def _common_word(word: str) -> bool:
    """A word a sentence may start with that is no name: a stop word, or a noun in its definite form."""
    from kb.store.lexical import STOPWORDS

    low = word.lower()
    return low in STOPWORDS or low.endswith(("en", "et", "ene", "ane", "ing", "ingen", "het", "heten"))


# Words that count people or things without naming them: «i alt 48 personer», «48 totalt».
_GENERIC_COUNT = re.compile(r"^\s*(?:personer|stykker|stk\.?|i alt|totalt|til sammen|tilsaman|av dei|av dem)\b", re.I)


_TAKE_PART = "delta"  # the root of «deltok» (kb.answer.question.past_verb_root)
_WITH_COUNT = re.compile(r"\bmed (?:til sammen |tilsaman |i alt )?(\d[\d\u00a0 ]*\d|\d)(?= [\wæøå])", re.IGNORECASE)
_NUMBER_OF = re.compile(r"\b(?:antall(?:et)?|talet på|tallet på)\b", re.IGNORECASE)
NUMBER_OF_REACH = 80  # characters after «antall <noun>» whose figures count the noun: about a clause


def counts_of(sentence: str, noun: str, within: int = 3) -> tuple[str, ...]:
    """The counts in a sentence of the counted noun: «11 lærlinger», or «48 personer» where the noun is named.

    The figures after «antall <noun>» count it too: «antall ubesatte stillinger ble redusert fra 34 til 11».
    Matched on stems, and a longer word ending in the noun counts too («fagarbeidere» counts «arbeidere»), but
    not the other way round: «helsefagarbeidere» is not counted by «fagarbeidere».
    """
    from kb.store.lexical import analyse

    root = past_verb_root(noun)
    if root:  # «hvor mange sluttet …?»: the figures of a sentence that tells who did
        uses_verb = any(
            word.lower() == noun.lower() or any(stem.startswith(root) for stem in _spelled(word))
            for word in WORD.findall(sentence)
        )
        if uses_verb:
            return figures(sentence)
        # «deltok» is «var med»: «en pilot … med til sammen 48 ansatte» tells how many took part
        return tuple(m.group(1) for m in _WITH_COUNT.finditer(sentence)) if root == _TAKE_PART else ()
    target = (analyse(noun, None) or [noun])[0]

    def names_noun(text: str) -> bool:
        # a nynorsk text names a bokmål question's noun in its own spelling («4 900 innbyggjarar»)
        return any(stem == target or stem.endswith(target) for word in WORD.findall(text) for stem in _spelled(word))

    named = names_noun(sentence)
    counting = next(
        (m.end() for m in _NUMBER_OF.finditer(sentence) if names_noun(" ".join(sentence[m.end() :].split()[:within]))),
        None,
    )
    out = []
    for count in _counts(sentence):
        at = sentence.find(count)
        after = sentence[at + len(count) :]
        counted_before = counting is not None and 0 <= at - counting < NUMBER_OF_REACH
        if names_noun(" ".join(after.split()[:within])) or (named and _GENERIC_COUNT.match(after)) or counted_before:
            out.append(count)
    # «24 prosent av de nyansatte sluttet»: a share of the noun tells how many of them, as «hvor mange» asks.
    for share in _SHARE.finditer(sentence):
        after = sentence[share.end() :]
        if _OF.match(after) and names_noun(" ".join(after.split()[: within + 1])):
            out.append(share.group(0))
    return tuple(dict.fromkeys(out))


@lru_cache(maxsize=8192)
def _spelled(word: str) -> frozenset[str]:
    """The stems of a word, with those of its bokmål forms if it is written in nynorsk."""
    from kb.store.lexical import analyse

    return frozenset(t for form in (word, *bokmål_forms(word.lower())) for t in analyse(form, None))


_OF = re.compile(r"\s+av\s", re.IGNORECASE)


def new_items(asks: str, sentence: str, question: str, unit: str = "", counted: str = "") -> tuple[str, ...]:
    """The items of the asked type (and unit) that the sentence holds and the question does not already say.

    A question about «Trygg start» is not answered by a sentence whose only name is «Trygg start», nor a
    question about 2021 by a sentence whose only date is 2021; «hva koster» needs an amount, «hvor stor
    andel» a share, «hvilken måned» a month.
    """
    # NOTE: «hvor mange hadde aldri brukt Teams?» is answered by «41 prosent»: without a counted noun a count
    # question takes any figure.
    if counted:
        finder = partial(counts_of, noun=counted)
    elif unit == COUNT:
        finder = figures
    else:
        finder = _UNIT_FINDERS.get(unit) or _FINDERS.get(asks)
    if finder is None:
        return ()
    known = _lower_words(question)
    out = []
    for item in finder(sentence):
        item_words = _lower_words(item)
        if item_words and not item_words <= known:
            out.append(item)
    return tuple(out)


def asked_items(asked: Question, sentence: str) -> tuple[str, ...]:
    """`new_items` for what a read question asks: its type, unit and counted noun; a change only in a change."""
    if asked.change and not reports_change(sentence):
        return ()
    return new_items(asked.asks, sentence, asked.text, asked.unit, asked.counted)


# Words before and after the asked noun within which its name stands: an apposition or a clause about it
# («programmet «Lede i Østfold»», «turnusmodulen i Gat», «Venus er den andre planeten»).
NAME_REACH = 5
# A sentence that gives a name by a naming verb: «Studiet av ordspråk kalles parømiologi».
_NAMES_IT = re.compile(
    r"\b(?:heter|heiter|het|hette|kalles|kallast|kalt|kalla|kjent som|med navnet|med namnet|fikk navnet|fekk namnet)\b",
    re.IGNORECASE,
)


def _same_noun(asked: str, word: str) -> bool:
    """Whether two stems are the same noun: equal, or one inflection away («program», «programm»)."""
    if word == asked:
        return True
    return min(len(asked), len(word)) >= 5 and abs(len(word) - len(asked)) <= 2 and word.startswith(asked[:-2])


def _is_noun(asked: frozenset[str], word: str) -> bool:
    """Whether a word is the asked noun (`asked`: its stems, `_spelled`) in some spelling and inflection."""
    return any(_same_noun(a, s) for a in asked for s in _spelled(word))


def unnamed(sentence: str, noun: str, question: str, lowercase: frozenset[str] = frozenset()) -> bool:
    """Whether a sentence speaks of the noun a name question asks about, but with no name by it.

    «Ledere deltar i et regionalt lederutviklingsprogram …» tells that a programme exists, not what it is called;
    «Språkstigen er kommunens program …» names it. A name is «quoted» text, an acronym, a figure after the noun
    («Europavei 6»), or a capitalised word the question does not already say (after a colon too: «filmene …:
    Et nytt håp, …»), a sentence's first one only when the text read never writes it in lower case
    (`lowercase`): «Språkstigen», not «Ledere». A compound that ends in the noun names its kind
    («utviklingssamtale» to «Hvilken samtale …?»), and a naming verb names it («… kalles parømiologi»).
    """
    if _NAMES_IT.search(sentence):
        return False
    asked = _spelled(noun)
    known = _lower_words(question)
    words = list(WORD.finditer(sentence))
    at = []
    for i, word in enumerate(words):
        if _is_noun(asked, word.group(0)):
            at.append(i)
        elif (
            any(len(a) >= 4 and s.endswith(a) for a in asked for s in _spelled(word.group(0)))
            and word.group(0).lower() not in known
        ):
            return False  # a compound of the noun: «utviklingssamtale», «trondheimsklubben»
    if not at:
        return False
    for i in at:
        near = words[max(i - NAME_REACH, 0) : i + NAME_REACH + 1]
        start, end = near[0].start(), near[-1].end()
        found = [m.group(1) for m in _QUOTED.finditer(sentence) if start - 2 <= m.start() <= end]
        found += [m.group(0) for m in _ACRONYM.finditer(sentence, start, end)]
        if i + 1 < len(words) and words[i + 1].group(0).isdigit():
            found.append(words[i + 1].group(0))
        for w in near:
            before = sentence[: w.start()].rstrip()
            opens = not before or before.endswith((".", "!", "?"))
            if w.group(0)[0].isupper() and (not opens or w.group(0).lower() not in lowercase):
                found.append(w.group(0))
        if any(not _lower_words(name) <= known for name in found):
            return False
    return True


# The parts of a sentence that a list or a clause sets apart.
_CLAUSE = re.compile(r"[^,;:–]+")


def figure_elsewhere(sentence: str, noun: str, items: tuple[str, ...]) -> bool:
    """Whether a sentence lists the measured noun as a member of its own and its figures belong to other members.

    «… tilbyr fylkeskommunen rekrutteringstillegg, nedbetaling av studielån med inntil 50 000 kroner …» gives
    no size of the recruitment bonus. A noun that goes on in its part («… areal fra å omfatte Kvadraturen i 1624,
    mindre enn en kvadratkilometer») or is followed by its figure («formuen, 5 milliarder kroner») keeps them.
    """
    asked = _spelled(noun)
    parts = _CLAUSE.findall(sentence)
    listed = False
    for i, part in enumerate(parts):
        part_words = WORD.findall(part)
        if not any(_is_noun(asked, w) for w in part_words):
            continue
        if any(item in part for item in items) or not _is_noun(asked, part_words[-1]) or i + 1 == len(parts):
            return False
        if any(item.split()[0] in parts[i + 1].split()[:2] for item in items):
            return False  # an apposition: the figure opens the next part
        listed = True
    return listed


# A sentence that states a goal or a plan, not what happened: it does not answer what was done or achieved.
_GOAL_SENTENCE = re.compile(
    r"\b(?:skal|skulle ha|målet er|målet var|målsettingen er|ambisjonen er|planlegger|planlegg|"
    r"innen (?:utgangen av )?(?:19|20)\d{2})\b",
    re.IGNORECASE,
)
# A sentence that tells what was done, in the words Norwegian reports use for it (bokmål and nynorsk): a measure
# even under a heading that names none.
_MEASURE_WORDING = re.compile(
    r"\b(?:innførte|innført|innfører|etablerte|etablert|oppretta|opprettet|oppretter|startet|starta|satte i gang|"
    r"sette i gang|tilbyr|tilbød|tilbydd|tilbode|får tilbud|får tilbod|dekker|dekkjer|dekket|gjennomførte|"
    r"gjennomført|lanserte|utviklet|utvikla|la om|ansatte|tilsette|tok i bruk|bruker nå|brukar no)\b",
    re.IGNORECASE,
)


def states_day(sentence: str, iso: str) -> bool:
    """Whether the sentence gives the day `iso` (YYYY-MM-DD), in words («13. juni 2024») or digits («13.06.2024»)."""
    year, month, day = int(iso[:4]), int(iso[5:7]), int(iso[8:10])
    written = rf"(?<![\d.])0?{day}\.\s*(?:{MONTHS[month - 1]}\s+{year}|0?{month}\.{year})\b"
    return bool(re.search(written, sentence, re.IGNORECASE))


def states_goal(sentence: str) -> bool:
    """Whether a sentence states a goal or a plan («skal», «målet er», «innen 2026») rather than what happened."""
    return bool(_GOAL_SENTENCE.search(sentence))


# A goal that also gives where things stand («… 80 lærlinger fra 2026, mot 62 i 2023»): a figure of a past year.
_BASELINE = re.compile(r"\b(?:mot|fra|frå)\s+\d[\d  ]*(?:[.,]\d+)?\s+(?:prosent\s+|\w+\s+)?i\s+(?:19|20)\d\d\b", re.I)


def reports_baseline(sentence: str) -> bool:
    """Whether a goal sentence also reports a figure for a year («…, mot 62 i 2023»)."""
    return bool(_BASELINE.search(sentence))


def mentions_year(text: str, years: tuple[str, ...]) -> bool:
    """Whether the text names one of the years («2021»), also as «2021–2024» or «2021/22»."""
    return any(re.search(rf"(?<!\d){year}(?!\d)", text) for year in years)


def about_year(sentence: str, context: str, years: tuple[str, ...]) -> bool:
    """Whether a sentence is about one of the asked years: those it names itself, else its heading's and title's.

    «Sykefraværet var 11,4 prosent i 2023.» in «Kompetanseplan 2024–2027» is about 2023, not 2024; a sentence
    that names no year is about its document's years. True when no year is asked about.
    """
    if not years:
        return True
    return mentions_year(sentence if _YEAR.search(sentence) else context, years)


# --- section roles -------------------------------------------------------------------------------------------
# A section's role comes from its heading (ingest.roles, stored on each chunk at ingest). A sentence without
# such a heading gets its role from its wording where that is unmistakable: a reported change in figures
# («fra 38 til 52 prosent») is a result.
_CHANGE = re.compile(
    r"\bfr[aå]\s+\S+(?:\s+\S+)?\s+til\s+\S+|\b(?:økte|auka|steg|sank|falt|fall|gikk ned|"
    r"gjekk ned|gikk opp|gjekk opp|ble redusert|vart redusert|halvert\w*|doblet|dobla)\b",
    re.IGNORECASE,
)
# NOTE: a change in the perfect tense («har gått ned fra 24 prosent i 2022 til 11 prosent i 2024», «har økt»)
# answers a question about how much something changed, but is no result role: «økt», «redusert» are as often
# adjectives («økt kompetanse», «40 prosent redusert arbeidstid»), and as roles they put «Sarpsborg delte at
# avgangsalderen har økt …» into three answers about seniors on the own set.
_PERFECT_CHANGE = re.compile(
    r"\bfr[aå]\s+\S+(?:\s+\S+){0,3}\s+til\s+\S+|\b(?:økt|steget|sunket|minket|minka|gått (?:ned|opp)|"
    r"(?:blitt|er) redusert|redusert med)\b",
    re.IGNORECASE,
)


def reports_change(sentence: str) -> bool:
    """Whether a sentence reports a change in figures («økte fra 38 til 52 prosent», «har falt 77 prosent»)."""
    return bool(_CHANGE.search(sentence) or _PERFECT_CHANGE.search(sentence)) and bool(figures(sentence))


def sentence_role(sentence: str, heading: str) -> str:
    """A sentence's role: a result if it reports a change in figures, else its heading's role.

    A change («økte fra 11 av 17 til 19 av 22») is a result wherever it stands, but not a goal's «skal økes
    fra … til …». A sentence under no telling heading is a measure when it says what was done («Kommunen
    innførte …», «Ansatte får tilbud om …»).
    """
    if _CHANGE.search(sentence) and figures(sentence) and not states_goal(sentence):
        return RESULT_ROLE
    role = section_role(heading)
    if not role and _MEASURE_WORDING.search(sentence) and not states_goal(sentence):
        return MEASURE_ROLE
    return role
