"""One contract for the store, run against the embedded PersistentClient and a real `chroma run` server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from kb.base import KnowledgeBase
from kb.config import Settings
from kb.store.chroma import Store
from kb.types import Filters
from tests.conftest import write

BACKENDS = ["embedded", pytest.param("server", marks=pytest.mark.integration)]

MakeKB = Callable[..., KnowledgeBase]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def base_settings(backend: str, request: pytest.FixtureRequest, settings: Settings) -> Settings:
    """The test's settings for this backend (the server's collection emptied first)."""
    if backend == "server":
        return request.getfixturevalue("server_settings")  # type: ignore[no-any-return]
    return settings


@pytest.fixture
def kb_for(base_settings: Settings, tmp_path: Path) -> MakeKB:
    """A KnowledgeBase on the shared store; `name` gives it a HOME of its own (as another process would)."""

    def factory(name: str = "a", **changes: object) -> KnowledgeBase:
        update: dict[str, object] = {"home": tmp_path / f"home-{name}", "store": base_settings.store_dir}
        update.update(changes)
        return KnowledgeBase(base_settings.model_copy(update=update))

    return factory


def env_for(settings: Settings) -> dict[str, str]:
    """Environment for a `kb` subprocess that opens the same store."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    env.update(
        KB_HOME=str(settings.home),
        KB_STORE=str(settings.store_dir),
        KB_EMBED_MODEL=settings.embed_model,
        ANONYMIZED_TELEMETRY="False",
        OPENBLAS_NUM_THREADS="1",
    )
    if settings.chroma_url:
        env["KB_CHROMA_URL"] = settings.chroma_url
    return env


def stored_versions(store: Store) -> dict[str, dict[str, int]]:
    return {source: dict(entry.versions) for source, entry in store.files().items()}


def snapshot(store: Store) -> set[tuple[str, str, str]]:
    """(id, source, text) of every stored chunk."""
    return {(r.id, str(r.metadata.get("source")), r.text) for r, _ in store.records()}


def bm25_in_step(kb: KnowledgeBase) -> None:
    """The BM25 side holds exactly what Chroma holds."""
    lexical = kb.lexical()
    assert set(lexical.ids) == {r.id for r, _ in kb.store.records()}
    assert lexical.revision == kb.store.revision()


# --- ingest, re-ingest, update, remove, prune ---------------------------------------------------------------
def test_ingest_counts(kb_for: MakeKB, mini_corpus: Path) -> None:
    kb = kb_for()
    report = kb.ingest([mini_corpus])
    assert report.seen == 5 and len(report.added) == 5 and not report.skipped
    assert kb.store.count() == report.chunks_written > 0
    assert kb.stats()["documents"] == 5
    assert {e.source for e in kb.store.files().values()} == {
        p.relative_to(mini_corpus).as_posix() for p in mini_corpus.rglob("*.md")
    }
    assert all(e.is_complete(next(iter(e.versions))) for e in kb.store.files().values())
    bm25_in_step(kb)


def test_reingest_is_idempotent(kb_for: MakeKB, mini_corpus: Path) -> None:
    kb = kb_for()
    kb.ingest([mini_corpus])
    before, revision = snapshot(kb.store), kb.store.revision()
    again = kb.ingest([mini_corpus])
    assert again.unchanged == 5 and not again.added and not again.updated and again.chunks_written == 0
    assert again.chunks_embedded == 0
    assert snapshot(kb.store) == before
    assert kb.store.revision() == revision  # nothing written, nothing for other processes to reload


def test_changed_file_replaces_old_chunks(kb_for: MakeKB, mini_corpus: Path) -> None:
    kb = kb_for()
    kb.ingest([mini_corpus])
    source = "Halden/erfaringer/heltidskultur.md"
    revision = kb.store.revision()
    write(mini_corpus, source, "# Heltidskultur\n\nHalden innførte bemanningsplaner med kalkulator i 2025.\n")
    report = kb.ingest([mini_corpus])
    assert report.updated == [source] and report.unchanged == 4
    assert kb.store.revision() != revision
    texts = [r.text for r, _ in kb.store.records() if r.metadata.get("source") == source]
    assert texts and all("bemanningsplaner" in t for t in texts)
    assert not any("årsturnus" in r.text for r, _ in kb.store.records())
    assert len(stored_versions(kb.store)[source]) == 1
    for mode in ("hybrid", "dense", "bm25"):
        hits = kb.search("årsturnus langvakter", k=10, mode=mode)
        assert all("årsturnus" not in h.text for h in hits), mode
    assert kb.search("bemanningsplaner kalkulator", k=1, mode="bm25")[0].source == source
    bm25_in_step(kb)


