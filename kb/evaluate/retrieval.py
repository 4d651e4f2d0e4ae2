"""Retrieval evaluation at the document level: recall@5, recall@10, MRR@10 and nDCG@10, per question kind.

Two sets: the project's own labelled questions over corpus/ (evalsets/erfaringsbanken.jsonl) and NorQuAD
(real Norwegian questions nobody here wrote), each searched in a store of its own under HOME/eval/ so the
figures never depend on what a user has ingested.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import math
import random
import re
import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kb.config import REPO_ROOT
from kb.errors import KBError

logger = logging.getLogger(__name__)

KINDS = ("paraphrase", "keyword", "comparison", "facilitator", "onboarding", "versioned", "unanswerable")
MODES = ("dense", "bm25", "hybrid")
DEFAULT_SET = REPO_ROOT / "evalsets" / "erfaringsbanken.jsonl"
DEFAULT_CORPUS = REPO_ROOT / "corpus"
NORQUAD_DIR = REPO_ROOT.parent / "shared" / "data" / "norquad"
DEPTH = 10  # documents scored per question
CHUNK_DEPTH = 60  # chunks fetched to find the top documents


@dataclass(frozen=True, slots=True)
class Question:
    """One labelled question."""

    id: str
    question: str
    kind: str
    relevant: tuple[str, ...]
    facts: tuple[str, ...] = ()


def load_questions(path: Path) -> list[Question]:
    """Read a JSON Lines question set, checking every line.

    Raises:
        KBError: a line is not valid JSON or misses a field, with the line number.
    """
    questions = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            questions.append(
                Question(
                    id=str(row["id"]),
                    question=str(row["question"]),
                    kind=str(row.get("kind", "")),
                    relevant=tuple(row.get("relevant", [])),
                    facts=tuple(row.get("facts", [])),
                )
            )
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise KBError(f"{path}:{number}: ugyldig spørsmål ({exc}); hver linje trenger id og question") from exc
    return questions


def doc_metrics(ranked: Sequence[str], relevant: Iterable[str]) -> dict[str, float]:
    """Recall@5, recall@10, MRR@10 and nDCG@10 (binary gains) of a ranked list of document ids."""
    wanted = set(relevant)
    top = list(ranked[:DEPTH])
    hits = [1.0 if doc in wanted else 0.0 for doc in top]
    first = next((i for i, h in enumerate(hits, start=1) if h), None)
    dcg = sum(h / math.log2(i + 1) for i, h in enumerate(hits, start=1))
    ideal = sum(1.0 / math.log2(i + 1) for i in range(1, min(len(wanted), DEPTH) + 1))
    return {
        "recall@5": len(wanted & set(top[:5])) / len(wanted),
        "recall@10": len(wanted & set(top)) / len(wanted),
        "mrr@10": 1.0 / first if first else 0.0,
        "ndcg@10": dcg / ideal if ideal else 0.0,
    }


def _mean(rows: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.fmean(r[key] for r in rows) for key in rows[0]} if rows else {}


def rank_documents(kb: Any, query: str, mode: str) -> list[str]:
    """Documents in the order of their best chunk."""
    hits = kb.search(query, k=CHUNK_DEPTH, mode=mode)
    seen: dict[str, None] = {}
    for hit in hits:
        seen.setdefault(hit.source, None)
    return list(seen)


def evaluate(
    kb: Any,
    questions: Sequence[Question],
    modes: Sequence[str] = MODES,
    progress: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Metrics per mode, overall and per kind, plus the version check and hybrid latency."""
    answerable = [q for q in questions if q.relevant]
    results: dict[str, Any] = {"questions": len(answerable), "modes": {}}
    latencies: list[float] = []
    kb.lexical()  # loads the snapshot, which also decides which strategies are superseded
    superseded = kb._superseded
    version_checks: list[bool] = []
    for mode in modes:
        per_kind: dict[str, list[dict[str, float]]] = defaultdict(list)
        overall: list[dict[str, float]] = []
        misses = []
        for q in answerable:
            started = time.perf_counter()
            ranked = rank_documents(kb, q.question, mode)
            if mode == "hybrid":
                latencies.append(time.perf_counter() - started)
                version_checks.extend(_version_check(ranked, q.relevant, superseded))
            metrics = doc_metrics(ranked, q.relevant)
            per_kind[q.kind].append(metrics)
            overall.append(metrics)
            if metrics["recall@5"] < 1.0:
                misses.append({"id": q.id, "question": q.question, "relevant": list(q.relevant), "top": ranked[:5]})
            if progress:
                progress()
        results["modes"][mode] = {
            "overall": _mean(overall),
            "per_kind": {kind: {**_mean(rows), "n": len(rows)} for kind, rows in sorted(per_kind.items())},
            "misses": misses,
        }
    if latencies:
        results["hybrid_latency_ms"] = {
            "median": 1000 * statistics.median(latencies),
            "p95": 1000 * sorted(latencies)[max(0, math.ceil(0.95 * len(latencies)) - 1)],
        }
    if version_checks:
        results["current_version_first"] = sum(version_checks) / len(version_checks)
        results["version_questions"] = len(version_checks)
    return results


