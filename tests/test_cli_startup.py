"""A cold `kb search`/`kb ask`/`kb stats` imports nothing heavy it does not use, and leaves the store as it was.

Each command runs in a fresh `python -X importtime -m kb …` subprocess over a real Chroma store in tmp_path.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kb.config import DEFAULT_MODEL, REPO_ROOT, Settings

# Never on the query path: the torch stack, llama-index, and chromadb itself (the revision is read from SQLite).
HEAVY = ("torch", "transformers", "sentence_transformers", "llama_index", "chromadb")
COMMANDS = (
    ["search", "hvordan fikk Sarpsborg nyansatte til å bli?", "-k", "3"],
    ["ask", "hvordan fikk Sarpsborg nyansatte til å bli?"],
    ["stats"],
)


def run_kb(
    settings: Settings, *args: str, importtime: bool = True
) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run `python -m kb ARGS` in a new process against `settings`; return the result and the modules imported."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    env.update(
        KB_HOME=str(settings.home),
        KB_EMBED_MODEL=settings.embed_model,
        PYTHONPATH=str(REPO_ROOT),
        ANONYMIZED_TELEMETRY="False",
    )
    flags = ["-X", "importtime"] if importtime else []
    result = subprocess.run(
        [sys.executable, *flags, "-m", "kb", *args], env=env, capture_output=True, text=True, timeout=300
    )
    modules = {line.rsplit("|", 1)[1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")}
    return result, modules


def heavy(modules: set[str]) -> set[str]:
    """The imported modules that belong to a heavy package."""
    return {m for m in modules if m.split(".")[0] in HEAVY}


def checksums(folder: Path) -> dict[str, str]:
    """sha256 of every file under `folder`, by relative path."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def ingested(make_kb, mini_corpus: Path) -> Settings:  # type: ignore[no-untyped-def]
    kb = make_kb()
    kb.ingest([mini_corpus])
    return kb.settings  # type: ignore[no-any-return]


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: a[0])
def test_query_commands_import_nothing_heavy_and_write_nothing(ingested: Settings, args: list[str]) -> None:
    before = checksums(ingested.store_dir)
    result, modules = run_kb(ingested, *args)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip()
    assert "kb.base" in modules  # the measurement works: the command did load the knowledge base
    assert heavy(modules) == set()
    assert checksums(ingested.store_dir) == before


def test_a_stale_snapshot_is_rebuilt_from_chroma_and_the_next_read_writes_nothing(ingested: Settings) -> None:
    for snapshot in (ingested.store_dir / "lexical").iterdir():
        snapshot.unlink()
    result, modules = run_kb(ingested, "search", "nyansatte")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "chromadb" in modules  # the rebuild reads the chunks from Chroma
    before = checksums(ingested.store_dir)
    result, modules = run_kb(ingested, "search", "nyansatte")
    assert result.returncode == 0
    assert heavy(modules) == set()
    assert checksums(ingested.store_dir) == before


def test_import_kb_cli_registers_backup_commands_lazily(ingested: Settings) -> None:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import kb.cli"], capture_output=True, text=True, check=True
    )
    modules = {line.rsplit("|", 1)[1].strip() for line in result.stderr.splitlines() if "|" in line}
    assert "kb.cli" in modules
    assert not {"kb.cli.backup", "kb.indexer", "kb.base"} & modules
    assert heavy(modules) == set()
    result, _ = run_kb(ingested, "export", "--help", importtime=False)
    assert result.returncode == 0 and "backup" in result.stdout
    result, _ = run_kb(ingested, "--help", importtime=False)
    assert "export" in result.stdout and "import" in result.stdout


def test_revision_read_from_sqlite_is_chromas(make_kb, mini_corpus: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from kb.store.chroma import Store, read_state

    kb = make_kb()
    kb.ingest([mini_corpus])
    store = Store(kb.settings)
    assert store._chroma is None  # not opened: the revision came from the SQLite file
    database = kb.settings.store_dir / "chroma.sqlite3"
    state = read_state(database, f"{store.name}_state")
    assert state is not None and state["revision"] == store.revision() != ""
    assert isinstance(state["updated_at"], float)
    opened = Store(kb.settings)
    opened._connect()
    assert opened.revision() == store.revision()  # the same record, read through Chroma
    (tmp_path / "corpus" / "Sarpsborg" / "erfaringer" / "introduksjonsprogram.md").unlink()
    kb.ingest([mini_corpus], prune=True)
    assert Store(kb.settings).revision() == kb.store.revision() != state["revision"]
    assert read_state(tmp_path / "nowhere.sqlite3", "x") == {}
    assert read_state(database, "no_such_collection") == {}


@pytest.mark.integration
def test_onnx_search_in_a_fresh_process_imports_no_torch(real_settings: Settings, mini_corpus: Path) -> None:
    from kb.base import KnowledgeBase
    from kb.embed.models import backend_name

    assert backend_name(real_settings) == "onnx"
    KnowledgeBase(real_settings).ingest([mini_corpus])
    before = checksums(real_settings.store_dir)
    result, modules = run_kb(real_settings, "search", "hvordan fikk de nyansatte til å bli?", "-k", "2", "--json")
    assert result.returncode == 0, result.stderr[-2000:]
    assert {"onnxruntime", "tokenizers"} <= modules
    assert heavy(modules) == set()
    assert "introduksjonsprogram" in result.stdout
    assert checksums(real_settings.store_dir) == before
    assert real_settings.embed_model == DEFAULT_MODEL
