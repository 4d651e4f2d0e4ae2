"""Hybrid retrieval: dense and BM25 candidates fused, newer versions first, optionally spread over municipalities.

All functions here are pure: they take hits and return hits, so they are tested without a store.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from kb.types import Hit, Scalar

_TITLE_NOISE = re.compile(r"\d+|[^\wæøå]+")
_TITLE_STOP = {"for", "i", "og", "kommune", "kommunes", "fylkeskommune", "fylkeskommunes", "til", "av", "med"}


def fuse_weighted(dense: Sequence[Hit], sparse: Sequence[Hit], dense_weight: float) -> list[Hit]:
    """Convex combination of min-max normalised scores; a side that did not find a chunk gives it 0."""
    return _fuse(dense, sparse, lambda d, s: dense_weight * d + (1 - dense_weight) * s, normalise=True)


def rarity_weight(dense_weight: float, rarity: float, rare_word: float) -> float:
    """The dense weight for one question: BM25 keeps its share only when the question has a rare word.

    BM25 finds names, figures and acronyms; when every word of a question is common («hvordan fungerer
    nettverket?») its list is flat and weak, yet max-normalisation would stretch it to the same 0–1 as the
    dense list. `rarity` is the rarest word's IDF relative to a word found in one chunk; at `rare_word` or
    above BM25 gets its full 1 - dense_weight, below it that share in proportion.
    """
    return 1.0 - (1.0 - dense_weight) * min(1.0, max(rarity, 0.0) / rare_word)


def fuse_rrf(dense: Sequence[Hit], sparse: Sequence[Hit], k: int, dense_weight: float = 0.5) -> list[Hit]:
    """Weighted reciprocal rank fusion: sum of weight / (k + rank) over both lists."""
    dense_rank = {h.id: r for r, h in enumerate(dense, start=1)}
    sparse_rank = {h.id: r for r, h in enumerate(sparse, start=1)}

    def score(hit_id: str) -> float:
        total = 0.0
        if hit_id in dense_rank:
            total += 2 * dense_weight / (k + dense_rank[hit_id])
        if hit_id in sparse_rank:
            total += 2 * (1 - dense_weight) / (k + sparse_rank[hit_id])
        return total

    merged = _merge(dense, sparse)
    scored = [replace(h, score=score(h.id)) for h in merged.values()]
    top = max((h.score for h in scored), default=1.0) or 1.0
    return sorted((replace(h, score=h.score / top) for h in scored), key=lambda h: -h.score)


def _merge(dense: Sequence[Hit], sparse: Sequence[Hit]) -> dict[str, Hit]:
    merged: dict[str, Hit] = {h.id: h for h in dense}
    for hit in sparse:
        if hit.id in merged:
            merged[hit.id] = replace(merged[hit.id], bm25_score=hit.bm25_score)
        else:
            merged[hit.id] = hit
    return merged


def _fuse(dense: Sequence[Hit], sparse: Sequence[Hit], combine, *, normalise: bool) -> list[Hit]:  # type: ignore[no-untyped-def]
    def scaler(values: list[float]):  # type: ignore[no-untyped-def]
        if not values:
            return lambda v: 0.0
        low, high = min(values), max(values)
        if high - low < 1e-9:
            return lambda v: 1.0
        return lambda v: (v - low) / (high - low)

    dense_scale = scaler([h.dense_score or 0.0 for h in dense])
    sparse_scale = scaler([0.0] + [h.bm25_score or 0.0 for h in sparse])
    merged = _merge(dense, sparse)
    fused = []
    for hit in merged.values():
        d = dense_scale(hit.dense_score) if hit.dense_score is not None else 0.0
        s = sparse_scale(hit.bm25_score) if hit.bm25_score is not None else 0.0
        fused.append(replace(hit, score=float(combine(d, s))))
    return sorted(fused, key=lambda h: -h.score)


def title_words(title: str, municipality: str) -> frozenset[str]:
    """Content words of a title, without years, the municipality's name and filler words."""
    skip = _TITLE_STOP | set(municipality.lower().split())
    return frozenset(w for w in _TITLE_NOISE.sub(" ", title.lower()).split() if w not in skip and len(w) > 2)


