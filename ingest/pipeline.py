"""From a folder to prepared files: scanning with .kbignore, hashing, loading, masking and chunking."""

from __future__ import annotations

import fnmatch
import hashlib
import json
import logging
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ingest import metadata as metadata_
from ingest.chunking import chunk_sections
from ingest.loaders import LoadError, is_supported, load_path
from ingest.privacy import mask_metadata, mask_personal_data, mask_source
from ingest.types import Chunk, Section, SourceDocument

logger = logging.getLogger(__name__)

IGNORE_FILE = ".kbignore"
SIDECAR_SUFFIX = ".kbmeta.json"  # `.<file name>.kbmeta.json` beside a file: metadata that wins over its own


@dataclass(frozen=True, slots=True)
class FileRef:
    """A file found under an ingest root."""

    path: Path
    source: str  # path relative to the layout base (see `layout_base`), posix form: the document's identity
    origin: str = ""  # the layout base, absolute: which folder's ingest (and --prune) the document belongs to
    reason: str = ""  # why the file is not read (Norwegian); "" for a file to ingest
    broken: bool = False  # with a reason: an error (a broken link), not a file left out on purpose


@dataclass(frozen=True, slots=True)
class PreparedFile:
    """One file turned into chunks, ready to be embedded and stored."""

    source: str  # as stored: the relative path with personal data masked
    content_hash: str
    chunks: list[Chunk]
    masked: Counter[str] = field(default_factory=Counter)
    file_source: str = ""  # the path relative to the root as on disk (unmasked); "" when the same as `source`


