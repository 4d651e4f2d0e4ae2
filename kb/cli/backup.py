"""Portable backup of the store: documents, chunks, metadata and vectors as gzipped JSON lines.

The first line is a header naming the collection, the embedding model and the chunk settings; every other
line is one chunk: `{"id", "text", "metadata", "embedding"}`, where `embedding` is the vector's float32
values, little-endian, base64-encoded (exactly what Chroma stores, a quarter of the size of decimal text).
A backup restores into an embedded store or a Chroma server alike, without re-embedding anything.
"""

from __future__ import annotations

import base64
import gzip
import json
import logging
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import numpy as np

from kb.cli.context import make_settings, open_kb, require_admin
from kb.config import SCHEMA_VERSION, Settings
from kb.embed.models import encode_threads
from kb.errors import KBError
from kb.indexer import cache_sentences, forget_deleted
from kb.store.chroma import PAGE, Record, StoredFile
from kb.types import Scalar

if TYPE_CHECKING:
    from kb.base import KnowledgeBase

logger = logging.getLogger(__name__)

FORMAT = "erfaringsbanken-backup"
FORMAT_VERSION = 1
VECTOR_ENCODING = "float32-le-base64"
# Settings that make vectors or chunks incompatible: a backup made with other values is refused unless forced.
COMPATIBILITY_KEYS = (
    "embed_model",
    "passage_prefix",
    "chunk_size",
    "chunk_overlap",
    "mask_personal_data",
    "schema_version",
)


@dataclass
class ImportReport:
    """What `kb import` did."""

    chunks: int = 0
    documents: int = 0
    replaced: list[str] = field(default_factory=list)  # sources whose other stored versions were deleted
    mismatches: list[str] = field(default_factory=list)  # header fields that differ (imported with force)
    sentences_embedded: int = 0  # answer sentences added to the sentence cache (kb.store.sentence_cache)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON form for `kb import --json`."""
        return {
            "chunks": self.chunks,
            "documents": self.documents,
            "replaced": len(self.replaced),
            "mismatches": self.mismatches,
            "sentences_embedded": self.sentences_embedded,
            "seconds": round(self.seconds, 2),
        }


def compatibility(settings: Settings) -> dict[str, Any]:
    """The settings a backup must share with the store it is imported into."""
    return {
        "embed_model": settings.embed_model,
        "passage_prefix": settings.effective_passage_prefix,
        "chunk_size": settings.chunk_size,
        "chunk_overlap": settings.chunk_overlap,
        "mask_personal_data": settings.mask_personal_data,
        "schema_version": SCHEMA_VERSION,
    }


def encode_vector(vector: Sequence[float]) -> str:
    """float32 little-endian bytes, base64."""
    return base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode("ascii")


def decode_vector(text: str) -> list[float]:
    """The inverse of encode_vector."""
    return np.frombuffer(base64.b64decode(text), dtype="<f4").astype(float).tolist()


