"""Ingest throughput with the real model, and its ratio to the model's raw encode rate.

Writes a Lovtidend subset as .txt files in the corpus layout, ingests it end to end (scan, load, chunk,
embed, write to Chroma, BM25 rebuild), then encodes the same chunk texts with the same embedder and batch
size in the same process. Target: ingest chunks/s >= 0.75 x raw encode chunks/s.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/ingest_throughput.py [--chars 400000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import _common as c

TARGET_RATIO = 0.75


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chars", type=int, default=400_000, help="characters of Lovtidend to ingest")
    args = parser.parse_args()

    from kb.base import KnowledgeBase
    from kb.embed.models import encode_threads

    with tempfile.TemporaryDirectory(prefix="kb-bench-ingest-") as tmp:
        root = Path(tmp) / "corpus"
        files = c.write_corpus(root, args.chars)
        kb = KnowledgeBase(c.real_settings(Path(tmp) / "home"))
        started = time.perf_counter()
        kb.embedder.get_text_embedding_batch(["passage: oppvarming"])  # model load, not part of the rate
        load_s = time.perf_counter() - started

        started = time.perf_counter()
        report = kb.ingest([root])
        ingest_s = time.perf_counter() - started
        chunks = report.chunks_written
        texts = [record.text for record, _ in kb.store.records()]
        c.save_base_chunks(kb, args.chars)  # reused by query_latency.py: no second embedding pass
        lengths = [len(t) for t in texts]

        started = time.perf_counter()
        # NOTE: the same torch threads as ingest's batch encoding (queries use one thread, see kb/embed/models.py).
        with encode_threads():
            kb.embedder.get_text_embedding_batch(texts)
        encode_s = time.perf_counter() - started

    ingest_rate = chunks / ingest_s
    encode_rate = len(texts) / encode_s
    ratio = ingest_rate / encode_rate
    c.emit(
        bench="ingest_throughput",
        files=files,
        chunks=chunks,
        median_chunk_chars=statistics.median(lengths),
        batch_size=kb.settings.embed_batch_size,
        model_load_s=round(load_s, 2),
        ingest_s=round(ingest_s, 2),
        ingest_chunks_per_s=round(ingest_rate, 2),
        raw_encode_s=round(encode_s, 2),
        raw_encode_chunks_per_s=round(encode_rate, 2),
        ratio=round(ratio, 3),
        target_ratio=TARGET_RATIO,
        met=ratio >= TARGET_RATIO,
        peak_rss_mb=round(c.peak_rss_mb()),
    )


if __name__ == "__main__":
    main()
