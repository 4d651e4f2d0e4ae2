"""An answer written by a generator (an OpenAI-compatible endpoint), checked against the passages it cites.

Its sentences must cite retrieved passages and be backed by them; a reply that repeats an instruction from
a document, or too little of which holds up, is replaced by the extractive answer.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

from ingest.chunking import split_sentences
from kb.answer.compose import NOT_FOUND, _Composer, compose_parts
from kb.answer.generator import Generator, GeneratorError
from kb.answer.question import _stems
from kb.answer.score import _NUMBER
from kb.answer.select import Retrieved, retrieve_parts
from kb.answer.sentences import _BULLET, _DIRECTIVE, Span, is_directive, sentence_spans
from kb.types import Answer, Filters, Hit

logger = logging.getLogger(__name__)

_CITE = re.compile(r"\[(\d{1,3})\]")

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


def _generate(question: str, retrieved: Retrieved, generator: Generator, extractive: Answer) -> Answer:
    """The generator's answer to `question` as the user wrote it (the search reads it in the store's words)."""
    from kb.answer.prompts import messages

    passages = _passages(retrieved)
    try:
        text = generator.complete(messages(question, passages))
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
    parts = retrieve_parts(kb, question, filters)
    retrieved, extractive = parts[0], compose_parts(parts)
    chosen = _resolve(kb, generator)
    if chosen is None or not extractive.answered:
        return extractive
    return _generate(question, retrieved, chosen, extractive)


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
        from kb.answer.prompts import messages

        parts = retrieve_parts(self._kb, self._question, self._filters)
        retrieved, extractive = parts[0], compose_parts(parts)
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
