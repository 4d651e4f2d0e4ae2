"""Markdown with optional YAML front matter; ATX headings start new sections."""

from __future__ import annotations

import re
from pathlib import Path

from ingest.loaders.frontmatter import split_front_matter
from ingest.loaders.text import read_text
from ingest.types import Section, SourceDocument

__all__ = ["clean_inline", "load", "parse_sections", "split_front_matter"]

_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$")
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_EMPHASIS = re.compile(r"(\*\*|__)(.+?)\1")


def clean_inline(line: str) -> str:
    """Drop link targets and bold markers; keep the words a reader sees."""
    return _EMPHASIS.sub(r"\2", _LINK.sub(r"\1", line))


def parse_sections(body: str) -> list[Section]:
    """Split Markdown into sections at headings. The heading text itself starts the section's text."""
    sections: list[Section] = []
    heading = ""
    lines: list[str] = []
    in_code = False

    def flush() -> None:
        text = "\n".join(lines).strip()
        if text:
            sections.append(Section(text=text, heading=heading))

    for raw in body.split("\n"):
        if raw.lstrip().startswith("```"):
            in_code = not in_code
            continue
        match = None if in_code else _HEADING.match(raw)
        if match:
            flush()
            heading = clean_inline(match.group(2).strip())
            lines = [heading]
            continue
        lines.append(clean_inline(raw))
    flush()
    return sections


def load(path: Path) -> SourceDocument:
    """Load a Markdown file: front matter plus sections."""
    front_matter, body = split_front_matter(read_text(path))
    return SourceDocument(sections=tuple(parse_sections(body)), front_matter=front_matter, loader="markdown")
