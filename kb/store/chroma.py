"""The Chroma store: the only module that imports chromadb or llama-index vector-store classes.

Each file version is written in one `add` call (its chunk ids include the file's hash), and the previous
version is deleted afterwards, so a reader sees one whole version or the other. A `<collection>_state`
collection holds a revision that changes on every write, so other processes know to refresh BM25.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlparse

from ingest.roles import SECTION_KEYS, SECTIONS_KEY, role_key
from kb.config import Settings, index_name
from kb.errors import StoreUnavailableError
from kb.types import Filters, Hit, Scalar

logger = logging.getLogger(__name__)

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

# Revisions written by this process: its Store objects share one chromadb system, which is already current.
_WRITTEN_HERE: set[str] = set()
PAGE = 5000  # records per `get` call when reading the whole collection
# NOTE: chromadb's defaults (search_ef 10, M 16) are tuned for speed; HNSW graphs lose recall around many
# near-identical vectors (boilerplate repeated across files). Wider search and denser links cost little at our
# sizes; bench/query_latency.py measures it.
HNSW = {"hnsw:space": "cosine", "hnsw:search_ef": 100, "hnsw:construction_ef": 200, "hnsw:M": 32}


@dataclass(slots=True)
class StoredFile:
    """What the store holds for one source: chunk counts per file version."""

    source: str
    versions: dict[str, int] = field(default_factory=dict)  # content_hash -> chunks stored
    expected: dict[str, int] = field(default_factory=dict)  # content_hash -> n_chunks the version has
    ingested_at: dict[str, float] = field(default_factory=dict)
    origin: str = ""  # the folder it was ingested under (ingest.pipeline.layout_base); "" before #21
    marked: bool = True  # every chunk has its sections' roles (ingest.roles.section_metadata); not before #18

    def is_complete(self, content_hash: str) -> bool:
        """Whether exactly this version, whole, is stored (and nothing else)."""
        return list(self.versions) == [content_hash] and self.versions[content_hash] == self.expected.get(
            content_hash, -1
        )


@dataclass(frozen=True, slots=True)
class Record:
    """A stored chunk read back for the BM25 index and the overview pages."""

    id: str
    text: str
    metadata: Mapping[str, Scalar]


def _client(settings: Settings) -> Any:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    if settings.chroma_url:
        url = urlparse(settings.chroma_url)
        chroma_settings = ChromaSettings(anonymized_telemetry=False)
        if settings.chroma_token:
            chroma_settings = ChromaSettings(
                anonymized_telemetry=False,
                chroma_client_auth_provider="chromadb.auth.token_authn.TokenAuthClientProvider",
                chroma_client_auth_credentials=settings.chroma_token,
            )
        try:
            return chromadb.HttpClient(
                host=url.hostname or "127.0.0.1",
                port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https",
                settings=chroma_settings,
            )
        except Exception as exc:
            if _token_refused(exc):
                raise StoreUnavailableError(_refused_message(settings.chroma_url)) from exc
            raise StoreUnavailableError(
                f"Får ikke kontakt med Chroma-serveren på {settings.chroma_url} ({exc}). Sjekk at den kjører "
                "(`make serve-chroma`), eller fjern KB_CHROMA_URL for å bruke den lokale databasen."
            ) from exc
    settings.store_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(
        path=str(settings.store_dir), settings=ChromaSettings(anonymized_telemetry=False, allow_reset=True)
    )


def where_clause(filters: Filters) -> dict[str, Any] | None:
    """Translate Filters into a Chroma `where` clause (applied inside the vector search, before ranking)."""
    from ingest.metadata import theme_key

    clauses: list[dict[str, Any]] = []
    if filters.municipalities:
        clauses.append({"municipality": {"$in": list(filters.municipalities)}})
    if filters.doc_types:
        clauses.append({"doc_type": {"$in": list(filters.doc_types)}})
    if filters.themes:
        themes = [{theme_key(t): True} for t in filters.themes]
        clauses.append(themes[0] if len(themes) == 1 else {"$or": themes})
    if filters.roles:
        roles = [{role_key(r): True} for r in filters.roles]
        clauses.append(roles[0] if len(roles) == 1 else {"$or": roles})
    if filters.date_from:
        clauses.append({"date_num": {"$gte": int(filters.date_from.replace("-", ""))}})
    if filters.date_to:
        clauses.append({"date_num": {"$lte": int(filters.date_to.replace("-", ""))}})
    if filters.visible_to is not None:
        clauses.append({"$or": [{"visibility": "nettverket"}, {"municipality": filters.visible_to}]})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


F = TypeVar("F", bound=Callable[..., Any])


def _token_refused(exc: BaseException) -> bool:
    """Whether a chromadb error means the server refused our token (401/403), however chromadb surfaced it.

    A Chroma-shaped error body becomes ChromaAuthError or AuthorizationError; any other 401/403 body becomes a
    plain Exception raised while handling httpx's HTTPStatusError, which is then in its `__context__`.
    """
    import httpx
    from chromadb.errors import AuthorizationError, ChromaAuthError

    seen: BaseException | None = exc
    for _ in range(10):  # a short, finite walk down the cause/context chain
        if seen is None:
            break
        if isinstance(seen, ChromaAuthError | AuthorizationError):
            return True
        if isinstance(seen, httpx.HTTPStatusError) and seen.response.status_code in (401, 403):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _refused_message(location: str) -> str:
    return (
        f"Chroma-serveren på {location} avviste tokenet. Sjekk at KB_CHROMA_TOKEN er satt og er det samme "
        "tokenet som serveren (token-porten) er startet med."
    )


def _server_errors(method: F) -> F:
    """In server mode, a failed call (server stopped, network gone, token refused) becomes StoreUnavailableError."""

    @functools.wraps(method)
    def wrapper(self: Store, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except StoreUnavailableError:
            raise
        except Exception as exc:
            if not self.is_server:
                raise
            if _token_refused(exc):
                raise StoreUnavailableError(_refused_message(self.location)) from exc
            raise StoreUnavailableError(
                f"Chroma-serveren på {self.location} svarer ikke ({type(exc).__name__}). Sjekk at den kjører "
                "(`make serve-chroma`), og prøv igjen."
            ) from exc

    return wrapper  # type: ignore[return-value]


_STATE_SQL = """
SELECT m.key, m.string_value, m.int_value, m.float_value, m.bool_value
FROM collections c
JOIN segments s ON s.collection = c.id AND s.scope = 'METADATA'
JOIN embeddings e ON e.segment_id = s.id AND e.embedding_id = 'state'
JOIN embedding_metadata m ON m.id = e.id
WHERE c.name = ?
"""


def read_state(database: Path, collection: str) -> dict[str, Scalar] | None:
    """The state record of an embedded store, read from Chroma's SQLite file opened read-only.

    Returns {} when the store or the collection does not exist yet, and None when the file cannot be read this
    way (a chromadb whose schema differs, a hot journal only a writer may roll back): then ask Chroma.
    """
    import sqlite3

    if not database.is_file():
        return {}
    try:
        with contextlib.closing(sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True)) as db:
            rows = db.execute(_STATE_SQL, (collection,)).fetchall()
    except sqlite3.Error as exc:
        logger.info("reading the store's state from %s failed (%s); opening Chroma", database, exc)
        return None
    state: dict[str, Scalar] = {}
    for key, text, integer, real, flag in rows:
        if not key.startswith("chroma:"):
            state[key] = next((v for v in (text, integer, real, flag) if v is not None), "")
    return state


class Store:
    """A Chroma collection named after the embedding model and chunking, plus its state record."""

    def __init__(self, settings: Settings) -> None:
        self.name = index_name(settings)
        self.location = settings.chroma_url or str(settings.store_dir)
        self.is_server = bool(settings.chroma_url)
        self._settings = settings
        self._deleted: list[str] = []  # chunk ids deleted and not yet erased from the files (see erase())
        self._gone: list[tuple[str, str, dict[str, Scalar]]] = []  # (id, text, metadata) of chunks deleted
        self._open()
        self._synced = self.revision()

    def _open(self) -> None:
        """Forget any open client; Chroma is opened on first use.

        NOTE: a search over a current BM25/vector snapshot never opens Chroma: opening a PersistentClient writes
        to chroma.sqlite3 (and a query rewrote an HNSW segment file), and importing chromadb and llama-index
        cost a cold `kb search` about a second. The revision is read from the SQLite file instead (read_state).
        """
        self._chroma: tuple[Any, Any, Any] | None = None
        self._vector_store: Any = None

    def _connect(self) -> tuple[Any, Any, Any]:
        """(client, collection, state collection), opened once."""
        if self._chroma is None:
            client = _client(self._settings)
            try:
                collection = client.get_or_create_collection(
                    self.name,
                    metadata={**HNSW, "embed_model": self._settings.embed_model},
                    embedding_function=None,  # our vectors only: Chroma's default function downloads a model
                )
                state = client.get_or_create_collection(f"{self.name}_state", embedding_function=None)
            except Exception as exc:
                raise StoreUnavailableError(
                    f"Kunnskapsbasen på {self.location} kan ikke åpnes ({type(exc).__name__}: {exc}). "
                    "Kjører Chroma-serveren? Er mappen skrivbar?"
                ) from exc
            self._chroma = (client, collection, state)
        return self._chroma

    @property
    def _client(self) -> Any:
        return self._connect()[0]

    @property
    def _collection(self) -> Any:
        return self._connect()[1]

    @property
    def _state(self) -> Any:
        return self._connect()[2]

    @property
    def _vectors(self) -> Any:
        """llama-index's ChromaVectorStore over the collection, for writing nodes (imported only to write)."""
        if self._vector_store is None:
            from llama_index.vector_stores.chroma import ChromaVectorStore

            self._vector_store = ChromaVectorStore(chroma_collection=self._collection)
        return self._vector_store

    def sync(self, revision: str) -> None:
        """Pick up another process's writes to an embedded store.

        chromadb loads a folder's vector index once per process; writes by another process reach SQLite but
        not that index. When the revision moved and we did not move it, drop chromadb's cached system for our
        folder and open it again. (A server needs nothing: it is the one process.)
        """
        if revision == self._synced or self.is_server or revision in _WRITTEN_HERE or self._chroma is None:
            self._synced = revision  # (nothing open yet: the first use opens the current files)
            return
        from chromadb.api.shared_system_client import SharedSystemClient

        # NOTE: pop, not stop(): other Store objects in this process may still hold the old system.
        identifier = getattr(self._client, "_identifier", None)
        if identifier is not None:
            SharedSystemClient._identifier_to_system.pop(identifier, None)
            SharedSystemClient._identifier_to_refcount.pop(identifier, None)
        self._open()
        self._synced = revision

    # --- state -----------------------------------------------------------------------------------------
    def revision(self) -> str:
        """Changes on every write; '' for a store never written."""
        return str(self.state().get("revision", ""))

    @_server_errors
    def state(self) -> dict[str, Scalar]:
        """The state record: revision and time of the last write."""
        if not self.is_server and self._chroma is None:
            state = read_state(self._settings.store_dir / "chroma.sqlite3", f"{self.name}_state")
            if state is not None:
                return state
        got = self._state.get(ids=["state"], include=["metadatas"])
        metadatas = got.get("metadatas") or []
        return dict(metadatas[0]) if metadatas and metadatas[0] else {}

    @_server_errors
    def bump_revision(self) -> str:
        """Mark the store as changed (call after every write)."""
        revision = uuid.uuid4().hex
        # NOTE: known as ours before it is visible. Recorded after the upsert, a search thread reading the new
        # revision in between took it for another process's write and reopened the client under the writer
        # (chromadb then failed in both threads: «'RustBindingsAPI' object has no attribute 'bindings'»).
        _WRITTEN_HERE.add(revision)
        self._state.upsert(
            ids=["state"],
            embeddings=[[0.0]],
            metadatas=[{"revision": revision, "updated_at": time.time()}],
            documents=[""],
        )
        self._synced = revision
        return revision

    # --- reading ---------------------------------------------------------------------------------------
    @_server_errors
    def count(self) -> int:
        """Number of stored chunks."""
        return int(self._collection.count())

    def records(self, *, include_embeddings: bool = False) -> Iterator[tuple[Record, Sequence[float] | None]]:
        """Every stored chunk, paged."""
        include = ["documents", "metadatas"] + (["embeddings"] if include_embeddings else [])
        offset = 0
        while True:
            got = self._collection.get(include=include, limit=PAGE, offset=offset)
            ids = got["ids"]
            if not ids:
                return
            embeddings = got.get("embeddings") if include_embeddings else None
            for i, chunk_id in enumerate(ids):
                meta = {k: v for k, v in (got["metadatas"][i] or {}).items() if not k.startswith("_")}
                vector = embeddings[i] if embeddings is not None else None
                yield Record(chunk_id, got["documents"][i] or "", meta), vector
            offset += len(ids)

    @_server_errors
    def ids(self) -> set[str]:
        """The ids of every stored chunk (each a hash of its source, version and text: what the store holds)."""
        ids: set[str] = set()
        offset = 0
        while True:
            got = self._collection.get(include=[], limit=PAGE, offset=offset)["ids"]
            if not got:
                return ids
            ids.update(got)
            offset += len(got)

    @_server_errors
    def files(self) -> dict[str, StoredFile]:
        """Per source: which versions are stored and whether each is whole."""
        files: dict[str, StoredFile] = {}
        offset = 0
        while True:
            got = self._collection.get(include=["metadatas"], limit=PAGE, offset=offset)
            if not got["ids"]:
                return files
            for meta in got["metadatas"]:
                source = str(meta.get("source", ""))
                digest = str(meta.get("content_hash", ""))
                entry = files.setdefault(source, StoredFile(source))
                entry.versions[digest] = entry.versions.get(digest, 0) + 1
                entry.expected[digest] = int(meta.get("n_chunks", 0))
                entry.ingested_at[digest] = float(meta.get("ingested_at", 0.0))
                entry.origin = entry.origin or str(meta.get("origin", ""))
                entry.marked = entry.marked and SECTIONS_KEY in meta
            offset += len(got["ids"])

    @_server_errors
    def embeddings_for(self, source: str) -> dict[str, list[float]]:
        """Stored vectors of a source's chunks keyed by chunk text, to avoid re-embedding unchanged text."""
        got = self._collection.get(where={"source": source}, include=["documents", "embeddings"])
        vectors = got.get("embeddings")
        if vectors is None:
            return {}
        return {doc: list(vec) for doc, vec in zip(got["documents"], vectors, strict=False) if doc}

    @_server_errors
    def query(
        self, embedding: Sequence[float], k: int, filters: Filters | None = None, *, count: int | None = None
    ) -> list[Hit]:
        """Nearest chunks by cosine similarity, filtered inside Chroma before ranking.

        `count` (the number of stored chunks, when the caller knows it) saves a round trip to the store.
        """
        where = where_clause(filters) if filters is not None else None
        count = self.count() if count is None else count
        if count == 0:
            return []
        got = self._collection.query(
            query_embeddings=[list(embedding)],
            n_results=min(k, count),
            where=where,
            include=["documents", "metadatas", "distances"],
        )
        hits = []
        for chunk_id, text, meta, distance in zip(
            got["ids"][0], got["documents"][0], got["metadatas"][0], got["distances"][0], strict=False
        ):
            clean = {key: v for key, v in (meta or {}).items() if not key.startswith("_")}
            similarity = 1.0 - float(distance)
            hits.append(
                Hit(
                    id=chunk_id,
                    text=text or "",
                    source=str(clean.get("source", "")),
                    score=similarity,
                    metadata=clean,
                    dense_score=similarity,
                )
            )
        return hits

    # --- writing ---------------------------------------------------------------------------------------
    @_server_errors
    def write_file(
        self, source: str, content_hash: str, chunks: Sequence[Any], embeddings: Sequence[Sequence[float]]
    ) -> None:
        """Add one file version in a single call, then delete every other version of the same source."""
        from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode

        now = time.time()
        nodes = []
        for chunk, vector in zip(chunks, embeddings, strict=True):
            node = TextNode(
                id_=chunk.id,
                text=chunk.text,
                metadata={**chunk.metadata, "ingested_at": now},
                embedding=list(vector),
            )
            node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=source)
            nodes.append(node)
        existing = set(self._collection.get(ids=[n.node_id for n in nodes], include=[])["ids"])
        fresh = [n for n in nodes if n.node_id not in existing]
        if fresh:
            self._vectors.add(fresh)
        self.delete_other_versions(source, content_hash)

    @_server_errors
    def set_origin(self, source: str, origin: str) -> None:
        """Record the folder a stored document was ingested under (documents stored before it was kept)."""
        got = self._collection.get(where={"source": source}, include=["metadatas"])
        if got["ids"]:
            metadatas = [{**meta, "origin": origin} for meta in got["metadatas"]]
            self._collection.update(ids=got["ids"], metadatas=metadatas)

    @_server_errors
    def set_sections(self, chunks: Sequence[Any]) -> int:
        """Give stored chunks the roles of their sections (for chunks stored before they were kept).

        `chunks`: the file's chunks as ingest makes them now; their section metadata is written to the stored
        chunks with the same ids. Returns how many were updated.
        """
        wanted = {chunk.id: chunk for chunk in chunks}
        got = self._collection.get(ids=list(wanted), include=["metadatas"])
        if not got["ids"]:
            return 0
        metadatas = [
            {**meta, **{k: v for k, v in wanted[i].metadata.items() if k in SECTION_KEYS}}
            for i, meta in zip(got["ids"], got["metadatas"], strict=True)
        ]
        self._collection.update(ids=got["ids"], metadatas=metadatas)
        return len(got["ids"])

    @_server_errors
    def delete_other_versions(self, source: str, keep_hash: str) -> None:
        """Remove chunks of `source` that belong to any version but `keep_hash` (erased by `erase()`)."""
        where = {"$and": [{"source": source}, {"content_hash": {"$ne": keep_hash}}]}
        ids = self._delete(self._collection.get(where=where, include=["documents", "metadatas"]))
        self._deleted.extend(ids)

    @_server_errors
    def remove(self, source: str) -> int:
        """Delete all chunks of a source, and erase their text from the store's files; returns how many."""
        ids = self._delete(self._collection.get(where={"source": source}, include=["documents", "metadatas"]))
        if ids:
            self._deleted.extend(ids)
            self.erase()
        return len(ids)

    def _delete(self, got: Any) -> list[str]:
        """Delete the chunks a `get` returned, remembering their text for `take_gone`; returns their ids."""
        ids = list(got["ids"])
        if ids:
            self._collection.delete(ids=ids)
            texts = got.get("documents") or [""] * len(ids)
            metadatas = got.get("metadatas") or [{}] * len(ids)
            self._gone.extend((i, t or "", dict(m or {})) for i, t, m in zip(ids, texts, metadatas, strict=True))
        return ids

    def take_gone(self) -> list[tuple[str, str, dict[str, Scalar]]]:
        """The (id, text, metadata) of the chunks deleted since the last call: what derived caches must drop."""
        gone, self._gone = self._gone, []
        return gone

    def erase_deleted(self) -> None:
        """Erase the traces of chunks deleted by a run that stopped before its `erase` (erase.deleted_chunks).

        Their text joins `take_gone`, so the caches built from it drop them too.
        """
        if not self.is_server:
            from kb.store.erase import deleted_chunks, erase

            found = deleted_chunks(self._settings.store_dir)
            self._gone.extend(found)
            erase(self._settings.store_dir, [chunk_id for chunk_id, _, _ in found])

    def erase(self) -> None:
        """Erase what the store's files keep of chunks deleted so far (kb.store.erase); a server erases its own."""
        deleted, self._deleted = self._deleted, []
        if deleted and not self.is_server:
            from kb.store.erase import erase

            erase(self._settings.store_dir, deleted)

    @_server_errors
    def add_records(self, records: Sequence[tuple[Record, Sequence[float]]]) -> None:
        """Write records as they are (used by `kb import`)."""
        for start in range(0, len(records), PAGE):
            batch = records[start : start + PAGE]
            self._collection.upsert(
                ids=[r.id for r, _ in batch],
                documents=[r.text for r, _ in batch],
                metadatas=[dict(r.metadata) for r, _ in batch],
                embeddings=[list(v) for _, v in batch],
            )
