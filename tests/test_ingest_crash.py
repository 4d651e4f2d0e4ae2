"""A run stopped at any write step is repaired by the next `kb ingest` or `kb search` (#21, item 3).

A power loss is simulated by raising at one step and failing every write after it (the `finally` of a dead
process never runs). Before, a loss after the last changed file was written and before the revision was
bumped left search serving the old text for good: the next ingest found every file unchanged, and its check
compared only the revision and the number of chunks, which a change of text keeps.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.base import KnowledgeBase
from kb.config import Settings
from kb.store.chroma import Store
from tests.conftest import write

FILES = ("Halden/erfaringer/a.md", "Halden/erfaringer/b.md", "Halden/erfaringer/c.md")
QUERIES = ("heltid turnus", "lærlinger", "sykefravær oppfølging", "rekruttering sykepleiere")


class PowerLoss(BaseException):
    """Not an Exception: no handler on the way may treat it as an error to report and go on from."""


def _write_version(root: Path, version: int) -> None:
    topics = ("heltid og turnus", "lærlinger", "sykefravær og oppfølging", "rekruttering av sykepleiere")
    for i, relative in enumerate(FILES):
        topic = topics[(i + version) % len(topics)]
        write(root, relative, f"# Notat {i}\n\nHalden kommune, versjon {version}, skriver om {topic}.\n")


def _held(kb: KnowledgeBase) -> dict[str, str]:
    return {record.id: record.text for record, _ in kb.store.records()}


def _results(kb: KnowledgeBase) -> list[list[tuple[str, str, float]]]:
    return [[(h.id, h.text, round(h.score, 6)) for h in kb.search(q, k=3)] for q in QUERIES]


@pytest.fixture
def clean(tmp_path: Path) -> tuple[dict[str, str], list[list[tuple[str, str, float]]]]:
    """What a clean ingest of version 2 holds and finds (its own HOME, the same corpus folder)."""
    root = tmp_path / "corpus"
    _write_version(root, 2)
    kb = KnowledgeBase(Settings(home=tmp_path / "clean", embed_model="hash"))
    kb.ingest([root])
    return _held(kb), _results(kb)


def _crash(monkeypatch: pytest.MonkeyPatch, step: str) -> None:
    """Raise PowerLoss at `step`; once raised, every later write fails too."""
    dead = False

    def die() -> None:
        nonlocal dead
        dead = True
        raise PowerLoss(step)

    def guarded(name: str, cls: type = Store) -> None:
        original = getattr(cls, name)

        def method(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            if dead:
                raise PowerLoss(f"{step}: {name} after the loss")
            return original(self, *args, **kwargs)

        monkeypatch.setattr(cls, name, method)

    for name in ("erase", "remove", "set_origin", "add_records", "delete_other_versions"):
        guarded(name)
    guarded("rebuild_lexical", KnowledgeBase)
    if hasattr(KnowledgeBase, "end_journal"):  # (absent before the journal: the test ran there first)
        guarded("end_journal", KnowledgeBase)
    write_file, bump = Store.write_file, Store.bump_revision
    writes = 0

    def write_file_(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        nonlocal writes
        if dead:
            raise PowerLoss(f"{step}: write after the loss")
        write_file(self, *args, **kwargs)
        writes += 1
        if step == f"after write {writes}":
            die()

    def bump_(self):  # type: ignore[no-untyped-def]
        if dead or step == "before bump":
            die()
        revision = bump(self)
        if step == "after bump":
            die()
        return revision

    monkeypatch.setattr(Store, "write_file", write_file_)
    monkeypatch.setattr(Store, "bump_revision", bump_)


STEPS = ["after write 1", "after write 2", "after write 3", "before bump", "after bump"]


def _crashed_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: str) -> tuple[Path, Settings]:
    root = tmp_path / "corpus"
    settings = Settings(home=tmp_path / "kbhome", embed_model="hash")
    _write_version(root, 1)
    first = KnowledgeBase(settings)
    first.ingest([root])
    _results(first)
    _write_version(root, 2)
    with monkeypatch.context() as patch:
        _crash(patch, step)
        with pytest.raises(PowerLoss):
            KnowledgeBase(settings).ingest([root])
    return root, settings


@pytest.mark.parametrize("step", STEPS)
def test_the_next_ingest_ends_as_a_clean_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean, step: str) -> None:
    root, settings = _crashed_store(tmp_path, monkeypatch, step)
    kb = KnowledgeBase(settings)
    kb.ingest([root])
    held, results = clean
    assert _held(kb) == held
    assert _results(kb) == results
    assert _results(KnowledgeBase(settings)) == results  # and another process, from the saved snapshot


@pytest.mark.parametrize("step", STEPS)
def test_the_next_search_serves_what_the_store_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean, step: str
) -> None:
    root, settings = _crashed_store(tmp_path, monkeypatch, step)
    kb = KnowledgeBase(settings)
    found = _results(kb)
    held = _held(kb)
    assert {i for hits in found for i, _, _ in hits} <= set(held)  # no text the store no longer holds
    assert sorted(kb.lexical().ids) == sorted(held)
    if step not in ("after write 1", "after write 2"):  # every file was written: search is the clean one's
        assert found == clean[1]
    kb.ingest([root])
    assert _results(KnowledgeBase(settings)) == clean[1]


def test_a_store_crashed_before_the_journal_existed_is_repaired(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean
) -> None:
    """A store left by an earlier version (no journal): `kb ingest` compares the chunk ids it holds."""
    root, settings = _crashed_store(tmp_path, monkeypatch, "before bump")
    for journal in (settings.home / "store").rglob("*.ingest"):
        journal.unlink()
    kb = KnowledgeBase(settings)
    kb.ingest([root])
    assert _held(kb) == clean[0]
    assert _results(KnowledgeBase(settings)) == clean[1]


def test_text_a_stopped_run_replaced_is_erased_by_the_repair(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Chroma deleted the old chunks, the run died before its erase: the repair erases them from the files."""
    root = tmp_path / "corpus"
    settings = Settings(home=tmp_path / "kbhome", embed_model="hash")
    write(
        root, "Halden/erfaringer/a.md", "# Notat\n\nHalden kommune skriver om Solsikkeprosjektet i hjemmetjenesten.\n"
    )
    KnowledgeBase(settings).ingest([root])
    write(root, "Halden/erfaringer/a.md", "# Notat\n\nHalden kommune skriver om heltid i hjemmetjenesten.\n")

    def die(self: Store) -> None:
        raise PowerLoss("before erase")

    with monkeypatch.context() as patch:
        patch.setattr(Store, "erase", die)
        with pytest.raises(PowerLoss):
            KnowledgeBase(settings).ingest([root])
    assert b"Solsikkeprosjektet" in (settings.store_dir / "chroma.sqlite3").read_bytes()  # the crash left it
    KnowledgeBase(settings).search("heltid", k=1)  # a reader finds the journal and repairs
    raw = b"".join(p.read_bytes() for p in settings.store_dir.rglob("*") if p.is_file())
    assert b"Solsikkeprosjektet" not in raw
    # nor the sentence cache: the key of the replaced sentence goes with it
    from kb.store.sentence_cache import _key
    from tests.test_store_sentence_cache import cached_keys

    keys = cached_keys(settings.home)
    assert _key("Halden kommune skriver om heltid i hjemmetjenesten.") in keys
    assert _key("Halden kommune skriver om Solsikkeprosjektet i hjemmetjenesten.") not in keys
