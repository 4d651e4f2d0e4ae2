"""Resolve a document's metadata: front matter, then folder path, then document properties, then text."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import PurePosixPath

from ingest.types import Scalar, SourceDocument

NETWORK = "Læringsnettverket"
NETWORK_FOLDERS = {"læringsnettverket", "nettverket", "laeringsnettverket"}
DOC_TYPES = ("strategi", "samlingsnotat", "erfaring", "annet")
VISIBILITIES = ("nettverket", "intern")
# Words a `tilgang` field may use, and the visibility each means. Anything else is refused, never guessed:
# a typo must not publish an internal document to the whole network.
_VISIBILITY_WORDS: dict[str, str] = {
    "nettverket": "nettverket",
    "nettverk": "nettverket",
    "network": "nettverket",
    "alle": "nettverket",
    "åpen": "nettverket",
    "open": "nettverket",
    "public": "nettverket",
    "intern": "intern",
    "internt": "intern",
    "internal": "intern",
    "privat": "intern",
    "private": "intern",
    "lukket": "intern",
}

# Folder names and front-matter values that mean each document type.
_TYPE_WORDS: dict[str, str] = {
    "strategier": "strategi",
    "strategi": "strategi",
    "planer": "strategi",
    "plan": "strategi",
    "kompetansestrategi": "strategi",
    "kompetanseplan": "strategi",
    "strategy": "strategi",
    "samlinger": "samlingsnotat",
    "samling": "samlingsnotat",
    "samlingsnotat": "samlingsnotat",
    "referat": "samlingsnotat",
    "referater": "samlingsnotat",
    "møtereferat": "samlingsnotat",
    "session": "samlingsnotat",
    "notes": "samlingsnotat",
    "erfaringer": "erfaring",
    "erfaring": "erfaring",
    "case": "erfaring",
    "caser": "erfaring",
    "eksempler": "erfaring",
    "erfaringsdeling": "erfaring",
}
_KEYS = {
    "municipality": ("kommune", "municipality"),
    "doc_type": ("type", "doc_type", "dokumenttype"),
    "date": ("dato", "date"),
    "title": ("tittel", "title"),
    "themes": ("tema", "themes", "temaer"),
    "visibility": ("tilgang", "visibility"),
}

# Theme words for documents without a `tema` list: general HR vocabulary, matched on word stems.
THEME_LEXICON: dict[str, tuple[str, ...]] = {
    "rekruttering": ("rekrutter", "stillingsannonse", "søkere", "ansettelse"),
    "heltidskultur": ("heltid", "deltid", "stillingsstørrelse", "stillingsandel"),
    "lærlinger": ("lærling", "fagbrev", "opplæringskontor", "læreplass"),
    "digital kompetanse": ("digital", "e-læring", "kurs på nett", "ks læring"),
    "ledelse": ("lederutvikling", "ledere", "lederprogram", "ledelse"),
    "onboarding": ("onboarding", "introduksjonsprogram", "nyansatt", "fadder", "mottak av nye"),
    "kompetansekartlegging": ("kartlegging", "kompetansekartlegging", "kompetanseoversikt"),
    "seniorpolitikk": ("senior", "pensjonsalder", "eldre arbeidstakere"),
    "inkludering": ("inkludering", "språkopplæring", "norskopplæring", "mangfold", "språkpraksis"),
    "sykefravær": ("sykefravær", "ia-avtal", "nærvær", "fravær"),
    "barnehage": ("barnehage",),
    "praksisplasser": ("praksisplass", "studentpraksis", "praksisveileder", "praksisstudent"),
    "arbeidstid": ("arbeidstid", "turnus", "langvakt", "vaktordning"),
    "psykologisk trygghet": ("psykologisk trygghet",),
    "erfaringsdeling": ("erfaringsdeling", "erfaringslæring", "læringsnettverk"),
}

# «Moss kommune», «Indre Østfold kommune», «Aurskog-Høland kommunes», «Viken fylkeskommune»: a name before
# «kommune». The definite «kommunen» names no one.
_NAMED = re.compile(r"([A-ZÆØÅ][\w-]+(?: [A-ZÆØÅ][\w-]+)?) (fylkes)?kommunes?(?![\w-])")
# Capitalised words that can stand before «kommune» without being its name («Hos Moss kommune», «Hver kommune»).
_NOT_A_NAME = frozenset(
    {"i", "hos", "for", "fra", "med", "til", "og", "at", "av", "på", "om", "ved", "mot", "som", "når", "der", "her"}
    | {"etter", "under", "over", "mellom", "blant", "både", "eller", "den", "denne", "dette", "hver", "vår", "vårt"}
    | {"egen", "eget", "samme", "en", "ei", "et", "ny", "nye", "hele", "alle", "enhver", "annen", "ingen"}
    | {"tidligere", "dagens", "norsk", "norske", "vertskommune"}
)
_TITLE_WEIGHT = 3  # a name in the title or file name counts as three mentions in the text
# Title or file-name words that say what a document is, for files with no type folder; the first match wins,
# so «Samling om kompetansestrategien» is a session note.
_TYPE_IN_TITLE: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("samlingsnotat", re.compile(r"samling|referat|møtenotat")),
    ("strategi", re.compile(r"strategi|plan(?:en)?\b")),
    ("erfaring", re.compile(r"erfaring|\bcase\b")),
)

_DATE_IN_NAME = re.compile(r"(?<!\d)(20\d\d|19\d\d)[-_.]?(0[1-9]|1[0-2])(?:[-_.]?(0[1-9]|[12]\d|3[01]))?(?!\d)")
_PERIOD = re.compile(r"(?<!\d)((?:19|20)\d\d)\s*[-–/]\s*((?:19|20)\d\d)(?!\d)")


def _first(front: Mapping[str, object], field: str) -> object:
    for key in _KEYS[field]:
        value = front.get(key)
        if value not in (None, "", []):
            return value
    return None


def normalise_doc_type(value: str) -> str:
    """Map a folder name or front-matter value to one of DOC_TYPES."""
    word = value.strip().lower()
    return word if word in DOC_TYPES else _TYPE_WORDS.get(word, "annet")


def normalise_municipality(value: str) -> str:
    """Keep the name as written, but collapse the network's folder names to one name."""
    name = unicodedata.normalize("NFC", value.strip())
    return NETWORK if name.lower() in NETWORK_FOLDERS else name


