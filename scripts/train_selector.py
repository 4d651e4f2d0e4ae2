"""Fit the answer-sentence selector (kb/answer/selector.json) on NorQuAD and report it on held-out passages.

NorQuAD marks each question's answer inside its passage, so the sentence holding it is a free label. Passages
are split 80/20 by a hash of their id, so no held-out question was asked of a passage seen in training. Each
question reads the sentences of its own passage and of the other passage closest to it (a distractor on a
near topic), as an answer reads the best documents of a search.

Two things are learned and reported:
- which sentence answers (logistic regression over kb.answer.selector.FEATURES), against plain cosine and
  against cosine + keyword overlap (what kb.answer chose by before);
- whether the answer is there at all: the same pools with the answer's sentences taken out are "near misses"
  (the topic is there, the fact is not). For typed questions (a figure, a date, a name), the threshold on the
  best typed sentence's probability keeps ANSWER_KEEP of the answerable training questions; the report gives
  the share of held-out near misses it refuses and of held-out answerable questions it keeps.

    .venv/bin/python scripts/train_selector.py [--norquad ../shared/data/norquad] [--write]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from ingest.chunking import split_sentences
from kb.answer.question import Question, _question_stems, _stems, read_question
from kb.answer.score import _overlap, local_overlaps, previous_in_document
from kb.answer.selector import FEATURES, WEIGHTS, features

REPO = Path(__file__).resolve().parents[1]
ANSWER_KEEP = 0.90  # share of answerable typed training questions the answerability threshold keeps
CACHE = Path(os.environ.get("KB_SELECTOR_CACHE", "/tmp/kb-selector-cache"))


def write_json(path: Path, data: dict) -> None:
    """A trained model's file: indented JSON, non-ASCII kept (the report quotes Norwegian)."""
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def held_out(passage_id: str) -> bool:
    return int(hashlib.sha256(passage_id.encode()).hexdigest(), 16) % 5 == 0


def sentences_of(text: str) -> list[tuple[int, int, str]]:
    """(start, end, sentence) for each sentence of a passage, line by line."""
    out = []
    offset = 0
    for line in text.split("\n"):
        cursor = 0
        for sentence in split_sentences(line):
            at = line.find(sentence, cursor)
            if at < 0:
                continue
            cursor = at + len(sentence)
            if len(sentence.split()) >= 3:
                out.append((offset + at, offset + cursor, sentence))
        offset += len(line) + 1
    return out


def embed(texts: list[str], prefix: str, name: str) -> np.ndarray:
    """Vectors from the project's own embedder (the offline model), cached by content."""
    key = hashlib.sha256(("\n".join(texts) + prefix).encode()).hexdigest()[:16]
    path = CACHE / f"{name}-{key}.npy"
    if path.is_file():
        return np.load(path)
    from kb.config import Settings
    from kb.embed.models import make_embedder

    embedder = make_embedder(Settings())
    if prefix == "query":
        vectors = [embedder.get_query_embedding(t) for t in texts]
    else:
        vectors = embedder.get_text_embedding_batch(texts, show_progress=True)
    array = np.asarray(vectors, dtype=np.float32)
    array /= np.linalg.norm(array, axis=1, keepdims=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, array)
    return array


@dataclass
class Sample:
    """One NorQuAD question with the sentences it reads: its passage's and the nearest other passage's."""

    held_out: bool
    text: str
    question: Question
    pool: list[list]  # [label, holds the answer's words, sentence, cosine, overlap, FEATURES values]
    answer: str = ""  # NorQuAD's answer span


