"""Settings for every entry point, read from KB_* environment variables (and a .env file)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = "multilingual-e5-small"
SCHEMA_VERSION = 1  # bump when chunk metadata changes shape, so old collections are not mixed in


def _default_home() -> Path:
    """`.kb/` in a source checkout (where `make run` puts everything), else the user's data folder."""
    if (REPO_ROOT / "pyproject.toml").is_file():
        return REPO_ROOT / ".kb"
    data_home = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
    return data_home / "erfaringsbanken"


class Settings(BaseSettings):
    """All configuration. Only the CLI and the app construct it; everything below takes plain values."""

    model_config = SettingsConfigDict(env_prefix="KB_", env_file=".env", extra="forbid")

    home: Path = Field(default_factory=_default_home, description="Folder for the store, models and logs.")
    store: Path | None = Field(None, description="Embedded Chroma folder (default: HOME/store).")
    chroma_url: str | None = Field(
        None,
        description="URL of a Chroma server (`chroma run`); when set, used instead of the embedded store.",
    )
    chroma_token: str | None = Field(
        None, description="Token for a Chroma server behind the token gate (`make serve-gate`); never put it in code."
    )
    embed_model: str = Field(
        DEFAULT_MODEL,
        description="Embedding model: the offline default, any sentence-transformers name or path, or `hash`.",
    )
    embedder: Literal["auto", "onnx", "sentence-transformers"] = Field(
        "auto",
        description="How the offline default model runs: `onnx` (onnxruntime, the export `kb setup` makes), "
        "`sentence-transformers` (torch; the reference) or `auto` (onnx when exported). Other models: "
        "sentence-transformers.",
    )
    query_prefix: str | None = Field(
        None, description="Text put before queries (default: `query: ` for E5 models, else none)."
    )
    passage_prefix: str | None = Field(
        None, description="Text put before passages (default: `passage: ` for E5 models, else none)."
    )
    torch_threads: int = Field(
        1, ge=1, description="Threads for query embedding, ONNX or torch (ingest uses all cores)."
    )
    embed_batch_size: int = Field(32, ge=1, description="Passages embedded per batch during ingest.")
    chunk_size: int = Field(1000, ge=200, description="Largest chunk, in characters.")
    chunk_overlap: int = Field(150, ge=0, description="Characters of whole sentences repeated between chunks.")
    mask_personal_data: bool = Field(
        True,
        description="Mask fødselsnummer, D-/H-numbers, account and phone numbers and e-mail addresses in "
        "everything stored or shown.",
    )
    private_files: bool = Field(
        True, description="Create files 0600 and folders 0700 under HOME (off: the process umask decides)."
    )
    fusion: Literal["rrf", "weighted"] = Field("weighted", description="How dense and BM25 ranks are fused.")
    dense_weight: float = Field(0.5, ge=0.0, le=1.0, description="Weight of the dense side in weighted fusion.")
    rrf_k: int = Field(60, ge=1, description="The k constant of reciprocal rank fusion.")
    rare_word: float = Field(
        0.8,
        gt=0.0,
        le=1.0,
        description="BM25 gets its full weight when the question's rarest word is this rare (1 = in one chunk); "
        "less when all its words are common.",
    )
    dense_search: Literal["exact", "chroma"] = Field(
        "exact", description="Dense search: exact over the in-memory snapshot, or Chroma's HNSW index."
    )
    candidates: int = Field(50, ge=5, description="Candidates taken from each retriever before fusion.")
    superseded_penalty: float = Field(
        0.5, ge=0.0, le=1.0, description="Score factor for an older version of a strategy (1 = no penalty)."
    )
    reader: bool = Field(
        True,
        description="Let the reader (a cross-encoder `kb setup` builds) read the sentences most likely to answer "
        "before an answer is chosen; off: the selector alone (offline default model only).",
    )
    answer_min_score: float | None = Field(
        None, description="Threshold below which `kb ask` says it found nothing (default: calibrated value)."
    )
    generator_url: str | None = Field(
        None, description="OpenAI-compatible chat endpoint base URL (e.g. http://127.0.0.1:11434/v1)."
    )
    generator_model: str = Field("", description="Model name sent to the generator endpoint.")
    generator_key: str | None = Field(None, description="API key for the generator endpoint.")
    generator_timeout: float = Field(60.0, gt=0, description="Seconds before the generator is given up on.")
    max_upload_mb: int = Field(20, ge=1, description="Largest file accepted by the app's upload, in MB.")
    max_file_mb: int = Field(
        20,
        ge=1,
        description="Largest file `kb ingest` reads, in MB; a larger one is skipped with the reason, before it "
        "is read (uploads: the larger of this and KB_MAX_UPLOAD_MB).",
    )
    auth: Literal["single-user", "local", "oidc"] = Field(
        "single-user",
        description=(
            "Sign-in for the app: `single-user` (none; whoever opens it is admin, for one laptop), `local` "
            "(users file with password hashes) or `oidc` (Streamlit's st.login, e.g. Entra ID)."
        ),
    )
    users_file: Path | None = Field(None, description="Users and roles (TOML; default: HOME/users.toml).")

    @property
    def store_dir(self) -> Path:
        """The embedded Chroma folder."""
        return self.store or self.home / "store"

    @property
    def models_dir(self) -> Path:
        """Where the set-up step builds the offline model."""
        return self.home / "models"

    @property
    def feedback_file(self) -> Path:
        """Thumbs up/down from the app, as JSON lines."""
        return self.home / "feedback.jsonl"

    @property
    def audit_file(self) -> Path:
        """Append-only log of changes to the store."""
        return self.home / "audit.jsonl"

    @property
    def users_path(self) -> Path:
        """The users file."""
        return self.users_file or self.home / "users.toml"

    @property
    def is_e5(self) -> bool:
        """Whether the embedding model expects E5's query/passage prefixes."""
        return "e5" in self.embed_model.lower()

    @property
    def effective_query_prefix(self) -> str:
        """The prefix put before queries."""
        if self.query_prefix is not None:
            return self.query_prefix
        return "query: " if self.is_e5 else ""

    @property
    def effective_passage_prefix(self) -> str:
        """The prefix put before passages."""
        if self.passage_prefix is not None:
            return self.passage_prefix
        return "passage: " if self.is_e5 else ""


def index_name(settings: Settings) -> str:
    """Collection name derived from everything that makes vectors incompatible.

    Changing the model, its prefixes or the chunking gives a new collection instead of mixing vectors.
    """
    key = "|".join(
        str(part)
        for part in (
            settings.embed_model,
            settings.effective_passage_prefix,
            settings.chunk_size,
            settings.chunk_overlap,
            settings.mask_personal_data,
            SCHEMA_VERSION,
        )
    )
    return "kb_" + hashlib.sha256(key.encode()).hexdigest()[:12]
