"""Compare ways of choosing an answer's sentences on the labelled set, without searching again.

Each question is retrieved and its sentences scored once (kb.answer.retrieve); each variant then only re-ranks
or re-picks those candidates and composes the answer, so a variant costs seconds. The measure is the one
`kb eval --answers` reports as `facts`: answerable questions whose answer holds all their key facts.

Usage: python scripts/tune_answers.py [--set FILE ...]   (default: evalsets/parts/*.jsonl, store in KB_HOME)

The variants are the ones tried for issue #5. None is in kb.answer: longer answers buy facts with length
(each extra sentence is one more to read), and the others moved the figure by a few questions either way,
within what one question set can tell apart (see the issue note). Run it again after changing the model, the
corpus or the scoring.
"""

from __future__ import annotations

import argparse
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

import kb.answer as A
from kb.answer_eval import facts_found, load_questions
from kb.base import KnowledgeBase
from kb.config import Settings

Row = tuple[str, dict[str, Any], A.Retrieved]  # (part file, question, what it retrieved)


def facts_share(rows: Sequence[Row], compose: Callable[[A.Retrieved], str] | None = None) -> float:
    """Share of answerable questions whose answer holds all their key facts."""
    ok = n = 0
    for _, q, r in rows:
        if q["kind"] == "unanswerable":
            continue
        n += 1
        ok += all(facts_found(compose(r) if compose else A.compose(r).text, q["facts"]))
    return ok / n if n else 0.0


def with_constants(**values: Any) -> Callable[[A.Retrieved], str]:
    """Compose with kb.answer's module constants changed (restored afterwards)."""

    def compose(r: A.Retrieved) -> str:
        old = {k: getattr(A, k) for k in values}
        try:
            for k, v in values.items():
                setattr(A, k, v)
            return A.compose(r).text
        finally:
            for k, v in old.items():
                setattr(A, k, v)

    return compose


def lead_by_sentences(k: int, per_rank: float) -> Callable[[A.Retrieved], str]:
    """Lead with the document whose k best sentences are closest to the question (less per_rank per search rank)."""

    def compose(r: A.Retrieved) -> str:
        if r.comparison or not r.candidates:
            return A.compose(r).text
        rels: dict[str, list[float]] = defaultdict(list)
        rank: dict[str, int] = {}
        for c in r.candidates:
            rels[c.span.hit.source].append(c.relevance)
            rank.setdefault(c.span.hit.source, c.span.rank)
        evidence = {s: sum(sorted(v, reverse=True)[:k]) / min(k, len(v)) - per_rank * rank[s] for s, v in rels.items()}
        order = {s: i for i, s in enumerate(sorted(evidence, key=lambda s: -evidence[s]))}
        cands = [replace(c, span=replace(c.span, rank=order[c.span.hit.source])) for c in r.candidates]
        pool = [replace(s, rank=order.get(s.hit.source, len(order))) for s in r.pool]
        return A.compose(replace(r, candidates=cands, pool=pool)).text

    return compose


def _section(span: A.Span) -> str:
    lines = span.hit.text[: span.start].splitlines()
    for i in range(len(lines) - 1, -1, -1):
        following = lines[i + 1] if i + 1 < len(lines) else "X"
        if lines[i].strip() and (A._HEADING.match(lines[i]) or A._is_heading(lines[i], following)):
            return lines[i].strip().lstrip("#").strip()
    return str(span.hit.metadata.get("heading", "") or "")


def per_section(first: int, total: int) -> Callable[[A.Retrieved], str]:
    """The best `first` sentences of each section of the lead document, then the usual choice up to `total`."""

    def compose(r: A.Retrieved) -> str:
        if r.comparison or not r.answered or not r.candidates:
            return A.compose(r).text
        floor = A.SECONDARY * min(r.threshold, r.candidates[0].relevance)
        chosen: list[A.Span] = []
        taken: Counter[str] = Counter()
        for c in sorted(r.candidates, key=lambda c: -c.score):
            key = _section(c.span)
            if c.span.rank == 0 and c.relevance >= floor and taken[key] < first and not A._repeats(c.span, chosen):
                taken[key] += 1
                chosen.append(c.span)
        for span in A._pick_single(r.candidates, r.threshold, r.pool):
            if len(chosen) < total and not A._repeats(span, chosen):
                chosen.append(span)
        return "\n".join([*(s.hit.title for s in chosen), *(s.display for s in chosen)])

    return compose


