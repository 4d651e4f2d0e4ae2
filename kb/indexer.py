"""Ingest runs: scan, skip unchanged files, batch the encoder across files, write each file whole."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ingest.loaders import LoadError
from ingest.pipeline import (
    FileRef,
    PreparedFile,
    layout_base,
    prepare,
    scan_all,
    stored_origin,
    stored_source,
    version_hash,
)
from ingest.privacy import mask_source
from kb.access.uploads import discard_original, discard_staged, keep_original, uploads_dir
from kb.embed.models import encode_threads
from kb.types import Scalar

if TYPE_CHECKING:
    from kb.config import Settings
    from kb.store.chroma import Store
    from kb.store.lexical import LexicalIndex

logger = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]
EMBED_FLUSH = 128  # chunks gathered across files before one encoder call: small files batch together


@dataclass
class IngestReport:
    """What an ingest run did."""

    seen: int = 0
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (source, reason): could not be read
    ignored: list[tuple[str, str]] = field(default_factory=list)  # (source, reason): left out on purpose
    masked: Counter[str] = field(default_factory=Counter)
    chunks_written: int = 0
    chunks_embedded: int = 0
    sentences_embedded: int = 0  # answer sentences put into the sentence cache (kb.store.sentence_cache)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON form for `kb ingest --json`."""
        return {
            "seen": self.seen,
            "added": len(self.added),
            "updated": len(self.updated),
            "unchanged": self.unchanged,
            "removed": len(self.removed),
            "skipped": [{"source": s, "reason": r} for s, r in self.skipped],
            "ignored": [{"source": s, "reason": r} for s, r in self.ignored],
            "masked": dict(self.masked),
            "chunks_written": self.chunks_written,
            "sentences_embedded": self.sentences_embedded,
            "seconds": round(self.seconds, 2),
        }


class IngestTarget(Protocol):
    """What an ingest run uses of the knowledge base: kb.base.KnowledgeBase passes itself in.

    NOTE: a protocol, not an import: kb.base calls this module, so this module must not import kb.base. The
    methods are documented there (hence the noqa D102).
    """

    settings: Settings
    store: Store

    @property
    def embedder(self) -> Any: ...  # noqa: D102

    @property
    def lexical_path(self) -> Path: ...  # noqa: D102

    def lexical(self) -> LexicalIndex: ...  # noqa: D102

    def lexical_in_step(self) -> bool: ...  # noqa: D102

    def rebuild_lexical(self, revision: str | None = None) -> LexicalIndex: ...  # noqa: D102

    def begin_journal(self, action: str) -> bool: ...  # noqa: D102

    def end_journal(self) -> None: ...  # noqa: D102

    def audit(self, action: str, source: str, user: str, **extra: Any) -> None: ...  # noqa: D102


