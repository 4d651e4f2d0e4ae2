"""Start-up time of a search process (imports, model load, first query) and what dominates it.

Each measurement runs in a fresh subprocess, so nothing is cached in this one. Also runs
`python -X importtime` on the imports a search needs and prints the heaviest top-level packages.

    .venv/bin/python bench/startup.py [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import _common as c

PROBE = r"""
import json, sys, time
t0 = time.perf_counter()
sys.path.insert(0, {repo!r}); sys.path.insert(0, {bench!r})
import _common as c
from kb.base import KnowledgeBase
t_import_kb = time.perf_counter()
kb = KnowledgeBase(c.real_settings({home!r}))
t_store = time.perf_counter()
import sentence_transformers  # noqa: F401  (the heavy import, timed on its own)
t_import_st = time.perf_counter()
kb.embedder
t_model = time.perf_counter()
kb.embed_query("hvordan fikk de nyansatte til å bli?")
t_first_query = time.perf_counter()
print(json.dumps({{
    "import_kb_s": t_import_kb - t0,
    "open_store_s": t_store - t_import_kb,
    "import_sentence_transformers_s": t_import_st - t_store,
    "load_model_s": t_model - t_import_st,
    "first_query_embedding_s": t_first_query - t_model,
    "total_s": t_first_query - t0,
}}))
"""


def run_probe(env: dict[str, str], home: str) -> dict[str, float]:
    code = PROBE.format(repo=str(c.REPO), bench=str(Path(__file__).parent), home=home)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def importtime(env: dict[str, str]) -> list[tuple[str, float]]:
    """Cumulative import time of top-level packages, heaviest first."""
    code = "import kb.base, kb.store, chromadb, llama_index.embeddings.huggingface, sentence_transformers"
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], env=env, capture_output=True, text=True, check=True
    )
    totals: dict[str, float] = {}
    for line in out.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = (part.strip() for part in line.removeprefix("import time:").split("|"))
        if not cumulative.isdigit() or name.startswith(" "):
            continue
        if line.split("|")[2].startswith("  "):  # nested import: counted in its parent
            continue
        top = name.split(".")[0]
        totals[top] = totals.get(top, 0.0) + int(cumulative) / 1e6
    return sorted(totals.items(), key=lambda kv: -kv[1])[:8]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kb-bench-startup-") as home:
        for blas in ("1", None):
            env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
            env.pop("OPENBLAS_NUM_THREADS", None)
            if blas:
                env["OPENBLAS_NUM_THREADS"] = blas
            runs = [run_probe(env, home) for _ in range(args.runs)]
            medians = {key: round(statistics.median(r[key] for r in runs), 2) for key in runs[0]}
            dominant = max((k for k in medians if k != "total_s"), key=medians.__getitem__)
            c.emit(bench="startup", openblas_threads=blas or "default", runs=args.runs, **medians, dominant=dominant)
        env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
        env["OPENBLAS_NUM_THREADS"] = "1"
        c.emit(bench="startup_importtime", top_imports_s={name: round(s, 2) for name, s in importtime(env)})


if __name__ == "__main__":
    main()
