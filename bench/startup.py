"""Cold start of `kb search`, `kb ask` and `kb stats`: each a new process, as a user or a script runs them.

Every figure is the median of --runs fresh processes: wall time around the process and its peak RSS (from
os.wait4, so the child's own high-water mark). Beside them, measured in the same run:

* the floor: `python -c "import chromadb, onnxruntime, tokenizers, numpy"`, the libraries a query may need;
* the same commands with KB_EMBEDDER=sentence-transformers (torch), the reference backend.

The store is the bundled corpus ingested once with the real model (kept in --home between runs). With
--large N a second store of N Lovtidend chunks with the hash embedder (the vectors do not matter for start-up)
is measured too. Targets (issue #19): cold search ≤ 2.0 s and ≤ 500 MB, ask ≤ 2.5 s, each ≤ 2.5 × the floor;
search ≤ 3.0 s at 100 000 chunks.

    .venv/bin/python bench/startup.py [--runs 5] [--large 100000] [--markdown]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _common as c

QUESTION = "hvordan fikk de nyansatte til å bli de første ukene?"
COMMANDS: dict[str, list[str]] = {
    "search": ["search", QUESTION, "-k", "3"],
    "ask": ["ask", QUESTION],
    "stats": ["stats"],
}
FLOOR = [sys.executable, "-c", "import chromadb, onnxruntime, tokenizers, numpy"]
TARGETS = {"search": (2.0, 500.0), "ask": (2.5, None), "stats": (None, None)}
LARGE_SEARCH_TARGET_S = 3.0
FLOOR_RATIO_TARGET = 2.5


def run_once(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB) of one fresh process; fails loudly if it fails."""
    with tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            err.seek(0)
            sys.exit(f"{' '.join(argv)} failed:\n{err.read().decode(errors='replace')[-2000:]}")
    return wall, usage.ru_maxrss / 1024


def measure(argv: list[str], env: dict[str, str], runs: int) -> dict[str, float]:
    """Median wall and peak RSS over `runs` processes (one unmeasured run first warms the page cache)."""
    run_once(argv, env)
    samples = [run_once(argv, env) for _ in range(runs)]
    return {
        "wall_s": round(statistics.median(s[0] for s in samples), 2),
        "peak_rss_mb": round(statistics.median(s[1] for s in samples)),
        "min_wall_s": round(min(s[0] for s in samples), 2),
    }


