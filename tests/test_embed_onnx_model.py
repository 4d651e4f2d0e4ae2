"""The ONNX Runtime embedder gives the sentence-transformers model's vectors (the real model, both backends)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from kb.config import REPO_ROOT, Settings

pytestmark = pytest.mark.integration


def norwegian_sentences(count: int = 50) -> list[str]:
    """`count` sentences spread over the bundled corpus's Markdown files (lists and headings left out)."""
    sentences: list[str] = []
    for path in sorted((REPO_ROOT / "corpus").rglob("*.md")):
        body = re.sub(r"\A---.*?---", "", path.read_text(encoding="utf-8"), flags=re.S)
        for sentence in re.split(r"(?<=[.?!])\s+", body):
            sentence = " ".join(sentence.split())
            if 30 < len(sentence) < 600 and not sentence.startswith(("#", "-", "|", "*")):
                sentences.append(sentence)
    step = max(1, len(sentences) // count)
    return sentences[::step][:count]


@pytest.fixture(scope="module")
def embedders(tmp_path_factory: pytest.TempPathFactory, real_model_dir: Path, real_onnx_dir: Path):  # type: ignore[no-untyped-def]
    from kb.embed.models import make_embedder

    home = tmp_path_factory.mktemp("home")
    (home / "models").mkdir()
    (home / "models" / real_model_dir.name).symlink_to(real_model_dir)
    (home / "models" / real_onnx_dir.name).symlink_to(real_onnx_dir)
    base = Settings(home=home)
    onnx = make_embedder(base.model_copy(update={"embedder": "onnx"}))
    torch = make_embedder(base.model_copy(update={"embedder": "sentence-transformers"}))
    return onnx, torch


def test_onnx_and_sentence_transformers_agree_on_50_norwegian_sentences(embedders) -> None:  # type: ignore[no-untyped-def]
    from kb.embed.onnx_model import OnnxEmbedder

    onnx, torch = embedders
    assert isinstance(onnx, OnnxEmbedder)
    assert type(torch).__name__ == "HuggingFaceEmbedding"
    sentences = norwegian_sentences()
    assert len(sentences) == 50
    ours = np.array(onnx.get_text_embedding_batch(sentences))
    reference = np.array(torch.get_text_embedding_batch(sentences))
    cosines = (ours * reference).sum(axis=1) / np.linalg.norm(ours, axis=1) / np.linalg.norm(reference, axis=1)
    assert cosines.min() >= 0.999
    assert np.abs(ours - reference).max() < 1e-5  # measured 1.2e-07: the same vectors, not merely close ones
    for question in ("hvordan beholde nyansatte", "Hva gjør kommunene med heltidskultur?", sentences[0]):
        a, b = np.array(onnx.get_query_embedding(question)), np.array(torch.get_query_embedding(question))
        assert float(a @ b) >= 0.999
    # The query prefix matters: a query vector is not the passage vector of the same words.
    assert float(np.array(onnx.get_query_embedding(sentences[0])) @ ours[0]) < 0.99


def test_a_batch_is_sorted_by_length_and_comes_back_in_order(embedders) -> None:  # type: ignore[no-untyped-def]
    onnx, _ = embedders
    texts = ["kort", "en mye lengre setning om rekruttering av sykepleiere i hjemmetjenesten " * 5, "mellomlang tekst"]
    batch = np.array(onnx.get_text_embedding_batch(texts))
    one_by_one = np.array([onnx.get_text_embedding(t) for t in texts])
    assert np.abs(batch - one_by_one).max() < 1e-5
    assert np.allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-5)


def test_search_gives_the_same_hits_with_either_backend(real_settings: Settings, mini_corpus: Path) -> None:
    from kb.base import KnowledgeBase

    KnowledgeBase(real_settings).ingest([mini_corpus])  # the default backend: onnx
    onnx = KnowledgeBase(real_settings.model_copy(update={"embedder": "onnx"}))
    torch = KnowledgeBase(real_settings.model_copy(update={"embedder": "sentence-transformers"}))
    assert onnx.store.name == torch.store.name  # the same vectors, so the same index
    for query in ("hvordan fikk de nyansatte til å bli?", "lærlinger", "sykefravær i hjemmetjenesten"):
        for mode in ("dense", "hybrid"):
            a, b = onnx.search(query, k=5, mode=mode), torch.search(query, k=5, mode=mode)
            assert [h.id for h in a] == [h.id for h in b]
            # NOTE: hybrid scores are min-max stretched, so 1e-7 in a vector shows as up to ~1e-5 here.
            assert [h.score for h in a] == pytest.approx([h.score for h in b], abs=1e-4)