def _same_document(a: frozenset[str], b: frozenset[str]) -> bool:
    if not a or not b:
        return True  # two untitled strategies of one municipality: treat as versions
    if len(a & b) / len(a | b) >= 0.5:
        return True
    # «kompetansestrategi» vs «kompetanseplan»: the same document renamed shares a long prefix.
    return any(x[:8] == y[:8] and len(x) >= 8 for x in a for y in b)


def superseded_sources(documents: Iterable[Mapping[str, Scalar]]) -> dict[str, str]:
    """Older versions of strategies: source → the source of the newest version.

    Versions are strategies of the same municipality whose titles name the same document (ignoring years
    and periods); the one with the latest date is current.
    """
    groups: dict[str, list[Mapping[str, Scalar]]] = defaultdict(list)
    for doc in documents:
        if doc.get("doc_type") == "strategi" and doc.get("municipality"):
            groups[str(doc["municipality"])].append(doc)
    superseded: dict[str, str] = {}
    for municipality, docs in groups.items():
        docs = sorted(docs, key=lambda d: (str(d.get("date", "")), str(d.get("source"))), reverse=True)
        words = [title_words(str(d.get("title", "")), municipality) for d in docs]
        for i, older in enumerate(docs):
            for j in range(i):
                newer = docs[j]
                if str(newer.get("date", "")) > str(older.get("date", "")) and _same_document(words[i], words[j]):
                    superseded[str(older["source"])] = str(newer["source"])
                    break
    return superseded


def apply_versions(hits: Sequence[Hit], superseded: Mapping[str, str], penalty: float, history: bool) -> list[Hit]:
    """Mark older versions; unless `history`, scale their score so the current version ranks first."""
    out = []
    for hit in hits:
        if hit.source in superseded:
            factor = 1.0 if history else penalty
            out.append(replace(hit, superseded=True, score=hit.score * factor))
        else:
            out.append(hit)
    if history:
        return out
    ranked = sorted(out, key=lambda h: -h.score)
    # NOTE: the score penalty alone can leave an old version above a weakly matching current one; the user
    # asked for the newest, so each older version goes right below its current version's best hit.
    result: list[Hit] = []
    held: dict[str, list[Hit]] = defaultdict(list)
    present = {h.source for h in ranked}
    for hit in ranked:
        newer = superseded.get(hit.source)
        if hit.superseded and newer in present and newer not in {h.source for h in result}:
            held[newer].append(hit)
            continue
        result.append(hit)
        if hit.source in held:
            result.extend(held.pop(hit.source))
    for rest in held.values():
        result.extend(rest)
    return result


def diversify(hits: Sequence[Hit], per_municipality: int) -> list[Hit]:
    """At most `per_municipality` hits from each municipality first, the rest after them in score order."""
    if per_municipality <= 0:
        return list(hits)
    counts: dict[str, int] = defaultdict(int)
    first, rest = [], []
    for hit in hits:
        counts[hit.municipality] += 1
        (first if counts[hit.municipality] <= per_municipality else rest).append(hit)
    return first + rest


def best_per_document(hits: Sequence[Hit]) -> list[Hit]:
    """One hit per source (its best chunk), in rank order."""
    seen: set[str] = set()
    out = []
    for hit in hits:
        if hit.source not in seen:
            seen.add(hit.source)
            out.append(hit)
    return out


def group_by_municipality(hits: Sequence[Hit], per_group: int = 3) -> dict[str, list[Hit]]:
    """Best hits per municipality, groups ordered by their best hit."""
    groups: dict[str, list[Hit]] = {}
    for hit in hits:
        bucket = groups.setdefault(hit.municipality or "Ukjent", [])
        if len(bucket) < per_group:
            bucket.append(hit)
    return groups
