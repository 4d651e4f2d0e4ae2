"""What a question asks: its answer type, the municipalities and years it names, its words in the store's spelling."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

from kb.store.lexical import analyse, store_form, words
from kb.store.lexical import bokmål_wording as store_wording
from kb.types import MONTHS

_COMPARE = re.compile(
    r"\b(kommunene|kommuner|medlemmene|de andre|andre kommuner|hver kommune|hvem har|hvilke kommuner|"
    r"sammenlign\w*|forskjell\w*|på tvers|"
    # nynorsk
    r"kommunane|kommunar|medlemene|medlemmane|dei andre|andre kommunar|kvar kommune|kven har|kva kommunar|"
    r"kva for kommunar|samanlikn\w*|skilnad\w*)\b",
    re.IGNORECASE,
)
# «er med», and the infinitive after a modal verb: «Kan alle kommuner i Østfold være med i nettverket?»
_MEMBERSHIP = re.compile(
    r"\b(?:er|blir|vert|kan bli|ble|vart|være|vere|bli) (?:med|medlem\w*)\b.{0,30}\bnettverk"
    r"|\bmedlem\w* (?:i|av) (?:lærings)?nettverk|\b(?:deltar|deltek|delta) i (?:lærings)?nettverk",
    re.IGNORECASE,
)
# A word of a question or a sentence: letters, digits and hyphens («100-dagerssamtalen», «KS-Læring»).
WORD = re.compile(r"[\wæøåÆØÅ-]+")
_NETWORK_WORDS = re.compile(r"samling|nettverk", re.IGNORECASE)
# «Hvem har ansvar for tiltakene …?» asks for a role or a person, not which municipalities have done something.
_RESPONSIBLE = re.compile(r"\b(?:hvem|kven) (?:har|hadde|får|fikk|fekk|skal ha) (?:hoved)?ansvar", re.IGNORECASE)
# «samlingen om onboarding», «heltidssamlinga», «på samlingene»: the network's sessions, told in its notes.
SESSION_WORDS = re.compile(r"samling", re.IGNORECASE)
# How a question names one session (not «samlingene», all of them): by its theme after «samlingen om …» or
# before «-samlingen» («heltidssamlingen», «lærlingsamlinga»), by its month («samlingen i januar 2024»), or as
# the newest («neste samling»: the newest note says when and where).
_SESSION_THEME = re.compile(
    r"\bsamling(?:en|a)\s+(?:om|med tema)\s+(.+?)(?=\s+(?:i|på|for|med|og|eller|da|der|som|etter|før)\b|[,.?!;:]|$)"
    r"|\b([\wæøå]+?)s?samling(?:en|a)\b",
    re.IGNORECASE,
)
_ONE_SESSION = re.compile(r"samling(?:en|a)\b", re.IGNORECASE)
_LATEST_SESSION = re.compile(
    r"\b(?:neste|siste|sist|forrige|førre|nyeste)\s+(?:nettverks)?samling(?:en|a)?\b", re.IGNORECASE
)
_NOT_THEME = frozenset({"nettverk", "nettverks", "læringsnettverk", "pilot", "første", "siste", "neste", "forrige"})
# «Når var samlingen om lærlinger?», «Når ble heltidssamlingen holdt?»: when the session itself was, the day its
# note is dated; not «Når er neste samling?» (the newest note gives the next one's day) nor a deadline in a note.
_WHEN_SESSION = re.compile(
    r"^\W*(?:når|kva tid|kor tid)\s+(?:var|er|ble|blei|vart|blir|vert|holdes|startet|starta|begynte|byrja)\s+"
    r"(?:den\s+)?(?:siste\s+|forrige\s+|førre\s+)?[\wæøå]*samling(?:en|a)?\b",
    re.IGNORECASE,
)
# «Hvor var samlingen om lærlinger?», «Hvor er neste samling?»: where a session is or was held, a place (a name).
_WHERE_SESSION = re.compile(
    r"^\W*(?:hvor|kvar)\s+(?:var|er|ble|blei|vart|blir|vert|holdes|skal)\s+(?:den\s+)?"
    r"(?:(neste|siste|forrige|førre)\s+)?[\wæøå]*samling(?:en|a)?\b",
    re.IGNORECASE,
)


# --- municipalities in the question -------------------------------------------------------------------------
def _forms(name: str) -> set[str]:
    """Inflected forms of a municipality name as users write them: «Sarpsborgs», «Rådes», «fylkeskommunen»."""
    low = name.lower()
    forms = {low, low + "s"}
    if "fylkeskommune" in low:
        forms |= {"fylkeskommunen", "fylkeskommunens", "fylkeskommune", "fylket", "fylkets"}
    return forms


def _positions(low: str, name: str) -> list[int]:
    """Where a lower-cased text names a municipality, in any inflected form."""
    return [m.start() for form in _forms(name) for m in re.finditer(rf"(?<![\wæøå]){re.escape(form)}(?![\wæøå])", low)]


def named_municipalities(question: str, known: Sequence[str]) -> list[str]:
    """Known municipalities the question names (any inflected form), in the order they appear."""
    low = question.lower()
    found = [(min(at), name) for name in known if name and (at := _positions(low, name))]
    return [name for _, name in sorted(found)]


def last_named(text: str, known: Sequence[str]) -> str:
    """The municipality a text names last («Sarpsborg presenterte … Fredrikstad fortalte at …» -> Fredrikstad)."""
    low = text.lower()
    found = [(max(at), name) for name in known if name and (at := _positions(low, name))]
    return max(found)[1] if found else ""


def is_comparison(question: str) -> bool:
    """Whether the question asks across municipalities («hvordan har kommunene …», «hvem har …»).

    Not one that asks who belongs to the network («Hvilke kommuner er med i nettverket?»): the network's own
    documents answer that, not one section per member; nor «hvem har ansvar for …», which asks for a role.
    """
    return bool(_COMPARE.search(_RESPONSIBLE.sub("", question))) and not _MEMBERSHIP.search(question)


@lru_cache(maxsize=4096)
def _stems(text: str) -> frozenset[str]:
    return frozenset(t for t in analyse(text, None) if len(t) > 1)


# Nynorsk function words the search's stop list lacks: in a question they are not words the store never uses.
# NOTE: not in the search's stop list: adding them (and «ei», «finst») there cost onboarding R@5 0.925 -> 0.908.
_NYNORSK_STOP = frozenset({"frå", "berre", "utan", "vert", "vorte", "desse", "sjølv", "kor", "fekk", "gjer", "òg"})
# The verbs a question asks a name with («hva heter programmet?», «kva heiter …», «hva kalles …»).
NAMING_VERBS = ("heter", "heiter", "kalles", "kallast")


def in_store_spelling(text: str, idf: Mapping[str, float], skip: Iterable[str] = ()) -> frozenset[str]:
    """The content stems of a question, a word the store lacks replaced by its bokmål form when the store has it.

    A nynorsk question to a bokmål store would otherwise look like words the store never uses and be refused
    («Kva gjorde Rakkestad med sjukefråværet blant reinhaldarane?»). Unknown words without a known bokmål form
    («sykkelleasing», «skademelding») stay unseen.
    """
    skipped = set(skip)
    out: set[str] = set()
    for word in words(text):
        if word not in _NYNORSK_STOP:
            out |= set(_stems(store_form(word, idf.__contains__))) - skipped
    return frozenset(out)


def bokmål_wording(question: str, idf: Mapping[str, float]) -> str:
    """A nynorsk question in the words of the store whose stems `idf` holds (kb.store.lexical.bokmål_wording).

    NOTE: measured with `kb eval --answers`: evalsets/nynorsk.jsonl key facts 0.607 -> 0.643 (each fact 0.690 ->
    0.724), answered 0.929 and off-topic refused 1.000 unchanged; evalsets/naer-bom near misses refused 0.870 ->
    0.891; evalsets/nye-kommuner (a nynorsk case among its documents) unchanged. The words rewritten are not new
    to the store, so a rewritten question's novelty is counted as a bokmål question's (select.novelty): with the
    nynorsk discount kept, 2 of 5 off-topic nynorsk questions were answered. Rewriting every nynorsk word that
    differs as a word («fleire» -> «flere», kb.store.nynorsk's table) cost nye-kommuner 0.750 -> 0.708: the
    Hvaler case is written in nynorsk.
    """
    return store_wording(question, idf.__contains__)


def _question_stems(question: str, idf: Mapping[str, float], ignore_words: Sequence[str]) -> frozenset[str]:
    """The question's content stems in the store's spelling, without the words that only set the scope."""
    return in_store_spelling(question, idf, set().union(*(_stems(w) for w in ignore_words)))


# --- what is asked ------------------------------------------------------------------------------------------
# The answer types, from the question words of bokmål and nynorsk. A typed question (figure, date, name) is
# answered only by a sentence that holds an item of that type; the others by what was done, what came of it,
# or an overview.
FIGURE, DATE, NAME, MEASURE, RESULT, OVERVIEW = "figure", "date", "name", "measure", "result", "overview"
TYPED = frozenset({FIGURE, DATE, NAME})

# NOTE: general Norwegian question words and the nouns that name a quantity, a time or a kind of measure; no
# word of our documents' topics. «hvilken/hvilke/kva for + noun» takes the noun's type, else it asks a name.
_QUANTITY = (
    r"andel\w*|antall\w*|tal(?:l|let|la)?|pris\w*|kostnad\w*|kostar|koster|sum(?:men)?|beløp\w*|budsjett\w*|"
    r"prosent\w*|nivå\w*|størrelse\w*|storleik\w*|mengde\w*|timer|timar|kroner|lønn\w*|løn|tilskudd\w*|tilskot\w*|"
    r"alder\w*|skår\w*|snitt\w*|gjennomsnitt\w*|score\w*|poeng\w*"
)
_TIME = r"år(?:et|stal)?|dato\w*|måned\w*|månad\w*|tidspunkt\w*|dag(?:en)?|uke(?:n)?|veke|semester\w*|periode\w*"
_MEASURES = r"tiltak\w*|grep(?:ene)?|metod\w*|virkemid\w*|aktivitet\w*|strategi\w*|løsning\w*|ordning\w*|måte\w*|måtar"
_RESULTS = r"resultat\w*|effekt\w*|erfaring\w*|lærdom\w*"
# «hvor stor …», «hva koster …»: the size and price words that a figure question (and its measured noun) uses
_SIZE = r"mye|mykje|stor|store|stort|høy|høg|høyt|høgt|lang|langt|dyr|dyrt"
_COSTS = r"koster|kostar|kostet|kosta"
_WHICH = r"(?:hvilke[nt]?|kva for (?:ein|eit|ei|nokre)?|kva slags|hva slags|hvilken type)"
_WHICH_ONE = r"(?:hvilke[nt]|kva for (?:ein|eit|ei)|hvilken type)"  # one named thing, not a list («hvilke …»)
_ASKS = (
    (
        FIGURE,
        re.compile(
            rf"\b(?:hvor|kor) (?:mange|{_SIZE}|lav|låg)\b"
            rf"|\b(?:hva|kva) (?:{_COSTS}|betalte|betalar|betaler|tjener|tener)\b"
            rf"|\b(?:hva|kva) (?:er|var|ble|vart|blei|blir|vert) (?:den |det )?(?:\w+ )?(?:{_QUANTITY})\b"
            rf"|\b{_WHICH} (?:{_QUANTITY})\b",
            re.IGNORECASE,
        ),
    ),
    (
        DATE,
        re.compile(
            r"^\W*(?:og |men )?(?:når|kva tid|kor tid)\b|[,:;]\s*(?:når|kva tid)\b"
            r"|\b(?:hvor|kor) (?:lenge|lang tid|tidleg|tidlig|ofte)\b|\b(?:fra|frå|siden|sidan) når\b"
            rf"|\b{_WHICH} (?:{_TIME})\b|\b(?:hva|kva) (?:er|var) (?:datoen|fristen|tidspunktet)\b",
            re.IGNORECASE,
        ),
    ),
    (
        NAME,
        re.compile(
            r"^\W*(?:hvem|kven)\b|\b(?:hva|kva) (?:heter|heiter|het|hette|kalles|kallast|blir kalt|vert kalla)\b"
            rf"|\b{_WHICH_ONE} (?!(?:{_QUANTITY}|{_TIME}|{_MEASURES}|{_RESULTS}|kommun\w*|medlem\w*)\b)\w+",
            re.IGNORECASE,
        ),
    ),
    (
        RESULT,
        re.compile(
            r"\b(?:hva|kva) (?:ble|blei|vart|var|er|har vært|har vore|viste|gav|ga) (?:\w+ )?(?:resultat\w*|effekt\w*)"
            r"|\b(?:resultat\w*|effekt\w*) av\b|\b(?:hvilke|kva for)\w* (?:resultat|effekt)\w*"
            r"|\bkva (?:resultat|effekt)\w*|\b(?:noe|noko|noen|nokon|godt|gode|bedre|betre) (?:resultat|effekt)\w*"
            r"|\b(?:ga|gav|gir|gjev)\b(?=[^?]*\b(?:resultat|effekt))"  # only the verb: the words between are the topic
            r"|\bvirke(?:t|de)?\b|\bvirka\b|\bfunger\w*|\bhjalp\b|\bhjelpte\b|\bhjulpe[tn]?\b|\bhjelpe[rs]? det\b"
            r"|\bkom (?:det )?ut av\b|\b(?:få|får|fått|fikk|fekk)(?: (?:vi|me|de|dei|dere|det|man))? ut av\b"
            r"|\butfall\w*|\b(?:gikk|gjekk) det\b|\blyktes\b|\blukkast\b|\bførte (?:det )?til\b|\bgav (?:det )?\b"
            r"|\boppnådd\w*|\bendret (?:seg|det)\b|\bbetydning\b|\b(?:hva|kva) viste\b",
            re.IGNORECASE,
        ),
    ),
    (
        MEASURE,
        re.compile(
            r"^\W*(?:hvordan|korleis|koss)\b"
            r"|\b(?:hva|kva) (?:har|hadde|gjorde|gjør|gjer) \w+(?: \w+)? (?:gjort|for å|for at|med)\b"
            rf"|\b(?:hva|kva) (?:gjorde|gjør|gjer|har \w+ gjort)\b|\b(?:{_WHICH}|kva) (?:{_MEASURES})\b"
            r"|\b(?:hva|kva) (?:er|ble|blei|vart|blir|vert|har blitt|har vorte) gjort\b"
            r"|\b(?:hvordan|korleis)\b",
            re.IGNORECASE,
        ),
    ),
)
_RESULT_ASKED = next(pattern for kind, pattern in _ASKS if kind == RESULT)
_YEAR = re.compile(r"(?<![\d.,])(?:19|20)\d{2}(?![\d.,]\d)")
_SPAN_OF_YEARS = re.compile(r"-(?:tallet|talet|årene|åra)\b")  # «på 1900-tallet» asks about no one year
# The cardinal numbers of bokmål and nynorsk up to twelve (not «en/ein», an article as often as a number).
COUNT_WORDS = {"to": 2, "tre": 3, "fire": 4, "fem": 5, "seks": 6, "sju": 7, "syv": 7, "åtte": 8, "ni": 9, "ti": 10}
COUNT_WORDS |= {"elleve": 11, "tolv": 12}
_NUMBER = rf"\d{{1,3}}(?:[ \u00a0]\d{{3}})+(?!\d)|\d+|{'|'.join(COUNT_WORDS)}"  # «235 000» is one number
# A count standing alone: not in a name or compound («F-35», «70-årsfeiringa»), a decimal, an ordinal or a date's
# day («5. klimarapport», «19. januar»), nor a value with a unit or a span of time («40 prosent», «to år»), nor a
# rate's or a place's in a row («per 1000 innbyggere», «nummer 11», «paragraf 264»). A year is a year
# (`_A_YEAR`), and a number after a name is the name's («SFS 2213», «The Sims 2»).
_COUNT_TEXT = rf"(?<![\w.,-])(?<!per )(?<!nummer )(?<!nr\. )(?<!paragraf )(?<!§ )({_NUMBER})(?![\w-]|[.,]\d|\.\s)"
_A_YEAR = re.compile(r"1\d{3}|20\d{2}")
# A capitalised word (not the first: «Fem kommuner …») or an acronym just before the number.
_NAME_BEFORE = re.compile(r"(?:(?<=\S)\s+[A-ZÆØÅ][\wæøåÆØÅ-]*|^\W*[A-ZÆØÅ]{2,}[\w-]*)\s+$")
_STATED_COUNT = re.compile(
    _COUNT_TEXT + r"(?!\s*(?:%|prosent|kr\b|kroner|mill|meter|km\b|kilo|grader|"
    r"år\b|åra\b|årene|måneder|månader|uker|veker|dager|dagar|timer|minutt))",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Question:
    """What a question asks, read from its words."""

    text: str
    asks: str  # FIGURE, DATE, NAME, MEASURE, RESULT or OVERVIEW
    years: tuple[str, ...] = ()  # years it names («i 2021»): a typed answer must be about one of them
    comparison: bool = False  # across municipalities
    unit: str = ""  # what kind of figure or date: SHARE, AMOUNT, COUNT; MONTH, YEAR, DURATION; "" = any
    names: tuple[str, ...] = ()  # the named things it asks about («Lederløftet», «Menn i helse»)
    plan: bool = False  # asks about a goal or a plan («skal», «mål»), so a goal answers it
    counted: str = ""  # what «hvor mange …» counts («lærlinger»): the figure must count that
    contact: bool = False  # asks whom to contact («Hvem kan jeg kontakte om …?»): a case's byline answers it
    agreed: bool = False  # asks what a session agreed («Hva ble avtalt …?»): the actions its notes list answer it
    change: bool = False  # asks how much something changed («hvor mye gikk avgangen ned?»): a change answers it
    name_of: str = ""  # the noun a name question asks the name of («Hva heter programmet …?» -> «programmet»)
    measured: str = ""  # what «hvor stor er …», «hva koster …» asks the size of: its figure must stand by it
    counts: frozenset[int] = frozenset()  # counts it states («de to turnusmodellene»): the answer must be about them

    @property
    def typed(self) -> bool:
        """Whether the answer is one item (a figure, a date, a name) that a sentence either holds or does not."""
        return self.asks in TYPED


# «Hva var sykefraværet i 2021?», «Kva er heiltidsdelen i Halden?»: a question after what something is or was. It
# asks a figure when the store writes that something with one (kb.answer.select.value_question), else an overview.
# The something is a noun in its definite form («sykefraværet», «andelen») before the first preposition.
_WHAT_IS = re.compile(r"^\W*(?:hva|kva) (?:er|var|ble|blei|vart|blir|vert)\b", re.IGNORECASE)
_SUBJECT_ENDS = frozenset(
    {"i", "på", "for", "av", "ved", "til", "fra", "frå", "etter", "blant", "hos", "med", "om", "under", "innen"}
    | {"mellom", "over", "per", "som", "og", "eller", "når", "da", "der"}
)
_DEFINITE = ("en", "et", "ene", "ane", "na")


def what_is_asked_about(question: str) -> tuple[str, ...]:
    """The nouns in definite form a «hva er/var …» question asks the value of; () for any other question.

    «Hva var det samlede sykefraværet i 2021?» -> («sykefraværet»,).
    """
    start = _WHAT_IS.match(question)
    if not start:
        return ()
    nouns = []
    for word in re.findall(r"[\wæøåÆØÅ-]+|[^\w\s]", question[start.end() :]):
        if not word[0].isalnum() or word.lower() in _SUBJECT_ENDS:
            break
        if word.lower().endswith(_DEFINITE) and word.lower() not in {"den", "det", "dei", "denne", "dette"}:
            nouns.append(word)
    return tuple(nouns)


# A query typed as into a search box has no question word to read («HR-vakt Halden antall henvendelser 2024»,
# «Rakkestad-stipendet beløp»): a noun that can only name a quantity or a point in time asks for one. NOTE: not
# the wider _QUANTITY words: «lønn», «tilskudd» or «timer» name a topic as often as a figure («Hva vet nettverket
# om lønn?»). Own set: the three keyword queries with «antall» and one with «beløp» become figure questions, key
# facts 0.434 -> 0.441; nye-kommuner, nynorsk, naer-bom and NorQuAD unchanged.
_QUANTITY_NOUN = re.compile(
    r"\b(?:antall(?:et)?|andel(?:en)?|prosentandel(?:en)?|pris(?:en)?|kostnad(?:en|er|ene)?|beløp(?:et)?)\b",
    re.IGNORECASE,
)
_TIME_NOUN = re.compile(r"\b(?:dato(?:en)?|tidspunkt(?:et)?|frist(?:en)?)\b", re.IGNORECASE)
# A search-box query («heltid Sarpsborg tiltak», «lærlinger Rakkestad resultater»: no question word, no question
# mark) asks for what its step noun names, as a quantity noun asks for a figure; a question says what it asks
# («Ble nettverket flinkere til å gjennomføre tiltakene sine?» asks no measures).
_STEP_NOUNS = (
    (MEASURE, re.compile(r"\btiltak(?:et|ene|a)?\b", re.IGNORECASE)),
    (RESULT, re.compile(r"\b(?:resultat|effekt)(?:et|er|ene|a)?\b", re.IGNORECASE)),
)


# «På hvilken måte …?» asks what «Hvordan …?» asks; read as that, its words «hvilken» and «måte» neither make it a
# name question nor count as words the answer must share with the text (bokmål and nynorsk).
_IN_WHAT_WAY = re.compile(r"\bpå (?:hvilken|hvilke|kva for ein|kva for|kva) (?:måte|måtar|måter)\b", re.IGNORECASE)


def plain_wording(question: str) -> str:
    """The question with «på hvilken måte» (nynorsk «på kva måte») as «hvordan» («korleis»)."""

    def how(match: re.Match[str]) -> str:
        word = "korleis" if "kva" in match.group(0).lower() else "hvordan"
        return word.capitalize() if match.group(0)[0].isupper() else word

    return _IN_WHAT_WAY.sub(how, question)


def without_result_words(question: str) -> str:
    """The question without the words that ask for a result («Hva ble resultatet av …», «hvordan gikk det»)."""
    return _RESULT_ASKED.sub(" ", question)


def asked_type(question: str) -> str:
    """The answer type a question asks for (FIGURE, DATE, NAME, RESULT, MEASURE), OVERVIEW when none."""
    for kind, pattern in _ASKS:
        if pattern.search(question):
            return kind
    if _QUANTITY_NOUN.search(question):
        return FIGURE
    if _TIME_NOUN.search(question):
        return DATE
    if "?" not in question and not _OPENS_QUESTION.search(question):
        for kind, noun in _STEP_NOUNS:
            if noun.search(question):
                return kind
    return OVERVIEW


# A question that asks two things: «Når startet piloten, og hvor mange var med?», «Hvem har ansvar for tiltakene,
# og når er fristene?». The second begins after a comma or a full stop with a question word of its own, or is a
# sentence of its own that ends in a question mark («Hvor mange kan være med? Går det an å ta med en tillitsvalgt?»).
_QUESTION_WORD = r"(?:hva|hvor|når|hvem|hvilke[nt]?|hvordan|hvorfor|kva|kor|korleis|koss|kven|kvifor)"
_NEXT_QUESTION = re.compile(
    rf"(?:,|[?.!])\s+(?:(?:og|eller|men)\s+)?(?={_QUESTION_WORD}\b)|\?\s+(?=[A-ZÆØÅ][^?.!]*\?)", re.IGNORECASE
)


def question_parts(question: str) -> tuple[str, ...]:
    """The questions a question asks, each with an answer type of its own; one part when it asks one thing.

    A lead-in (`_lead_in`: «Bemanningssenteret i Halden, hvor mange årsverk?», «Har noen klart det? Hva gjorde
    de?») belongs to the question after it, and a part that one answer answers with the one before it
    («hvordan …, og hva ble effekten?»: what was done and what came of it) to that one.
    """
    bounds = [(0, 0), *((m.start(), m.end()) for m in _NEXT_QUESTION.finditer(question)), (len(question), 0)]
    spans: list[tuple[int, int]] = []  # where each part starts and ends in the question
    for (_, start), (end, _) in pairwise(bounds):
        if spans:
            before = question[spans[-1][0] : spans[-1][1]]
            if _lead_in(before) or _one_answer(asked_type(before), asked_type(question[start:end])):
                spans[-1] = (spans[-1][0], end)
                continue
        spans.append((start, end))
    return tuple(question[a:b].strip() for a, b in spans if question[a:b].strip()) or (question,)


_OPENS_QUESTION = re.compile(rf"\b{_QUESTION_WORD}\b", re.IGNORECASE)


def _lead_in(part: str) -> bool:
    """A part that asks nothing the next part's answer does not give.

    It has no question word, or asks only «who» of a comparison («Hvem har klart å kutte kostnadene, og hvor
    mye sparte de?»): the names of the next part's sections answer that.
    """
    return not _OPENS_QUESTION.search(part) or (asked_type(part) == NAME and is_comparison(part))


def _one_answer(first: str, second: str) -> bool:
    """Whether one answer answers both types: the same, or what was done and what came of it (a case's story)."""
    return first == second or {first, second} == {MEASURE, RESULT}


# The unit a typed answer must carry. NOTE: general words for shares, amounts, counts and spans of time.
SHARE, AMOUNT, COUNT, MONTH, YEAR, DURATION, DAY = "share", "amount", "count", "month", "year", "duration", "day"
FREQUENCY = "frequency"  # «hvor ofte»: how many times in a span of time («fire ganger i året», «annenhver uke»)
_UNITS = (
    (SHARE, re.compile(r"\b(?:andel\w*|prosent\w*|hvor stor del|kor stor del|del av)\b", re.IGNORECASE)),
    # «Hvor mange lærlinger fikk tilskudd?» counts lærlinger, and «hvor mange Grammy-priser» counts prizes: «hvor
    # mange» asks a count, whatever money word comes later, unless money is what it counts («hvor mange kroner»).
    (COUNT, re.compile(r"\b(?:hvor|kor) mange\b(?! (?:kroner|kr|millioner|milliarder|mill)\b)", re.IGNORECASE)),
    (
        AMOUNT,
        re.compile(
            r"\b(?:kost\w*|pris\w*|kroner|kr|nok|budsjett\w*|betal\w*|lønn\w*|løn|tilskudd\w*|tilskot\w*|"
            r"beløp\w*|sum(?:men)?|hvor dyr\w*|kor dyr\w*|midler)\b",
            re.IGNORECASE,
        ),
    ),
    (COUNT, re.compile(r"\b(?:hvor mange|kor mange|antall\w*|talet på|tallet på)\b", re.IGNORECASE)),
)
_DATE_UNITS = (
    (DAY, re.compile(r"\b(?:hvilken|hvilke|kva) (?:dato|dag)\b|\bdatoen\b", re.IGNORECASE)),
    (MONTH, re.compile(r"\b(?:måned\w*|månad\w*)\b", re.IGNORECASE)),
    (YEAR, re.compile(r"\b(?:hvilket år|kva år|årstal\w*|hvilke år)\b", re.IGNORECASE)),
    (DURATION, re.compile(r"\b(?:hvor|kor) (?:lenge|lang tid)\b|\bvarighet\w*", re.IGNORECASE)),
    (FREQUENCY, re.compile(r"\b(?:hvor|kor) ofte\b", re.IGNORECASE)),
)
# «Hvor mye gikk avgangen ned …?», «Kor mykje auka delen …?», «Hvor mye har aksjen falt?»: a figure question
# about a change, which a level alone («I 2022 sluttet 24 prosent») does not answer. The verb, in any tense, may
# stand apart from its particle («gikk avgangen blant nytilsatte ned»).
_ASKED_CHANGE = re.compile(
    r"\b(?:hvor|kor) (?:mye|mykje|mange|stor|store|stort)\b.*?(?:"
    r"\b(?:økte|økt|øke|auka|auke|steg|steget|stige|stege|sank|sunket|søkk|falt|falle|fall|minket|minke|minka|"
    r"redusert|redusere|halvert|doblet|dobla)\b"
    r"|\b(?:gikk|gjekk|gått|gå|gjenge)\b.*\b(?:ned|opp)\b)",
    re.IGNORECASE,
)
_PLAN = re.compile(
    r"\b(?:skal|skulle|vil|planlegg\w*|plan\w*|mål\w*|ambisjon\w*|innen|forventer|forventa|budsjett\w*)\b",
    re.IGNORECASE,
)
_COUNTED = re.compile(
    # NOTE: the word must have another after it: «kor mange fullførte?» ends on a verb, not on what is counted.
    r"\b(?:hvor mange|kor mange|antall(?:et)?(?: på)?|talet på|tallet på)\s+(?:nye\s+|flere\s+|fleire\s+)?([\wæøå-]+)"
    r"(?=\s+\w)",
    re.IGNORECASE,
)
# Words after «hvor mange» that are not what is counted: verbs and function words («hvor mange har …»).
_NOT_COUNTED = frozenset(
    {"har", "hadde", "er", "var", "ble", "blei", "vart", "vert", "blir", "fikk", "fekk", "får", "kan", "skal", "av"}
    | {"i", "på", "som", "det", "de", "dei", "prosent", "ganger", "gonger", "fra", "frå", "med", "til", "for", "om"}
)


# Verbs in the past that follow «hvor mange» with no noun between («hvor mange sluttet det første året?»). The
# weak ones end in -et, -te or -a (sluttet, søkte, slutta), but so do nouns («ansatte»): the common ones are listed.
_WEAK_PAST = re.compile(r"(?:et|a)$")
_PAST_VERBS = frozenset(
    {"møtte", "søkte", "begynte", "fullførte", "valgte", "svarte", "meldte", "byrja", "starta", "jobba", "slutta"}
)
_STRONG_PAST = frozenset({"gikk", "gjekk", "kom", "tok", "sto", "stod", "sa", "gjorde", "fant", "fann"})
# A strong verb behind a prefix has a root long enough to find the verb by: «deltok» is «delta» («deltakere»,
# «deltar»), «gjennomgikk» «gjennomgå» («gjennomgått»); «tok» or «gikk» alone would match too many words.
_PREFIXED_STRONG_PAST = re.compile(r"^(\w{3,}?)(tok|gikk|gjekk)$")
_PRESENT_OF = {"tok": "ta", "gikk": "gå", "gjekk": "gå"}


def past_verb_root(word: str) -> str:
    """The root of a verb in the past («sluttet» -> «slutt», «søkte» -> «søk», «deltok» -> «delta»), else ""."""
    low = word.lower()
    prefixed = _PREFIXED_STRONG_PAST.match(low)
    if prefixed:
        return prefixed.group(1) + _PRESENT_OF[prefixed.group(2)]
    if low in _PAST_VERBS:
        return low.removesuffix("te").removesuffix("a")
    if len(low) > 4 and _WEAK_PAST.search(low) and not low.endswith(("ane", "ene")):
        return low.removesuffix("et").removesuffix("a")
    return ""


def counted_noun(question: str) -> str:
    """The noun «hvor mange» counts («Hvor mange lærlinger …» -> «lærlinger»), or "" when none follows.

    A weak verb in the past is kept (kb.answer.facts.counts_of counts the figures of a sentence that uses it:
    «hvor mange sluttet …?» by «… som slutter … fra 24 til 11 prosent»); another verb counts by any figure.
    """
    match = _COUNTED.search(question)
    word = match.group(1).lower() if match else ""
    if word in _NOT_COUNTED or word in _STRONG_PAST or not words(word):  # «hvor mange fra …»: a stop word
        return ""
    return word


# «Kor stort er rekrutteringstillegget …?», «Hva koster kurset?»: the thing whose size or price is asked.
_MEASURED = re.compile(
    rf"\b(?:hvor|kor)\s+(?:{_SIZE})\s+"
    r"(?:er|var|blir|ble|blei|vart|vert)\s+(?:det\s+|den\s+|de\s+|dei\s+)?([\wæøå-]+)"
    rf"|\b(?:hva|kva)\s+(?:{_COSTS})\s+(?:det\s+|den\s+)?([\wæøå-]+)",
    re.IGNORECASE,
)


def measured_noun(question: str) -> str:
    """The noun whose size or price a question asks («Hvor stor er tomta …?» -> «tomta»), "" when none follows."""
    match = _MEASURED.search(question)
    word = (match.group(1) or match.group(2)).lower() if match else ""
    return word if words(word) and word not in _NOT_COUNTED else ""


# Named things: «quoted» text, and capitalised words after the first (programmes, bodies, places).
_QUOTED = re.compile(r"[«\"“]([^»\"”]{2,80})[»\"”]")
_QUESTION_NAME = re.compile(r"(?<=[\w,;:)»–-] )[A-ZÆØÅ][\wæøåÆØÅ-]{2,}")  # not a second sentence's first word


def question_names(question: str, ignore: Iterable[str] = ()) -> tuple[str, ...]:
    """The named things a question asks about: «quoted» text and capitalised words after the first.

    Municipality names (`ignore`) set the scope and are left out; so are month names.
    """
    skip = {w.lower() for name in ignore for w in name.split()}
    skip |= {w + "s" for w in skip} | _NOT_NAMES  # «Fredrikstads» sets the scope too
    found = [m.group(1) for m in _QUOTED.finditer(question)]
    found += [m.group(0) for m in _QUESTION_NAME.finditer(question) if m.group(0).lower() not in skip]
    return tuple(dict.fromkeys(found))


# Asking whom to contact («Hvem kan jeg kontakte om …?», «Kven er kontaktperson …?»), not how one gets in touch
# («Hvor raskt skal lederen ta kontakt …?») or what a contact person does («Hva forventes av meg som
# kontaktperson?»).
_CONTACT = re.compile(
    r"\b(?:hvem|kven)\b.{0,30}\b(?:kontaktperson\w*|kontakt(?:e|er|ar)|ringe|ringer|ringjer|spørre|spør|spørje|"
    r"snakke med|snakker med|henvende|henvender|vende meg)\b",
    re.IGNORECASE,
)
# Asking what a meeting agreed or decided («Hva ble avtalt …?», «Kva vart vi samde om …?», «Hva ble bestemt …?»).
_AGREED = re.compile(
    r"\b(?:avtalt\w*|avtalte|ble (?:vi )?enige|vart (?:vi )?(?:samde|einige|enige)|vedtatt|vedteke|vedtok|"
    r"besluttet|bestemt|bestemte)\b",
    re.IGNORECASE,
)
_NOT_NAMES = frozenset(MONTHS) | {"kommune"}  # capitalised, but not names of things asked about


@dataclass(frozen=True, slots=True)
class SessionAsked:
    """How a question names one of the network's sessions (kb.answer.select.named_session finds its note)."""

    theme: str = ""  # the theme's words («digital kompetanse», «heltid» of «heltidssamlingen»)
    months: frozenset[int] = frozenset()  # months it names (1-12)
    years: frozenset[str] = frozenset()
    latest: bool = False  # «neste/siste/forrige samling»: the newest
    itself: bool = False  # asks when the session itself was («Når var samlingen om …?»): its note's own day
    where: bool = False  # asks where the session itself was («Hvor var samlingen om …?»): its note's own place


def _when_or_where(question: str) -> tuple[bool, bool]:
    """Whether the question asks when a session itself was, and whether it asks where («Hvor var samlingen …?»)."""
    placed = _WHERE_SESSION.search(question)
    where = placed is not None and (placed.group(1) or "").lower() != "neste"  # the next one's place is told apart
    return bool(_WHEN_SESSION.search(question)), where


def session_asked(question: str, part: str = "") -> SessionAsked | None:
    """How the question names one session, or None when it names none («samlingene», «nettverket»).

    `part`: one of the things the question asks (kb.answer.question.question_parts); whether it asks when or where
    the session was is read from the part, whose pronoun («og når var den?») stands for the session named before.
    """
    itself, where = _when_or_where(with_antecedent(part, "samlingen") if part else question)
    if _LATEST_SESSION.search(question) and not _SESSION_THEME.search(question):
        return SessionAsked(latest=True, itself=itself, where=where)
    if not _ONE_SESSION.search(question):
        return None
    low = question.lower()
    themes = [m.group(1) or m.group(2) for m in _SESSION_THEME.finditer(question)]
    asked = SessionAsked(
        theme=" ".join(t for t in themes if t.lower() not in _NOT_THEME),
        months=frozenset(i + 1 for i, name in enumerate(MONTHS) if re.search(rf"\b{name}\b", low)),
        years=frozenset(m.group(0) for m in _YEAR.finditer(question)),
        itself=itself,
        where=where,
    )
    return asked if asked.theme or asked.months or asked.years else None


# «Hvor var samlingen om lærlinger, og når var den?»: a later part whose subject is only a pronoun asks about what
# the question named before it.
_PRONOUN_SUBJECT = re.compile(
    r"^(\W*(?:og |men )?(?:når|kva tid|kor tid|hvor|kvar|hvem|kven|hva|kva)\s+\w+\s+)(?:den|det|dei|de)(\W*)$",
    re.IGNORECASE,
)


def with_antecedent(part: str, antecedent: str) -> str:
    """The part with its pronoun subject put back as `antecedent` («når var den?» -> «når var samlingen?»)."""
    return _PRONOUN_SUBJECT.sub(lambda m: f"{m.group(1)}{antecedent}{m.group(2)}", part)


# The noun whose name is asked: after «hva heter» the first noun in the definite form («Hva heter det regionale
# lederutviklingsprogrammet …?»: adjectives there end in -e), after «hvilken/hvilket» the word that follows
# («Hvilken plattform …?», «Hvilken samtale …?»).
_NAMING = re.compile(r"\b(?:hva|kva) (?:heter|heiter|het|hette|kalles|kallast)\s+(.*)", re.IGNORECASE)
_WHICH_NAME = re.compile(rf"\b{_WHICH_ONE}\s+(.*)", re.IGNORECASE)
_DEFINITE_NOUN = ("en", "et", "ene", "a")
_ARTICLES = frozenset({"den", "det", "de", "dei", "denne", "dette", "en", "ei", "et", "ein", "eit"})


def named_noun(question: str) -> str:
    """The noun a name question asks the name of, "" when it names none («Hvem …?», «Hva heter hun?»)."""
    naming = _NAMING.search(question)
    if naming:
        nouns = (w for w in WORD.findall(naming.group(1))[:5] if w.lower() not in _ARTICLES and len(w) > 3)
        return next((w for w in nouns if w.lower().endswith(_DEFINITE_NOUN)), "")
    which = _WHICH_NAME.search(question)
    return next(iter(WORD.findall(which.group(1))), "") if which else ""


def read_question(question: str, municipalities: Iterable[str] = ()) -> Question:
    """Analyse a question: its answer type and unit, the years and names it asks about, whether it compares."""
    asks = asked_type(question)
    if asks == OVERVIEW and _WHERE_SESSION.search(question):
        asks = NAME  # a place: «Hvor er neste samling?» is answered by «5. februar 2026 i Fredrikstad.»
    comparison = is_comparison(question)
    if asks == NAME and comparison:
        asks = MEASURE  # «hvem har …»: the names asked for are the municipalities, each with what they did
    units = _UNITS if asks == FIGURE else _DATE_UNITS if asks == DATE else ()
    unit = next((name for name, pattern in units if pattern.search(question)), "")
    return Question(
        text=question,
        asks=asks,
        years=tuple(
            dict.fromkeys(m.group(0) for m in _YEAR.finditer(question) if not _SPAN_OF_YEARS.match(question, m.end()))
        ),
        comparison=comparison,
        unit=unit,
        names=question_names(question, municipalities),
        plan=bool(_PLAN.search(question)),
        counted=counted_noun(question) if unit == COUNT else "",
        contact=bool(_CONTACT.search(question)),
        agreed=asks in (OVERVIEW, MEASURE) and bool(_AGREED.search(question)),
        change=asks == FIGURE and bool(_ASKED_CHANGE.search(question)),
        name_of=named_noun(question) if asks == NAME else "",
        measured=measured_noun(question) if asks == FIGURE and unit != COUNT else "",
        counts=stated_counts(question),
    )


def stated_counts(text: str) -> frozenset[int]:
    """The counts a text states, as numbers: «fem nye avdelinger» -> {5}; years, ordinals and units left out."""
    found = (
        _as_number(m.group(1))
        for m in _STATED_COUNT.finditer(text)
        if not _A_YEAR.fullmatch(m.group(1)) and not _NAME_BEFORE.search(text, 0, m.start())
    )
    return frozenset(found)


def _as_number(written: str) -> int:
    """«235 000» -> 235000, «fem» -> 5."""
    digits = re.sub(r"[ \u00a0.]", "", written)
    return int(digits) if digits.isdigit() else COUNT_WORDS[written.lower()]


_NUMBER_WRITTEN = re.compile(rf"(?<![\w-])(\d{{1,3}}(?:[.]\d{{3}})+(?!\d)|{_NUMBER})(?!\w)", re.IGNORECASE)


def counts_in(text: str) -> frozenset[int]:
    """Every number a text writes, in digits or as a word up to twelve («2», «to», «fem nye» -> {2, 5})."""
    return frozenset(_as_number(m.group(1)) for m in _NUMBER_WRITTEN.finditer(text))  # «1 000», «1.000»
