"""Files and folders the product writes are private to the user who runs it (0600 / 0700)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

logger = logging.getLogger(__name__)

PRIVATE_UMASK = 0o077


def make_private(home: Path, *, private: bool = True) -> None:
    """Create what follows 0600/0700 (process umask), and close HOME itself to other users.

    NOTE: a umask, not a chmod per file: Chroma, SQLite and the BM25 pickle create files we never open ourselves.
    HOME is set to 0700 too, so files an earlier version created 0644 below it are out of other users' reach.
    """
    if not private:
        return
    os.umask(PRIVATE_UMASK)
    try:
        home.mkdir(parents=True, exist_ok=True)
        if home.stat().st_uid == os.getuid():
            home.chmod(0o700)
    except OSError as exc:
        logger.warning("could not make %s private: %s", home, exc)