def file_hash(path: Path) -> str:
    """sha256 of the file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sidecar_path(path: Path) -> Path:
    """Where the metadata sidecar of `path` lives (hidden, so scanning never takes it for a document)."""
    return path.with_name(f".{path.name}{SIDECAR_SUFFIX}")


def read_sidecar(path: Path) -> dict[str, object]:
    """The sidecar metadata of `path` (front-matter keys such as `kommune`, `tilgang`), or {} if none.

    Raises:
        LoadError: the sidecar exists but is not a JSON object.
    """
    sidecar = sidecar_path(path)
    if not sidecar.is_file():
        return {}
    try:
        data = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LoadError(f"metadatafilen {sidecar.name} kan ikke leses ({exc})") from exc
    if not isinstance(data, dict):
        raise LoadError(f"metadatafilen {sidecar.name} må være et JSON-objekt")
    return data


def version_hash(path: Path) -> str:
    """The file's sha256, plus its sidecar's when there is one: a changed `tilgang` is a new version too.

    The part before `+` is always the file's own hash (what the source download checks against).
    """
    digest = file_hash(path)
    sidecar = sidecar_path(path)
    if sidecar.is_file():
        digest += "+" + file_hash(sidecar)[:16]
    return digest


def _ignore_patterns(root: Path) -> list[str]:
    ignore = root / IGNORE_FILE
    if not ignore.is_file():
        return []
    lines = ignore.read_text(encoding="utf-8").splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")]


def _names_an_owner(name: str) -> bool:
    """Whether a folder name is written as a municipality's (or the network's) name: «Halden», «Læringsnettverket»."""
    return metadata_.is_owner_folder(name)


def layout_base(root: Path) -> tuple[Path, str]:
    """The folder sources are relative to, and the prefix `root` has below it.

    NOTE: a document's identity must not depend on the folder given (#21): `kb ingest corpus/Halden` and
    `kb ingest corpus/Halden/erfaringer` store `Halden/erfaringer/x.md`, as `kb ingest corpus` does. The
    `<Kommune>/<type>/` layout is recognised from the folder given upwards: a type folder keeps its name, and
    a folder written as a name above a type folder (or holding one) is the municipality's.
    """
    folder = (root.parent if root.is_file() else root).absolute()
    parts: list[str] = []
    if metadata_.is_type_folder(folder.name):
        parts.insert(0, folder.name)
        folder = folder.parent
        if _names_an_owner(folder.name):
            parts.insert(0, folder.name)
            folder = folder.parent
    elif _names_an_owner(folder.name) and any(
        child.is_dir() and metadata_.is_type_folder(child.name) for child in folder.iterdir()
    ):
        parts.insert(0, folder.name)
        folder = folder.parent
    prefix = "".join(f"{part}/" for part in parts)
    return folder, prefix


def scan(root: Path) -> Iterator[FileRef]:
    """Every file under `root` (or `root` itself if it is a file), each either to ingest or with a reason.

    NOTE: nothing the scan sees is left out silently (#21): hidden files and folders, Office lock files,
    files `.kbignore` leaves out, links to folders and broken or looping links come with a `reason`. The
    root's `.kbignore` and a sidecar beside its document are read, not reported. Unsupported suffixes are
    yielded without a reason, so the loader names them.
    """
    base, prefix = layout_base(root)
    origin = str(base.resolve())
    if root.is_file():
        yield FileRef(root, prefix + root.name, origin)
        return
    patterns = _ignore_patterns(root)
    for path in sorted(root.rglob("*")):
        parts = path.relative_to(root).parts
        if any(part.startswith(".") for part in parts[:-1]):
            continue  # inside a hidden folder, which is named once
        relative = path.relative_to(root).as_posix()
        reason, broken = _left_out(root, path, relative, patterns)
        if reason is None:
            continue
        yield FileRef(path, prefix + relative, origin, reason, broken)


def _left_out(root: Path, path: Path, relative: str, patterns: list[str]) -> tuple[str | None, bool]:
    """(reason, broken) for a path the scan sees: ("", False) to ingest it, (None, False) to pass it by."""
    name = path.name
    if path.is_symlink():
        try:
            target = path.resolve(strict=True)
        except FileNotFoundError:
            return "lenken peker på en fil som ikke finnes; rett eller slett lenken", True
        except (RuntimeError, OSError):
            return "lenken går i ring (peker på seg selv) og leder ikke til noen fil; slett lenken", True
        if target.is_dir():
            return "lenke til en mappe: følges ikke; les inn mappen den peker på", False
    if path.is_dir():
        if name.startswith("."):
            return "skjult mappe (navnet begynner med punktum): ikke lest inn", False
        return None, False
    if name == IGNORE_FILE and path.parent == root:
        return None, False
    if name.startswith(".") and name.endswith(SIDECAR_SUFFIX):
        document = path.with_name(name[1 : -len(SIDECAR_SUFFIX)])
        if document.exists():
            return None, False  # read with its document
        return f"metadatafil uten dokumentet «{document.name}» ved siden av", False
    if name.startswith("~$"):
        return "låsefil fra Word eller Excel (~$), ikke et dokument", False
    if name.startswith("."):
        return "skjult fil (navnet begynner med punktum); gi den et navn uten punktum foran for å lese den inn", False
    if pattern := next((p for p in patterns if fnmatch.fnmatch(relative, p)), None):
        return f"utelatt av {IGNORE_FILE} (mønsteret «{pattern}»)", False
    if not path.is_file():
        return "ikke en vanlig fil", True
    return "", False


def prepare(
    ref: FileRef,
    *,
    chunk_size: int,
    overlap: int,
    mask: bool = True,
    content_hash: str | None = None,
    extra_metadata: dict[str, str] | None = None,
) -> PreparedFile:
    """Load, resolve metadata, mask and chunk one file.

    Raises:
        LoadError: with a reason a user can act on.
    """
    if not is_supported(ref.path):
        load_path(ref.path)  # raises UnsupportedFileError with the list of supported types
    digest = content_hash or version_hash(ref.path)
    document = load_path(ref.path)
    masked: Counter[str] = Counter()
    source = ref.source
    if mask:
        # NOTE: masked before metadata is resolved, so a title or theme taken from the text is masked too; the
        # resolved values are masked again, for what comes from the file name, the sidecar or the properties.
        source = mask_source(ref.source)
        document = _masked_document(document, masked)
    try:
        meta = metadata_.resolve(document, source, read_sidecar(ref.path))
    except ValueError as exc:
        raise LoadError(str(exc)) from exc
    if extra_metadata:
        meta.update({k: v for k, v in extra_metadata.items() if v})
    if mask:
        meta = mask_metadata(meta, masked)
        if masked:
            # NOTE: only on documents that held personal data: their original file is never offered (kb.access.uploads)
            meta["masked"] = sum(masked.values())
    meta["content_hash"] = digest
    if ref.origin:
        meta["origin"] = stored_origin(ref, mask=mask)
    chunks = chunk_sections(document.sections, source=source, metadata=meta, chunk_size=chunk_size, overlap=overlap)
    if not chunks:
        raise LoadError("filen inneholder ingen tekst")
    file_source = ref.source if ref.source != source else ""
    return PreparedFile(source, digest, chunks, masked, file_source)


def _masked_value(value: object, counts: Counter[str]) -> object:
    if isinstance(value, str):
        result = mask_personal_data(value)
        counts.update(result.counts)
        return result.text
    if isinstance(value, list | tuple):
        return [_masked_value(v, counts) for v in value]
    return value


def _masked_document(document: SourceDocument, counts: Counter[str]) -> SourceDocument:
    """The document with personal data masked in every section's text and heading, front matter and properties."""
    sections = []
    for section in document.sections:
        text = mask_personal_data(section.text)
        heading = mask_personal_data(section.heading)
        counts.update(text.counts)
        counts.update(heading.counts)
        sections.append(Section(text=text.text, heading=heading.text, page=section.page))
    return SourceDocument(
        sections=tuple(sections),
        front_matter={k: _masked_value(v, counts) for k, v in document.front_matter.items()},
        properties={k: str(_masked_value(v, counts)) for k, v in document.properties.items()},
        loader=document.loader,
    )


def stored_origin(ref: FileRef, *, mask: bool) -> str:
    """The folder a file was ingested under, as stored (masked like the source)."""
    return mask_source(ref.origin) if mask else ref.origin


def stored_source(ref: FileRef, *, mask: bool) -> str:
    """The source a file has in the store: its relative path, masked (the file on disk keeps its name)."""
    return mask_source(ref.source) if mask else ref.source


def scan_all(roots: Iterable[Path]) -> list[tuple[Path, FileRef]]:
    """All files under each root, with the root they belong to (a file under two given roots, once)."""
    found: dict[tuple[str, str], tuple[Path, FileRef]] = {}
    for root in roots:
        for ref in scan(root):
            found.setdefault((ref.origin, ref.source), (root, ref))
    return list(found.values())
