"""Answer quality on the labelled question set (`kb eval --answers`).

`scripts/answer_eval.py` runs it on question files directly, or with --calibrate shows the refusal signal of
every question.
"""

from __future__ import annotations

import json
import logging
import statistics
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ingest import roles
from kb.answer import ask, retrieve
from kb.answer.question import MEASURE

logger = logging.getLogger(__name__)

TARGETS = {
    "facts": 0.80,
    "refused": 0.95,
    "near_miss_refused": 0.85,
    "answered": 0.95,
    "verbatim": 1.0,
    "citations_per_source": 1.0,
    "how_leads": 0.90,
    "median_seconds": 1.0,
}
REFUSE = {"unanswerable": "refused", "near-miss": "near_miss_refused"}  # kinds that must be refused, and their measure
ACTION_LEADS = frozenset({roles.MEASURE, roles.RESULT})  # a «how did they do it» answer leads with these


def load_questions(paths: Iterable[Path]) -> list[dict[str, Any]]:
    """Questions from JSON-lines files (fields id, question, kind, relevant, facts)."""
    rows = []
    for path in paths:
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            if line.strip():
                rows.append(json.loads(line))
    return rows


def _normal(text: str) -> str:
    """Lower case with runs of white space (the non-breaking space in «37 km» too) as one space.

    An answer shows each sentence on one line with plain spaces, so a fact is compared in the same form.
    """
    return " ".join(text.split()).lower()


def facts_found(answer_text: str, facts: Iterable[Any]) -> list[bool]:
    """For each key fact, whether the answer holds it (ignoring case and the kind of white space)."""
    text = _normal(answer_text)
    return [_normal(str(f)) in text for f in facts]


def _share(hits: int, total: int) -> float:
    return hits / total if total else 1.0


def evaluate_answers(kb: Any, questions: Sequence[Mapping[str, Any]], *, generator: Any = False) -> dict[str, Any]:
    """Answer every question and measure facts, refusals, citations, length and time.

    Returns shares in [0, 1]: `facts` (answerable questions whose answer holds all their key facts, ignoring
    case and the kind of white space), `fact_recall` (the key facts one by one), `answered` (answerable
    questions answered), `refused` (off-topic questions, kind «unanswerable», refused), `near_miss_refused`
    (kind «near-miss»: the topic is in the base, the asked fact is not), `verbatim` (quotes found in the
    cited source's stored chunks), `citations_per_source` (answers with no more citation numbers than the
    documents and pages they quote), `how_leads` (answers to «how did they do it» questions whose every
    municipality leads with a measure or a result), `median_words_single` (words in answers drawn from one
    municipality), and `median_seconds` per answer. The first answer is a warm-up (model load) and is not
    timed. `facts_by_asks` counts the answerable questions whose answer holds all their key facts, per what the
    question was read as asking (figure, date, name, measure, result, overview), as [held, questions].
    `failures` lists the question ids that missed, per measure.
    """
    if questions:  # warm-up: load the model and the BM25 index outside the timing
        ask(kb, str(questions[0]["question"]), generator=generator)
    chunks: dict[str, list[str]] = {}
    seconds: list[float] = []
    counts: Counter[str] = Counter()
    by_asks: dict[str, list[int]] = {}
    single_words: list[int] = []
    failures: dict[str, list[str]] = {
        "facts": [],
        "answered": [],
        "refused": [],
        "near_miss_refused": [],
        "verbatim": [],
        "how_leads": [],
    }
    for q in questions:
        started = time.perf_counter()
        answer = ask(kb, str(q["question"]), generator=generator)
        seconds.append(time.perf_counter() - started)
        qid = str(q.get("id", q["question"]))
        kind = str(q.get("kind", ""))
        if kind in REFUSE:
            measure = REFUSE[kind]
            counts[f"{measure}_n"] += 1
            counts[measure] += not answer.answered
            if answer.answered:
                failures[measure].append(qid)
        else:
            counts["answerable"] += 1
            counts["answered"] += answer.answered
            if not answer.answered:
                failures["answered"].append(qid)
            found = facts_found(answer.text, q.get("facts", []))
            counts["facts_total"] += len(found)
            counts["facts_held"] += sum(found)
            held = by_asks.setdefault(answer.asks or "", [0, 0])
            held[1] += 1
            if all(found):
                counts["facts"] += 1
                held[0] += 1
            else:
                failures["facts"].append(qid)
        if answer.answered:
            counts["answers"] += 1
            places = {(c.source, c.page) for c in answer.citations}
            counts["citations_per_source"] += len(answer.citations) <= len(places)
            if len({c.municipality for c in answer.citations}) == 1:
                single_words.append(len(answer.text.split()))
            if answer.asks == MEASURE and answer.leads:
                counts["how_n"] += 1
                if all(lead in ACTION_LEADS for lead in answer.leads):
                    counts["how_leads"] += 1
                else:
                    failures["how_leads"].append(qid)
        for citation in answer.citations:
            if citation.source not in chunks:
                chunks[citation.source] = [t for t, _ in kb.chunks_of(citation.source)]
            for quote in citation.quotes or (citation.text,):
                counts["quotes"] += 1
                if any(quote in chunk for chunk in chunks[citation.source]):
                    counts["verbatim"] += 1
                else:
                    failures["verbatim"].append(f"{qid}:{citation.n}")
            counts["citations"] += 1
    return {
        "questions": len(questions),
        "answerable": counts["answerable"],
        "unanswerable": counts["refused_n"],
        "near_miss": counts["near_miss_refused_n"],
        "facts": _share(counts["facts"], counts["answerable"]),
        "fact_recall": _share(counts["facts_held"], counts["facts_total"]),
        "answered": _share(counts["answered"], counts["answerable"]),
        "refused": _share(counts["refused"], counts["refused_n"]),
        "near_miss_refused": _share(counts["near_miss_refused"], counts["near_miss_refused_n"]),
        "verbatim": _share(counts["verbatim"], counts["quotes"]),
        "citations": counts["citations"],
        "citations_per_source": _share(counts["citations_per_source"], counts["answers"]),
        "how_leads": _share(counts["how_leads"], counts["how_n"]),
        "how_questions": counts["how_n"],
        "median_words_single": statistics.median(single_words) if single_words else 0,
        "median_seconds": statistics.median(seconds) if seconds else 0.0,
        "facts_by_asks": dict(sorted(by_asks.items())),
        "failures": failures,
    }


def calibration_rows(kb: Any, questions: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The refusal signal of every question, with the best dense cosine beside it, for choosing the threshold."""
    rows = []
    for q in questions:
        retrieved = retrieve(kb, str(q["question"]))
        best = retrieved.candidates[0] if retrieved.candidates else None
        rows.append(
            {
                "id": q.get("id"),
                "top": [(round(c.cosine, 4), round(c.overlap, 4)) for c in retrieved.candidates[:5]],
                "kind": q.get("kind"),
                "signal": round(retrieved.signal, 4) if best else None,
                "cosine": round(best.cosine, 4) if best else None,
                "overlap": round(best.overlap, 4) if best else None,
                "dense": round(max((h.dense_score or 0.0) for h in retrieved.hits), 4) if retrieved.hits else None,
            }
        )
    return rows
