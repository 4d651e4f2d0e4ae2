"""Passage vectors of answer sentences, kept on disk by model and text, so an answer seldom waits for them.

An extractive answer scores every sentence of the documents it reads against the question. Embedding those
sentences at question time costs about a second per 50 on two cores, so ingest embeds them once and keeps
them here (HOME/cache/sentences.sqlite). The cache is content-addressed: a vector depends only on the model
and the sentence, so an entry is never stale, and a lost or unwritable cache only makes answers slower.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

MEMORY_LIMIT = 100_000  # vectors held in memory per process (~150 MB at 384 dimensions)

Embed = Callable[[list[str]], Sequence[Sequence[float]]]


def _key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


class SentenceVectors:
    """Sentence vectors for one model: in memory, backed by an SQLite file shared by every process."""

    def __init__(self, path: Path, model: str, *, persist: bool = True) -> None:
        self.path = path
        self.model = model
        self._memory: dict[str, list[float]] = {}
        self._lock = threading.Lock()
        self._broken = not persist  # in memory only

    def known(self, texts: Iterable[str]) -> dict[str, list[float]]:
        """The vectors already computed (in this process or any other) for these texts."""
        wanted = list(dict.fromkeys(texts))
        with self._lock:
            found = {t: self._memory[t] for t in wanted if t in self._memory}
        missing = [t for t in wanted if t not in found]
        if missing:
            loaded = self._read(missing)
            if loaded:
                self._remember(loaded)
                found.update(loaded)
        return found

    def compute(self, texts: Iterable[str], embed: Embed) -> dict[str, list[float]]:
        """Vectors for all `texts`: known ones looked up, the rest embedded with `embed` and stored."""
        wanted = list(dict.fromkeys(texts))
        found = self.known(wanted)
        found.update(self.add([t for t in wanted if t not in found], embed))
        return found

    def add(self, texts: Sequence[str], embed: Embed) -> dict[str, list[float]]:
        """Embed `texts` with `embed` and store them: for callers that have just found them missing (`known`)."""
        if not texts:
            return {}
        rows = {t: [float(x) for x in v] for t, v in zip(texts, embed(list(texts)), strict=True)}
        self._remember(rows)
        self._write(rows)
        return rows

    def forget(self, texts: Iterable[str]) -> int:
        """Delete the vectors of these texts, for every model, from memory and from the file; returns how many.

        For sentences that have left the store (a removed or replaced document, text masked after the fact):
        a key is the hash of a sentence, so a key kept answers «was this ever written here?» for anyone who can
        guess the sentence (a fødselsnummer in a known sentence can be tried number by number). Deleted rows are
        overwritten with zeros (`secure_delete`) and the write-ahead log is emptied, so the file keeps no copy.
        """
        keys = list(dict.fromkeys(_key(t) for t in texts))
        wanted = set(keys)
        with self._lock:
            for text in [t for t in self._memory if _key(t) in wanted]:
                del self._memory[text]
        if not keys or self._broken or not self.path.exists():
            return 0
        removed = 0
        try:
            with contextlib.closing(self._connect()) as db:
                db.execute("PRAGMA secure_delete=ON")
                with db:
                    for start in range(0, len(keys), 500):  # SQLite's limit on bound parameters
                        batch = keys[start : start + 500]
                        removed += db.execute(
                            f"DELETE FROM vectors WHERE key IN ({','.join('?' * len(batch))})", batch
                        ).rowcount
                db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error as exc:
            self._give_up(exc)
        return removed

    # --- storage ---------------------------------------------------------------------------------------
    def _remember(self, rows: dict[str, list[float]]) -> None:
        with self._lock:
            if len(self._memory) + len(rows) > MEMORY_LIMIT:
                self._memory.clear()
            self._memory.update(rows)

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=30)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE IF NOT EXISTS vectors (model TEXT, key TEXT, vector BLOB, PRIMARY KEY (model, key))")
        return db

    def _read(self, texts: list[str]) -> dict[str, list[float]]:
        if self._broken or not self.path.exists():
            return {}
        keys = {_key(t): t for t in texts}
        found: dict[str, list[float]] = {}
        try:
            with contextlib.closing(self._connect()) as db, db:
                items = list(keys)
                for start in range(0, len(items), 500):  # SQLite's limit on bound parameters
                    batch = items[start : start + 500]
                    marks = ",".join("?" * len(batch))
                    rows = db.execute(
                        f"SELECT key, vector FROM vectors WHERE model = ? AND key IN ({marks})",
                        [self.model, *batch],
                    )
                    for key, blob in rows:
                        found[keys[key]] = np.frombuffer(blob, dtype=np.float32).tolist()
        except sqlite3.Error as exc:
            self._give_up(exc)
        return found

    def _write(self, rows: dict[str, list[float]]) -> None:
        if self._broken or not rows:
            return
        try:
            with contextlib.closing(self._connect()) as db, db:
                db.executemany(
                    "INSERT OR REPLACE INTO vectors (model, key, vector) VALUES (?, ?, ?)",
                    [(self.model, _key(t), np.asarray(v, dtype=np.float32).tobytes()) for t, v in rows.items()],
                )
        except (sqlite3.Error, OSError) as exc:
            self._give_up(exc)

    def _give_up(self, exc: Exception) -> None:
        # NOTE: a cache: answers still work (slower) without it, so a broken file is reported, not raised.
        logger.warning("setningsvektor-cachen %s kan ikke brukes (%s); svar embedder setningene selv", self.path, exc)
        self._broken = True