def test_remove(kb_for: MakeKB, mini_corpus: Path) -> None:
    kb = kb_for()
    kb.ingest([mini_corpus])
    source = "Sarpsborg/erfaringer/introduksjonsprogram.md"
    total = kb.store.count()
    revision = kb.store.revision()
    removed = kb.remove(source)
    assert removed > 0 and kb.store.count() == total - removed
    assert kb.store.revision() != revision
    assert source not in kb.store.files()
    assert all(h.source != source for h in kb.search("fadder mentorordning nyansatte", k=10))
    assert kb.remove(source) == 0
    bm25_in_step(kb)


def test_prune(kb_for: MakeKB, mini_corpus: Path) -> None:
    kb = kb_for()
    kb.ingest([mini_corpus])
    gone = mini_corpus / "Læringsnettverket/samlinger/2024-01-25-samling-heltidskultur.md"
    gone.unlink()
    kept = kb.ingest([mini_corpus])
    assert not kept.removed and len(kb.store.files()) == 5  # without --prune nothing is removed
    report = kb.ingest([mini_corpus], prune=True)
    assert report.removed == ["Læringsnettverket/samlinger/2024-01-25-samling-heltidskultur.md"]
    assert len(kb.store.files()) == 4
    assert all("fiskebolle" not in h.text for h in kb.search("fiskebolle refleksjonsrunder", k=10))
    bm25_in_step(kb)


# --- filters are applied before ranking ---------------------------------------------------------------------
QUERY = "turnus langvakter helg"


NAMES = ["sol", "måne", "stjerne", "fjell", "elv", "skog", "hav", "dal", "eng", "myr", "bre", "fjord"]


@pytest.fixture
def crowded(tmp_path: Path) -> Path:
    """120 strong matches in Sarpsborg and one weak match elsewhere that only a filter brings up."""
    root = tmp_path / "crowded"
    for i in range(120):
        write(
            root,
            f"Sarpsborg/erfaringer/turnus-{i:03d}.md",
            f"""
            ---
            dato: 2024-02-{1 + i % 28:02d}
            tema: [onboarding]
            ---
            # Turnus {i}

            Turnus langvakter helg. Turnus med langvakter hver helg på avdeling {NAMES[i % 12]}{i}.
            """,
        )
    write(
        root,
        "Rakkestad/strategier/seniorpolitikk.md",
        """
        ---
        dato: 2019-05-01
        tema: [seniorpolitikk]
        ---
        # Seniorpolitisk plan

        ## Dette lærte vi

        Planen gjelder seniorer, pensjon, arbeidsmiljø, trivsel, lønn og redusert arbeidstid; turnus nevnes.
        """,
    )
    return root


WEAK = "Rakkestad/strategier/seniorpolitikk.md"


@pytest.mark.parametrize(
    "filters",
    [
        Filters(municipalities=("Rakkestad",)),
        Filters(doc_types=("strategi",)),
        Filters(themes=("seniorpolitikk",)),
        Filters(date_from="2019-01-01", date_to="2019-12-31"),
        Filters(roles=("lesson", "result")),
    ],
    ids=["municipality", "type", "theme", "date-range", "part"],
)
def test_filters_apply_before_ranking(kb_for: MakeKB, crowded: Path, filters: Filters) -> None:
    kb = kb_for()
    kb.ingest([crowded])
    # Without the filter the weak match ranks below every retriever's candidate list (exact cosine here:
    # HNSW is approximate) ...
    vector = np.asarray(kb.embed_query(QUERY))
    similarity = {
        str(r.metadata["source"]): float(np.dot(v, vector)) for r, v in kb.store.records(include_embeddings=True)
    }
    assert sum(s > similarity[WEAK] for s in similarity.values()) >= 100
    assert WEAK not in {h.source for h in kb.lexical().search(QUERY, kb.settings.candidates)}
    for mode in ("dense", "bm25", "hybrid"):
        assert WEAK not in {h.source for h in kb.search(QUERY, k=10, mode=mode)}
    # ... with it, it is the only hit, from each retriever and fused.
    for mode in ("dense", "bm25", "hybrid"):
        hits = kb.search(QUERY, k=3, filters=filters, mode=mode)
        assert [h.source for h in hits] == [WEAK], mode


def test_filters_on_store_query_directly(kb_for: MakeKB, crowded: Path) -> None:
    kb = kb_for()
    kb.ingest([crowded])
    vector = kb.embed_query(QUERY)
    hits = kb.store.query(vector, 10, Filters(municipalities=("Rakkestad",)))
    assert [h.source for h in hits] == [WEAK]  # fewer matches than k: no error, just fewer hits
    assert kb.store.query(vector, 10, Filters(municipalities=("Ingensteds",))) == []
    assert [h.source for h in kb.store.query(vector, 10, Filters(roles=("lesson",)))] == [WEAK]


