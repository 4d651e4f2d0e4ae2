"""Answer quality on the labelled question set (`kb eval --answers`).

Run directly to evaluate, or with --calibrate to see the refusal signal of every question:

    .venv/bin/python -m kb.answer_eval evalsets/parts/*.jsonl
    .venv/bin/python -m kb.answer_eval --calibrate evalsets/parts/*.jsonl
"""

from __future__ import annotations

import json
import logging
import statistics
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from kb.answer import ask, retrieve

logger = logging.getLogger(__name__)

TARGETS = {"facts": 0.85, "refused": 0.90, "answered": 0.95, "verbatim": 1.0, "median_seconds": 1.0}


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


def evaluate_answers(kb: Any, questions: Sequence[Mapping[str, Any]], *, generator: Any = False) -> dict[str, Any]:
    """Answer every question and measure facts, refusals, verbatim citations and time.

    Returns shares in [0, 1]: `facts` (answerable questions whose answer holds all their key facts,
    ignoring case and the kind of white space), `fact_recall` (the key facts, counted one by one, found in
    their answers), `refused` (unanswerable questions refused), `answered` (answerable questions
    answered), `verbatim` (citations whose text is in the cited source's stored chunks), and
    `median_seconds` per answer. The first answer is a warm-up (model load) and is not timed. `failures`
    lists the question ids that missed, per measure.
    """
    if questions:  # warm-up: load the model and the BM25 index outside the timing
        ask(kb, str(questions[0]["question"]), generator=generator)
    chunks: dict[str, list[str]] = {}
    seconds: list[float] = []
    answerable = facts_ok = answered = unanswerable = refused = cites = verbatim = facts_total = facts_held = 0
    failures: dict[str, list[str]] = {"facts": [], "answered": [], "refused": [], "verbatim": []}
    for q in questions:
        started = time.perf_counter()
        answer = ask(kb, str(q["question"]), generator=generator)
        seconds.append(time.perf_counter() - started)
        qid = str(q.get("id", q["question"]))
        if q.get("kind") == "unanswerable":
            unanswerable += 1
            refused += not answer.answered
            if answer.answered:
                failures["refused"].append(qid)
        else:
            answerable += 1
            answered += answer.answered
            if not answer.answered:
                failures["answered"].append(qid)
            found = facts_found(answer.text, q.get("facts", []))
            facts_total += len(found)
            facts_held += sum(found)
            if all(found):
                facts_ok += 1
            else:
                failures["facts"].append(qid)
        for citation in answer.citations:
            cites += 1
            if citation.source not in chunks:
                chunks[citation.source] = [t for t, _ in kb.chunks_of(citation.source)]
            if any(citation.text in chunk for chunk in chunks[citation.source]):
                verbatim += 1
            else:
                failures["verbatim"].append(f"{qid}:{citation.n}")
    return {
        "questions": len(questions),
        "answerable": answerable,
        "unanswerable": unanswerable,
        "facts": facts_ok / answerable if answerable else 1.0,
        "fact_recall": facts_held / facts_total if facts_total else 1.0,
        "answered": answered / answerable if answerable else 1.0,
        "refused": refused / unanswerable if unanswerable else 1.0,
        "verbatim": verbatim / cites if cites else 1.0,
        "citations": cites,
        "median_seconds": statistics.median(seconds) if seconds else 0.0,
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


def main(argv: Sequence[str] | None = None) -> None:
    """Command-line entry: evaluate (default) or print calibration rows (--calibrate)."""
    import os

    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from kb.base import KnowledgeBase
    from kb.config import Settings

    args = list(sys.argv[1:] if argv is None else argv)
    calibrate = "--calibrate" in args
    paths = [Path(a) for a in args if not a.startswith("--")]
    questions = load_questions(paths)
    kb = KnowledgeBase(Settings())
    if calibrate:
        rows = calibration_rows(kb, questions)
        for row in sorted(rows, key=lambda r: (r["kind"] != "unanswerable", r["signal"] or 0)):
            print(json.dumps(row, ensure_ascii=False))
        return
    print(json.dumps(evaluate_answers(kb, questions), ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