def ingest(
    kb: IngestTarget,
    roots: Sequence[Path],
    *,
    prune: bool,
    progress: Progress | None,
    user: str,
    extra_metadata: dict[str, str] | None = None,
    dry_run: bool = False,
) -> IngestReport:
    """Bring the store in line with the files under `roots`; the caller holds the write lock.

    Unchanged files (same content hash, stored whole) are skipped; changed ones are replaced; a file left
    half-written by an interrupted run is written again. With `prune`, stored documents that were ingested
    under one of `roots` and whose file is gone are removed (never uploads or another folder's documents).
    A file that cannot be read is reported with its reason and the run goes on; so is a file over the size
    limit, before it is read. With `dry_run`, nothing is read or written: the report lists what would be
    added, updated and removed.

    NOTE: a journal (KnowledgeBase.begin_journal) exists from before the first write until the revision has
    moved and BM25 is rebuilt; a run that finds one left by a stopped run commits what that run wrote (#21).
    """
    settings = kb.settings
    report = IngestReport()
    started = time.perf_counter()
    mask = settings.mask_personal_data
    interrupted = kb.begin_journal("ingest") if not dry_run else False
    remasked = remask_stored(kb, report) if mask and not dry_run else 0
    stored = kb.store.files()
    refs = scan_all(roots)
    report.seen = len(refs)
    pending: list[tuple[PreparedFile, bool, Path]] = []
    uploads = uploads_dir(settings).resolve()
    changed = remasked > 0

    def flush() -> None:
        nonlocal changed
        if not pending:
            return
        texts: list[str] = []
        plans = []
        for prepared, is_update, _path in pending:
            reuse = kb.store.embeddings_for(prepared.source) if is_update else {}
            missing = [c.text for c in prepared.chunks if c.text not in reuse]
            plans.append((prepared, is_update, _path, reuse, len(texts), len(missing)))
            texts.extend(missing)
        with encode_threads():
            vectors = _embed(kb, texts, pending[0][0].source if len(pending) == 1 else "")
            sentences = _warm_sentences(kb, [p for p, _, _ in pending])
        report.chunks_embedded += len(texts)
        report.sentences_embedded += sentences
        for prepared, is_update, path, reuse, start, count in plans:
            fresh = iter(vectors[start : start + count])
            embeddings = [reuse[c.text] if c.text in reuse else next(fresh) for c in prepared.chunks]
            kb.store.write_file(prepared.source, prepared.content_hash, prepared.chunks, embeddings)
            changed = True
            _keep_or_drop_original(kb, path, prepared, uploads)
            report.chunks_written += len(prepared.chunks)
            (report.updated if is_update else report.added).append(prepared.source)
            meta = prepared.chunks[0].metadata
            kb.audit(
                "update" if is_update else "add",
                prepared.source,
                user,
                municipality=str(meta.get("municipality", "")),
                visibility=str(meta.get("visibility", "")),
                chunks=len(prepared.chunks),
            )
        pending.clear()

    try:
        for done, (_root, ref) in enumerate(refs, start=1):
            source = stored_source(ref, mask=mask)
            if progress:
                progress(done, len(refs), source)
            if ref.reason:
                (report.skipped if ref.broken else report.ignored).append((source, ref.reason))
                continue
            try:
                if too_large := _over_limit(ref.path, settings, uploads):
                    report.skipped.append((source, too_large))
                    logger.warning("skipped %s: %s", source, too_large)
                    continue
                digest = version_hash(ref.path)
                entry = stored.get(source)
                origin = stored_origin(ref, mask=mask)
                if entry is not None and entry.is_complete(digest):
                    report.unchanged += 1
                    if entry.origin != origin and not dry_run:
                        kb.store.set_origin(source, origin)  # stored before origins were kept, or moved
                    if not entry.marked and not dry_run:
                        changed |= _mark_sections(kb, ref, digest, mask, extra_metadata)
                    continue
                if dry_run:
                    is_update = entry is not None and digest not in entry.versions
                    (report.updated if is_update else report.added).append(source)
                    continue
                prepared = _prepare(settings, ref, digest, mask, extra_metadata)
            except LoadError as exc:
                report.skipped.append((source, str(exc)))
                logger.warning("skipped %s: %s", source, exc)
                continue
            except OSError as exc:
                report.skipped.append((source, f"filen kan ikke leses ({exc.strerror or exc})"))
                continue
            report.masked.update(prepared.masked)
            if len(prepared.chunks) >= EMBED_FLUSH:
                flush()  # NOTE: the small files read so far are stored before a long file is embedded
            pending.append((prepared, entry is not None and digest not in entry.versions, ref.path))
            if sum(len(p.chunks) for p, _, _ in pending) >= EMBED_FLUSH:
                flush()
        flush()
        if prune:
            # NOTE: a file left out on purpose (hidden, .kbignore) is gone from the store's view; a broken link is not
            seen = {stored_source(ref, mask=mask) for _, ref in refs if not ref.reason or ref.broken}
            scopes = [_prune_scope(root, mask=mask) for root in roots]
            legacy_ok = uploads not in {Path(origin) for origin, _ in scopes}
            for source in sorted(set(stored) - seen):
                entry = stored[source]
                if entry.origin:
                    inside = any(entry.origin == o and _under(source, p) for o, p in scopes)
                else:  # stored before origins were kept: by its place, never an upload
                    inside = legacy_ok and any(_under(source, p) for _, p in scopes)
                    inside = inside and not (uploads / source).exists()
                if not inside:
                    continue
                if dry_run:
                    report.removed.append(source)
                    continue
                kb.store.remove(source)
                discard_original(settings, source)
                report.removed.append(source)
                kb.audit("remove", source, user)
                changed = True
    finally:
        # NOTE: runs on Ctrl-C too: whatever files were written whole become visible to BM25 and readers.
        # A run killed after writing a file but before this point left chunks BM25 has not seen: a run that
        # then finds every file unchanged must still bring BM25 in step, so check instead of trusting `changed`.
        if not dry_run:
            if interrupted:
                kb.store.erase_deleted()  # what a stopped run replaced before it could erase it
            if changed or interrupted or not kb.lexical_in_step():
                kb.store.bump_revision()
                kb.rebuild_lexical()
            forget_deleted(kb)
            kb.end_journal()  # not reached when a step above failed: the next run or search commits
        report.seconds = time.perf_counter() - started
    if dry_run:
        return report
    if not changed:
        # A store ingested before the sentence cache existed (or whose cache file was lost) is filled in by a run
        # that found nothing to write. NOTE: not on every run: this splits every stored chunk into sentences, and
        # a run that writes (an upload in the app) has already cached the sentences of what it wrote.
        with encode_threads():
            report.sentences_embedded += _warm_stored(kb)
        report.seconds = time.perf_counter() - started
    return report


