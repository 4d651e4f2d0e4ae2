"""The knowledge base: one object per process that holds the store, the embedder and the BM25 index.

The CLI and the app build one from Settings and call its verbs: ingest, search, remove, stats.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kb.config import Settings
from kb.embed.models import make_embedder
from kb.errors import EmptyIndexError, StoreLockedError
from kb.retrieve import retrieval
from kb.store.chroma import Store
from kb.store.lexical import LexicalIndex
from kb.store.sentence_cache import SentenceVectors
from kb.types import DocumentInfo, Filters, Hit, Scalar, readable

if TYPE_CHECKING:
    from kb.indexer import IngestReport, Progress

logger = logging.getLogger(__name__)


class KnowledgeBase:
    """Store + embedder + BM25. Heavy parts load on first use; the BM25 index follows the store's revision."""

    def __init__(self, settings: Settings, *, embedder: Any = None) -> None:
        self.settings = settings
        from kb.files import make_private

        make_private(settings.home, private=settings.private_files)
        self.store = Store(settings)
        self._embedder = embedder
        self._lexical: LexicalIndex | None = None
        self._superseded: dict[str, str] = {}
        self._superseded_scoped: dict[tuple[str, str], dict[str, str]] = {}

    # --- resources -------------------------------------------------------------------------------------
    @property
    def embedder(self) -> Any:
        """The embedding model, loaded on first use."""
        if self._embedder is None:
            self._embedder = make_embedder(self.settings)
        return self._embedder

    @cached_property
    def sentence_vectors(self) -> SentenceVectors:
        """Passage vectors of answer sentences (kb.store.sentence_cache), shared by every store under HOME."""
        # NOTE: the passage prefix is part of what is embedded, so it is part of the key.
        model = f"{self.settings.embed_model}|{self.settings.effective_passage_prefix}"
        return SentenceVectors(self.settings.home / "cache" / "sentences.sqlite", model)

    @property
    def lexical_path(self) -> Path:
        """Where this store's BM25 index is saved."""
        if self.store.is_server:
            import hashlib

            tag = hashlib.sha256(self.store.location.encode()).hexdigest()[:8]
            return self.settings.home / "lexical" / f"{self.store.name}-{tag}.pkl"
        return self.settings.store_dir / "lexical" / f"{self.store.name}.pkl"

    def lexical(self) -> LexicalIndex:
        """The BM25 index for the store's current revision (loaded or rebuilt when another process wrote)."""
        if self.journal_path.exists():
            self.repair_interrupted()
        revision = self.store.revision()
        self.store.sync(revision)
        if self._lexical is not None and self._lexical.revision == revision:
            return self._lexical
        index = LexicalIndex.load(self.lexical_path)
        if index is None or index.revision != revision:
            index = self.rebuild_lexical(revision)
        self._set_lexical(index)
        return index

    def lexical_in_step(self) -> bool:
        """Whether the saved BM25 index holds what the store holds: the same revision and the same chunk ids.

        NOTE: ids, not counts (#21): a changed file usually keeps its number of chunks, and a run stopped after
        writing it but before the revision moved left a snapshot of the old text that a count took for current.
        A chunk's id is a hash of its source, version and text, so the same ids are the same texts.
        """
        index = LexicalIndex.load(self.lexical_path)
        if index is None or index.revision != self.store.revision():
            return False
        return len(index) == len(set(index.ids)) and set(index.ids) == self.store.ids()

    # --- the write journal -----------------------------------------------------------------------------
    @property
    def journal_path(self) -> Path:
        """A file that exists while a write to the store is not committed (its revision moved, BM25 rebuilt)."""
        return self.lexical_path.with_name(f"{self.store.name}.ingest")

    def begin_journal(self, action: str) -> bool:
        """Record that a write is starting (call under the write lock, before the first write).

        Returns whether a journal was already there: a run stopped before it committed, to be repaired now.
        NOTE: synced to disk before the store is touched, so a power loss cannot keep Chroma's writes (SQLite
        syncs its own) and lose the record that they are uncommitted.
        """
        path = self.journal_path
        interrupted = path.exists()
        path.parent.mkdir(parents=True, exist_ok=True)
        entry = {"action": action, "pid": os.getpid(), "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        with path.open("w", encoding="utf-8") as handle:
            handle.write(json.dumps(entry) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(OSError):  # the folder's entry too (not possible on every file system)
            folder = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(folder)
            finally:
                os.close(folder)
        return interrupted

    def end_journal(self) -> None:
        """The write is committed: the revision moved and the BM25 snapshot holds what the store holds."""
        self.journal_path.unlink(missing_ok=True)

    def repair_interrupted(self) -> bool:
        """Commit what a stopped write left in the store (new revision, BM25 rebuilt); returns whether it did.

        Called by any reader that finds the journal: a search then serves what the store holds, not the text
        a stopped run replaced. Files a stopped ingest had not reached yet are written by the next `kb ingest`.
        Nothing is done while a writer holds the lock (its journal is its own) or where the store is read-only.
        """
        if self.ingest_running():
            return False
        try:
            with self.write_lock():
                if not self.journal_path.exists():
                    return False  # the writer finished between the two checks
                logger.warning("a write to the store was interrupted; committing what it left (%s)", self.store.name)
                self.store.bump_revision()
                self.rebuild_lexical()
                self.store.erase_deleted()  # the old text of files it had replaced, before its own erase ran
                from kb.indexer import forget_deleted

                forget_deleted(self)
                self.end_journal()
                return True
        except (StoreLockedError, OSError) as exc:
            logger.info("could not repair the interrupted write now: %s", exc)
            return False

    def rebuild_lexical(self, revision: str | None = None) -> LexicalIndex:
        """Rebuild BM25 from the store's chunks and save it beside the store."""
        revision = self.store.revision() if revision is None else revision
        started = time.perf_counter()
        index = LexicalIndex.build(
            self.store.records(include_embeddings=self.settings.dense_search == "exact"), revision
        )
        try:
            index.save(self.lexical_path)
        except OSError as exc:  # a read-only installation still searches, it just rebuilds per process
            logger.warning("could not save the BM25 index to %s: %s", self.lexical_path, exc)
        logger.info("BM25 index of %d chunks built in %.2fs", len(index), time.perf_counter() - started)
        self._set_lexical(index)
        return index

    def _set_lexical(self, index: LexicalIndex) -> None:
        self._lexical = index
        self._superseded = retrieval.superseded_sources(self._document_rows(index))
        self._superseded_scoped = {}

    def _superseded_for(self, visible_to: str | None) -> dict[str, str]:
        """Older versions → newest version, among the documents a reader may see.

        NOTE: computed per reader: an `intern` newer version must not mark (and so reveal itself through) the
        network version other municipalities see.
        """
        if visible_to is None:
            return self._superseded
        index = self._lexical or self.lexical()
        # NOTE: keyed by revision too: the app's sessions share this object, and a result computed from an older
        # snapshot while another thread swapped in a newer one must not be taken for the newer one's.
        key = (index.revision, visible_to)
        if key not in self._superseded_scoped:
            rows = [row for row in self._document_rows(index) if readable(row, visible_to)]
            self._superseded_scoped[key] = retrieval.superseded_sources(rows)
        return self._superseded_scoped[key]

    @staticmethod
    def _document_rows(index: LexicalIndex) -> list[dict[str, Scalar]]:
        rows: dict[str, dict[str, Scalar]] = {}
        for meta in index.metadatas:
            rows.setdefault(str(meta.get("source", "")), dict(meta))
        return list(rows.values())

    # --- reading ---------------------------------------------------------------------------------------
    def search(
        self,
        query: str,
        k: int = 10,
        filters: Filters | None = None,
        *,
        mode: str = "hybrid",
        per_municipality: int = 0,
        history: bool = False,
    ) -> list[Hit]:
        """Best chunks for a query, best first.

        Args:
            query: the user's words.
            k: number of hits to return.
            filters: applied inside both retrievers, before ranking.
            mode: "hybrid", "dense" or "bm25".
            per_municipality: if > 0, at most this many hits per municipality come first.
            history: if True, older versions of strategies are not pushed down (they stay marked).

        Raises:
            EmptyIndexError: nothing has been ingested.
        """
        lexical = self.lexical()
        if len(lexical) == 0:
            if self.ingest_running():
                raise EmptyIndexError("Kunnskapsbasen er tom ennå: en innlesing pågår. Prøv igjen når den er ferdig.")
            raise EmptyIndexError()
        candidates = max(self.settings.candidates, k)
        dense: list[Hit] = []
        sparse: list[Hit] = []
        if mode in ("hybrid", "dense"):
            vector = self.embed_query(lexical.wording(query))  # a nynorsk query in the store's words
            if lexical.vectors is not None:
                dense = lexical.dense_search(vector, candidates, filters)
            else:
                current = lexical.current_versions
                dense = [
                    h
                    for h in self.store.query(vector, candidates, filters, count=len(lexical))
                    # NOTE: chunks written after the snapshot was built belong to an ingest still running (or
                    # one interrupted); they become visible together, at its end, on both sides.
                    if (h.source, str(h.metadata.get("content_hash"))) in current
                ]
        if mode in ("hybrid", "bm25"):
            sparse = lexical.search(query, candidates, filters)
        if mode == "dense":
            fused = retrieval.fuse_weighted(dense, [], 1.0)
        elif mode == "bm25":
            fused = retrieval.fuse_weighted([], sparse, 0.0)
        elif self.settings.fusion == "rrf":
            fused = retrieval.fuse_rrf(dense, sparse, self.settings.rrf_k, self.settings.dense_weight)
        else:
            rarity = lexical.rarity(query, filters)
            weight = retrieval.rarity_weight(self.settings.dense_weight, rarity, self.settings.rare_word)
            fused = retrieval.fuse_weighted(dense, sparse, weight)
        superseded = self._superseded_for(filters.visible_to if filters is not None else None)
        ranked = retrieval.apply_versions(fused, superseded, self.settings.superseded_penalty, history)
        ranked = retrieval.diversify(ranked, per_municipality)
        return ranked[:k]

    def embed_query(self, query: str) -> list[float]:
        """The query vector (with the model's query prefix)."""
        return list(self.embedder.get_query_embedding(query))

    def documents(self, visible_to: str | None = None) -> list[DocumentInfo]:
        """Every stored document with its metadata, newest first (only those `visible_to` may read)."""
        lexical = self.lexical()
        superseded = self._superseded_for(visible_to)
        counts: Counter[str] = Counter(str(m.get("source")) for m in lexical.metadatas)
        keep = lexical.mask(Filters(visible_to=visible_to))
        allowed = (
            None
            if keep is None
            else {str(m.get("source")) for m, ok in zip(lexical.metadatas, keep, strict=True) if ok}
        )
        docs = []
        for meta in self._document_rows(lexical):
            if allowed is not None and str(meta.get("source")) not in allowed:
                continue
            source = str(meta.get("source"))
            themes = tuple(t.strip() for t in str(meta.get("themes", "")).split(",") if t.strip())
            docs.append(
                DocumentInfo(
                    source=source,
                    title=str(meta.get("title", "")),
                    municipality=str(meta.get("municipality", "")),
                    doc_type=str(meta.get("doc_type", "")),
                    date=str(meta.get("date", "")),
                    themes=themes,
                    chunks=counts[source],
                    superseded_by=superseded.get(source, ""),
                    visibility=str(meta.get("visibility", "nettverket")),
                )
            )
        return sorted(docs, key=lambda d: (d.date, d.source), reverse=True)

    def chunks_of(self, source: str) -> list[tuple[str, dict[str, Scalar]]]:
        """A document's chunks (text, metadata) in order, for the source view."""
        lexical = self.lexical()
        rows = [(t, m) for t, m in zip(lexical.texts, lexical.metadatas, strict=True) if m.get("source") == source]
        return sorted(rows, key=lambda r: int(r[1].get("chunk_index", 0)))

    def stats(self, visible_to: str | None = None) -> dict[str, Any]:
        """Documents and chunks per municipality and type, and when the store last changed."""
        docs = self.documents(visible_to)
        per: dict[str, dict[str, int]] = {}
        for doc in docs:
            row = per.setdefault(doc.municipality or "Ukjent", {"documents": 0, "chunks": 0})
            row["documents"] += 1
            row["chunks"] += doc.chunks
        state = self.store.state()
        return {
            "documents": len(docs),
            "chunks": sum(d.chunks for d in docs),
            "per_municipality": dict(sorted(per.items())),
            "per_type": dict(Counter(d.doc_type for d in docs)),
            "last_ingest": float(state["updated_at"]) if "updated_at" in state else None,
            "embed_model": self.settings.embed_model,
            "collection": self.store.name,
            "store": self.store.location,
        }

    # --- writing ---------------------------------------------------------------------------------------
    def ingest_running(self) -> bool:
        """Whether another process holds the write lock now (an ingest or an upload is running)."""
        lock_dir = self.settings.home if self.store.is_server else self.settings.store_dir
        lock = lock_dir / "write.lock"
        if not lock.is_file():
            return False
        try:
            with lock.open("a+") as handle:
                try:
                    fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
                except BlockingIOError:
                    return True
                fcntl.flock(handle, fcntl.LOCK_UN)
        except OSError:  # a read-only installation: no writer can be running there
            return False
        return False

    @contextlib.contextmanager
    def write_lock(self, *, wait: bool = False) -> Iterator[None]:
        """One writer at a time on an embedded store; readers are never blocked.

        Raises:
            StoreLockedError: another process holds the lock and `wait` is False.
        """
        lock_dir = self.settings.home if self.store.is_server else self.settings.store_dir
        lock_dir.mkdir(parents=True, exist_ok=True)
        with (lock_dir / "write.lock").open("a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError as exc:
                raise StoreLockedError(
                    "En annen prosess skriver til kunnskapsbasen nå (kb ingest eller en opplasting i appen). "
                    "Vent til den er ferdig, eller bruk `kb ingest --wait`."
                ) from exc
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def ingest(
        self,
        roots: Sequence[Path],
        *,
        prune: bool = False,
        progress: Progress | None = None,
        wait: bool = False,
        user: str = "kb",
        extra_metadata: dict[str, str] | None = None,
        dry_run: bool = False,
    ) -> IngestReport:
        """Ingest files under `roots` (see kb.indexer.ingest)."""
        from kb.indexer import ingest

        with self.write_lock(wait=wait):
            return ingest(
                self, roots, prune=prune, progress=progress, user=user, extra_metadata=extra_metadata, dry_run=dry_run
            )

    def remove(self, source: str, *, user: str = "kb") -> int:
        """Remove one document by its source path; returns the number of chunks removed."""
        with self.write_lock():
            chunks = self.chunks_of(source)
            interrupted = self.begin_journal("remove")
            removed = self.store.remove(source)
            if removed:
                from kb.access.uploads import discard_original, discard_upload

                discard_original(self.settings, source)
                # NOTE: an uploaded file must go too, or the next upload's ingest of the folder would bring it back.
                discard_upload(self.settings, source)
                self.store.bump_revision()
                meta = chunks[0][1] if chunks else {}
                self.audit(
                    "remove",
                    source,
                    user,
                    municipality=str(meta.get("municipality", "")),
                    visibility=str(meta.get("visibility", "")),
                )
                self.rebuild_lexical()
                from kb.indexer import forget_deleted

                forget_deleted(self)
            elif interrupted:  # nothing to remove, but an earlier write was left uncommitted
                self.store.bump_revision()
                self.rebuild_lexical()
            self.end_journal()
        return removed

    def audit(self, action: str, source: str, user: str, **extra: Any) -> None:
        """Append one change to the audit log (JSON lines)."""
        self.settings.audit_file.parent.mkdir(parents=True, exist_ok=True)
        from ingest.privacy import mask_metadata, mask_source

        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "user": user,
            "action": action,
            "source": mask_source(source),
        }
        entry.update(mask_metadata(extra))
        with self.settings.audit_file.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry, ensure_ascii=False) + "\n")