def norquad_samples(norquad: Path) -> list[Sample]:
    """Every usable NorQuAD question with its pool of sentences, labelled and with the selector's features."""
    passages = [json.loads(line) for line in (norquad / "corpus.jsonl").open(encoding="utf-8")]
    questions = [json.loads(line) for line in (norquad / "queries.jsonl").open(encoding="utf-8")]
    qrels = {}
    for line in (norquad / "qrels.tsv").open(encoding="utf-8"):
        parts = line.rstrip("\n").split("\t")
        if len(parts) >= 2 and parts[0] != "query-id":
            qrels[parts[0]] = parts[1]
    by_id = {p["_id"]: p for p in passages}
    spans = {p["_id"]: sentences_of(p["text"]) for p in passages}
    flat = [(pid, i) for pid in spans for i in range(len(spans[pid]))]
    vectors = embed([spans[pid][i][2] for pid, i in flat], "passage", "sentences")
    row = {key: n for n, key in enumerate(flat)}

    counts: Counter[str] = Counter()
    for pid in spans:
        counts.update(_stems(by_id[pid]["text"]))
    n_docs = len(spans)
    idf = {stem: math.log((n_docs + 1) / (c + 0.5)) for stem, c in counts.items()}
    unseen = math.log((n_docs + 1) / 0.5)

    usable = [q for q in questions if q["_id"] in qrels and qrels[q["_id"]] in spans and q.get("answer_start")]
    q_vectors = embed([q["text"] for q in usable], "query", "questions")
    passage_ids = list(spans)
    # The distractor: the other passage whose best sentence is closest to the question.
    best_per_passage = np.full((len(usable), len(passage_ids)), -1.0, dtype=np.float32)
    sims = q_vectors @ vectors.T
    for j, pid in enumerate(passage_ids):
        rows = [row[(pid, i)] for i in range(len(spans[pid]))]
        if rows:
            best_per_passage[:, j] = sims[:, rows].max(axis=1)

    samples: list[Sample] = []
    for qi, q in enumerate(usable):
        own = qrels[q["_id"]]
        order = np.argsort(-best_per_passage[qi])
        other = next(passage_ids[j] for j in order if passage_ids[j] != own)
        start = q["answer_start"][0]
        answer = q["answers"][0]
        question = read_question(q["text"])
        q_stems = _question_stems(q["text"], idf, ())
        pool = []
        for pid in (own, other):
            for i, (s, e, text) in enumerate(spans[pid]):
                label = pid == own and s <= start < e
                holds = answer in text  # the answer's words in any sentence: taken out of a near miss
                cosine = float(sims[qi, row[(pid, i)]])
                overlap = _overlap(q_stems, _stems(text), idf, unseen)
                pool.append([label, holds, text, cosine, overlap, pid])  # [5]: the features, below
        if not any(p[0] for p in pool):
            continue
        best_cos = max(p[3] for p in pool)
        best_ov = max(p[4] for p in pool)
        local = local_overlaps(q_stems, [_stems(p[2]) for p in pool])
        previous = previous_in_document([p[5] for p in pool], local)
        for p, loc, prev in zip(pool, local, previous, strict=True):
            p[5] = features(
                question, p[2], p[3], p[4], best_cos, best_ov, local=loc, best_local=max(local), previous=prev
            )
        samples.append(Sample(held_out(own), q["text"], question, pool, answer))
    return samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--norquad", type=Path, default=REPO.parent / "shared" / "data" / "norquad")
    parser.add_argument("--write", action="store_true", help="write kb/answer/selector.json")
    args = parser.parse_args()
    samples = [(s.held_out, s.question, s.pool) for s in norquad_samples(args.norquad)]

    train = [s for s in samples if not s[0]]
    test = [s for s in samples if s[0]]
    from sklearn.linear_model import LogisticRegression

    x = np.array([p[5] for _, _, pool in train for p in pool])
    y = np.array([p[0] for _, _, pool in train for p in pool], dtype=int)
    model = LogisticRegression(C=1.0, max_iter=2000, class_weight="balanced")
    model.fit(x, y)
    weights, bias = model.coef_[0], float(model.intercept_[0])

    def prob(values: list[float]) -> float:
        return 1.0 / (1.0 + math.exp(-(bias + float(np.dot(weights, values)))))

    def top1(split: list, key) -> float:
        hits = sum(max(pool, key=key)[0] for _, _, pool in split)
        return hits / len(split)

    def top3(split: list, key) -> float:
        hits = sum(any(p[0] for p in sorted(pool, key=lambda p: -key(p))[:3]) for _, _, pool in split)
        return hits / len(split)

    report = {
        "questions_train": len(train),
        "questions_held_out": len(test),
        "top1_held_out": {
            "cosine": round(top1(test, lambda p: p[3]), 3),
            "cosine+0.3*overlap (before)": round(top1(test, lambda p: p[3] + 0.3 * p[4]), 3),
            "learned": round(top1(test, lambda p: prob(p[5])), 3),
        },
        "top3_held_out": {
            "cosine": round(top3(test, lambda p: p[3]), 3),
            "learned": round(top3(test, lambda p: prob(p[5])), 3),
        },
        "top1_train_learned": round(top1(train, lambda p: prob(p[5])), 3),
    }
    typed_index = FEATURES.index("item")

    def best_typed(pool: list, drop_answer: bool) -> float:
        values = [prob(p[5]) for p in pool if p[5][typed_index] and not (drop_answer and p[1])]
        return max(values, default=0.0)

    typed_train = [s for s in train if s[1].typed]
    typed_test = [s for s in test if s[1].typed]
    kept = sorted(best_typed(pool, False) for _, _, pool in typed_train)
    threshold = kept[int((1 - ANSWER_KEEP) * len(kept))] if kept else 0.5
    report["answerable_threshold"] = round(threshold, 4)
    report["typed_questions"] = {"train": len(typed_train), "held_out": len(typed_test)}
    report["held_out_typed"] = {
        "answerable_kept": round(sum(best_typed(p, False) >= threshold for _, _, p in typed_test) / len(typed_test), 3),
        "near_miss_refused": round(sum(best_typed(p, True) < threshold for _, _, p in typed_test) / len(typed_test), 3),
    }
    # The answer-type rules on text they were not written for: how often NorQuAD's own answer sentence holds an
    # item of the asked type and unit (a miss here is an answerable question the rules would refuse).
    labelled = [next(p for p in pool if p[0]) for _, _, pool in typed_test]
    report["held_out_typed"]["answer_sentence_holds_item"] = round(
        sum(bool(p[5][typed_index]) for p in labelled) / len(labelled), 3
    )
    report["asks"] = dict(Counter(s[1].asks for s in samples))
    report["weights"] = {name: round(float(w), 4) for name, w in zip(FEATURES, weights, strict=True)}
    print(json.dumps(report, ensure_ascii=False, indent=2))
    if args.write:
        write_json(
            WEIGHTS,
            {
                "trained": str(date.today()),
                "data": "NorQuAD (../shared/data/norquad), passages whose sha256(id) % 5 != 0",
                "command": "scripts/train_selector.py --write",
                "features": list(FEATURES),
                "weights": [round(float(w), 6) for w in weights],
                "bias": round(bias, 6),
                "answerable": round(threshold, 6),
                "report": report,
            },
        )
        print(f"wrote {WEIGHTS}")


if __name__ == "__main__":
    main()