MB = 1024 * 1024
EMBED_SLICE = 1024  # chunks per encoder call for a long file, so the log (-v) shows how far it has come


def _over_limit(path: Path, settings: Settings, uploads: Path) -> str:
    """Why a file is too large to read (Norwegian), or "" when it is not; from its size alone, before it is read.

    NOTE: a file staged by the app's upload passed KB_MAX_UPLOAD_MB already, which may be set higher.
    """
    limit = settings.max_file_mb
    if path.resolve().is_relative_to(uploads):
        limit = max(limit, settings.max_upload_mb)
    size = path.stat().st_size
    if size <= limit * MB:
        return ""
    shown = f"{size / MB:.1f}".replace(".", ",")
    return (
        f"filen er {shown} MB, over grensen på {limit} MB for innlesing; del den opp, "
        "eller øk grensen med KB_MAX_FILE_MB"
    )


def _embed(kb: IngestTarget, texts: list[str], source: str) -> list[list[float]]:
    """Passage vectors for `texts`; a long file's in slices, each logged, so a long run shows how far it is."""
    if len(texts) <= EMBED_SLICE:
        return list(kb.embedder.get_text_embedding_batch(texts)) if texts else []
    vectors: list[list[float]] = []
    for start in range(0, len(texts), EMBED_SLICE):
        vectors.extend(kb.embedder.get_text_embedding_batch(texts[start : start + EMBED_SLICE]))
        logger.info("%s: %d of %d chunks embedded", source or "files", len(vectors), len(texts))
    return vectors


def _prune_scope(root: Path, *, mask: bool) -> tuple[str, str]:
    """(origin, source prefix) of what `root` covers: a folder's prefix ends in «/», a file's is its source."""
    base, prefix = layout_base(root)
    if root.is_file():
        prefix += root.name
    origin = str(base.resolve())
    return (mask_source(origin), mask_source(prefix)) if mask else (origin, prefix)


def _under(source: str, prefix: str) -> bool:
    return source.startswith(prefix) if not prefix or prefix.endswith("/") else source == prefix


def _masking_marker(kb: IngestTarget) -> Path:
    return kb.lexical_path.with_name(f"{kb.store.name}.masking")


def _prepare(
    settings: Settings, ref: FileRef, digest: str, mask: bool, extra_metadata: dict[str, str] | None
) -> PreparedFile:
    """One file read, masked and chunked as the settings say (ingest.pipeline.prepare)."""
    return prepare(
        ref,
        chunk_size=settings.chunk_size,
        overlap=settings.chunk_overlap,
        mask=mask,
        content_hash=digest,
        extra_metadata=extra_metadata,
    )