def export_store(kb: KnowledgeBase, path: Path) -> dict[str, Any]:
    """Write every chunk of the store to `path` (written to a temp file first, then renamed).

    Returns:
        The header that was written, with the final chunk count.
    """
    store = kb.store
    header: dict[str, Any] = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "collection": store.name,
        **compatibility(kb.settings),
        "query_prefix": kb.settings.effective_query_prefix,
        "vector_encoding": VECTOR_ENCODING,
        "chunks": store.count(),
        "revision": store.revision(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    path = path.resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    dimensions = 0
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        # NOTE: the header goes first so `kb import` can refuse a mismatch before reading any chunk; the
        # count in it is checked against the lines actually written below.
        with gzip.open(partial, "wt", encoding="utf-8") as out:
            out.write(json.dumps(header, ensure_ascii=False) + "\n")
            for record, vector in store.records(include_embeddings=True):
                if vector is None:  # pragma: no cover - Chroma always returns vectors when asked
                    raise KBError(f"Biten {record.id} mangler vektor; sikkerhetskopien ble ikke laget.")
                dimensions = dimensions or len(vector)
                row = {
                    "id": record.id,
                    "text": record.text,
                    "metadata": dict(record.metadata),
                    "embedding": encode_vector(vector),
                }
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
                written += 1
        if written != header["chunks"]:
            raise KBError(
                f"Kunnskapsbasen endret seg under eksporten ({header['chunks']} biter ved start, {written} "
                "lest). Kjør `kb export` på nytt når ingen lese-inn pågår."
            )
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    header["dimensions"] = dimensions
    logger.info("exported %d chunks to %s", written, path)
    return header


def read_header(path: Path) -> dict[str, Any]:
    """The header line of a backup.

    Raises:
        KBError: not a readable backup of this program.
    """
    try:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            header = json.loads(handle.readline())
    except (OSError, EOFError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise KBError(f"{path} er ikke en sikkerhetskopi laget med `kb export` ({exc}).") from exc
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise KBError(f"{path} er ikke en sikkerhetskopi laget med `kb export`.")
    if header.get("version") != FORMAT_VERSION or header.get("vector_encoding") != VECTOR_ENCODING:
        raise KBError(
            f"{path} har formatversjon {header.get('version')}; denne versjonen av kb leser bare "
            f"versjon {FORMAT_VERSION}. Oppdater kb."
        )
    return header


def mismatches(header: dict[str, Any], settings: Settings) -> list[str]:
    """Human-readable differences between a backup's settings and the current ones."""
    current = compatibility(settings)
    return [
        f"{key}: sikkerhetskopi={header.get(key)!r}, nå={current[key]!r}"
        for key in COMPATIBILITY_KEYS
        if header.get(key) != current[key]
    ]


def read_records(path: Path) -> Iterator[tuple[Record, list[float]]]:
    """The chunks of a backup, after its header."""
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        handle.readline()
        for number, line in enumerate(handle, start=2):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                yield Record(row["id"], row["text"], row["metadata"]), decode_vector(row["embedding"])
            except (KeyError, TypeError, ValueError) as exc:
                raise KBError(f"Linje {number} i {path} er ødelagt ({exc}). Ingenting etter den er lest inn.") from exc


def import_backup(
    kb: KnowledgeBase, path: Path, *, force: bool = False, wait: bool = False, user: str = "kb"
) -> ImportReport:
    """Write a backup's chunks into the store, as they are, and make it whole and searchable.

    Chunks are upserted by id. For every document in the backup, other versions already in the store are
    deleted afterwards, so each source ends with exactly the backup's version. Documents only in the store
    are kept. The answer sentences of the imported chunks are then embedded into the sentence cache (a backup
    holds chunk vectors only), outside the write lock: answers score them as they would after `kb ingest`.

    Raises:
        KBError: the file is not a backup, or it was made with another model or chunking and `force` is
            False.
        StoreLockedError: another process is writing and `wait` is False.
    """
    started = time.perf_counter()
    header = read_header(path)
    report = ImportReport(mismatches=mismatches(header, kb.settings))
    if report.mismatches and not force:
        raise KBError(
            "Sikkerhetskopien er laget med en annen modell eller oppdeling enn denne kunnskapsbasen ("
            + "; ".join(report.mismatches)
            + "). Vektorene passer ikke sammen: les inn dokumentene på nytt med `kb ingest`, bruk de samme "
            "innstillingene som da kopien ble laget, eller bruk `kb import --force` hvis du vet hva du gjør."
        )
    if report.mismatches:
        logger.warning("importing a backup made with other settings: %s", "; ".join(report.mismatches))
    versions: dict[str, set[str]] = {}
    imported: list[tuple[str, str, str, Mapping[str, Scalar]]] = []
    with kb.write_lock(wait=wait):
        # NOTE: the journal (KnowledgeBase.begin_journal) outlives a process that dies before the revision moves,
        # so the next search commits what the import wrote instead of serving the snapshot from before it.
        interrupted = kb.begin_journal("import")
        stored = kb.store.files()
        batch: list[tuple[Record, list[float]]] = []
        try:
            for record, vector in read_records(path):
                source = str(record.metadata.get("source", ""))
                versions.setdefault(source, set()).add(str(record.metadata.get("content_hash", "")))
                batch.append((record, vector))
                imported.append((record.id, record.text, source, record.metadata))
                if len(batch) >= PAGE:
                    kb.store.add_records(batch)
                    report.chunks += len(batch)
                    batch = []
            if batch:
                kb.store.add_records(batch)
                report.chunks += len(batch)
            for source, hashes in sorted(versions.items()):
                keep = next(iter(hashes))
                if len(hashes) == 1 and set(stored.get(source, StoredFile(source)).versions) - {keep}:
                    kb.store.delete_other_versions(source, keep)
                    report.replaced.append(source)
        except KBError:
            raise
        except Exception as exc:  # Chroma refuses e.g. vectors of another length than the collection's
            raise KBError(
                f"Chroma avviste sikkerhetskopien etter {report.chunks} biter ({type(exc).__name__}: {exc}). "
                "Importer til en tom kunnskapsbase med de samme innstillingene som da kopien ble laget."
            ) from exc
        finally:
            if report.chunks or interrupted:
                kb.store.bump_revision()
                kb.rebuild_lexical()
            forget_deleted(kb)  # the versions the backup replaced leave no trace
            kb.end_journal()
        kb.audit("import", str(path), user, chunks=report.chunks, collection=header.get("collection"))
    report.documents = len(versions)
    with encode_threads():
        report.sentences_embedded = cache_sentences(kb, imported)
    report.seconds = time.perf_counter() - started
    if header.get("chunks") is not None and header["chunks"] != report.chunks:
        logger.warning("backup header says %s chunks, %d were read", header["chunks"], report.chunks)
    return report


def _open_kb(ctx: click.Context, action: str) -> KnowledgeBase:
    """The invocation's KnowledgeBase (through the `kb` group when registered there); admins only.

    Raises:
        AccessDeniedError: `kb --som BRUKER` names a user who is not an admin (a backup holds every document).
    """
    obj = ctx.ensure_object(dict)
    if "settings" not in obj:  # called on its own (tests), not through the `kb` group
        obj["settings"] = make_settings(None)
    require_admin(ctx, action)
    return open_kb(ctx)  # type: ignore[no-any-return]


@click.command("export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "json_", is_flag=True, help="Print the header as JSON.")
@click.pass_context
def export_cmd(ctx: click.Context, file: Path, json_: bool) -> None:
    r"""Write a backup of the whole knowledge base (chunks, metadata, vectors) to FILE.

    The backup is gzipped JSON lines and can be read back with `kb import`, into this store or another
    one (an embedded folder or a Chroma server), without embedding anything again.

    \b
    Eksempel:
      kb export erfaringsbanken-2025-01-31.jsonl.gz
    """
    try:
        kb = _open_kb(ctx, "eksportere kunnskapsbasen")
        header = export_store(kb, file)
    except KBError as exc:
        raise click.ClickException(str(exc)) from exc
    if json_:
        click.echo(json.dumps(header, ensure_ascii=False, indent=2))
    else:
        size = os.path.getsize(file) / 1e6
        click.echo(f"Eksporterte {header['chunks']} biter til {file} ({size:.1f} MB).")


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Import even if the backup was made with another model/chunking.")
@click.option("--wait", is_flag=True, help="Wait for another writer instead of stopping.")
@click.option("--json", "json_", is_flag=True, help="Print the summary as JSON.")
@click.pass_context
def import_cmd(ctx: click.Context, file: Path, force: bool, wait: bool, json_: bool) -> None:
    r"""Read a backup made with `kb export` into the knowledge base.

    Each document in the backup replaces any other stored version of it; documents that are only in the
    store are kept. A backup made with another embedding model or chunking is refused unless --force.

    \b
    Eksempel:
      kb import erfaringsbanken-2025-01-31.jsonl.gz
    """
    try:
        kb = _open_kb(ctx, "importere en sikkerhetskopi")
        report = import_backup(kb, file, force=force, wait=wait)
    except KBError as exc:
        raise click.ClickException(str(exc)) from exc
    if json_:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        click.echo(
            f"Importerte {report.chunks} biter fra {report.documents} dokumenter på {report.seconds:.1f} s "
            f"({report.sentences_embedded} nye setninger til svarene)."
        )
        for line in report.mismatches:
            click.echo(f"  Advarsel: annen innstilling – {line}", err=True)
