"""No personal number in clear in any file the product writes: ingest, search, feedback, export, remove."""

from __future__ import annotations

import io
import os
import re
import stat
import zipfile
from pathlib import Path

import pytest

from kb.cli.backup import export_store
from kb.config import Settings
from kb.views import feedback
from tests.test_ingest_privacy_forms import D_NUMBER, FNR, H_NUMBER, MISTYPED, fnr_from
from tests.test_store_sentence_cache import cached_keys

FNR2 = fnr_from("150391456")  # 15 March 1991
FNR3 = fnr_from("311299876")
PHONES = ("41234567", "69102030", "98765432", "45678901", "92345678")
ACCOUNTS = ("12345678903", "12345678901")
NUMBERS = (FNR, FNR2, FNR3, D_NUMBER, H_NUMBER, MISTYPED, *PHONES, *ACCOUNTS)
BUDGET = "Årsbudsjettet er 912 34 567 kroner"

MARKDOWN = f"""---
tittel: Sluttsamtale med {FNR2} (tlf. 41234567)
kommune: Sarpsborg
---
# Sluttsamtale {FNR2}

## Kontakt på 69 10 20 30

Deltakeren med fødselsnummer {FNR[:6]}-{FNR[6:]} ba om attest. {BUDGET}, og 45 årsverk er vedtatt for 2024-2027.
D-nummer {D_NUMBER[:6]}\u00a0{D_NUMBER[6:]}, H-nummer {H_NUMBER}-2025, f.nr. {MISTYPED}.
Lønn til kontonummer 1234.56.78903. Ring (+47) 987 65 432 eller tlf.:45 67 89 01.
Nummeret {FNR3[:6]}
{FNR3[6:]} står over to linjer.

| Navn | Telefon | Konto |
|------|---------|-------|
| Kari | 923 45 678 | 1234 56 78901 |
"""


def _docx(path: Path) -> None:
    import docx

    document = docx.Document()
    document.core_properties.title = f"Personalsak {FNR}"
    document.add_heading(f"Oppfølging av {FNR2[:6]} {FNR2[6:]}", level=1)
    document.add_paragraph(f"Fødselsnummer {FNR3[:6]}\u00a0{FNR3[6:]}. Mobil 412\u00a034\u00a0567. {BUDGET}.")
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = f"D-nummer {D_NUMBER}"
    table.rows[0].cells[1].text = "Konto 1234.56.78903, tlf 69 10 20 30"
    document.save(str(path))


def _pdf(path: Path) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_title(f"Sak {H_NUMBER}")
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    for line in (
        f"Oppfølging av ansatt {FNR[:6]} {FNR[6:]}",
        f"personnummer {MISTYPED}, telefon 98 76 54 32",
        f"kontonr. 1234 56 78901. {BUDGET}.",
        f"Kontakt +47 923 45 678 eller {FNR2}.",
    ):
        pdf.cell(0, 10, line, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))


@pytest.fixture
def personal_docs(tmp_path: Path) -> Path:
    root = tmp_path / "saker"
    folder = root / "Sarpsborg" / "erfaringer"
    folder.mkdir(parents=True)
    (folder / f"sluttsamtale-{FNR2}.md").write_text(MARKDOWN, encoding="utf-8")
    (folder / "notat.txt").write_text(
        f"NOTAT OM {FNR}\n\nTelefon 41 23 45 67, fnr {FNR3}, konto 12345678903. {BUDGET}.\n", encoding="utf-8"
    )
    _docx(folder / "personalsak.docx")
    _pdf(folder / f"sak-{D_NUMBER}.pdf")
    return root


_SEP = rb"(?:[ .\-\t\r\n]|\xc2\xa0|\\u00a0|\\n){0,3}"


def _pattern(number: str) -> re.Pattern[bytes]:
    return re.compile(_SEP.join(re.escape(d.encode()) for d in number))