def parse_date(value: object) -> str:
    """ISO date from a YAML date, datetime or string (YYYY-MM-DD, DD.MM.YYYY, YYYY-MM, YYYY); '' if none."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value or "").strip()
    if match := re.fullmatch(r"(\d{1,2})\.(\d{1,2})\.(\d{4})", text):
        day, month, year = (int(g) for g in match.groups())
        try:
            return dt.date(year, month, day).isoformat()
        except ValueError:
            return ""
    return date_from_name(text)


def date_from_name(name: str) -> str:
    """The first plausible date in a file name, as ISO (a missing day or month becomes 01)."""
    if match := _DATE_IN_NAME.search(name):
        year, month, day = match.group(1), match.group(2), match.group(3) or "01"
        try:
            return dt.date(int(year), int(month), int(day)).isoformat()
        except ValueError:
            return ""
    if re.fullmatch(r"(19|20)\d\d", name.strip()):
        return f"{name.strip()}-01-01"
    return ""


def period_of(*texts: str) -> str:
    """A period such as '2024–2027' from the file name or title, or ''."""
    for text in texts:
        if match := _PERIOD.search(text):
            start, end = int(match.group(1)), int(match.group(2))
            if 0 < end - start <= 12:
                return f"{start}–{end}"
    return ""


def parse_themes(value: object) -> list[str]:
    """Themes from a YAML list or a comma-separated string, lower-cased and de-duplicated."""
    items: Iterable[object] = value if isinstance(value, list | tuple) else str(value or "").split(",")
    themes: list[str] = []
    for item in items:
        theme = " ".join(str(item).strip().lower().split())
        if theme and theme not in themes:
            themes.append(theme)
    return themes


def infer_themes(text: str, *, min_hits: int = 2) -> list[str]:
    """Themes whose vocabulary occurs at least `min_hits` times in the text."""
    lowered = text.lower()
    found = []
    for theme, stems in THEME_LEXICON.items():
        if sum(lowered.count(stem) for stem in stems) >= min_hits:
            found.append(theme)
    return found


def theme_key(theme: str) -> str:
    """The flat metadata key for one theme, so filters can match it exactly (Chroma stores scalars)."""
    slug = re.sub(r"[^a-z0-9æøå]+", "_", theme.lower()).strip("_")
    return f"tema_{slug}"


def is_type_folder(name: str) -> bool:
    """Whether a folder name says a document type («strategier», «samlinger», «erfaringer» …)."""
    return normalise_doc_type(name) != "annet"


def is_owner_folder(name: str) -> bool:
    """Whether a folder is named for an owner: the network's folder, or a name (capitalised, no digits)."""
    name = name.strip()
    if not name or is_type_folder(name):
        return False
    return normalise_municipality(name) == NETWORK or not _is_filing_place(name)


