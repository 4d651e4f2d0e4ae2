"""Erase what an embedded Chroma store keeps of deleted chunks after Chroma itself has deleted them.

Chroma deletes a chunk from its tables, but the text and metadata stay in three places inside
`chroma.sqlite3`: the write-ahead queue (`embeddings_queue`, purged only once every segment has persisted past
it), the full-text index's shadow tables (until FTS5 merges them) and the freed database pages (until VACUUM).
A removed document, or the old version of a replaced file, must leave no trace: `erase` clears all three.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

SQLITE_FILE = "chroma.sqlite3"
# chromadb's operation codes in embeddings_queue: ADD 0, UPDATE 1, UPSERT 2, DELETE 3.
# NOTE: the rows carrying text and metadata go; DELETE rows (an id only) stay, so a vector segment that
# replays the queue from an older point still deletes the vector.
_WRITES = (0, 1, 2)
_BATCH = 500
_RETRIES = 20


def erase(store_dir: Path, ids: Sequence[str]) -> int:
    """Delete the queued writes of `ids`, merge the full-text index and VACUUM; returns queue rows deleted."""
    path = store_dir / SQLITE_FILE
    if not ids or not path.is_file():
        return 0
    for attempt in range(_RETRIES):
        try:
            return _erase(path, ids)
        except sqlite3.OperationalError as exc:  # chromadb's own connection holds a lock for a moment
            if "locked" not in str(exc) or attempt == _RETRIES - 1:
                raise
            time.sleep(0.05 * (attempt + 1))
    return 0


def _erase(path: Path, ids: Sequence[str]) -> int:
    db = sqlite3.connect(path, isolation_level=None, timeout=10)
    try:
        db.execute("PRAGMA secure_delete=ON")
        deleted = 0
        marks = ",".join("?" * len(_WRITES))
        for start in range(0, len(ids), _BATCH):
            batch = list(ids[start : start + _BATCH])
            cursor = db.execute(
                f"DELETE FROM embeddings_queue WHERE operation IN ({marks}) AND id IN ({','.join('?' * len(batch))})",
                [*_WRITES, *batch],
            )
            deleted += cursor.rowcount
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "embedding_fulltext_search" in tables:
            db.execute("INSERT INTO embedding_fulltext_search(embedding_fulltext_search) VALUES('optimize')")
        db.execute("VACUUM")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()
    logger.info("erased %d queued writes of %d deleted chunks from %s", deleted, len(ids), path)
    return deleted


def deleted_chunks(store_dir: Path) -> list[tuple[str, str, dict[str, Any]]]:
    """(id, text, metadata) of every chunk Chroma has deleted whose queued write still holds its text.

    A run stopped between Chroma's delete and `erase` leaves no list of what it deleted; Chroma's own tables
    tell it: an id with a DELETE in the queue that the embeddings table no longer holds. The text is that of
    its last queued write.
    """
    path = store_dir / SQLITE_FILE
    if not path.is_file():
        return []
    marks = ",".join("?" * len(_WRITES))
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        rows = db.execute(
            "SELECT w.id, w.metadata FROM embeddings_queue w WHERE w.operation IN "
            f"({marks}) AND EXISTS (SELECT 1 FROM embeddings_queue d WHERE d.id = w.id AND d.operation = 3) "
            "AND NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.embedding_id = w.id) ORDER BY w.seq_id",
            _WRITES,
        ).fetchall()
    except sqlite3.OperationalError as exc:  # a store Chroma has not written a queue to
        if "no such table" not in str(exc):
            raise
        rows = []
    finally:
        db.close()
    last: dict[str, tuple[str, dict[str, Any]]] = {}
    for chunk_id, raw in rows:
        try:
            meta = dict(json.loads(raw or "{}"))
        except (ValueError, TypeError):
            meta = {}
        text = str(meta.pop("chroma:document", "") or "")
        last[chunk_id] = (text, meta)
    return [(chunk_id, text, meta) for chunk_id, (text, meta) in last.items()]
