"""Uploads from the app, and where each document's original file is kept.

Uploaded files are checked (type, size, content), then kept under HOME/uploads/<Kommune>/<type-folder>/
and ingested from HOME/uploads, so their sources are `<Kommune>/<type-folder>/<file>` like the bundled
corpus: a file never replaces another municipality's file of the same name.

Originals for the source view's download are looked up by source under the upload folder, HOME/originals
(where `keep_original` copies files) and the bundled corpus, and only offered when the file's hash matches
the stored version.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
import shutil
import unicodedata
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ingest.pipeline import file_hash, sidecar_path
from kb.config import REPO_ROOT, Settings

logger = logging.getLogger(__name__)

ALLOWED_SUFFIXES = (".pdf", ".docx", ".md", ".txt")
MAX_NAME_BYTES = 150  # an upload's file name at most (UTF-8); `.<name>.kbmeta.json` must stay under 255
# Type folders of the corpus layout and their labels in the app; the folder decides the document type.
TYPE_FOLDERS: dict[str, str] = {
    "strategier": "Strategi eller plan",
    "samlinger": "Samlingsnotat",
    "erfaringer": "Erfaring (delt case)",
    "annet": "Annet",
}
_MAGIC = {".pdf": b"%PDF", ".docx": b"PK"}
MIME_TYPES = {
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".md": "text/markdown",
    ".txt": "text/plain",
    ".html": "text/html",
}


class UploadError(ValueError):
    """An uploaded file that cannot be accepted; the message says why, in Norwegian."""


@dataclass(frozen=True, slots=True)
class StagedFile:
    """An upload written under HOME/uploads."""

    path: Path
    source: str  # <Kommune>/<type-folder>/<file>: the document's identity in the store
    replaced: bool  # a file of that name was already there (same municipality and type)


def uploads_dir(settings: Settings) -> Path:
    """Where uploaded originals are kept and ingested from."""
    return settings.home / "uploads"


def originals_dir(settings: Settings) -> Path:
    """Where `keep_original` copies originals of files ingested from elsewhere."""
    return settings.home / "originals"


def safe_filename(name: str) -> str:
    """The file name without folders or characters that do not belong in a path; keeps Norwegian letters.

    A name longer than MAX_NAME_BYTES is shortened, with a short hash of the whole name so two long names
    that begin alike stay apart (the file system's limit is 255 bytes, and the sidecar's name is longer).
    """
    name = unicodedata.normalize("NFC", PurePosixPath(name.replace("\\", "/")).name).strip()
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    stem = re.sub(r"[^\w\- .()]+", "_", stem).strip(" ._") or "dokument"
    suffix = suffix.lower()[:16]
    tail = f".{suffix}" if suffix else ""
    if len((stem + tail).encode()) > MAX_NAME_BYTES:
        digest = hashlib.sha256(stem.encode()).hexdigest()[:8]
        room = MAX_NAME_BYTES - len(tail.encode()) - len(digest) - 1
        short = stem.encode()[:room].decode(errors="ignore").rstrip(" ._-")
        stem = f"{short}-{digest}"
    return stem + tail


def validate_upload(name: str, data: bytes, max_mb: int) -> str:
    """Check an upload and return its safe file name.

    Raises:
        UploadError: wrong type, too large, empty, or not what its suffix says.
    """
    filename = safe_filename(name)
    suffix = PurePosixPath(filename).suffix.lower()
    if suffix not in ALLOWED_SUFFIXES:
        allowed = ", ".join(s.lstrip(".").upper() for s in ALLOWED_SUFFIXES)
        raise UploadError(f"«{name}» har en filtype som ikke støttes. Last opp {allowed}.")
    if len(data) > max_mb * 1024 * 1024:
        size = len(data) / (1024 * 1024)
        raise UploadError(f"«{name}» er {size:.1f} MB; grensen er {max_mb} MB. Del opp eller komprimer filen.")
    if not data.strip():
        raise UploadError(f"«{name}» er tom.")
    magic = _MAGIC.get(suffix)
    if magic and not data.startswith(magic):
        raise UploadError(
            f"«{name}» ser ikke ut som en gyldig {suffix.lstrip('.').upper()}-fil. Lagre den på nytt og prøv igjen."
        )
    if suffix in (".md", ".txt"):
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            try:
                data.decode("cp1252")
            except UnicodeDecodeError as exc:
                raise UploadError(f"«{name}» er ikke lesbar tekst. Lagre den som UTF-8.") from exc
    return filename


def upload_source(municipality: str, type_folder: str, filename: str) -> str:
    """The source an upload will have in the store."""
    if type_folder not in TYPE_FOLDERS:
        raise UploadError(f"Ukjent dokumenttype «{type_folder}». Velg en av: {', '.join(TYPE_FOLDERS)}.")
    municipality = unicodedata.normalize("NFC", municipality.strip())
    if not municipality or "/" in municipality or municipality.startswith("."):
        raise UploadError("Velg en kommune fra listen.")
    return f"{municipality}/{type_folder}/{safe_filename(filename)}"


def stage_upload(
    settings: Settings,
    municipality: str,
    type_folder: str,
    name: str,
    data: bytes,
    *,
    replace: bool = False,
    known: Collection[str] = (),
    metadata: Mapping[str, str] | None = None,
) -> StagedFile:
    """Validate an upload and write it to HOME/uploads/<Kommune>/<type-folder>/<file>.

    `metadata` (front-matter keys such as `kommune`, `tilgang`) is written to the file's sidecar
    (ingest.pipeline.sidecar_path) and wins over what the file itself says, so an upload cannot claim
    another municipality in its front matter, and its visibility survives any later re-ingest.

    Raises:
        UploadError: the file is not accepted, or a document of that name exists (uploaded, or among the
            `known` sources already in the store) and `replace` is False.
    """
    filename = validate_upload(name, data, settings.max_upload_mb)
    source = upload_source(municipality, type_folder, filename)
    target = uploads_dir(settings) / source
    existed = target.exists()
    same = existed and target.read_bytes() == data
    if (existed or source in known) and not replace and not same:
        raise UploadError(
            f"{municipality} har allerede et dokument som heter «{filename}» "
            f"under {TYPE_FOLDERS[type_folder]}. "
            "Gi filen et nytt navn, eller kryss av for å erstatte det."
        )
    sidecar = sidecar_path(target)
    had_sidecar = sidecar.exists()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if metadata:
            _write_atomic(sidecar, json.dumps(dict(metadata), ensure_ascii=False, indent=2).encode())
        else:
            sidecar.unlink(missing_ok=True)
        _write_atomic(target, data)
    except OSError as exc:
        # NOTE: a failed upload leaves nothing staged: no half file, no sidecar without its document.
        logger.warning("could not stage upload %s: %s", source, exc)
        if not existed:
            for path in (target, sidecar):
                _unlink_quietly(path)
        elif not had_sidecar:
            _unlink_quietly(sidecar)
        raise UploadError(
            f"«{filename}» kunne ikke lagres ({exc.strerror or 'skrivefeil'}). Prøv igjen; står feilen, "
            "si fra til en administrator (mappen for opplastinger må være skrivbar og ha plass)."
        ) from exc
    logger.info("staged upload %s (%d bytes)", source, len(data))
    return StagedFile(target, source, existed)


def _write_atomic(target: Path, data: bytes) -> None:
    temporary = target.with_name(f".{target.name}.part")
    try:
        temporary.write_bytes(data)
        temporary.replace(target)  # never a half-written file where ingest can see it
    finally:
        _unlink_quietly(temporary)


def _unlink_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)


def unstage(staged: Sequence[StagedFile]) -> None:
    """Remove newly staged files again (after an ingest that could not run); replaced files stay."""
    for item in staged:
        if not item.replaced:
            item.path.unlink(missing_ok=True)
            sidecar_path(item.path).unlink(missing_ok=True)


def keep_original(settings: Settings, path: Path, source: str) -> Path:
    """Copy an ingested file to HOME/originals/<source> (for ingest runs from folders that may move)."""
    target = originals_dir(settings) / source
    if not target.exists() or file_hash(target) != file_hash(path):
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    return target


def discard_staged(path: Path) -> None:
    """Delete a staged upload and its sidecar (once its masked text is stored; see kb.indexer)."""
    path.unlink(missing_ok=True)
    sidecar_path(path).unlink(missing_ok=True)
    logger.info("deleted staged upload %s: it held personal data, the store keeps its masked text", path.name)


def _unlink_under(root: Path, source: str) -> Path | None:
    """Delete root/source if it is a file inside `root`; the path deleted, or None."""
    target = root / source
    if target.is_file() and target.resolve().is_relative_to(root.resolve()):
        target.unlink()
        return target
    return None


def discard_original(settings: Settings, source: str) -> None:
    """Delete the copy `keep_original` made, when its document is removed from the store."""
    if not source:
        return
    _unlink_under(originals_dir(settings), source)


def discard_upload(settings: Settings, source: str) -> None:
    """Delete an uploaded file and its sidecar, when its document is removed from the store."""
    removed = _unlink_under(uploads_dir(settings), source)
    if removed is not None:
        sidecar_path(removed).unlink(missing_ok=True)


def original_roots(settings: Settings) -> list[Path]:
    """Folders searched for originals, in order."""
    return [uploads_dir(settings), originals_dir(settings), REPO_ROOT / "corpus"]


def find_original(
    settings: Settings,
    source: str,
    content_hash: str = "",
    roots: Sequence[Path] | None = None,
    *,
    masked: bool = False,
) -> Path | None:
    """The original file of a stored document, or None.

    With `content_hash` (the stored sha256 of the file), a file that has changed since it was ingested is
    not offered: the download must match what the answer cited. A document whose text held personal data
    (`masked`, the chunks' `masked` metadata) has no original to offer, wherever its file lies.
    """
    if masked:
        return None
    relative = PurePosixPath(source)
    if relative.is_absolute() or ".." in relative.parts:
        return None
    for root in roots if roots is not None else original_roots(settings):
        candidate = root / relative
        try:
            # NOTE: a stored hash may carry `+<sidecar hash>` (ingest.pipeline.version_hash); the file is the head.
            if candidate.is_file() and (not content_hash or file_hash(candidate) == content_hash.split("+")[0]):
                return candidate
        except OSError as exc:
            logger.warning("cannot read %s: %s", candidate, exc)
    return None


def mime_type(path: Path | str) -> str:
    """The MIME type for a download."""
    return MIME_TYPES.get(PurePosixPath(str(path)).suffix.lower(), "application/octet-stream")