def _readable(path: Path) -> bytes:
    """The bytes of a file, plus the text inside it for the containers grep cannot see into."""
    data = path.read_bytes()
    if data.startswith(b"PK"):  # .docx
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            data += b"".join(archive.read(name) for name in archive.namelist())
    elif data.startswith(b"%PDF"):
        from pypdf import PdfReader

        reader = PdfReader(io.BytesIO(data))
        data += "".join(page.extract_text() for page in reader.pages).encode()
        data += str(reader.metadata).encode()
    return data


def numbers_in_clear(*roots: Path) -> dict[str, list[str]]:
    """Every product-written file under `roots` that holds one of NUMBERS, with or without separators."""
    found: dict[str, list[str]] = {}
    for root in roots:
        for path in [root, *root.rglob("*")] if root.is_file() else root.rglob("*"):
            if not path.is_file():
                continue
            data = _readable(path)
            hits = [n for n in NUMBERS if _pattern(n).search(data)]
            if hits or any(n in path.name for n in NUMBERS):
                found[str(path.relative_to(root) if root.is_dir() else path.name)] = hits or ["file name"]
    return found


def test_no_personal_number_in_clear_in_any_file_the_product_writes(
    make_kb, personal_docs: Path, settings: Settings, tmp_path: Path
) -> None:
    assert numbers_in_clear(personal_docs), "the fixtures must hold the numbers"
    kb = make_kb()
    report = kb.ingest([personal_docs])
    assert not report.skipped and len(report.added) == 4
    hits = kb.search("sluttsamtale attest fødselsnummer", k=20)
    sources = {h.source for h in hits}
    assert "Sarpsborg/erfaringer/sluttsamtale-[fødselsnummer].md" in sources
    shown = [h.text for h in hits] + [str(h.metadata) for h in hits] + [h.source for h in hits]
    assert not any(_pattern(n).search(s.encode()) for n in NUMBERS for s in shown)
    # The budget figure is not a phone number, in any of the four formats.
    texts = [t for doc in kb.documents() for t, _ in kb.chunks_of(doc.source)]
    assert sum(BUDGET in " ".join(t.split()) for t in texts) == 4
    question = f"Hva gjør vi med fødselsnummer {FNR} og tlf 41234567?"
    feedback.record(settings.feedback_file, feedback.entry_for(question, None))
    export_store(kb, settings.home / "eksport.jsonl")
    kb.remove("Sarpsborg/erfaringer/sak-[fødselsnummer].pdf")

    assert numbers_in_clear(settings.home) == {}
    assert [p for p in (settings.home / "originals").rglob("*") if p.is_file()] == []
    assert "[fødselsnummer]" in feedback.read(settings.feedback_file)[0].question


def test_a_document_without_personal_data_keeps_its_original(make_kb, tmp_path: Path, settings: Settings) -> None:
    root = tmp_path / "rent"
    (root / "Halden" / "erfaringer").mkdir(parents=True)
    (root / "Halden" / "erfaringer" / "heltid.md").write_text("# Heltid\n\nVi økte heltidsandelen til 45 prosent.\n")
    (root / "Halden" / "erfaringer" / "kontakt.md").write_text("# Kontakt\n\nRing 41234567.\n")
    make_kb().ingest([root])
    kept = sorted(p.name for p in (settings.home / "originals").rglob("*.md"))
    assert kept == ["heltid.md"]


def test_removed_and_replaced_text_leaves_no_trace_in_the_store_files(make_kb, tmp_path: Path, settings: Settings):
    root = tmp_path / "docs"
    (root / "Råde" / "erfaringer").mkdir(parents=True)
    gone = root / "Råde" / "erfaringer" / "borte.md"
    gone.write_text("# Borte\n\nKodeordet zebrafinke-borte står bare her.\n")
    changed = root / "Råde" / "erfaringer" / "endret.md"
    changed.write_text("# Endret\n\nFørste versjon nevner gammelkode-sjiraff.\n")
    kb = make_kb()
    kb.ingest([root])
    changed.write_text("# Endret\n\nAndre versjon nevner noe annet.\n")
    kb.ingest([root])
    kb.remove("Råde/erfaringer/borte.md")
    kb.ingest([root / "Råde" / "erfaringer" / "endret.md"])  # a later write
    for path in settings.store_dir.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert b"zebrafinke" not in data and b"gammelkode" not in data, path
    assert kb.search("andre versjon", k=5)


