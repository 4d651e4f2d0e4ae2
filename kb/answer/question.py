"""What a question asks: its answer type, the municipalities and years it names, its words in the store's spelling."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache

from kb.lexical import analyse, words

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
_NETWORK_WORDS = re.compile(r"samling|nettverk", re.IGNORECASE)


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


@lru_cache(maxsize=4096)
def _stems(text: str) -> frozenset[str]:
    return frozenset(t for t in analyse(text, None) if len(t) > 1)


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
