"""Compare fusion settings on a labelled set without re-embedding: candidates are fetched once per question.

Usage: python scripts/tune_retrieval.py [--norquad N]   (uses the eval stores `kb eval` built under KB_HOME)
"""

from __future__ import annotations

import argparse
import pickle
import statistics
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

from kb.cli.evaluate import eval_kb
from kb.config import Settings
from kb.evaluate import retrieval as ev
from kb.retrieve import retrieval


def candidates(kb, questions, cache=None):
    lexical = kb.lexical()  # also decides which strategies are superseded, which score() needs
    if cache is not None and cache.exists():
        return pickle.loads(cache.read_bytes())
    rows = []
    for q in questions:
        vector = kb.embed_query(q.question)
        dense = lexical.dense_search(vector, 60)
        sparse = lexical.search(q.question, 60)
        rows.append((q, dense, sparse))
    if cache is not None:
        cache.write_bytes(pickle.dumps(rows))
    return rows


def score(kb, rows, fuse):
    per_kind = defaultdict(list)
    for q, dense, sparse in rows:
        try:
            out = fuse(dense, sparse, q.question)
        except TypeError:
            out = fuse(dense, sparse)
        fused = retrieval.apply_versions(out, kb._superseded, 0.5, False)
        ranked = list(dict.fromkeys(h.source for h in fused))
        per_kind[q.kind].append(ev.doc_metrics(ranked, q.relevant))
    allm = [m for ms in per_kind.values() for m in ms]
    out = {k: statistics.fmean(m[k] for m in allm) for k in ("recall@5", "mrr@10", "ndcg@10")}
    out["kinds"] = {
        f"{k[:5]}({len(ms)})": round(statistics.fmean(m["recall@5"] for m in ms), 3)
        for k, ms in sorted(per_kind.items())
    }
    return out


def _scale(values, floor=None):
    values = ([floor] if floor is not None else []) + values
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    return lambda v: (v - low) / (high - low) if high - low > 1e-9 else 1.0


def fuse_variant(dense, sparse, w, *, sparse_minmax=False, tau=None, doc_level=False):
    """Weighted fusion with the alternatives measured for issue #4 (none of them is used by the product).

    sparse_minmax: BM25 min-max over its candidates instead of 0..max. tau: BM25 weight scaled by
    min(1, top BM25 score / tau) (trust BM25 less when no query word is rare). doc_level: a chunk scores as its
    document's best dense and best BM25 evidence fused.
    """
    fd = _scale([h.dense_score for h in dense])
    fs = _scale([h.bm25_score for h in sparse], None if sparse_minmax else 0.0)
    if tau is not None:
        w = 1 - (1 - w) * min(1.0, (sparse[0].bm25_score if sparse else 0.0) / tau)
    merged = retrieval._merge(dense, sparse)
    d = {i: fd(h.dense_score) if h.dense_score is not None else 0.0 for i, h in merged.items()}
    s = {i: fs(h.bm25_score) if h.bm25_score is not None else 0.0 for i, h in merged.items()}
    if doc_level:
        best_d, best_s = defaultdict(float), defaultdict(float)
        for i, h in merged.items():
            best_d[h.source] = max(best_d[h.source], d[i])
            best_s[h.source] = max(best_s[h.source], s[i])
        d = {i: best_d[h.source] for i, h in merged.items()}
        s = {i: best_s[h.source] for i, h in merged.items()}
    fused = [replace(h, score=w * d[i] + (1 - w) * s[i]) for i, h in merged.items()]
    return sorted(fused, key=lambda h: -h.score)


RARITY: dict[str, float] = {}


def fuse_rarity(dense, sparse, w, rho, query):
    """The product's fusion (kb.base.KnowledgeBase.search) with `rho` in place of Settings.rare_word."""
    return retrieval.fuse_weighted(dense, sparse, retrieval.rarity_weight(w, RARITY[query], rho))


def variants():
    yield "dense", lambda d, s: retrieval.fuse_weighted(d, [], 1.0)
    yield "bm25", lambda d, s: retrieval.fuse_weighted([], s, 0.0)
    for w in (0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.8):
        yield f"weighted w={w}", lambda d, s, w=w: retrieval.fuse_weighted(d, s, w)
    for w in (0.5, 0.6, 0.7):
        for k in (10, 60):
            yield f"rrf k={k} w={w}", lambda d, s, w=w, k=k: retrieval.fuse_rrf(d, s, k, w)
    yield "bm25 min-max w=0.5", lambda d, s: fuse_variant(d, s, 0.5, sparse_minmax=True)
    for tau in (3, 4, 6, 8):
        yield f"bm25 by top tau={tau}", lambda d, s, tau=tau: fuse_variant(d, s, 0.5, tau=tau)
    for w in (0.5, 0.6):
        yield f"doc-level w={w}", lambda d, s, w=w: fuse_variant(d, s, w, doc_level=True)
    for w in (0.4, 0.5):
        for rho in (0.5, 0.6, 0.7, 0.8, 0.9):
            yield f"rarity w={w} rho={rho}", lambda d, s, q, w=w, rho=rho: fuse_rarity(d, s, w, rho, q)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--norquad", type=int, default=0)
    parser.add_argument("--set", default=str(ev.DEFAULT_SET), help="labelled set (default: the project's own)")
    args = parser.parse_args()
    settings = Settings()
    kb = eval_kb(settings, "corpus", ev.DEFAULT_CORPUS)
    own = [q for q in ev.load_questions(Path(args.set)) if q.relevant]
    sets = [(Path(args.set).stem, kb, own)]
    if args.norquad:
        root = ev.write_norquad_corpus(ev.NORQUAD_DIR, settings.home / "eval" / "norquad-files")
        nq = eval_kb(settings, "norquad", root, embedder=kb.embedder)
        sets.append(("norquad", nq, ev.norquad_questions(ev.NORQUAD_DIR, args.norquad)))
    for name, base, questions in sets:
        rows = candidates(base, questions, settings.home / "eval" / f"candidates-exact-{name}-{len(questions)}.pkl")
        lexical = base.lexical()
        for q in questions:
            RARITY[q.question] = lexical.rarity(q.question)
        print(f"\n== {name} ({len(questions)} questions)")
        for label, fuse in variants():
            r = score(base, rows, fuse)
            kinds = " ".join(f"{k}={v}" for k, v in r["kinds"].items()) if name != "norquad" else ""
            print(f"{label:<22} R@5 {r['recall@5']:.3f} MRR {r['mrr@10']:.3f} nDCG {r['ndcg@10']:.3f}  {kinds}")


if __name__ == "__main__":
    main()
