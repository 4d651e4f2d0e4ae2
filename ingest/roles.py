"""The role of a section in a case or a strategy, read from its heading: background, measure, result, lesson, goal.

Reports in Norwegian public administration tell a case in the same steps under their own headings
(«Utfordringen», «Hva vi gjorde», «Resultater», «Dette lærte vi»; a strategy's «Mål» and «Tiltak»). An answer
to «how did they do it» tells what was done and what came of it, not the problem; a facilitator looks for
measures. The words are the general ones of such headings, in bokmål and nynorsk, not those of our documents.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

BACKGROUND, MEASURE, RESULT, LESSON, GOAL = "background", "measure", "result", "lesson", "goal"
ROLES = (BACKGROUND, MEASURE, RESULT, LESSON, GOAL)
# What a reader calls each part of a text (`kb search --part`, the app's «Del av teksten»), in a case's order.
PART_NAMES = {"bakgrunn": BACKGROUND, "mål": GOAL, "tiltak": MEASURE, "resultat": RESULT, "råd": LESSON}
PART_LABELS = {
    BACKGROUND: "Bakgrunn og utfordringer",
    GOAL: "Mål",
    MEASURE: "Tiltak – hva ble gjort",
    RESULT: "Resultater og effekt",
    LESSON: "Erfaringer og råd",
}
SECTIONS_KEY = "sections"  # chunk metadata: the roles of the sections a chunk holds, comma-separated ("" for none)

# NOTE: the first role whose words a heading holds wins: «Resultater og erfaringer» is a result, «Mål og
# tiltak» a measure only if no result word comes first in this order, «Hvorfor gjorde vi dette?» background.
# A heading names a step as a noun («Tiltak», «Læringspunkter») or as what «we» did, got or learnt, in any tense
# («Hva vi gjorde», «Hva gjorde vi?», «Dette har vi gjort», «Hva har vi lært?»), so the verbs are matched in all
# their forms; a compound that only starts with a step's word names a thing («Læringsnettverket»).
_ROLES = (
    (
        RESULT,
        r"resultat\w*|effekt\w*|evaluering\w*|måloppnåing|måloppnåelse|status\w*|gevinst\w*|utbytte|"
        r"hva (?:kom|skjedde)|kva (?:kom|skjedde)|oppnådd\w*|oppnådde|hvordan gikk|korleis gjekk|har \w+ gitt|"
        r"(?:fikk|fekk|fått)(?: (?:vi|me|dei|de|det))? (?:til|ut)",
    ),
    (
        LESSON,
        r"erfaring\w*|lærte|lært|lærde|lærdom\w*|læring|læringer|læringspunkt\w*|råd|tips|anbefaling\w*|"
        r"suksess\w*|refleksjon\w*|annerledes|videre arbeid|vidare arbeid|(?:veien|vegen) (?:videre|vidare)|"
        r"neste steg",
    ),
    (BACKGROUND, r"hvorfor|kvifor"),
    (
        MEASURE,
        r"tiltak\w*|gjorde|gjort|gjør|gjer|gjennomfør\w*|slik jobbet|aktivitet\w*|metode\w*|løsning\w*|"
        r"innsats\w*|opplegg\w*|virkemid\w*|handlingsplan\w*",
    ),
    (
        GOAL,
        r"mål|målet|målene|måla|mål for|målsetting\w*|ambisjon\w*|visjon\w*|prioriter\w*|satsingsområd\w*|oppnå",
    ),
    (
        BACKGROUND,
        r"bakgrunn\w*|utfordring\w*|problem\w*|situasjon\w*|utgangspunkt\w*|behov\w*|formål\w*|"
        r"innledning\w*|innleiing\w*|utfordringsbilde\w*",
    ),
)
_PATTERNS = tuple((role, re.compile(rf"(?<![\wæøå])(?:{words})(?![\wæøå])", re.IGNORECASE)) for role, words in _ROLES)


def section_role(heading: str) -> str:
    """The role a section's heading gives it (one of ROLES), or "" when the heading names none."""
    for role, pattern in _PATTERNS:
        if pattern.search(heading or ""):
            return role
    return ""


def role_key(role: str) -> str:
    """The chunk metadata flag that a chunk holds a section with this role (True), for filtering before ranking."""
    return f"role_{role}"


def section_metadata(headings: Iterable[str]) -> dict[str, str | bool]:
    """A chunk's section metadata from the headings of the sections it holds: the roles, and a flag per role.

    A short section is packed with the next one (ingest.chunking), so one chunk may hold a case's «Resultater»
    and its «Dette lærte vi»: a search for lessons finds it by either.
    """
    held = {section_role(heading) for heading in headings}
    roles = [role for role in ROLES if role in held]
    return {SECTIONS_KEY: ",".join(roles), **{role_key(role): True for role in roles}}


SECTION_KEYS = (SECTIONS_KEY, *(role_key(role) for role in ROLES))  # the metadata `section_metadata` may write
