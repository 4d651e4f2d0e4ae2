"""YAML front matter at the top of a text file (Markdown, plain text, HTML), read the same way for each.

NOTE: the visibility rule must not depend on the file type (#21): a `.txt` whose first lines say
`tilgang: intern` is as internal as a `.md` that says it, so every text format goes through here.
"""

from __future__ import annotations

import logging
import re

import yaml

from ingest.loaders import LoadError

logger = logging.getLogger(__name__)

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?\n)?(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
_HINT = (
    "Hver linje skal være «nøkkel: verdi» (for eksempel «tilgang: intern»); "
    "sett en verdi som inneholder : eller [ i anførselstegn."
)


def split_front_matter(text: str) -> tuple[dict[str, object], str]:
    """Return the YAML front matter (or {}) and the text after it.

    Raises:
        LoadError: the front matter is not valid YAML or not a mapping; in Norwegian, with the file's line.
    """
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    try:
        data = yaml.safe_load(match.group(1) or "") or {}
    except yaml.YAMLError as exc:
        # NOTE: the parser's English text goes to the log (-v), the user gets the line in the file.
        logger.info("front matter parse error: %s", exc)
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f" på linje {mark.line + 2}" if mark is not None else ""  # +1 for the opening ---, +1 for 1-based
        raise LoadError(f"forsiden (YAML mellom ---linjene øverst) har en feil{where}. {_HINT}") from exc
    if not isinstance(data, dict):
        raise LoadError(f"forsiden (mellom ---linjene øverst) må være en liste med «nøkkel: verdi». {_HINT}")
    return {str(k).strip().lower(): v for k, v in data.items()}, text[match.end() :]
