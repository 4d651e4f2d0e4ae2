"""The local feedback log: thumbs up/down on answers, and questions the knowledge base could not answer.

One JSON object per line in `Settings.feedback_file`. Facilitators read it back to see open questions.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ingest.privacy import mask_source, mask_text

logger = logging.getLogger(__name__)

VOTES = ("up", "down")


@dataclass(frozen=True, slots=True)
class FeedbackEntry:
    """One line of the log: a vote on an answer, or (vote None) an answer that found nothing."""

    question: str
    answered: bool
    vote: str | None = None  # "up", "down" or None
    sources: tuple[str, ...] = ()  # the cited sources, in citation order
    mode: str = ""
    time: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%S%z"))

    @property
    def is_open(self) -> bool:
        """A question the base did not answer well: nothing found, or a thumbs down."""
        return not self.answered or self.vote == "down"


def entry_for(question: str, answer: Any, vote: str | None = None) -> FeedbackEntry:
    """A log entry for an Answer (kb.types.Answer), with its cited sources."""
    if vote is not None and vote not in VOTES:
        raise ValueError(f"vote must be one of {VOTES}, not {vote!r}")
    sources = tuple(dict.fromkeys(c.source for c in getattr(answer, "citations", ())))
    return FeedbackEntry(
        question=mask_text(question.strip()),
        answered=bool(getattr(answer, "answered", False)),
        vote=vote,
        sources=sources,
        mode=str(getattr(answer, "mode", "")),
    )


def record(path: Path, entry: FeedbackEntry) -> None:
    """Append one entry (creating the folder); one write per line so concurrent writers do not interleave.

    The question and sources are masked (ingest.privacy) before they are written: a fødselsnummer typed into a
    question never reaches the log, nor the facilitators who read it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    data = asdict(entry)
    data["question"] = mask_text(entry.question)
    data["sources"] = [mask_source(s) for s in entry.sources]
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(data, ensure_ascii=False) + "\n")


def read(path: Path) -> list[FeedbackEntry]:
    """Every readable entry, oldest first; a missing file is an empty log, a broken line is skipped."""
    if not path.is_file():
        return []
    entries = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            entries.append(
                FeedbackEntry(
                    # NOTE: masked on reading too, for lines an earlier version wrote in clear
                    question=mask_text(str(data["question"])),
                    answered=bool(data.get("answered", False)),
                    vote=data.get("vote") if data.get("vote") in VOTES else None,
                    sources=tuple(str(s) for s in data.get("sources", ())),
                    mode=str(data.get("mode", "")),
                    time=str(data.get("time", "")),
                )
            )
        except (ValueError, KeyError, TypeError):
            logger.warning("skipping unreadable line %d in %s", number, path)
    return entries


def open_questions(entries: Iterable[FeedbackEntry], about: Sequence[str] = ()) -> list[FeedbackEntry]:
    """Questions not answered (or voted down), newest first, one per question text.

    A question later answered with a thumbs up is no longer open. With `about`, only questions that
    mention one of those words (by stem or inside a compound) are kept.
    """
    from kb.views.display import query_stems

    latest: dict[str, FeedbackEntry] = {}
    for entry in entries:
        latest[" ".join(entry.question.lower().split())] = entry
    stems = query_stems(" ".join(about)) if about else frozenset()
    found = []
    for entry in latest.values():
        if not entry.is_open:
            continue
        if stems and not _mentions(entry.question, stems):
            continue
        found.append(entry)
    return sorted(found, key=lambda e: e.time, reverse=True)


def _mentions(text: str, stems: frozenset[str]) -> bool:
    from kb.views.display import TOKEN, is_match

    return any(is_match(m.group(0), stems) for m in TOKEN.finditer(text))
