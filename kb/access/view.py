"""The view of the store one user gets: every read scoped to what the user may see, every write checked.

The app and `kb search|ask --som BRUKER` only reach the store through `UserView`, which puts the user's scope
into every read (inside both retrievers, before ranking) and checks every write against the user's role
(kb.access.users).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kb.access.users import User
from kb.errors import AccessDeniedError
from kb.types import Filters, Hit

logger = logging.getLogger(__name__)


class UserView:
    """A KnowledgeBase as one user may see it: every read is scoped, every write is checked.

    It offers what the app and the answer module use (`search`, `documents`, `chunks_of`, `stats`,
    `settings`, `embedder`, `embed_query`, `lexical`, `store`), so it can be passed wherever a
    KnowledgeBase is read. `lexical()` and `store` give corpus-wide statistics (IDF) and the chunks of
    documents already chosen from scoped hits; nothing shown to the user is read from them directly.
    """

    def __init__(self, kb: Any, user: User) -> None:
        self.kb = kb
        self.user = user
        self.settings = kb.settings

    # --- passed through --------------------------------------------------------------------------------
    @property
    def store(self) -> Any:
        """The underlying store (names and revision, for caches)."""
        return self.kb.store

    @property
    def embedder(self) -> Any:
        """The embedding model."""
        return self.kb.embedder

    @property
    def sentence_vectors(self) -> Any:
        """The sentence-vector cache: keyed by the sentence, so a reader only finds sentences they can read."""
        return self.kb.sentence_vectors

    def embed_query(self, query: str) -> list[float]:
        """The query vector."""
        return self.kb.embed_query(query)  # type: ignore[no-any-return]

    def lexical(self) -> Any:
        """The BM25 snapshot (corpus statistics; callers read only documents of scoped hits from it)."""
        return self.kb.lexical()

    # --- reading, scoped -------------------------------------------------------------------------------
    @property
    def visible_to(self) -> str | None:
        """The reader scope (None for admins): corpus statistics such as IDF are counted within it."""
        return self.user.visible_to

    def scoped(self, filters: Filters | None) -> Filters:
        """`filters` narrowed to what the user may read (never widened)."""
        filters = filters or Filters()
        if self.user.is_admin:
            return filters
        return dataclasses.replace(filters, visible_to=self.user.visible_to)

    def search(self, query: str, k: int = 10, filters: Filters | None = None, **options: Any) -> list[Hit]:
        """KnowledgeBase.search within the user's scope."""
        return self.kb.search(query, k, self.scoped(filters), **options)  # type: ignore[no-any-return]

    def documents(self, visible_to: str | None = None) -> list[Any]:
        """The documents the user may read (`visible_to` narrows an admin's view; it never widens)."""
        scope = self.user.visible_to if not self.user.is_admin else visible_to
        return self.kb.documents(visible_to=scope)  # type: ignore[no-any-return]

    def stats(self) -> dict[str, Any]:
        """Counts over the documents the user may read."""
        return self.kb.stats(visible_to=self.user.visible_to)  # type: ignore[no-any-return]

    def chunks_of(self, source: str) -> list[tuple[str, dict[str, Any]]]:
        """A document's chunks, or [] when it does not exist or the user may not read it (no difference)."""
        chunks = self.kb.chunks_of(source)
        if chunks and not self.user.can_read(chunks[0][1]):
            logger.info("user %s was refused %s", self.user.username, source)
            return []
        return chunks  # type: ignore[no-any-return]

    def original(self, source: str) -> Path | None:
        """The original file of a readable document, for download; None when unreadable or missing."""
        from kb.access.uploads import find_original

        chunks = self.chunks_of(source)
        if not chunks:
            return None
        meta = chunks[0][1]
        return find_original(self.settings, source, str(meta.get("content_hash", "")), masked=bool(meta.get("masked")))

    # --- writing, checked ------------------------------------------------------------------------------
    def stored_metadata(self, source: str) -> dict[str, Any] | None:
        """The metadata of a stored document (any visibility: used to check ownership, never shown)."""
        chunks = self.kb.chunks_of(source)
        return dict(chunks[0][1]) if chunks else None

    def check_write(self, municipality: str, source: str | None = None) -> None:
        """Raise AccessDeniedError unless the user may add (or replace, at `source`) this document."""
        self.user.check_write(municipality, self.stored_metadata(source) if source else None)

    def stage_upload(
        self,
        municipality: str,
        type_folder: str,
        name: str,
        data: bytes,
        *,
        visibility: str = "nettverket",
        replace: bool = False,
        known: Sequence[str] = (),
    ) -> Any:
        """Check and stage one upload for `municipality` (see kb.access.uploads.stage_upload).

        The uploader's choice of municipality and visibility goes into the file's sidecar, so the file's own
        front matter cannot move it to another municipality or make it visible to more readers.

        Raises:
            AccessDeniedError: the user may not add or replace this document.
            UploadError: the file is not accepted.
        """
        from ingest.metadata import parse_visibility
        from kb.access.uploads import UploadError, stage_upload, upload_source

        try:
            visibility = parse_visibility(visibility)
        except ValueError as exc:
            raise UploadError(str(exc)) from exc
        name = self._unseen_name(municipality, type_folder, name)
        self.check_write(municipality, upload_source(municipality, type_folder, name))
        metadata = {"kommune": municipality, "tilgang": visibility, "lastet_opp_av": self.user.username}
        return stage_upload(
            self.settings, municipality, type_folder, name, data, replace=replace, known=known, metadata=metadata
        )

    def _unseen_name(self, municipality: str, type_folder: str, name: str) -> str:
        """`name`, or a free variant of it when the name belongs to a document the user may not see.

        NOTE: refusing («tilhører en annen kommune») would tell the user that the invisible document exists
        (#21); the upload is stored beside it instead, under «navn-2.md», and the other document is untouched.
        """
        from kb.access.uploads import safe_filename, upload_source

        filename = safe_filename(name)
        stem, dot, suffix = filename.rpartition(".")
        stem, tail = (stem, f".{suffix}") if dot else (filename, "")
        candidate, number = filename, 1
        while True:
            existing = self.stored_metadata(upload_source(municipality, type_folder, candidate))
            if existing is None or self.user.can_read(existing):
                return candidate
            number += 1
            candidate = f"{stem}-{number}{tail}"

    def ingest_uploads(self, **options: Any) -> Any:
        """Ingest the staged uploads (the upload folder only); for users who may upload.

        Raises:
            AccessDeniedError: the user may not upload.
        """
        from kb.access.uploads import uploads_dir

        if not self.user.can_upload:
            raise AccessDeniedError("Du har lesetilgang og kan ikke legge til dokumenter. Spør en administrator.")
        return self.kb.ingest([uploads_dir(self.settings)], user=self.user.username, **options)

    def ingest(self, roots: Sequence[Path], **options: Any) -> Any:
        """Ingest folders: admin only (uploads go through `stage_upload`, which checks each file)."""
        self.user.check_admin("lese inn mapper på nytt")
        return self.kb.ingest(roots, user=self.user.username, **options)

    def remove(self, source: str) -> int:
        """Remove a document: admin only."""
        self.user.check_admin("fjerne dokumenter")
        return self.kb.remove(source, user=self.user.username)  # type: ignore[no-any-return]
