"""Hybrid search over the store's hits: fusion of dense and BM25, newer versions first, spread and grouping.

`retrieval` holds pure functions (hits in, hits out); kb.base.KnowledgeBase.search runs them over the store.
"""

from kb.retrieve.retrieval import (
    apply_versions,
    best_per_document,
    diversify,
    fuse_rrf,
    fuse_weighted,
    group_by_municipality,
    rarity_weight,
    superseded_sources,
)

__all__ = [
    "apply_versions",
    "best_per_document",
    "diversify",
    "fuse_rrf",
    "fuse_weighted",
    "group_by_municipality",
    "rarity_weight",
    "superseded_sources",
]