def named_as_municipalities(text: str) -> dict[str, str]:
    """Names the text writes as «X kommune» or «X fylkeskommune»: the bare name → the name as stored.

    A kommune is stored by its bare name («Moss»), a county council by its full one («Østfold fylkeskommune»).
    """
    names: dict[str, str] = {}
    for match in _NAMED.finditer(text):
        words = match.group(1).split()
        while words and words[0].lower() in _NOT_A_NAME:
            words.pop(0)
        if words:
            bare = unicodedata.normalize("NFC", " ".join(words))
            names.setdefault(bare, bare + (" fylkeskommune" if match.group(2) else ""))
    return names


def named_in_text(title: str, text: str) -> str:
    """The municipality a document is about, from the names its title and text give municipalities.

    A word is a municipality's name when the text writes it once as «X kommune» (or «X fylkeskommune»); from
    then on every «X» and «Xs» counts, as experience notes write «i Halden» far more often than «Halden kommune».
    The name must count at least twice (a title counts `_TITLE_WEIGHT` times) and make up two thirds of
    all the names. A text that names three or more municipalities with none standing out belongs to the
    network (a session note); otherwise ''.
    """
    names = named_as_municipalities(f"{title}\n{text}")
    counts: Counter[str] = Counter()
    for bare, name in names.items():
        # «Østfold» alone is the region, not its county council: a fylkeskommune counts only by its full name.
        form = re.escape(name) + "(?:ns?|s)?" if name != bare else re.escape(bare) + "s?"
        mention = re.compile(rf"(?<![\w-]){form}(?![\w-])")
        counts[name] += _TITLE_WEIGHT * len(mention.findall(title)) + len(mention.findall(text))
    if not counts:
        return ""
    name, count = counts.most_common(1)[0]
    if count >= 2 and 3 * count >= 2 * counts.total():
        return name
    return NETWORK if len(counts) >= 3 else ""


def _is_filing_place(folder: str) -> bool:
    """Whether a top folder is only where a file was put («nye/», «2024/», «import/»), not whose it is.

    A municipality's folder is written as a name: capitalised, without digits. A capitalised folder stays
    the owner even when its documents never name it (a predecessor's strategy filed with its successor).
    """
    name = folder.strip()
    return normalise_municipality(name) != NETWORK and (not name[:1].isupper() or any(c.isdigit() for c in name))