def environment(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    env.update(KB_HOME=str(home), OPENBLAS_NUM_THREADS="1", ANONYMIZED_TELEMETRY="False", PYTHONPATH=str(c.REPO))
    env.update(extra)
    return env


def corpus_home(home: Path) -> Path:
    """A HOME with the bundled corpus ingested by the real model (ONNX), made once and then reused."""
    models = home / "models"
    if models.is_symlink() and not models.exists():  # a link left by a checkout that is gone
        models.unlink()
    if not models.exists():
        home.mkdir(parents=True, exist_ok=True)
        models.symlink_to(c.REPO / ".kb" / "models")
    if not (home / "store" / "chroma.sqlite3").is_file():
        subprocess.run(
            [sys.executable, "-m", "kb", "ingest", str(c.REPO / "corpus")], env=environment(home), check=True
        )
    return home


def large_home(home: Path, chunks: int) -> Path:
    """A HOME with `chunks` Lovtidend chunks (about 1 000 characters each) and hash vectors, made once."""
    if (home / "store" / "chroma.sqlite3").is_file():
        return home
    os.environ["KB_HOME"] = str(home)
    from kb.base import KnowledgeBase
    from kb.config import Settings
    from kb.embed.models import HashEmbedding
    from kb.store.chroma import Record

    kb = KnowledgeBase(Settings(home=home, embed_model="hash"))
    embedder = HashEmbedding()
    batch: list[tuple[Any, list[float]]] = []
    made = 0
    while made < chunks:
        for doc in c.lovtidend():
            text = doc["text"]
            pieces = [text[i : i + 1000] for i in range(0, len(text), 1000)]
            source = f"lovtidend/{doc['id']}-{made}.txt"
            for n, piece in enumerate(pieces):
                meta = {
                    "source": source,
                    "title": doc["title"][:200],
                    "municipality": "Læringsnettverket",
                    "doc_type": "annet",
                    "date": "2025-01-01",
                    "date_num": 20250101,
                    "content_hash": str(made),
                    "chunk_index": n,
                    "n_chunks": len(pieces),
                    "visibility": "nettverket",
                }
                batch.append((Record(f"{source}#{n}", piece, meta), embedder.get_text_embedding(piece)))
            made += len(pieces)
            if len(batch) >= 5000:
                kb.store.add_records(batch)
                batch = []
            if made >= chunks:
                break
    if batch:
        kb.store.add_records(batch)
    kb.store.bump_revision()
    kb.rebuild_lexical()
    return home


def table(rows: list[dict[str, Any]]) -> str:
    """The README's «Hastighet» table."""
    lines = [
        "| store | command | ONNX (default): wall / peak RSS | × floor | sentence-transformers: wall / peak RSS |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        st = row.get("st")
        reference = f"{st['wall_s']:.2f} s / {st['peak_rss_mb']} MB" if st else "–"
        lines.append(
            f"| {row['store']} | `kb {row['command']}` | {row['wall_s']:.2f} s / {row['peak_rss_mb']} MB | "
            f"{row['floor_ratio']:.2f} | {reference} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--home", type=Path, default=c.CACHE / "startup-corpus", help="HOME of the corpus store.")
    parser.add_argument("--large", type=int, default=0, help="Also measure a store of this many chunks.")
    parser.add_argument("--no-reference", action="store_true", help="Skip the sentence-transformers backend.")
    parser.add_argument("--markdown", action="store_true", help="Print the README table at the end.")
    parser.add_argument("--build-large", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build_large:  # the child that builds the large store (see below)
        large_home(args.home, args.build_large)
        return

    floor = measure(FLOOR, environment(args.home), args.runs)
    c.emit(bench="startup_floor", argv=" ".join(FLOOR[1:]), runs=args.runs, **floor)
    stores = [("corpus", corpus_home(args.home), "")]
    if args.large:
        # NOTE: built in a child process: a child forked from a parent that grew to 3 GB reports the parent's
        # peak as its own ru_maxrss (Linux copies the high-water mark at fork), which hid every figure below.
        home = c.CACHE / f"startup-{args.large}"
        subprocess.run([sys.executable, __file__, "--home", str(home), "--build-large", str(args.large)], check=True)
        stores.append((f"{args.large} chunks", home, "hash"))
    rows: list[dict[str, Any]] = []
    for label, home, model in stores:
        extra = {"KB_EMBED_MODEL": model} if model else {}
        for name, argv in COMMANDS.items():
            onnx = measure(
                [sys.executable, "-m", "kb", *argv], environment(home, KB_EMBEDDER="onnx", **extra), args.runs
            )
            reference = None
            if not args.no_reference and not model:
                reference = measure(
                    [sys.executable, "-m", "kb", *argv],
                    environment(home, KB_EMBEDDER="sentence-transformers"),
                    args.runs,
                )
            wall_target, rss_target = TARGETS[name]
            if model:
                wall_target, rss_target = (LARGE_SEARCH_TARGET_S if name == "search" else None), None
            ratio = onnx["wall_s"] / floor["wall_s"]
            met = [
                ratio <= FLOOR_RATIO_TARGET,
                *([onnx["wall_s"] <= wall_target] if wall_target else []),
                *([onnx["peak_rss_mb"] <= rss_target] if rss_target else []),
            ]
            row = {
                "store": label,
                "command": name,
                **onnx,
                "floor_wall_s": floor["wall_s"],
                "floor_peak_rss_mb": floor["peak_rss_mb"],
                "floor_ratio": round(ratio, 2),
                "st": reference,
                "st_ratio": round(reference["wall_s"] / onnx["wall_s"], 1) if reference else None,
                "target_wall_s": wall_target,
                "target_peak_rss_mb": rss_target,
                "met": all(met) if name != "stats" else ratio <= FLOOR_RATIO_TARGET,
            }
            rows.append(row)
            c.emit(bench="startup", runs=args.runs, **row)
    if args.markdown:
        print(f"\nfloor ({' '.join(FLOOR[1:])}): {floor['wall_s']:.2f} s / {floor['peak_rss_mb']} MB\n")
        print(table(rows))


if __name__ == "__main__":
    main()