FEATURES = ("cosine", "cosine-best", "overlap", "number", "concrete", "item", "lead", "chunk", "position", "words")


def features(r: A.Retrieved) -> np.ndarray:
    if not r.candidates:
        return np.zeros((0, len(FEATURES)))
    best = max(c.cosine for c in r.candidates)
    top = max(c.span.hit.score for c in r.candidates) or 1.0
    rows = []
    for c in r.candidates:
        meta = c.span.hit.metadata
        n = int(meta.get("n_chunks", 1) or 1)
        i = int(meta.get("chunk_index", 0) or 0)
        text = c.span.display
        rows.append(
            [
                c.cosine,
                c.cosine - best,
                c.overlap,
                float(bool(A._NUMBER.search(text))),
                A.concreteness(text),
                float(c.span.item),
                float(c.span.rank == 0),
                c.span.hit.score / top,
                i / max(n - 1, 1),
                math.log(len(text.split()) + 1),
            ]
        )
    return np.array(rows)


def fit_logistic(rows: Sequence[Row], steps: int = 3000, l2: float = 1.0) -> np.ndarray:
    """Weights that tell sentences holding a key fact from the others (class-balanced logistic regression)."""
    xs, ys = [], []
    for _, q, r in rows:
        facts = [str(f).lower() for f in q.get("facts", [])]
        if q["kind"] == "unanswerable" or not r.candidates:
            continue
        xs.append(features(r))
        ys.append(np.array([float(any(f in c.span.display.lower() for f in facts)) for c in r.candidates]))
    x, y = np.vstack(xs), np.concatenate(ys)
    mean, std = x.mean(0), x.std(0) + 1e-9
    z = (x - mean) / std
    weight = np.where(y > 0, (1 - y.mean()) / y.mean(), 1.0)
    w, b = np.zeros(z.shape[1]), 0.0
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(z @ w + b)))
        g = (p - y) * weight
        w -= 0.5 * (z.T @ g / len(y) + l2 * w / len(y))
        b -= 0.5 * g.mean()
    return w / std  # a ranking: the bias and the mean shift do not change it


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", dest="sets", nargs="*", type=Path, default=None, help="question files (JSONL)")
    args = parser.parse_args()
    paths = args.sets or sorted(Path("evalsets/parts").glob("*.jsonl"))
    kb = KnowledgeBase(Settings())
    rows: list[Row] = [(p.stem, q, A.retrieve(kb, q["question"])) for p in paths for q in load_questions([p])]
    print(f"{len(rows)} questions; key facts, whole questions:")
    print(f"  {'as built':<52} {facts_share(rows):.3f}")
    for name, compose in [
        ("14 sentences, 12 from the lead document", with_constants(MAX_SENTENCES=14, LEAD_SENTENCES=12)),
        ("20 sentences, 18 from the lead, 5 per municipality", with_constants(MAX_SENTENCES=20, LEAD_SENTENCES=18,
                                                                              SECTION_SENTENCES=5)),
        ("3 from each further document, margin 0.1", with_constants(OTHER_SENTENCES=3, OTHER_MARGIN=0.1)),
        ("lead = best 3 sentences (less 0.02 per search rank)", lead_by_sentences(3, 0.02)),
        ("lead = best sentence", lead_by_sentences(1, 0.0)),
        ("best sentence of each section first, 10 in all", per_section(1, 10)),
        ("best 2 of each section first, 14 in all", per_section(2, 14)),
    ]:  # fmt: skip
        print(f"  {name:<52} {facts_share(rows, compose):.3f}")
    print("  learned sentence weights (logistic), each part held out in turn:")
    for held in sorted({part for part, _, _ in rows}):
        train = [row for row in rows if row[0] != held]
        test = [row for row in rows if row[0] == held]
        w = fit_logistic(train)
        learned = [replace(r, candidates=[replace(c, score=float(s)) for c, s in zip(r.candidates, features(r) @ w,
                                                                                      strict=True)])
                   for _, _, r in test]  # fmt: skip
        test_learned = [(p, q, r) for (p, q, _), r in zip(test, learned, strict=True)]
        print(f"    {held:<50} {facts_share(test):.3f} -> {facts_share(test_learned):.3f}")


if __name__ == "__main__":
    main()
