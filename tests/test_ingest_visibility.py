"""An internal document stays internal whatever its file type (#21, item 1).

One internal Halden document per format, each with its own secret word: Markdown, plain text and HTML carry
`tilgang: intern` in their front matter (HTML also as <meta> tags), Word and PDF in the sidecar. A user of
Råde finds none of them by search, answers, the document list or the counts; a user of Halden finds each.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kb.access import User, UserView
from kb.answer import ask
from kb.base import KnowledgeBase
from tests.conftest import write

HALDEN = User("hanne", "leser", "Halden", "Hanne Halden")
RADE = User("ola", "bidragsyter", "Råde", "Ola Nordmann")
FRONT = "---\nkommune: Halden\ntilgang: intern\ntittel: {title}\n---\n"
BODY = "Halden kommune prøver {word} i hjemmetjenesten. {word} gir færre sykmeldinger og bedre turnus for alle.\n"
SECRETS = {
    "import/notat.md": "Blåbærmetoden",
    "import/notat.txt": "Tyttebærplanen",
    "import/notat.html": "Multebærgruppa",
    "import/notat.docx": "Rognebærtiltaket",
    "import/notat.pdf": "Krekling",
}


def _sidecar(path: Path) -> None:
    from ingest.pipeline import sidecar_path

    sidecar_path(path).write_text(json.dumps({"kommune": "Halden", "tilgang": "intern"}), encoding="utf-8")


@pytest.fixture
def store(make_kb, tmp_path: Path) -> KnowledgeBase:  # type: ignore[no-untyped-def]
    import docx
    from fpdf import FPDF

    root = tmp_path / "delt"
    for source, word in SECRETS.items():
        title = f"Notat om {word}"
        text = BODY.format(word=word)
        if source.endswith(".md"):
            write(root, source, FRONT.format(title=title) + f"# {title}\n\n{text}")
        elif source.endswith(".txt"):
            write(root, source, FRONT.format(title=title) + f"{title}\n\n{text}")
        elif source.endswith(".html"):
            write(
                root,
                source,
                f'<html><head><meta name="kommune" content="Halden"><meta name="tilgang" content="intern">'
                f"<title>{title}</title></head><body><h1>{title}</h1><p>{text}</p></body></html>",
            )
        elif source.endswith(".docx"):
            document = docx.Document()
            document.add_heading(title, level=1)
            document.add_paragraph(text)
            document.save(root / source)
            _sidecar(root / source)
        else:
            pdf = FPDF()
            pdf.set_title(title)
            pdf.add_page()
            pdf.set_font("Helvetica", "", 11)
            pdf.multi_cell(0, 7, text.replace("ø", "o").replace("æ", "ae"))
            pdf.output(str(root / source))
            _sidecar(root / source)
    write(root, "Råde/erfaringer/heltid.md", "# Heltid i Råde\n\nRåde kommune innførte heltidsgrupper i 2024.\n")
    kb = make_kb()
    report = kb.ingest([root])
    assert not report.skipped and len(report.added) == 6
    return kb


def test_every_format_files_the_internal_document_under_its_owner(store: KnowledgeBase) -> None:
    documents = {d.source: d for d in store.documents()}
    for source in SECRETS:
        assert documents[source].visibility == "intern", source
        assert documents[source].municipality == "Halden", source
        assert not documents[source].title.startswith("kommune:"), source


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_another_municipalitys_user_finds_none_of_them(store: KnowledgeBase, mode: str) -> None:
    rade, halden = UserView(store, RADE), UserView(store, HALDEN)
    for source, word in SECRETS.items():
        assert source not in {h.source for h in rade.search(word, k=50, mode=mode)}, source
        assert source in {h.source for h in halden.search(word, k=50, mode=mode)}, source


def test_nor_through_answers_document_lists_or_counts(store: KnowledgeBase) -> None:
    rade = UserView(store, RADE)
    assert {d.source for d in rade.documents()} == {"Råde/erfaringer/heltid.md"}
    assert rade.stats()["documents"] == 1
    for source, word in SECRETS.items():
        answer = ask(rade, f"Hva er {word}?", generator=False)
        assert source not in {c.source for c in answer.citations}, source
        assert word not in answer.text, source
