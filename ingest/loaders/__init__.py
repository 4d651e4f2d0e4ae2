"""Dispatch from file suffix to a loader; each loader turns one file into a SourceDocument."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ingest.types import SourceDocument


class LoadError(Exception):
    """A file could not be read. The message is a reason a user can act on (Norwegian)."""


class UnsupportedFileError(LoadError):
    """The file's suffix has no loader."""


def _text(path: Path) -> SourceDocument:
    from ingest.loaders import text

    return text.load(path)


def _markdown(path: Path) -> SourceDocument:
    from ingest.loaders import markdown

    return markdown.load(path)


def _pdf(path: Path) -> SourceDocument:
    from ingest.loaders import pdf

    return pdf.load(path)


def _docx(path: Path) -> SourceDocument:
    from ingest.loaders import docx

    return docx.load(path)


def _html(path: Path) -> SourceDocument:
    from ingest.loaders import html

    return html.load(path)


LOADERS: dict[str, Callable[[Path], SourceDocument]] = {
    ".txt": _text,
    ".md": _markdown,
    ".markdown": _markdown,
    ".pdf": _pdf,
    ".docx": _docx,
    ".html": _html,
    ".htm": _html,
}


def is_supported(path: Path) -> bool:
    """Whether a loader exists for the file's suffix."""
    return path.suffix.lower() in LOADERS


def load_path(path: Path) -> SourceDocument:
    """Load one file with the loader for its suffix.

    Raises:
        UnsupportedFileError: no loader for the suffix.
        LoadError: the file is empty, broken, encrypted or unreadable.
    """
    loader = LOADERS.get(path.suffix.lower())
    if loader is None:
        known = ", ".join(sorted(LOADERS))
        raise UnsupportedFileError(f"filtypen «{path.suffix or '(ingen)'}» støttes ikke (støttet: {known})")
    if path.stat().st_size == 0:
        raise LoadError("filen er tom")
    document = loader(path)
    if not document.text.strip():
        raise LoadError("filen inneholder ingen tekst")
    return document
