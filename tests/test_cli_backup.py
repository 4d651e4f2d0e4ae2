"""`kb export` / `kb import`: a portable backup that restores identically into an embedded store or a server."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from kb.base import KnowledgeBase
from kb.cli.backup import FORMAT, export_cmd, export_store, import_backup, import_cmd, read_header
from kb.config import Settings
from kb.errors import KBError
from tests.conftest import write

QUERIES = ["nyansatte fadder", "heltid årsturnus", "lærlinger kompetansestrategi", "psykologisk trygghet"]


def dump(kb: KnowledgeBase) -> dict[str, tuple[str, dict[str, object], np.ndarray]]:
    return {
        r.id: (r.text, dict(r.metadata), np.asarray(v, dtype=np.float32))
        for r, v in kb.store.records(include_embeddings=True)
    }


def assert_identical(a: KnowledgeBase, b: KnowledgeBase) -> None:
    left, right = dump(a), dump(b)
    assert left.keys() == right.keys() and left
    for chunk_id, (text, meta, vector) in left.items():
        other_text, other_meta, other_vector = right[chunk_id]
        assert text == other_text
        assert meta == other_meta
        assert np.array_equal(vector, other_vector)  # bit for bit: float32 in, float32 out
    for query in QUERIES:
        for mode in ("hybrid", "dense", "bm25"):
            ours = [(h.id, round(h.score, 6)) for h in a.search(query, k=5, mode=mode)]
            theirs = [(h.id, round(h.score, 6)) for h in b.search(query, k=5, mode=mode)]
            assert ours == theirs, (query, mode)


@pytest.fixture
def source_kb(settings: Settings, mini_corpus: Path) -> KnowledgeBase:
    kb = KnowledgeBase(settings.model_copy(update={"home": settings.home.parent / "home-source"}))
    kb.ingest([mini_corpus])
    return kb


def test_export_header_and_lines(source_kb: KnowledgeBase, tmp_path: Path) -> None:
    path = tmp_path / "backup.jsonl.gz"
    header = export_store(source_kb, path)
    assert header["format"] == FORMAT and header["collection"] == source_kb.store.name
    assert header["embed_model"] == "hash" and header["chunk_size"] == source_kb.settings.chunk_size
    assert header["chunks"] == source_kb.store.count() and header["dimensions"] == 384
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        lines = [json.loads(line) for line in handle]
    assert lines[0]["format"] == FORMAT
    assert len(lines) == 1 + source_kb.store.count()
    assert set(lines[1]) == {"id", "text", "metadata", "embedding"}
    assert read_header(path)["collection"] == source_kb.store.name
    assert not list(tmp_path.glob(".backup*.tmp"))  # written to a temp file, then renamed


def test_roundtrip_into_empty_embedded_store(source_kb: KnowledgeBase, settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "backup.jsonl.gz"
    export_store(source_kb, path)
    target = KnowledgeBase(settings.model_copy(update={"home": tmp_path / "home-target"}))
    report = import_backup(target, path)
    assert report.chunks == source_kb.store.count() and report.documents == 5 and not report.mismatches
    assert_identical(source_kb, target)
    # the answer sentences are cached in the new home too, so answers there score every sentence at once
    assert report.sentences_embedded > 0
    assert target.store.revision()  # other processes learn of the import
    assert [e["action"] for e in map(json.loads, target.settings.audit_file.read_text().splitlines())] == ["import"]
    assert import_backup(target, path).sentences_embedded == 0  # already cached


@pytest.mark.integration
def test_roundtrip_into_server(source_kb: KnowledgeBase, server_settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "backup.jsonl.gz"
    export_store(source_kb, path)
    target = KnowledgeBase(server_settings)
    import_backup(target, path)
    assert_identical(source_kb, target)
    # and back out of the server into a fresh embedded store
    again = tmp_path / "again.jsonl.gz"
    export_store(target, again)
    restored = KnowledgeBase(source_kb.settings.model_copy(update={"home": tmp_path / "home-restored"}))
    import_backup(restored, again)
    assert_identical(source_kb, restored)


def test_import_refuses_other_model_or_chunking(source_kb: KnowledgeBase, settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "backup.jsonl.gz"
    export_store(source_kb, path)
    other = KnowledgeBase(settings.model_copy(update={"home": tmp_path / "home-other", "chunk_size": 600}))
    with pytest.raises(KBError, match="chunk_size") as info:
        import_backup(other, path)
    assert "--force" in str(info.value)
    assert other.store.count() == 0
    report = import_backup(other, path, force=True)
    assert report.chunks == source_kb.store.count() and report.mismatches


def test_import_replaces_other_versions_and_keeps_other_documents(
    source_kb: KnowledgeBase, settings: Settings, mini_corpus: Path, tmp_path: Path
) -> None:
    path = tmp_path / "backup.jsonl.gz"
    export_store(source_kb, path)
    target = KnowledgeBase(settings.model_copy(update={"home": tmp_path / "home-target"}))
    write(mini_corpus, "Halden/erfaringer/heltidskultur.md", "# Heltid\n\nEn nyere tekst om bemanningsplaner.\n")
    write(mini_corpus, "Råde/erfaringer/lokal.md", "# Lokal\n\nBare i målet: coaching for ledere.\n")
    target.ingest([mini_corpus])
    report = import_backup(target, path)
    assert report.replaced == ["Halden/erfaringer/heltidskultur.md"]
    files = target.store.files()
    assert all(len(entry.versions) == 1 for entry in files.values())
    assert "Råde/erfaringer/lokal.md" in files
    assert not any("bemanningsplaner" in r.text for r, _ in target.store.records())
    assert target.search("coaching for ledere", k=1, mode="bm25")[0].source == "Råde/erfaringer/lokal.md"
    # The replaced version leaves no trace: not in the store's files, not in the sentence cache.
    from kb.store.sentence_cache import _key
    from tests.test_store_sentence_cache import cached_keys

    store_files = [p for p in target.settings.store_dir.rglob("*") if p.is_file()]
    assert not [p.name for p in store_files if b"bemanningsplaner" in p.read_bytes()]
    assert _key("En nyere tekst om bemanningsplaner.") not in cached_keys(target.settings.home)


def test_not_a_backup(settings: Settings, tmp_path: Path) -> None:
    kb = KnowledgeBase(settings)
    plain = tmp_path / "notes.txt"
    plain.write_text("hei")
    with pytest.raises(KBError, match="kb export"):
        import_backup(kb, plain)
    wrong = tmp_path / "other.jsonl.gz"
    with gzip.open(wrong, "wt") as handle:
        handle.write(json.dumps({"format": "something-else"}) + "\n")
    with pytest.raises(KBError, match="kb export"):
        import_backup(kb, wrong)


def test_cli_export_and_import(source_kb: KnowledgeBase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    path = tmp_path / "cli.jsonl.gz"
    monkeypatch.setenv("KB_HOME", str(source_kb.settings.home))
    result = runner.invoke(export_cmd, [str(path)])
    assert result.exit_code == 0, result.output
    assert "Eksporterte" in result.output and path.is_file()
    monkeypatch.setenv("KB_HOME", str(tmp_path / "home-cli-target"))
    result = runner.invoke(import_cmd, [str(path), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["chunks"] == source_kb.store.count()
    monkeypatch.setenv("KB_CHUNK_SIZE", "700")
    result = runner.invoke(import_cmd, [str(path)])
    assert result.exit_code != 0 and "--force" in result.output


class PowerLoss(BaseException):
    """Not an Exception: nothing on the way treats it as an error to report and go on from."""


def test_an_import_stopped_before_it_committed_is_repaired_by_the_next_search(
    source_kb: KnowledgeBase, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "backup.jsonl.gz"
    export_store(source_kb, path)
    target_settings = settings.model_copy(update={"home": tmp_path / "home-target"})
    target = KnowledgeBase(target_settings)
    target.lexical()  # an empty snapshot, as a store has before its first write

    def power_loss() -> None:
        raise PowerLoss("after the chunks were written, before the revision moved")

    monkeypatch.setattr(target.store, "bump_revision", power_loss)
    with pytest.raises(PowerLoss):
        import_backup(target, path)
    monkeypatch.undo()
    # another process: it must serve what the store holds, not the empty snapshot
    after = KnowledgeBase(target_settings)
    assert sorted(after.lexical().ids) == sorted(record.id for record, _ in after.store.records())
    assert after.search("introduksjonsprogram for nyansatte", k=1)