def type_from_title(*texts: str) -> str:
    """A document type from words in the title or file name («Kompetanseplan 2024», «referat»), else «annet»."""
    lowered = " ".join(texts).lower()
    return next((doc_type for doc_type, words in _TYPE_IN_TITLE if words.search(lowered)), "annet")


def _title_from_name(stem: str) -> str:
    words = re.sub(r"^\d{4}-\d{2}-\d{2}[-_ ]*", "", stem).replace("_", " ").replace("-", " ").strip()
    return words[:1].upper() + words[1:] if words else stem


def parse_visibility(value: object) -> str:
    """`nettverket` or `intern` from a `tilgang` value; empty means `nettverket` (the default).

    Raises:
        ValueError: a value that is neither, with a message naming the accepted words.
    """
    text = " ".join(str(value or "").strip().lower().split())
    if not text:
        return "nettverket"
    if text in _VISIBILITY_WORDS:
        return _VISIBILITY_WORDS[text]
    raise ValueError(f"ukjent tilgang «{value}»; bruk «nettverket» (alle medlemmer) eller «intern» (egen kommune)")


def resolve(document: SourceDocument, source: str, overrides: Mapping[str, object] | None = None) -> dict[str, Scalar]:
    """Document-level metadata for a file at `source` (path relative to the ingested root, posix form).

    `overrides` (same keys as front matter) win over the file's own front matter: the app's upload form
    records the uploader's municipality and the chosen visibility there.

    Raises:
        ValueError: an unknown `tilgang` value.
    """
    front = dict(document.front_matter)
    for key, value in (overrides or {}).items():
        aliases = next((names for names in _KEYS.values() if key in names), (key,))
        for alias in aliases:
            front.pop(alias, None)
        front[key] = value
    props = document.properties
    parts = PurePosixPath(source).parts
    folders = parts[:-1]
    name = PurePosixPath(source).stem

    first_heading = next((s.heading for s in document.sections if s.heading), "")
    title = str(_first(front, "title") or props.get("title") or first_heading or _title_from_name(name))
    visibility = parse_visibility(_first(front, "visibility"))
    # A folder named for a type («strategier/plan.pdf», or `kb ingest Sarpsborg` whose files sit in
    # «strategier/») says what the file is, not whose it is.
    owner_folder = folders[0] if folders and not is_type_folder(folders[0]) else ""
    type_folder = next((f for f in folders if is_type_folder(f)), "")

    # NOTE: only a network document is filed by what its text says. An internal one takes its folder, or
    # stays unowned (readable by no member) rather than shown to whichever municipality it mentions most.
    network = visibility == "nettverket"
    municipality = str(_first(front, "municipality") or "")
    if not municipality and owner_folder and not (network and _is_filing_place(owner_folder)):
        municipality = owner_folder
    if municipality:
        municipality = normalise_municipality(municipality)
    elif network:
        named = named_in_text(f"{title} {_title_from_name(name)}", document.text)
        municipality = named or (normalise_municipality(owner_folder) if owner_folder else "")
    doc_type = _first(front, "doc_type")
    if doc_type:
        doc_type = normalise_doc_type(str(doc_type))
    elif type_folder:
        doc_type = normalise_doc_type(type_folder)
    else:
        doc_type = type_from_title(title, _title_from_name(name))
    date = parse_date(_first(front, "date")) or parse_date(props.get("date")) or date_from_name(name)
    period = period_of(name, title)
    if not date and period:
        date = f"{period[:4]}-01-01"
    themes = parse_themes(_first(front, "themes")) or infer_themes(document.text)

    meta: dict[str, Scalar] = {
        "source": source,
        "municipality": municipality,
        "doc_type": doc_type,
        "title": " ".join(title.split()),
        "date": date,
        "date_num": int(date.replace("-", "")) if date else 0,
        "period": period,
        "themes": ", ".join(themes),
        "visibility": visibility,
        "loader": document.loader,
    }
    for theme in themes:
        meta[theme_key(theme)] = True
    return meta
