"""Nynorsk words in bokmål spelling: a nynorsk question to a bokmål store («sjukefråværet» -> «sykefraværet»).

Used where a question meets the store's words: the search's word matching (kb.store.lexical) and the answer's
(kb.answer.question, kb.answer.facts). A rewrite counts only where the store holds the result.
"""

from __future__ import annotations

import re

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


def bokmål_forms(word: str) -> list[str]:
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


# A question written in nynorsk: its question and function words («kva», «korleis», «ikkje», «dei»). «Kor» only
# where it asks («Kor mange …», «…? Kor ofte …»): inside a bokmål sentence it is a choir («fasade og kor»).
NYNORSK_QUESTION = re.compile(
    r"\b(ikkje|kva|korleis|kven|kvifor|kvar|eg|dei|frå|ein|eit|nokon|nokre|noko|gjer|fekk|gjekk|vart|vere|"
    r"berre|utan|mykje)\b|(?:^|[.?!,:;–]\s*)\W*kor\b",
    re.IGNORECASE,
)
# Nynorsk question and function words in bokmål: stop words to the search, so no spelling rule needs them, but
# the embedder reads them («Kor ofte møtest nettverket?» as «Hvor ofte møtes nettverket?»).
FUNCTION_WORDS = {
    "kor": "hvor",
    "korleis": "hvordan",
    "kva": "hva",
    "kven": "hvem",
    "kvifor": "hvorfor",
    "kvar": "hvor",
    "ikkje": "ikke",
    "eg": "jeg",
    "me": "vi",
    "dei": "de",
    "ein": "en",
    "eit": "et",
    "nokon": "noen",
    "nokre": "noen",
    "noko": "noe",
    "berre": "bare",
    "utan": "uten",
    "vere": "være",
    "gjer": "gjør",
    "frå": "fra",
    "desse": "disse",
    "sjølv": "selv",
    "òg": "også",
}
