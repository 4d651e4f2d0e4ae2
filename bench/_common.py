"""Shared helpers for the benchmarks: the real model's settings, Lovtidend texts, JSON-line output."""

from __future__ import annotations

import gzip
import json
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# NOTE: set before numpy/torch load; OpenBLAS threads fight torch's on 2 cores (see MODELS.md).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
LOVTIDEND = Path(
    os.environ.get("KB_BENCH_LOVTIDEND", REPO.parent / "shared/data/lovtidend-2025/lovtidend2025.jsonl.gz")
)
CACHE = Path(os.environ.get("KB_BENCH_CACHE", "/tmp/kb-bench-cache"))


def model_path() -> str:
    """The offline multilingual-e5-small: KB_BENCH_MODEL, the one `make setup` built, or /tmp/e5model."""
    for candidate in (os.environ.get("KB_BENCH_MODEL"), REPO / ".kb/models/multilingual-e5-small", "/tmp/e5model"):
        if candidate and (Path(candidate) / "modules.json").is_file():
            return str(candidate)
    sys.exit("no built model found: run `make setup` or set KB_BENCH_MODEL")


def real_settings(home: Path, **changes: Any) -> Any:
    """Settings for the real model with its E5 prefixes, everything under `home`."""
    from kb.config import Settings

    return Settings(home=home, embed_model=model_path(), query_prefix="query: ", passage_prefix="passage: ", **changes)


def lovtidend(limit_chars: int | None = None) -> Iterator[dict[str, Any]]:
    """Bokmål Lovtidend documents in file order, stopping after about `limit_chars` characters."""
    total = 0
    with gzip.open(LOVTIDEND, "rt", encoding="utf-8") as handle:
        for line in handle:
            doc = json.loads(line)
            if doc.get("lang") != "nb" or not doc.get("text"):
                continue
            yield doc
            total += len(doc["text"])
            if limit_chars is not None and total >= limit_chars:
                return


def write_corpus(root: Path, limit_chars: int) -> int:
    """Lovtidend texts as .txt files in the corpus layout (network folder / type folder); returns files."""
    count = 0
    for doc in lovtidend(limit_chars):
        kind = "lover" if doc["title"].lower().startswith("lov ") else "forskrifter"
        name = re.sub(r"[^0-9a-z-]+", "-", doc["id"].lower())
        path = root / "Læringsnettverket" / kind / f"{name}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(doc["title"] + "\n\n" + doc["text"], encoding="utf-8")
        count += 1
    return count


def emit(**figures: Any) -> None:
    """One JSON line on stdout, with the load average (other processes on the box distort every figure)."""
    figures["loadavg_1m"] = round(os.getloadavg()[0], 2)
    figures["cpus"] = os.cpu_count()
    print(json.dumps(figures, ensure_ascii=False), flush=True)


def rss_mb(pid: int | str = "self") -> float:
    """Resident memory of a process now, in MB."""
    with open(f"/proc/{pid}/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MB."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def base_chunks(chars: int) -> list[tuple[Any, list[float]]]:
    """Real chunks of a Lovtidend subset with their real vectors, embedded once and cached in CACHE."""
    import pickle
    import tempfile

    cache = CACHE / f"base-{chars}-{Path(model_path()).name}.pkl"
    if cache.is_file():
        with cache.open("rb") as handle:
            return pickle.load(handle)  # type: ignore[no-any-return]
    from kb.base import KnowledgeBase

    with tempfile.TemporaryDirectory(prefix="kb-bench-base-") as tmp:
        root = Path(tmp) / "corpus"
        write_corpus(root, chars)
        kb = KnowledgeBase(real_settings(Path(tmp) / "home"))
        kb.ingest([root])
        rows = save_base_chunks(kb, chars)
    return rows


def save_base_chunks(kb: Any, chars: int) -> list[tuple[Any, list[float]]]:
    """Cache a store's records and vectors for the query benchmark."""
    import pickle

    rows = [(record, [float(x) for x in vector]) for record, vector in kb.store.records(include_embeddings=True)]
    CACHE.mkdir(parents=True, exist_ok=True)
    cache = CACHE / f"base-{chars}-{Path(model_path()).name}.pkl"
    with cache.open("wb") as handle:
        pickle.dump(rows, handle)
    return rows