def _mark_sections(
    kb: IngestTarget, ref: FileRef, digest: str, mask: bool, extra_metadata: dict[str, str] | None
) -> bool:
    """Give an unchanged file's stored chunks the roles of their sections (stored before they were kept).

    The file is read and chunked again, not embedded: the same version gives the same chunk ids. Returns whether
    any chunk was updated. A file that cannot be read now keeps its chunks as they are (it is unchanged).
    """
    try:
        prepared = _prepare(kb.settings, ref, digest, mask, extra_metadata)
    except (LoadError, OSError) as exc:
        logger.warning("could not mark the sections of %s: %s", ref.source, exc)
        return False
    return kb.store.set_sections(prepared.chunks) > 0


def remask_stored(kb: IngestTarget, report: IngestReport) -> int:
    """Mask what an earlier version stored in clear; returns how many documents were rewritten.

    Runs once per store and masking version (a marker beside the BM25 index): every stored chunk's text and
    metadata, and the source itself, pass ingest.privacy again; a document with anything masked is written
    anew (changed chunks embedded again), its old chunks erased from the store's files and its kept original
    deleted. The feedback and audit logs are masked in place too.
    """
    from ingest.chunking import chunk_id
    from ingest.privacy import MASKING_VERSION, mask_metadata, mask_personal_data, mask_source
    from kb.store.chroma import Record

    marker = _masking_marker(kb)
    if marker.is_file() and marker.read_text(encoding="utf-8").strip() == str(MASKING_VERSION):
        return 0
    by_source: dict[str, list[tuple[Record, Sequence[float]]]] = {}
    for record, vector in kb.store.records(include_embeddings=True):
        by_source.setdefault(str(record.metadata.get("source", "")), []).append(
            (record, vector if vector is not None else [])
        )
    rewritten = 0
    for source, rows in by_source.items():
        counts: Counter[str] = Counter()
        new_source = mask_source(source)
        masked = []
        for record, vector in rows:
            text = mask_personal_data(record.text)
            counts.update(text.counts)
            masked.append((record, vector, text.text, mask_metadata(record.metadata, counts)))
        if not counts and new_source == source:
            continue
        fresh = [t for r, _, t, _ in masked if t != r.text]
        vectors = dict(zip(fresh, kb.embedder.get_text_embedding_batch(fresh), strict=True)) if fresh else {}
        records = []
        for record, vector, text, meta in masked:
            meta = {**meta, "source": new_source, "masked": int(meta.get("masked", 0) or 0) or sum(counts.values())}
            same = text == record.text and new_source == source
            index = int(meta.get("chunk_index", 0))
            new_id = record.id if same else chunk_id(new_source, str(meta.get("content_hash", "")), index, text)
            records.append((Record(new_id, text, meta), vectors.get(text, vector)))
        kb.store.remove(source)
        kb.store.add_records(records)
        discard_original(kb.settings, source)
        discard_original(kb.settings, new_source)
        report.masked.update(counts)
        rewritten += 1
        logger.info("masked personal data an earlier version stored in %s", new_source)
    for log in (kb.settings.feedback_file, kb.settings.audit_file):
        _mask_log(log)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(str(MASKING_VERSION), encoding="utf-8")
    return rewritten


def _mask_log(path: Path) -> None:
    """Mask every string in a JSON-lines log in place (lines an earlier version wrote in clear)."""
    import json

    from ingest.privacy import mask_text

    if not path.is_file():
        return
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            data = _masked_json(json.loads(line))
        except ValueError:
            lines.append(mask_text(line))
            continue
        lines.append(json.dumps(data, ensure_ascii=False))
    temporary = path.with_name(f".{path.name}.part")
    temporary.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    temporary.replace(path)


def _masked_json(value: object) -> object:
    from ingest.privacy import mask_source

    if isinstance(value, str):
        return mask_source(value)
    if isinstance(value, list):
        return [_masked_json(v) for v in value]
    if isinstance(value, dict):
        return {k: _masked_json(v) for k, v in value.items()}
    return value


def _keep_or_drop_original(kb: IngestTarget, path: Path, prepared: PreparedFile, uploads: Path) -> None:
    """Keep a copy of the original for the source view's download only when it holds no personal data.

    NOTE: a file in which masking found anything is not kept at all (a redacted PDF or Word file that is
    certain to hold no number is beyond what we can promise); the source view shows the stored, masked text.
    An upload staged under HOME/uploads with personal data is deleted once its masked text is stored.
    """
    settings = kb.settings
    if prepared.masked:
        discard_original(settings, prepared.source)
        discard_original(settings, prepared.file_source)  # a copy an earlier version kept, under the file's name
        if path.resolve().is_relative_to(uploads):
            discard_staged(path)
        return
    if not path.resolve().is_relative_to(uploads):
        # The source view offers the original file for download, wherever it was ingested from.
        keep_original(settings, path, prepared.source)