def test_a_store_from_before_sections_were_marked_gets_them_on_the_next_ingest(
    kb_for: MakeKB, crowded: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ingest.chunking

    kb = kb_for()
    with monkeypatch.context() as old_version:  # what an ingest before #18 stored: no section roles
        old_version.setattr(ingest.chunking, "section_metadata", lambda headings: {})
        kb.ingest([crowded])
    lessons = Filters(roles=("lesson",))
    assert kb.search(QUERY, k=3, filters=lessons) == []
    before = snapshot(kb.store)

    report = kb.ingest([crowded])
    assert report.unchanged == 121 and not report.added and not report.updated and report.chunks_embedded == 0
    assert snapshot(kb.store) == before  # the same chunks, only marked
    for mode in ("dense", "bm25", "hybrid"):
        assert [h.source for h in kb.search(QUERY, k=3, filters=lessons, mode=mode)] == [WEAK], mode
    assert all(entry.marked for entry in kb.store.files().values())


# --- revision, BM25, versions -------------------------------------------------------------------------------
def test_revision_and_bm25_follow_writes_by_another_kb(kb_for: MakeKB, mini_corpus: Path) -> None:
    writer, reader = kb_for("writer"), kb_for("reader")
    assert writer.store.revision() == ""
    writer.ingest([mini_corpus / "Sarpsborg"])
    first = reader.store.revision()
    assert first and len(reader.lexical()) == writer.store.count()
    assert not reader.search("årsturnus langvakter", k=5, mode="bm25")
    writer.ingest([mini_corpus])
    assert reader.store.revision() != first
    assert reader.search("årsturnus langvakter", k=1, mode="bm25")[0].source == "Halden/erfaringer/heltidskultur.md"
    bm25_in_step(reader)
    writer.remove("Halden/erfaringer/heltidskultur.md")
    assert not reader.search("årsturnus langvakter", k=5, mode="bm25")
    bm25_in_step(reader)


def test_superseded_marking(kb_for: MakeKB, mini_corpus: Path) -> None:
    kb = kb_for()
    kb.ingest([mini_corpus])
    old = "Sarpsborg/strategier/kompetansestrategi-2020-2023.md"
    new = "Sarpsborg/strategier/kompetansestrategi-2024-2027.md"
    docs = {d.source: d for d in kb.documents()}
    assert docs[old].superseded_by == new and docs[new].superseded_by == ""
    hits = kb.search("kompetansestrategi lærlinger Sarpsborg", k=5)
    by_source = {h.source: h for h in hits}
    assert by_source[old].superseded and not by_source[new].superseded
    assert hits.index(by_source[new]) < hits.index(by_source[old])
    history = kb.search("kompetansestrategi lærlinger Sarpsborg", k=5, history=True)
    assert any(h.source == old and h.superseded for h in history)


# --- interrupted ingests are repaired on the next run -------------------------------------------------------
def _clean_snapshot(corpus: Path, tmp_path: Path) -> set[tuple[str, str, str]]:
    clean = KnowledgeBase(Settings(home=tmp_path / "clean-home", embed_model="hash"))
    clean.ingest([corpus])
    return snapshot(clean.store)


def test_crash_between_add_and_delete_is_repaired(
    kb_for: MakeKB, mini_corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kb = kb_for()
    kb.ingest([mini_corpus])
    source = "Halden/erfaringer/heltidskultur.md"
    write(mini_corpus, source, "# Heltidskultur\n\nNy versjon: bemanningsplaner og kalkulator.\n")
    with monkeypatch.context() as patch:
        # The crash: the new version is written whole, the old one is never deleted.
        patch.setattr(Store, "delete_other_versions", lambda self, source, keep_hash: None)
        kb.ingest([mini_corpus])
    assert len(stored_versions(kb.store)[source]) == 2
    # Readers meanwhile see one version per source: BM25 was rebuilt, and both sides agree.
    report = kb_for("next-run").ingest([mini_corpus])
    assert source in report.added + report.updated and report.unchanged == 4
    after = kb_for("check")
    assert all(e.is_complete(next(iter(e.versions))) for e in after.store.files().values())
    assert snapshot(after.store) == _clean_snapshot(mini_corpus, tmp_path)
    bm25_in_step(after)


def test_crash_before_revision_bump_is_repaired(
    kb_for: MakeKB, mini_corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kb = kb_for()
    halden = mini_corpus / "Halden/erfaringer/heltidskultur.md"
    text = halden.read_text(encoding="utf-8")
    halden.unlink()
    kb.ingest([mini_corpus])
    halden.write_text(text, encoding="utf-8")
    with monkeypatch.context() as patch:
        # The crash: every file written whole, then the process dies before the revision bump (SIGKILL).
        def die(self: Store) -> str:
            raise SystemExit("killed")

        patch.setattr(Store, "bump_revision", die)
        with pytest.raises(SystemExit):
            kb.ingest([mini_corpus])
    after = kb_for()  # the next `kb ingest` on the same machine (same HOME, same saved BM25 index)
    after.ingest([mini_corpus])
    assert snapshot(after.store) == _clean_snapshot(mini_corpus, tmp_path)
    bm25_in_step(after)
    assert after.search("årsturnus langvakter", k=1)[0].source == "Halden/erfaringer/heltidskultur.md"


def _many_files(root: Path, n: int) -> None:
    body = "\n\n".join(
        f"Avsnitt {j}: erfaringer med rekruttering, turnus og kompetanse i kommunen, del {j}. " * 6 for j in range(6)
    )
    for i in range(n):
        municipality = ("Sarpsborg", "Fredrikstad", "Halden", "Råde")[i % 4]
        write(root, f"{municipality}/erfaringer/dok-{i:03d}.md", f"# Dokument {i}\n\nKode{i:03d}x. {body}\n")


def test_sigkill_mid_ingest_is_repaired(base_settings: Settings, kb_for: MakeKB, tmp_path: Path) -> None:
    root = tmp_path / "many"
    _many_files(root, 160)
    home = tmp_path / "home-killed"
    env = env_for(base_settings.model_copy(update={"home": home, "store": base_settings.store_dir}))
    audit = home / "audit.jsonl"
    process = subprocess.Popen(
        [sys.executable, "-m", "kb", "ingest", str(root)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    written = 0
    while time.monotonic() < deadline and process.poll() is None:
        written = len(audit.read_text().splitlines()) if audit.exists() else 0
        if written >= 5:
            break
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait()
    if process.returncode != -signal.SIGKILL or written >= 160:
        pytest.skip(f"the ingest finished before it could be killed (exit {process.returncode})")
    kb = kb_for("rerun")
    report = kb.ingest([root])
    assert not report.skipped
    assert report.unchanged >= 1 and report.unchanged + len(report.added) + len(report.updated) == 160
    files = kb.store.files()
    assert len(files) == 160
    assert all(len(e.versions) == 1 and e.is_complete(next(iter(e.versions))) for e in files.values())
    assert snapshot(kb.store) == _clean_snapshot(root, tmp_path)
    bm25_in_step(kb)
    assert kb.search("Kode159x", k=1, mode="bm25")[0].source.endswith("dok-159.md")


# --- two processes on one store -----------------------------------------------------------------------------
def test_other_process_ingest_is_seen_by_bm25_and_hybrid(
    base_settings: Settings, kb_for: MakeKB, mini_corpus: Path
) -> None:
    reader = kb_for("reader")
    reader.ingest([mini_corpus / "Sarpsborg"])
    assert not reader.search("årsturnus langvakter", k=5, mode="bm25")
    env = env_for(
        base_settings.model_copy(
            update={"home": base_settings.home.parent / "home-cli", "store": base_settings.store_dir}
        )
    )
    done = subprocess.run(
        [sys.executable, "-m", "kb", "ingest", str(mini_corpus)], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert reader.search("årsturnus langvakter", k=1, mode="bm25")[0].source == "Halden/erfaringer/heltidskultur.md"
    assert "Halden/erfaringer/heltidskultur.md" in {h.source for h in reader.search("årsturnus langvakter", k=5)}
    assert reader.store.count() == KnowledgeBase(base_settings).store.count()
    bm25_in_step(reader)


def test_other_process_ingest_is_seen_by_dense(base_settings: Settings, kb_for: MakeKB, mini_corpus: Path) -> None:
    reader = kb_for("reader")
    reader.ingest([mini_corpus / "Sarpsborg"])
    reader.search("nyansatte", k=3)
    env = env_for(
        base_settings.model_copy(
            update={"home": base_settings.home.parent / "home-cli", "store": base_settings.store_dir}
        )
    )
    subprocess.run([sys.executable, "-m", "kb", "ingest", str(mini_corpus)], env=env, check=True)
    hits = reader.search("årsturnus langvakter heltidsandel", k=1, mode="dense")
    assert hits and hits[0].source == "Halden/erfaringer/heltidskultur.md"


def test_store_location(base_settings: Settings, backend: str) -> None:
    store = Store(base_settings)
    assert store.is_server is (backend == "server")
    assert store.location == (base_settings.chroma_url if backend == "server" else str(base_settings.store_dir))


def test_unreachable_server_message(settings: Settings) -> None:
    from kb.errors import StoreUnavailableError
    from tests.chroma_server import free_port

    down = settings.model_copy(update={"chroma_url": f"http://127.0.0.1:{free_port()}"})
    with pytest.raises(StoreUnavailableError, match="Chroma"):
        Store(down)