def _version_check(ranked: Sequence[str], relevant: Iterable[str], superseded: dict[str, str]) -> list[bool]:
    """For each relevant current strategy with an older version: does the current one rank above it?"""
    checks = []
    older_of: dict[str, list[str]] = defaultdict(list)
    for old, new in superseded.items():
        older_of[new].append(old)
    for doc in relevant:
        for old in older_of.get(doc, []):
            new_rank = ranked.index(doc) if doc in ranked else math.inf
            old_rank = ranked.index(old) if old in ranked else math.inf
            checks.append(new_rank < old_rank or (new_rank == old_rank == math.inf))
    return checks


# --- stores for the evaluation sets ------------------------------------------------------------------------
def store_name(corpus: Path | None) -> str:
    """The eval store's folder name for a labelled corpus: «corpus» for ours, one per folder for any other.

    Each folder needs its own store: the store is pruned to the folder it was last built from, so a shared one
    would throw away our corpus to measure another and rebuild it on the next plain `kb eval`.
    """
    if corpus is None or corpus.resolve() == DEFAULT_CORPUS.resolve():
        return "corpus"
    path = corpus.resolve()
    slug = re.sub(r"[^a-z0-9]+", "-", path.name.lower()).strip("-") or "folder"
    return f"corpus-{slug}-{hashlib.sha256(str(path).encode()).hexdigest()[:8]}"


def norquad_questions(folder: Path, sample: int, seed: int = 42) -> list[Question]:
    """A fixed random sample of NorQuAD questions with their passage as the one relevant document.

    The hand-marked answer span is the question's one key fact (for `kb eval --answers --norquad`).
    """
    qrels: dict[str, str] = {}
    for line in (folder / "qrels.tsv").read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) >= 2 and parts[0] not in ("query-id", "query_id"):
            qrels[parts[0]] = parts[1]
    rows = [json.loads(line) for line in (folder / "queries.jsonl").read_text(encoding="utf-8").splitlines() if line]
    rows = [r for r in rows if str(r["_id"]) in qrels]
    random.Random(seed).shuffle(rows)
    return [
        Question(
            id=str(r["_id"]),
            question=r["text"],
            kind="norquad",
            relevant=(f"NorQuAD/passasjer/{qrels[str(r['_id'])]}.txt",),
            facts=tuple(str(a) for a in r.get("answers", [])[:1]),
        )
        for r in rows[:sample]
    ]


def write_norquad_corpus(folder: Path, target: Path) -> Path:
    """Write NorQuAD passages as text files (title as the first line) in the project's folder layout."""
    out = target / "NorQuAD" / "passasjer"
    out.mkdir(parents=True, exist_ok=True)
    opener = gzip.open if (folder / "corpus.jsonl.gz").exists() else open
    path = folder / "corpus.jsonl.gz" if opener is gzip.open else folder / "corpus.jsonl"
    with opener(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            row = json.loads(line)
            file = out / f"{row['_id']}.txt"
            text = f"{row.get('title', '')}\n\n{row['text']}\n"
            if not file.exists() or file.read_text(encoding="utf-8") != text:
                file.write_text(text, encoding="utf-8")
    return target


def format_table(results: dict[str, Any], title: str) -> str:
    """The side-by-side table printed by `kb eval`."""
    modes = list(results["modes"])
    metrics = ("recall@5", "recall@10", "mrr@10", "ndcg@10")
    lines = [f"\n{title} ({results['questions']} spørsmål med fasit)", ""]
    lines.append(f"{'':<20}" + "  ".join(f"{k:^{18 * len(modes) - 2}}" for k in metrics))
    lines.append(f"{'type':<14}{'n':>4}  " + "  ".join(f"{m:>16}" for _ in metrics for m in modes))
    kinds = sorted({k for m in modes for k in results["modes"][m]["per_kind"]})
    for kind in [*kinds, "ALLE"]:
        cells = []
        n = 0
        for key in metrics:
            for mode in modes:
                block = results["modes"][mode]
                row = block["overall"] if kind == "ALLE" else block["per_kind"].get(kind, {})
                n = results["questions"] if kind == "ALLE" else int(row.get("n", 0))
                cells.append(f"{row.get(key, float('nan')):>16.3f}")
        lines.append(f"{kind:<14}{n:>4}  " + "  ".join(cells))
    if "hybrid_latency_ms" in results:
        lat = results["hybrid_latency_ms"]
        lines.append(
            f"\nhybrid søketid: median {lat['median']:.0f} ms, p95 {lat['p95']:.0f} ms (inkl. spørreembedding)"
        )
    if "current_version_first" in results:
        lines.append(
            f"gjeldende versjon foran eldre: {results['current_version_first']:.0%} "
            f"av {results['version_questions']} sjekker"
        )
    return "\n".join(lines)
