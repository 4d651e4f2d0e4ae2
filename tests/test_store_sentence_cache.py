"""The sentence-vector cache: filled by ingest, shared by processes, and answers do not embed what it holds."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from kb.store.sentence_cache import SentenceVectors


class CountingEmbed:
    """A deterministic stand-in for the model's batch call that records what it was asked to embed."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, texts: list[str]) -> list[list[float]]:
        self.calls.append(list(texts))
        return [[float(len(t)), float(sum(map(ord, t)) % 97), 1.0] for t in texts]


def test_vectors_are_shared_through_the_file_and_embedded_once(tmp_path: Path) -> None:
    path = tmp_path / "cache" / "sentences.sqlite"
    embed = CountingEmbed()
    first = SentenceVectors(path, "model-a")
    got = first.compute(["Heltidsandelen økte.", "Vi innførte fadder."], embed)
    assert embed.calls == [["Heltidsandelen økte.", "Vi innførte fadder."]]
    # Another process (a new instance) finds them on disk and embeds only the new sentence.
    second = SentenceVectors(path, "model-a")
    assert second.known(["Heltidsandelen økte."]) == {"Heltidsandelen økte.": got["Heltidsandelen økte."]}
    second.compute(["Heltidsandelen økte.", "Turnover falt til 17 prosent."], embed)
    assert embed.calls[-1] == ["Turnover falt til 17 prosent."]
    # Vectors are per model: another model's cache does not answer for it.
    assert SentenceVectors(path, "model-b").known(["Heltidsandelen økte."]) == {}


def test_a_broken_cache_file_is_reported_and_answers_still_get_vectors(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "sentences.sqlite"
    path.write_bytes(b"not a database at all" * 100)
    cache = SentenceVectors(path, "model-a")
    with caplog.at_level(logging.WARNING, logger="kb.store.sentence_cache"):  # `kb` CLI tests quieten «kb» to ERROR
        got = cache.compute(["Vi innførte fadder."], CountingEmbed())
    assert list(got) == ["Vi innførte fadder."]
    assert "kan ikke brukes" in caplog.text


def test_ingest_fills_the_cache_and_answers_then_embed_no_sentences(  # type: ignore[no-untyped-def]
    make_kb, mini_corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kb.answer import ask

    kb = make_kb()
    report = kb.ingest([mini_corpus])
    assert report.sentences_embedded > 10
    assert kb.ingest([mini_corpus]).sentences_embedded == 0  # unchanged files: nothing to embed
    # A store from before the cache (or whose cache file was lost): the next ingest fills it in.
    cache_file = kb.settings.home / "cache" / "sentences.sqlite"
    assert cache_file.exists()
    for path in cache_file.parent.iterdir():
        path.unlink()
    assert make_kb().ingest([mini_corpus]).sentences_embedded == report.sentences_embedded

    fresh = make_kb()  # a new process: empty memory, the cache file on disk
    batches: list[list[str]] = []
    embedder_class = type(fresh.embedder)
    original = embedder_class.get_text_embedding_batch

    def spy(self, texts: list[str], **kwargs):  # type: ignore[no-untyped-def]
        batches.append(list(texts))
        return original(self, texts, **kwargs)

    monkeypatch.setattr(embedder_class, "get_text_embedding_batch", spy)
    answer = ask(fresh, "Hvordan fikk Sarpsborg nyansatte til å bli?")
    assert answer.answered and answer.citations
    assert batches == []


def cached_keys(home: Path) -> set[str]:
    """The keys (hashes of sentence texts) the cache file holds, for every model."""
    import sqlite3

    with sqlite3.connect(home / "cache" / "sentences.sqlite") as db:
        return {key for (key,) in db.execute("SELECT key FROM vectors")}


def test_removed_and_replaced_sentences_leave_the_cache(make_kb, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # NOTE: a key is the hash of a sentence: kept after the sentence left the base, it answers «was this ever
    # written here?» for anyone who can guess the sentence, and a vector can be read back towards its text.
    from kb.store.sentence_cache import _key

    root = tmp_path / "docs"
    (root / "Råde" / "erfaringer").mkdir(parents=True)
    gone = root / "Råde" / "erfaringer" / "borte.md"
    gone.write_text("# Borte\n\nKodeordet zebrafinke står bare her i teksten.\n")
    changed = root / "Råde" / "erfaringer" / "endret.md"
    both = "Denne setningen står i begge versjoner."
    changed.write_text(f"# Endret\n\nFørste versjon nevner gammelkode sjiraff her.\n\n{both}\n")
    kb = make_kb()
    kb.ingest([root])
    home = kb.settings.home
    before = cached_keys(home)
    assert {_key("Kodeordet zebrafinke står bare her i teksten."), _key(both)} <= before

    changed.write_text(f"# Endret\n\nAndre versjon nevner noe annet her.\n\n{both}\n")
    make_kb().ingest([root])
    make_kb().remove("Råde/erfaringer/borte.md")

    after = cached_keys(home)
    assert _key("Kodeordet zebrafinke står bare her i teksten.") not in after
    assert _key("Første versjon nevner gammelkode sjiraff her.") not in after
    assert {_key("Andre versjon nevner noe annet her."), _key(both)} <= after
    # Not in the file's free pages or its write-ahead log either.
    gone_key = _key("Kodeordet zebrafinke står bare her i teksten.").encode()
    assert not [p.name for p in (home / "cache").iterdir() if gone_key in p.read_bytes()]
