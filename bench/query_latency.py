"""Hybrid search latency at 1k, 10k and 100k chunks, embedded and against a Chroma server.

Query embedding is excluded from the search figures (queries are embedded once; the time it takes is
reported separately, with its share of the total). Chunks are real Lovtidend chunks with real vectors,
replicated with a small random perturbation of the vectors for the bigger sizes and written straight into
the store with Store.add_records. Target: median hybrid search <= 100 ms at 100k chunks.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/query_latency.py [--sizes 1000,10000,100000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import _common as c
import numpy as np

TARGET_MEDIAN_MS = 100.0
MUNICIPALITIES = ("Sarpsborg", "Fredrikstad", "Halden", "Råde", "Rakkestad", "Læringsnettverket")
QUERIES = [
    "Hvilke regler gjelder for arbeidstid og overtid?",
    "karantene for politikere som går over i ny stilling",
    "endringer i forskrift om tilskudd",
    "krav til kompetanse for ansatte i barnehagen",
    "hva sier loven om permisjon ved fødsel?",
    "taushetsplikt i offentlig forvaltning",
    "sykepenger og egenmelding",
    "lønn under opplæring for lærlinger",
    "midlertidig ansettelse i kommunen",
    "varsling av kritikkverdige forhold",
    "skatt på pensjon",
    "forskrift om helsepersonell og autorisasjon",
    "tilsyn med arbeidsmiljø",
    "regler for innkjøp og anskaffelser",
    "personvern og behandling av personopplysninger",
    "kommunens ansvar for helse og omsorg",
    "utdanning og opptak til høyere utdanning",
    "fiskeriforskrift kvoter",
    "avgifter på drivstoff",
    "valgloven og kommunestyrevalg",
]


def replicate(base: list[tuple[Any, list[float]]], n: int, start: int, rng: np.random.Generator) -> list[Any]:
    """Records start..n-1: copies of the base chunks with perturbed unit vectors and spread metadata."""
    from kb.store.chroma import Record

    vectors = np.asarray([v for _, v in base], dtype=np.float32)
    rows = []
    for i in range(start, n):
        record, _ = base[i % len(base)]
        copy = i // len(base)
        vector = vectors[i % len(base)]
        if copy:
            vector = vector + rng.normal(0, 0.01, vector.shape).astype(np.float32)
            vector = vector / np.linalg.norm(vector)
        meta = dict(record.metadata)
        meta["source"] = f"{meta.get('source')}#{copy}"
        meta["municipality"] = MUNICIPALITIES[i % len(MUNICIPALITIES)]
        rows.append((Record(f"{record.id}-{copy}", record.text, meta), vector.tolist()))
    return rows


def measure(
    kb: Any, vectors: dict[str, list[float]], mode: str = "hybrid", filters: Any = None, repeat: int = 3
) -> dict[str, float]:
    """Median and p95 of kb.search over every query, `repeat` times, with the query vectors given."""
    kb.embed_query = vectors.__getitem__  # NOTE: excludes query embedding from the figure
    for query in QUERIES[:3]:
        kb.search(query, k=10, filters=filters, mode=mode)  # warm caches
    times = []
    for _ in range(repeat):
        for query in QUERIES:
            started = time.perf_counter()
            kb.search(query, k=10, filters=filters, mode=mode)
            times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {
        "median_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[int(0.95 * (len(times) - 1))], 1),
    }


def run_backend(
    backend: str,
    sizes: list[int],
    base: list[tuple[Any, list[float]]],
    vectors: dict[str, list[float]],
    embed_ms: float,
) -> None:
    from kb.base import KnowledgeBase
    from kb.types import Filters

    rng = np.random.default_rng(42)
    with tempfile.TemporaryDirectory(prefix=f"kb-bench-query-{backend}-") as tmp:
        server = None
        changes: dict[str, Any] = {}
        if backend == "server":
            from tests.chroma_server import start_server

            server = start_server(Path(tmp) / "server", Path(tmp) / "server.log")
            changes["chroma_url"] = server.url
        try:
            kb = KnowledgeBase(c.real_settings(Path(tmp) / "home", **changes))
            have = 0
            for size in sizes:
                started = time.perf_counter()
                kb.store.add_records(replicate(base, size, have, rng))
                write_s = time.perf_counter() - started
                have = size
                kb.store.bump_revision()
                started = time.perf_counter()
                kb.rebuild_lexical()
                bm25_s = time.perf_counter() - started
                hybrid = measure(kb, vectors)
                modes = {mode: measure(kb, vectors, mode, repeat=1) for mode in ("dense", "bm25")}
                filtered = measure(kb, vectors, filters=Filters(municipalities=("Halden",)), repeat=1)
                total = hybrid["median_ms"] + embed_ms
                c.emit(
                    bench="query_latency",
                    backend=backend,
                    chunks=kb.store.count(),
                    hybrid_median_ms=hybrid["median_ms"],
                    hybrid_p95_ms=hybrid["p95_ms"],
                    dense_median_ms=modes["dense"]["median_ms"],
                    bm25_median_ms=modes["bm25"]["median_ms"],
                    filtered_hybrid_median_ms=filtered["median_ms"],
                    query_embed_median_ms=round(embed_ms, 1),
                    embed_share_of_total=round(embed_ms / total, 3),
                    write_s=round(write_s, 1),
                    bm25_build_s=round(bm25_s, 1),
                    rss_mb=round(c.rss_mb()),
                    peak_rss_mb=round(c.peak_rss_mb()),
                    server_rss_mb=round(c.rss_mb(server.process.pid)) if server else None,
                    target_median_ms=TARGET_MEDIAN_MS if size >= 100_000 else None,
                    met=(hybrid["median_ms"] <= TARGET_MEDIAN_MS) if size >= 100_000 else None,
                )
        finally:
            if server is not None:
                from tests.chroma_server import stop_server

                stop_server(server.process)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--backends", default="embedded,server")
    parser.add_argument("--chars", type=int, default=400_000, help="Lovtidend characters for the base chunks")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    base = c.base_chunks(args.chars)
    from kb.embed.models import make_embedder

    embedder = make_embedder(c.real_settings(Path(tempfile.gettempdir()) / "kb-bench-home"))
    embedder.get_query_embedding("oppvarming")
    vectors, embed_times = {}, []
    for query in QUERIES:
        started = time.perf_counter()
        vectors[query] = list(embedder.get_query_embedding(query))
        embed_times.append((time.perf_counter() - started) * 1000)
    embed_ms = statistics.median(embed_times)
    for backend in args.backends.split(","):
        run_backend(backend, sizes, base, vectors, embed_ms)


if __name__ == "__main__":
    main()