def test_files_and_folders_the_product_writes_are_private(make_kb, personal_docs: Path, settings: Settings) -> None:
    old = os.umask(0o022)
    try:
        kb = make_kb()
        kb.ingest([personal_docs])
        feedback.record(settings.feedback_file, feedback.entry_for("Hvordan?", None))
    finally:
        os.umask(old)
    loose = []
    for path in [settings.home, *settings.home.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            loose.append(f"{path.relative_to(settings.home.parent)} {oct(mode)}")
    assert loose == []


def test_a_fodselsnummer_typed_into_a_question_never_reaches_the_feedback_log(settings: Settings) -> None:
    question = f"Kan vi lagre fødselsnummer {FNR[:6]} {FNR[6:]} i sluttsamtalen? Ring meg på 41234567"
    feedback.record(settings.feedback_file, feedback.entry_for(question, None))
    # a line an earlier version wrote in clear is masked when facilitators read it
    with settings.feedback_file.open("a", encoding="utf-8") as handle:
        handle.write(f'{{"question": "Hva med {FNR2}?", "answered": false}}\n')
    assert numbers_in_clear(settings.feedback_file.parent / "feedback.jsonl").get("feedback.jsonl", []) == [FNR2]
    shown = [e.question for e in feedback.open_questions(feedback.read(settings.feedback_file))]
    assert sorted(shown) == [
        "Hva med [fødselsnummer]?",
        "Kan vi lagre fødselsnummer [fødselsnummer] i sluttsamtalen? Ring meg på [telefon]",
    ]


def test_ingest_masks_what_an_earlier_version_stored_in_clear(make_kb, settings: Settings, tmp_path: Path) -> None:
    from kb.store.chroma import Record

    kb = make_kb()
    source = f"Halden/erfaringer/sak-{FNR}.md"
    text = f"Deltakeren med fødselsnummer {FNR} ringte fra 41234567. Vi økte heltidsandelen."
    meta = {"source": source, "title": f"Sak {FNR}", "municipality": "Halden", "content_hash": "abc", "chunk_index": 0}
    kb.store.add_records([(Record("old-id", text, meta), kb.embedder.get_text_embedding(text))])
    kb.store.bump_revision()
    from kb.indexer import cache_sentences
    from kb.store.sentence_cache import _key

    cache_sentences(kb, [("old-id", text, source, meta)])  # as the earlier version's ingest did
    unmasked = _key(f"Deltakeren med fødselsnummer {FNR} ringte fra 41234567.")
    assert unmasked in cached_keys(settings.home)
    (settings.home / "originals" / "Halden" / "erfaringer").mkdir(parents=True)
    (settings.home / "originals" / source).write_text(text, encoding="utf-8")
    settings.audit_file.write_text(f'{{"action": "add", "source": "{source}"}}\n', encoding="utf-8")
    assert numbers_in_clear(settings.home)

    (tmp_path / "tom").mkdir()
    report = make_kb().ingest([tmp_path / "tom"])
    assert report.masked["fødselsnummer"] >= 2
    assert numbers_in_clear(settings.home) == {}
    hits = make_kb().search("heltidsandelen", k=3)
    assert [h.source for h in hits] == ["Halden/erfaringer/sak-[fødselsnummer].md"]
    assert hits[0].text.startswith("Deltakeren med fødselsnummer [fødselsnummer] ringte fra [telefon].")
    # The hash of the sentence in clear would let anyone holding the masked text try every fødselsnummer.
    assert unmasked not in cached_keys(settings.home)
