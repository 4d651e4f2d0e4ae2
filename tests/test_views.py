"""The app's logic in kb/: highlighting, source views, themes, onboarding, feedback and uploads."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from kb.access import uploads
from kb.answer import ask
from kb.config import Settings
from kb.types import Answer, Citation
from kb.views import display as views
from kb.views import feedback, themes
from tests.conftest import write


@pytest.fixture
def kb(make_kb, mini_corpus: Path):  # type: ignore[no-untyped-def]
    knowledge = make_kb()
    knowledge.ingest([mini_corpus])
    return knowledge


# --- highlighting -------------------------------------------------------------------------------------------
def test_highlight_marks_query_words_by_stem_and_inside_compounds() -> None:
    text = "Heltidsandelen økte. Vi innførte heltid i sykehjemmene, og nyansatte fikk fadder."
    marked = views.highlight(text, "heltid nyansatt")
    assert "<mark>Heltidsandelen</mark>" in marked
    assert "<mark>heltid</mark>" in marked
    assert "<mark>nyansatte</mark>" in marked
    assert "<mark>fadder</mark>" not in marked
    assert views.matched_words(text, "og i") == []  # stop words are never marked


def test_highlight_escapes_html_and_markdown() -> None:
    marked = views.highlight("<script>alert(1)</script> koster $5 *mye* [lenke](x)", "koster")
    assert "<script>" not in marked
    assert "&lt;script&gt;" in marked
    assert r"\$5" in marked and r"\*mye\*" in marked and r"\[lenke\]" in marked
    assert "<mark>koster</mark>" in marked


def test_excerpt_is_centred_on_the_first_match() -> None:
    text = ("Innledning uten treff. " * 40) + "Her står ordet turnover midt i teksten. " + ("Slutt. " * 60)
    cut = views.excerpt(text, "turnover", width=200)
    assert "turnover" in cut
    assert cut.startswith("… ") and cut.endswith(" …")
    assert len(cut) <= 210
    assert views.excerpt("Kort tekst.", "turnover") == "Kort tekst."


def test_mark_quote_marks_the_quoted_sentence() -> None:
    text = "Første setning. Andelen som sluttet falt til 17 prosent. Siste setning."
    marked = views.mark_quote(text, "Andelen som sluttet falt til 17 prosent.")
    assert "<mark><b>Andelen som sluttet falt til 17 prosent.</b></mark>" in marked


# --- filters and labels -----------------------------------------------------------------------------------
def test_build_filters_ignores_the_full_year_range() -> None:
    assert not views.build_filters(years=(2020, 2025), all_years=(2020, 2025))
    narrowed = views.build_filters(["Halden"], ["erfaring"], ["onboarding"], (2022, 2023), (2020, 2025))
    assert narrowed.municipalities == ("Halden",)
    assert (narrowed.date_from, narrowed.date_to) == ("2022-01-01", "2023-12-31")


def test_meta_line_and_dates_are_norwegian() -> None:
    line = views.meta_line({"municipality": "Råde", "doc_type": "strategi", "date": "2024-03-01", "page": 3})
    assert line == "Råde · Strategi/plan · 1. mars 2024 · side 3"
    assert views.format_date("") == ""


def test_filter_choices_put_members_first(kb) -> None:  # type: ignore[no-untyped-def]
    choices = views.filter_choices(kb.documents())
    assert choices.municipalities[:2] == ("Sarpsborg", "Halden")
    assert "Læringsnettverket" in choices.municipalities
    assert "onboarding" in choices.themes
    assert choices.years == (2020, 2024)


# --- source view ------------------------------------------------------------------------------------------
def test_strip_overlap_removes_the_repeated_sentences() -> None:
    previous = "Første avsnitt. Dette gjentas i neste bit."
    assert views.strip_overlap(previous, "Dette gjentas i neste bit.\n\nNytt avsnitt.") == "Nytt avsnitt."
    assert views.strip_overlap(previous, "Helt nytt.\n\nMer tekst.") == "Helt nytt.\n\nMer tekst."


def test_document_blocks_and_locate_passage(kb) -> None:  # type: ignore[no-untyped-def]
    source = "Sarpsborg/erfaringer/introduksjonsprogram.md"
    blocks = views.document_blocks(kb.chunks_of(source))
    assert blocks and [b.index for b in blocks] == sorted(b.index for b in blocks)
    whole = "\n".join(b.text for b in blocks)
    assert "mentorordning" in whole and "17 prosent" in whole
    found = views.locate_passage(blocks, quote="Andelen som sluttet falt til 17 prosent i 2024.")
    assert found is not None and "17 prosent" in blocks[found].text
    assert views.locate_passage(blocks, chunk_index=blocks[-1].index) == len(blocks) - 1
    assert views.locate_passage(blocks, quote="finnes ikke noe sted xyz") is None
    assert views.pages_of(blocks) == []


def test_pages_of_pdf_blocks() -> None:
    chunks = [("Side en.", {"chunk_index": 0, "page": 1}), ("Side to.", {"chunk_index": 1, "page": 2})]
    blocks = views.document_blocks(chunks)
    assert views.pages_of(blocks) == [1, 2]
    assert views.locate_passage(blocks, page=2) == 1


# --- onboarding and status --------------------------------------------------------------------------------
def test_onboarding_lists_members_sessions_and_current_documents(kb) -> None:  # type: ignore[no-untyped-def]
    data = views.onboarding(kb.documents())
    assert [m for m, _ in data.members] == ["Sarpsborg", "Halden"]
    assert [s.title for s in data.sessions] == ["Samling om heltidskultur"]
    sarpsborg = [d.source for d in data.key_documents["Sarpsborg"]]
    assert sarpsborg[0].endswith("kompetansestrategi-2024-2027.md")
    assert not any(s.endswith("2020-2023.md") for s in sarpsborg)  # the superseded version is left out
    assert data.questions and all(q.endswith("?") for q in data.questions)


def test_status_line(kb) -> None:  # type: ignore[no-untyped-def]
    stats = kb.stats()
    line = views.status_line(stats, kb.settings)
    assert line.startswith("5 dokumenter · ")
    assert "modell: hash" in line and "svar: uttrekk" in line
    rows = views.per_municipality_rows(stats)
    assert {r["Kommune"] for r in rows} == {"Sarpsborg", "Halden", "Læringsnettverket"}
    generated = SimpleNamespace(generator_url="http://127.0.0.1:1/v1", generator_model="qwen")
    assert "generert (qwen)" in views.answer_mode(generated)


# --- feedback ---------------------------------------------------------------------------------------------
def _answer(answered: bool) -> Answer:
    citation = Citation(1, "Halden/erfaringer/heltidskultur.md", "Heltidskultur", "Halden", None, "Årsturnus.")
    return Answer("Svar [1].", (citation,) if answered else (), answered)


def test_feedback_round_trip_and_open_questions(tmp_path: Path) -> None:
    path = tmp_path / "home" / "feedback.jsonl"
    feedback.record(path, feedback.entry_for("Hva med turnus i barnehagen?", _answer(False)))
    feedback.record(path, feedback.entry_for("Hvordan jobber Halden med heltid?", _answer(True), "up"))
    feedback.record(path, feedback.entry_for("Hva er heltidskultur?", _answer(True), "down"))
    with path.open("a", encoding="utf-8") as handle:
        handle.write("not json\n")
    entries = feedback.read(path)
    assert len(entries) == 3
    assert entries[1].sources == ("Halden/erfaringer/heltidskultur.md",)
    assert json.loads(path.read_text(encoding="utf-8").splitlines()[1])["vote"] == "up"
    open_ = [e.question for e in feedback.open_questions(entries)]
    assert set(open_) == {"Hva med turnus i barnehagen?", "Hva er heltidskultur?"}
    assert [e.question for e in feedback.open_questions(entries, about=["heltid"])] == ["Hva er heltidskultur?"]
    with pytest.raises(ValueError):
        feedback.entry_for("x", _answer(True), "meh")


def test_a_thumbs_up_closes_an_open_question(tmp_path: Path) -> None:
    path = tmp_path / "feedback.jsonl"
    feedback.record(path, feedback.entry_for("Hva er heltid?", _answer(True), "down"))
    feedback.record(path, feedback.entry_for("hva er  heltid?", _answer(True), "up"))
    assert feedback.open_questions(feedback.read(path)) == []
    assert feedback.read(tmp_path / "missing.jsonl") == []


# --- facilitator view -------------------------------------------------------------------------------------
def test_theme_overview_gathers_municipalities_sessions_and_findings(kb) -> None:  # type: ignore[no-untyped-def]
    asked = [feedback.entry_for("Hvordan får vi til heltidskultur i barnehagen?", _answer(False))]
    overview = themes.theme_overview(kb, "heltidskultur", asked)
    assert "Halden" in overview.municipalities
    assert [s.title for s in overview.sessions] == ["Samling om heltidskultur"]
    challenges = " ".join(f.text for f in overview.challenges)
    assert "38 prosent heltid" in challenges
    # «Tiltak som er prøvd» is the answer the «Spør» page gives to the theme's question, sentence for sentence
    answer = ask(kb, themes.theme_question("heltidskultur"), generator=False)
    quoted = [(" ".join(q.split()), c.source) for c in answer.citations for q in c.quotes]
    assert [(f.text, f.source) for f in overview.measures] == quoted
    assert [q.question for q in overview.questions] == ["Hvordan får vi til heltidskultur i barnehagen?"]
    rows = themes.timeline_rows(overview)
    assert rows == [] or rows[0]["Samling"] == "Samling om heltidskultur"


def test_measures_tried_tell_what_each_municipality_did_and_what_came_of_it(make_kb, mini_corpus: Path) -> None:  # type: ignore[no-untyped-def]
    write(
        mini_corpus,
        "Råde/erfaringer/heltidskultur.md",
        """
        # Heltidskultur i Råde

        ## Utfordringen
        Råde hadde lite heltidskultur i hjemmetjenesten.

        ## Hva vi gjorde
        For å bygge heltidskultur innførte vi årsturnus i hjemmetjenesten.

        ## Resultater
        Med heltidskultur som mål økte heltidsandelen fra 30 til 45 prosent.
        """,
    )
    kb = make_kb()
    kb.ingest([mini_corpus])
    measures = themes.measures_tried(kb, "heltidskultur")
    rade = [f.text for f in measures if f.municipality == "Råde"]
    assert rade[0] == "For å bygge heltidskultur innførte vi årsturnus i hjemmetjenesten."  # the measure first
    assert "Med heltidskultur som mål økte heltidsandelen fra 30 til 45 prosent." in rade  # then what came of it
    problem = [i for i, text in enumerate(rade) if "Råde hadde lite heltidskultur" in text]
    assert all(i > 1 for i in problem)  # the problem, if told, after what they did and what came of it


def test_lessons_learned_are_what_members_wrote_they_learnt(make_kb, mini_corpus: Path) -> None:  # type: ignore[no-untyped-def]
    write(
        mini_corpus,
        "Rakkestad/erfaringer/årsturnus.md",
        """
        # Årsturnus i Rakkestad

        ## Hva vi gjorde
        Vi innførte årsturnus for heltidskultur i sykehjemmet, med ferien lagt inn fra starten.

        ## Resultater
        Heltidsandelen økte fra 34 til 46 prosent, og 96 prosent av ferieønskene ble innfridd med årsturnus.

        ## Dette lærte vi
        - Start tidlig med ferieønsker. Årsturnus krever at ferie og høytider legges inn først.
        - Heltidskultur er et lederansvar. Lederne må eie målet, ikke HR.
        """,
    )
    kb = make_kb()
    kb.ingest([mini_corpus])
    overview = themes.theme_overview(kb, "årsturnus")
    lessons = [f.text for f in overview.lessons]
    assert "Start tidlig med ferieønsker. Årsturnus krever at ferie og høytider legges inn først." in lessons
    assert all("46 prosent" not in text and "innførte" not in text for text in lessons)  # its other sections
    assert {f.source for f in overview.lessons} == {"Rakkestad/erfaringer/årsturnus.md"}
    brief = themes.theme_brief(overview, today=dt.date(2025, 1, 2))
    told = brief.split("## Erfaringer og råd\n", 1)[1].split("\n## ", 1)[0]
    assert "- Start tidlig med ferieønsker." in told and "(Rakkestad) [" in told
    # Halden's case on the theme has no lessons section: its sentences do not stand in for one.
    heltid = themes.theme_overview(kb, "heltidskultur")
    assert "Halden" in heltid.municipalities
    assert heltid.lessons[0].text == "Heltidskultur er et lederansvar. Lederne må eie målet, ikke HR."
    assert {f.source for f in heltid.lessons} == {"Rakkestad/erfaringer/årsturnus.md"}


def test_theme_overview_of_an_unknown_theme_is_empty(kb) -> None:  # type: ignore[no-untyped-def]
    overview = themes.theme_overview(kb, "kvantedatamaskiner")
    assert overview.is_empty
    brief = themes.theme_brief(overview, today=dt.date(2025, 1, 2))
    assert "Ingen kommuner har delt dokumenter om temaet ennå." in brief
    assert "Ingen kilder." in brief


def test_theme_brief_cites_its_sources(kb) -> None:  # type: ignore[no-untyped-def]
    overview = themes.theme_overview(kb, "heltidskultur")
    brief = themes.theme_brief(overview, today=dt.date(2025, 1, 2))
    assert brief.startswith("# Temabrief: heltidskultur\n")
    assert "*Laget 2. januar 2025 fra Erfaringsbanken." in brief
    sources = brief.split("## Kilder\n", 1)[1].strip().splitlines()
    assert sources[0].startswith("1. ")
    cited = {int(n) for n in __import__("re").findall(r"\[(\d+)\]", brief)}
    assert cited == set(range(1, len(sources) + 1))  # every [n] has a source and every source is cited
    assert "`Halden/erfaringer/heltidskultur.md`" in brief
    assert len(brief.splitlines()) < 60  # one page


def test_extract_findings_needs_a_cue() -> None:
    from kb.types import Hit

    hit = Hit(
        "1",
        "Utfordringen\n\nVi hadde for få søkere til stillingene i barnehagen.\n\nVi innførte en ny "
        "rekrutteringskampanje i sosiale medier.\n\nKommunen ligger ved sjøen og har mange innbyggere.",
        "Råde/erfaringer/x.md",
        1.0,
        {"municipality": "Råde", "title": "X", "heading": ""},
    )
    challenges, measures = themes.extract_findings([hit], "rekruttering")
    assert [f.text for f in challenges] == ["Vi hadde for få søkere til stillingene i barnehagen."]
    assert [f.text for f in measures] == ["Vi innførte en ny rekrutteringskampanje i sosiale medier."]


# --- uploads ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("plan.exe", b"MZ", "filtype som ikke støttes"),
        ("plan.pdf", b"not a pdf", "ikke ut som en gyldig PDF"),
        ("plan.docx", b"%PDF-1.4", "ikke ut som en gyldig DOCX"),
        ("tom.md", b"  \n", "er tom"),
        ("stor.txt", b"x" * (1024 * 1024 + 1), "grensen er 1 MB"),
    ],
)
def test_validate_upload_rejects_with_a_clear_message(name: str, data: bytes, message: str) -> None:
    with pytest.raises(uploads.UploadError, match=message):
        uploads.validate_upload(name, data, max_mb=1)


def test_safe_filename_drops_folders() -> None:
    assert uploads.safe_filename("../../etc/Plan 2024.MD") == "Plan 2024.md"
    assert uploads.safe_filename("C:\\tmp\\strategi.pdf") == "strategi.pdf"
    assert uploads.safe_filename("æøå:?*.txt") == "æøå.txt"


def test_stage_upload_keeps_municipalities_apart(settings: Settings) -> None:
    a = uploads.stage_upload(settings, "Råde", "erfaringer", "notat.md", "# Notat\n\nRåde sin tekst.".encode())
    b = uploads.stage_upload(settings, "Halden", "erfaringer", "notat.md", b"# Notat\n\nHaldens tekst.")
    assert a.source == "Råde/erfaringer/notat.md" and b.source == "Halden/erfaringer/notat.md"
    assert a.path == settings.home / "uploads" / "Råde" / "erfaringer" / "notat.md"
    assert a.path.read_bytes() != b.path.read_bytes()
    with pytest.raises(uploads.UploadError, match="har allerede et dokument"):
        uploads.stage_upload(settings, "Råde", "erfaringer", "notat.md", b"# Ny versjon\n\nAnnen tekst.")
    same = uploads.stage_upload(settings, "Råde", "erfaringer", "notat.md", "# Notat\n\nRåde sin tekst.".encode())
    assert same.replaced  # the same bytes again is fine
    replaced = uploads.stage_upload(
        settings, "Råde", "erfaringer", "notat.md", b"# Ny versjon\n\nAnnen tekst.", replace=True
    )
    assert replaced.replaced and b"Ny versjon" in replaced.path.read_bytes()
    with pytest.raises(uploads.UploadError, match="har allerede et dokument"):
        uploads.stage_upload(
            settings, "Halden", "strategier", "plan.md", b"# Plan", known={"Halden/strategier/plan.md"}
        )
    with pytest.raises(uploads.UploadError, match="Ukjent dokumenttype"):
        uploads.stage_upload(settings, "Halden", "hemmelig", "plan.md", b"# Plan")
    uploads.unstage([b])
    assert not b.path.exists()
    assert not list((settings.home / "uploads").rglob(".*.part"))


def test_uploads_are_ingested_with_unique_sources(make_kb, mini_corpus: Path, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    kb = make_kb()
    kb.ingest([mini_corpus])
    text = b"# Heltidskultur i Halden\n\nVi har testet heltidsgrupper i sykehjemmet med gode resultater."
    staged = uploads.stage_upload(settings, "Råde", "erfaringer", "heltidskultur.md", text)
    report = kb.ingest([uploads.uploads_dir(settings)])
    assert report.added == ["Råde/erfaringer/heltidskultur.md"]
    sources = {d.source for d in kb.documents()}
    assert {"Halden/erfaringer/heltidskultur.md", "Råde/erfaringer/heltidskultur.md"} <= sources
    hits = kb.search("heltidsgrupper sykehjemmet", k=3)
    assert hits[0].source == staged.source and hits[0].municipality == "Råde"


def test_find_original_checks_the_hash(settings: Settings, tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    path = root / "Halden" / "strategier" / "plan.pdf"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"%PDF-1.4 original")
    digest = hashlib.sha256(b"%PDF-1.4 original").hexdigest()
    source = "Halden/strategier/plan.pdf"
    assert uploads.find_original(settings, source, digest, roots=[root]) == path
    assert uploads.find_original(settings, source, "0" * 64, roots=[root]) is None
    assert uploads.find_original(settings, "../corpus/x.pdf", roots=[root]) is None
    kept = uploads.keep_original(settings, path, source)
    assert kept == settings.home / "originals" / source
    assert uploads.find_original(settings, source, digest) == kept
    assert uploads.mime_type(kept) == "application/pdf"
