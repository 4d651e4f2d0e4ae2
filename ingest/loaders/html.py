"""HTML pages through the standard library's parser: headings start sections, scripts are dropped."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

from ingest.loaders.text import read_text
from ingest.types import Section, SourceDocument

_BLOCKS = {"p", "div", "li", "br", "tr", "section", "article", "ul", "ol", "table", "blockquote", "pre"}
_SKIP = {"script", "style", "noscript", "template", "nav", "footer"}
_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
# <meta name="tilgang" content="intern">: the front-matter keys (ingest.metadata) an HTML page can carry.
_META_KEYS = {"kommune", "municipality", "type", "doc_type", "dokumenttype", "dato", "date", "tittel"}
_META_KEYS |= {"title", "tema", "themes", "temaer", "tilgang", "visibility"}


class _Extractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.sections: list[Section] = []
        self.title = ""
        self._heading = ""
        self._lines: list[str] = [""]
        self._skip = 0
        self._in_title = False
        self._in_heading = False
        self._heading_text: list[str] = []
        self.meta: dict[str, str] = {}

    def _flush(self) -> None:
        text = "\n".join(line.strip() for line in self._lines).strip()
        if text:
            self.sections.append(Section(text=text, heading=self._heading))
        self._lines = [""]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self._skip += 1
        elif tag == "title":
            self._in_title = True
        elif tag == "meta":
            fields = dict(attrs)
            name, content = (fields.get("name") or "").strip().lower(), fields.get("content")
            if name in _META_KEYS and content is not None:
                self.meta[name] = content
        elif tag in _HEADINGS:
            self._flush()
            self._in_heading, self._heading_text = True, []
        elif tag in _BLOCKS:
            self._lines.append("- " if tag == "li" else "")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag == "title":
            self._in_title = False
        elif tag in _HEADINGS and self._in_heading:
            self._in_heading = False
            self._heading = " ".join("".join(self._heading_text).split())
            self._lines = [self._heading, ""]
        elif tag in _BLOCKS:
            self._lines.append("")

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._in_title:
            self.title += data
        elif self._in_heading:
            self._heading_text.append(data)
        else:
            self._lines[-1] += data

    def close(self) -> None:
        super().close()
        self._flush()


def load(path: Path) -> SourceDocument:
    """Load an HTML file as sections split at h1–h6; front matter from <meta name=…> tags or a YAML block."""
    from ingest.loaders.frontmatter import split_front_matter

    front_matter, body = split_front_matter(read_text(path))
    parser = _Extractor()
    parser.feed(body)
    parser.close()
    props = {"title": " ".join(parser.title.split())} if parser.title.strip() else {}
    # NOTE: <meta> fields are front matter, so `tilgang` means the same in a page as in Markdown; a YAML block
    # above the markup wins over them.
    front = {**parser.meta, **front_matter}
    return SourceDocument(sections=tuple(parser.sections), front_matter=front, properties=props, loader="html")