def _warm_stored(kb: IngestTarget) -> int:
    """Embed the answer sentences of stored chunks that the sentence cache does not hold yet."""
    lexical = kb.lexical()
    rows = zip(lexical.ids, lexical.texts, lexical.metadatas, strict=True)
    return cache_sentences(kb, ((i, t, str(m.get("source", "")), m) for i, t, m in rows))


def _warm_sentences(kb: IngestTarget, files: Sequence[PreparedFile]) -> int:
    """Embed the answer sentences of these files into the sentence cache; returns how many were new.

    NOTE: before the files are written: a run stopped in between leaves cached vectors and no chunks, which
    is harmless (the cache is keyed by the text); the other way round, answers would embed at question time.
    """
    return cache_sentences(kb, ((c.id, c.text, p.source, c.metadata) for p in files for c in p.chunks))


def _sentences(chunks: Iterable[tuple[str, str, str, Mapping[str, Scalar]]]) -> dict[str, None]:
    """The answer sentences of (id, text, source, metadata) chunks, as the sentence cache keys them."""
    from kb.answer import sentence_spans
    from kb.types import Hit

    texts: dict[str, None] = {}
    for chunk_id, text, source, meta in chunks:
        hit = Hit(id=chunk_id, text=text, source=source, score=0.0, metadata=dict(meta))
        texts.update((span.display, None) for span in sentence_spans(hit))
    return texts


def forget_deleted(kb: IngestTarget) -> None:
    """After a write: erase what the store's files keep of the chunks it deleted, and forget their sentences.

    Every write that deletes or replaces chunks ends with this (ingest, remove, import, the repair of a stopped
    write), so old versions and removed documents leave no trace in the store's files or the sentence cache.
    Call it once BM25 holds what the store holds: the sentences a document still has are read from there.
    """
    kb.store.erase()
    forget_sentences(kb, kb.store.take_gone())


def forget_sentences(kb: IngestTarget, gone: Sequence[tuple[str, str, Mapping[str, Scalar]]]) -> int:
    """Drop from the sentence cache the sentences of deleted chunks that their documents no longer hold.

    `gone`: (id, text, metadata) of the chunks the store deleted (Store.take_gone). A sentence another
    version of the same document still holds keeps its vector; one that only another document holds is
    embedded again when next needed (the next `kb ingest` or an answer). Returns how many vectors went.
    """
    from ingest.privacy import mask_source
    from kb.answer import sentence_cache

    if not gone:
        return 0
    sources = {str(meta.get("source", "")) for _, _, meta in gone}
    sources |= {mask_source(s) for s in sources}  # a document masked after the fact keeps its place
    lexical = kb.lexical()  # one pass over the store, whatever the number of documents
    kept = [
        (str(m["source"]), t, m)
        for t, m in zip(lexical.texts, lexical.metadatas, strict=True)
        if m.get("source") in sources
    ]
    still = _sentences((f"{source}#{n}", text, source, meta) for n, (source, text, meta) in enumerate(kept))
    left = _sentences((i, t, str(m.get("source", "")), m) for i, t, m in gone)
    return sentence_cache(kb).forget(t for t in left if t not in still)


def cache_sentences(kb: IngestTarget, chunks: Iterable[tuple[str, str, str, Mapping[str, Scalar]]]) -> int:
    """Embed the sentences (kb.answer.sentence_spans) of (id, text, source, metadata) chunks the cache lacks."""
    from kb.answer import sentence_cache

    texts = _sentences(chunks)
    cache = sentence_cache(kb)
    known = cache.known(texts)
    missing = [t for t in texts if t not in known]
    if missing:
        logger.info("embedding %d answer sentences for the sentence cache", len(missing))
        cache.add(missing, kb.embedder.get_text_embedding_batch)
    return len(missing)
