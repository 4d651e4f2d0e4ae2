"""Every page of the Streamlit app, run headless with AppTest over a store ingested from mini_corpus."""

from __future__ import annotations

import importlib.util
import json
import sys
import types
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from kb.config import REPO_ROOT, Settings
from kb.types import Answer, Citation

APP = str(REPO_ROOT / "app.py")
TIMEOUT = 60
PAGES = {  # menu title -> page file (st.navigation), and the `?side=` slug of links from before the page URLs
    "Søk": ("app_pages/search.py", "sok"),
    "Spør": ("app_pages/ask.py", "spor"),
    "Forbered samling": ("app_pages/prepare.py", "samling"),
    "Kom i gang": ("app_pages/onboarding.py", "kom-i-gang"),
    "Legg til dokumenter": ("app_pages/upload.py", "legg-til"),
}
TITLES = {
    "Søk": "Søk i erfaringene",
    "Spør": "Spør erfaringsbanken",
    "Forbered samling": "Forbered samling",
    "Kom i gang": "Kom i gang",
    "Legg til dokumenter": "Legg til dokumenter",
}


def run_app(page: str | None = None) -> AppTest:
    """The app on its start page, or on `page` chosen in the menu."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    if page:
        go_to(at, page)
    return at


def go_to(at: AppTest, page: str) -> AppTest:
    """Choose `page` in the menu (st.navigation), as a click on it does."""
    at.switch_page(PAGES[page][0]).run()
    assert not at.exception, at.exception
    return at


def texts(at: AppTest) -> str:
    """Everything the page shows as text, for `in` checks."""
    parts = [
        e.value
        for kind in (
            "markdown",
            "caption",
            "info",
            "warning",
            "error",
            "success",
            "title",
            "header",
            "subheader",
        )
        for e in getattr(at, kind)
    ]
    parts += [e.label for e in at.expander] + [b.label for b in at.button]
    return "\n".join(str(p) for p in parts)


def button(at: AppTest, label: str, n: int = 0):  # type: ignore[no-untyped-def]
    matches = [b for b in at.button if b.label == label]
    assert matches, f"no button «{label}»"
    return matches[n]


@pytest.fixture
def ingested(make_kb, mini_corpus: Path) -> Settings:  # type: ignore[no-untyped-def]
    kb = make_kb()
    kb.ingest([mini_corpus])
    return kb.settings


def fake_ask(kb, question, filters=None):  # type: ignore[no-untyped-def]
    """A stand-in for kb.answer.ask: cites the best hit, or says it found nothing."""
    hits = [h for h in kb.search(question, k=3, filters=filters) if h.bm25_score]
    if "ukjent" in question:
        hits = []
    if not hits:
        return Answer("Jeg fant ikke noe om dette i kunnskapsbasen.", (), False)
    best = hits[0]
    quote = best.text.split("\n")[-1]
    citation = Citation(1, best.source, best.title, best.municipality, best.page, quote)
    return Answer(f"{quote} [1]", (citation,), True)


@pytest.fixture
def answer_module(monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType("kb.answer")
    module.ask = fake_ask  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "kb.answer", module)


# --- Søk -------------------------------------------------------------------------------------------------
def test_search_shows_cards_with_highlighted_passages(ingested: Settings) -> None:
    at = run_app()
    assert at.title[0].value == "Søk i erfaringene"
    at.text_input(key="query").set_value("introduksjonsprogram med fadder").run()
    assert not at.exception
    shown = texts(at)
    assert "**Introduksjonsprogram for nyansatte**" in shown
    assert "Sarpsborg · Erfaring · 1. mars 2024" in shown
    assert "<mark>fadder</mark>" in shown
    assert "dokumenter (" in shown
    assert "5 dokumenter · " in shown  # the status line


def test_search_grouped_by_municipality(ingested: Settings) -> None:
    at = run_app()
    at.text_input(key="query").set_value("heltid").run()
    at.toggle(key="grouped").set_value(True).run()
    assert not at.exception
    groups = [s.value for s in at.subheader]
    assert "Halden" in groups and "Læringsnettverket" in groups


def test_search_by_part_of_the_text(ingested: Settings) -> None:
    at = run_app()
    at.text_input(key="query").set_value("heltid").run()
    assert "Heltidskultur i helse og omsorg" in texts(at)
    assert "Samling om heltidskultur" in texts(at)
    part = next(m for m in at.sidebar.multiselect if m.label == "Del av teksten")
    part.set_value(["result"]).run()
    assert not at.exception
    shown = texts(at)
    assert "Heltidskultur i helse og omsorg" in shown  # its «Resultater», shown from where they start
    assert "økte til 52 prosent på to år" in shown and "bare 38 prosent" not in shown
    assert "Samling om heltidskultur" not in shown  # the note has «Metoder» only
    go_to(at, "Spør")  # an answer reads whole documents: no part filter there
    assert "Del av teksten" not in [m.label for m in at.sidebar.multiselect]


def test_search_without_hits_says_what_to_do(ingested: Settings) -> None:
    at = run_app()
    at.slider(key="years").set_value((2021, 2023)).run()  # no document is dated in these years
    at.text_input(key="query").set_value("heltid").run()
    assert not at.exception
    assert any("Ingen treff" in i.value and "filtre" in i.value for i in at.info)


def test_source_view_opens_the_whole_document_at_the_passage(ingested: Settings) -> None:
    at = run_app()
    at.text_input(key="query").set_value("resultater andelen som sluttet").run()
    button(at, "Åpne kilde").click().run()
    assert not at.exception
    assert at.header[0].value == "Introduksjonsprogram for nyansatte"
    shown = texts(at)
    assert "Sitert avsnitt" in shown
    assert "Sarpsborg/erfaringer/introduksjonsprogram.md" in shown
    assert "mentorordning" in shown or "Teksten før det siterte avsnittet" in shown
    # `kb ingest` keeps a copy of each original under HOME/originals, so it can be downloaded from anywhere.
    assert "Originalfilen finnes ikke på denne maskinen" not in shown
    assert any(b.label.startswith("Last ned") for b in at.get("download_button"))
    button(at, "← Tilbake").click().run()
    assert at.title[0].value == "Søk i erfaringene"


def test_source_view_offers_the_original(ingested: Settings, mini_corpus: Path) -> None:
    from kb.access import uploads

    source = "Halden/erfaringer/heltidskultur.md"
    uploads.keep_original(ingested, mini_corpus / source, source)
    at = run_app()
    at.text_input(key="query").set_value("årsturnus langvakter").run()
    button(at, "Åpne kilde").click().run()
    assert at.header[0].value == "Heltidskultur i helse og omsorg"
    assert at.get("download_button"), "the original file is offered for download"
    button(at, "← Tilbake").click().run()
    assert at.title[0].value == "Søk i erfaringene"


def test_another_page_in_the_menu_leaves_the_source_view(ingested: Settings) -> None:
    at = run_app()
    at.text_input(key="query").set_value("resultater andelen som sluttet").run()
    button(at, "Åpne kilde").click().run()
    assert at.header[0].value == "Introduksjonsprogram for nyansatte"
    go_to(at, "Kom i gang")
    assert at.title[0].value == "Kom i gang"
    assert "Sitert avsnitt" not in texts(at)


# --- Spør ------------------------------------------------------------------------------------------------
def test_ask_says_coming_soon_without_the_answer_module(ingested: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "kb.answer", None)  # import fails as if the file did not exist
    at = run_app("Spør")
    assert any("kommer snart" in i.value for i in at.info)


def test_ask_shows_cited_answers_as_a_chat(ingested: Settings, answer_module: None) -> None:
    at = run_app("Spør")
    at.chat_input[0].set_value("Hvor mange lærlinger skal Sarpsborg ha?").run()
    assert not at.exception
    at.chat_input[0].set_value("Hva gjorde Halden med heltid?").run()
    assert not at.exception
    assert [m.name for m in at.chat_message] == ["user", "assistant", "user", "assistant"]
    labels = [e.label for e in at.expander]
    assert any(label.startswith("[1] ") and "Halden" in label for label in labels)
    # thumbs up is stored with the question and the cited sources
    button(at, "Nyttig", 1).click().run()
    lines = ingested.feedback_file.read_text(encoding="utf-8").splitlines()
    entry = json.loads(lines[-1])
    assert entry["vote"] == "up" and entry["question"] == "Hva gjorde Halden med heltid?"
    assert entry["sources"] == ["Halden/erfaringer/heltidskultur.md"]
    assert "Takk for tilbakemeldingen!" in texts(at)
    # the citation opens its source
    button(at, "Åpne kilden", 1).click().run()
    assert at.header[0].value == "Heltidskultur i helse og omsorg"
    assert "Sitert avsnitt" in texts(at)
    button(at, "← Tilbake").click().run()
    assert len(at.chat_message) == 4  # the conversation is still there


def test_unanswered_questions_are_logged(ingested: Settings, answer_module: None) -> None:
    at = run_app("Spør")
    at.chat_input[0].set_value("Hva er ukjent her?").run()
    assert not at.exception
    entry = json.loads(ingested.feedback_file.read_text(encoding="utf-8").splitlines()[-1])
    assert entry == entry | {"question": "Hva er ukjent her?", "answered": False, "vote": None}


@pytest.mark.skipif(importlib.util.find_spec("kb.answer") is None, reason="kb/answer.py is not written yet")
def test_ask_with_the_real_answer_module(ingested: Settings) -> None:
    at = run_app("Spør")
    at.chat_input[0].set_value("Hvor mange lærlinger skal Sarpsborg ha innen 2027?").run()
    assert not at.exception
    assert [m.name for m in at.chat_message] == ["user", "assistant"]


# --- Forbered samling ------------------------------------------------------------------------------------
def test_prepare_session_page(ingested: Settings) -> None:
    ingested.feedback_file.parent.mkdir(parents=True, exist_ok=True)
    ingested.feedback_file.write_text(
        json.dumps({"question": "Hvordan får vi heltidskultur i barnehagen?", "answered": False}) + "\n",
        encoding="utf-8",
    )
    at = run_app("Forbered samling")
    assert any("Velg et tema" in i.value for i in at.info)
    at.selectbox(key="theme_pick").set_value("heltidskultur").run()
    assert not at.exception
    shown = texts(at)
    assert "- **Halden**: Heltidskultur i helse og omsorg (erfaring)" in shown
    assert "Samling om heltidskultur" in shown
    assert "Hvordan får vi heltidskultur i barnehagen?" in shown
    assert "Erfaringer og råd" in shown  # the mini corpus has no «Dette lærte vi»: the page says so
    assert "Ingen har skrevet hva de lærte om temaet ennå." in shown
    assert at.get("download_button")
    assert "# Temabrief: heltidskultur" in shown
    at.text_input(key="theme_typed").set_value("kvantedatamaskiner").run()
    assert any("Ingen dokumenter handler om «kvantedatamaskiner»" in i.value for i in at.info)


# --- Kom i gang ------------------------------------------------------------------------------------------
def test_onboarding_page(ingested: Settings, answer_module: None) -> None:
    at = run_app("Kom i gang")
    shown = texts(at)
    assert "**Sarpsborg**" in shown and "**Halden**" in shown
    assert "Samling om heltidskultur" in shown
    assert "Nøkkeldokumenter per kommune" in shown
    button(at, "Hva gjorde Sarpsborg for å beholde nyansatte?").click().run()
    assert not at.exception
    assert at.title[0].value == "Spør erfaringsbanken"
    assert at.chat_message[0].markdown[0].value.startswith("Hva gjorde Sarpsborg")


# --- Legg til dokumenter ---------------------------------------------------------------------------------
def test_upload_page_offers_lists(ingested: Settings) -> None:
    at = run_app("Legg til dokumenter")
    assert at.title[0].value == "Legg til dokumenter"
    assert "Råde" in at.selectbox(key="upload_municipality").options
    assert at.selectbox(key="upload_type").options == [
        "Strategi eller plan",
        "Samlingsnotat",
        "Erfaring (delt case)",
        "Annet",
    ]
    assert "Største fil: 20 MB" in texts(at)


# --- failures are friendly -------------------------------------------------------------------------------
@pytest.mark.parametrize("page", ["Søk", "Spør", "Forbered samling", "Kom i gang"])
def test_empty_knowledge_base(page: str) -> None:
    at = run_app(page)
    assert any("Kunnskapsbasen er tom" in i.value for i in at.info)


def test_chroma_server_down(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KB_CHROMA_URL", "http://127.0.0.1:9")
    at = run_app()
    assert any("Får ikke kontakt med kunnskapsbasen" in e.value for e in at.error)


def test_model_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KB_EMBED_MODEL", "multilingual-e5-small")
    at = run_app()
    assert any("Språkmodellen mangler" in e.value and "kb setup" in e.value for e in at.error)


def test_invalid_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KB_CHUNK_SIZE", "ti")
    at = run_app()
    assert any("Ugyldig innstilling" in e.value for e in at.error)


def test_ask_streams_a_generated_answer_then_shows_the_checked_one(
    ingested: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ingest.chunking import split_sentences
    from tests.test_answer_generator import ScriptedServer

    server = ScriptedServer()
    quoted: list[str] = []

    def reply(passages: list[dict]) -> str:  # type: ignore[type-arg]
        lines = [line for s in split_sentences(passages[0]["tekst"]) for line in s.splitlines()]
        sentence = next(line for line in lines if len(line.split()) >= 5)
        quoted.append(sentence)
        return f"{sentence} [{passages[0]['nr']}] Oppdiktet påstand om noe helt annet [9]."

    try:
        server.reply = reply
        monkeypatch.setenv("KB_GENERATOR_URL", server.url)
        monkeypatch.setenv("KB_GENERATOR_MODEL", "test")
        at = run_app("Spør")
        at.chat_input[0].set_value("Hva gjorde Halden med heltid?").run()
        assert not at.exception
        assert server.requests and server.requests[-1]["body"]["stream"] is True
        shown = texts(at)
        assert quoted and quoted[0] in shown  # the checked answer replaced the draft …
        assert "Oppdiktet påstand" not in shown  # … without the uncited, unsupported sentence
        assert [m.name for m in at.chat_message] == ["user", "assistant"]
    finally:
        server.close()


# --- sign-in and per-municipality access --------------------------------------------------------------------
PASSWORD = "riktig-hest-batteri"


@pytest.fixture
def signed_network(make_kb, mini_corpus: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:  # type: ignore[no-untyped-def]
    """mini_corpus plus an internal Sarpsborg note, users from two municipalities, and sign-in switched on."""
    from kb.access.users import UserDirectory
    from tests.conftest import write

    write(
        mini_corpus,
        "Sarpsborg/erfaringer/intern-omstilling.md",
        "---\ntittel: Omstilling i omsorg\ntilgang: intern\n---\n# Omstilling i omsorg\n\n"
        "Solsikkeprosjektet flytter tolv årsverk til hjemmetjenesten.\n",
    )
    kb = make_kb()
    kb.ingest([mini_corpus])
    directory = UserDirectory(kb.settings.users_path)
    for name, role, municipality in (("kari", "bidragsyter", "Sarpsborg"), ("lise", "leser", "Halden")):
        directory.add(name, role=role, municipality=municipality, name=name.title())
        directory.set_password(name, PASSWORD)
    monkeypatch.setenv("KB_AUTH", "local")
    return kb.settings


def sign_in(username: str, password: str) -> AppTest:
    at = run_app()
    assert at.title[0].value == "Logg inn"
    at.text_input(key="signin_user").set_value(username)
    at.text_input(key="signin_password").set_value(password)
    button(at, "Logg inn").click().run()
    assert not at.exception, at.exception
    return at


def test_sign_in_is_required_and_a_wrong_password_gets_no_hint(signed_network: Settings) -> None:
    at = run_app()
    assert at.title[0].value == "Logg inn"
    assert "Søk i erfaringene" not in texts(at)  # nothing but the form: no page, no menu, filters or user box
    assert [t.label for t in at.text_input] == ["Brukernavn", "Passord"]
    assert [b.label for b in at.button] == ["Logg inn"]
    assert not at.sidebar.button and not at.sidebar.multiselect
    wrong = sign_in("kari", "feil-passord-000")
    unknown = sign_in("nils", PASSWORD)
    assert [e.value for e in wrong.error] == [e.value for e in unknown.error] == ["Feil brukernavn eller passord."]
    assert wrong.title[0].value == "Logg inn"


def test_a_reader_sees_the_network_but_not_another_municipalitys_internal_documents(
    signed_network: Settings,
) -> None:
    at = sign_in("lise", PASSWORD)
    assert at.title[0].value == "Søk i erfaringene"
    assert "Lise (Halden, leser)" in texts(at)
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page(PAGES["Legg til dokumenter"][0])  # a reader's menu has no upload page
    at.text_input(key="query").set_value("Solsikkeprosjektet årsverk").run()
    assert "Omstilling i omsorg" not in texts(at)
    assert "5 dokumenter · " in texts(at)  # the count leaves the internal note out
    at.text_input(key="query").set_value("introduksjonsprogram fadder").run()
    assert "**Introduksjonsprogram for nyansatte**" in texts(at)  # Sarpsborg's network document
    button(at, "Logg ut").click().run()
    assert at.title[0].value == "Logg inn"


def test_a_contributor_sees_their_own_internal_documents_and_uploads_only_for_their_municipality(
    signed_network: Settings,
) -> None:
    at = sign_in("kari", PASSWORD)
    at.text_input(key="query").set_value("Solsikkeprosjektet årsverk").run()
    assert "**Omstilling i omsorg**" in texts(at)
    go_to(at, "Legg til dokumenter")
    assert at.selectbox(key="upload_municipality").options == ["Sarpsborg"]
    assert "Fjern et dokument (administrator)" not in texts(at)


def test_a_reader_does_not_get_the_upload_page(signed_network: Settings) -> None:
    at = sign_in("lise", PASSWORD)
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page(PAGES["Legg til dokumenter"][0])
    at.query_params["side"] = "legg-til"  # nor through an old link
    at.run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Søk i erfaringene"
    assert "Legg til dokumenter" not in [t.value for t in at.title]
    assert not at.get("file_uploader")


@pytest.mark.parametrize("page", list(PAGES))
def test_old_side_links_open_their_page(ingested: Settings, page: str) -> None:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["side"] = PAGES[page][1]  # a bookmark from before the page URLs: ?side=spor
    at.run()
    assert not at.exception, at.exception
    assert at.title[0].value == TITLES[page]
    assert "side" not in at.query_params


def test_oidc_without_its_secrets_says_what_to_configure(ingested: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KB_AUTH", "oidc")
    at = run_app()
    assert any("Innlogging er ikke satt opp" in e.value and "secrets.toml" in e.value for e in at.error)
    assert "Søk i erfaringene" not in texts(at)


def test_oidc_offers_one_sign_in_button_per_identity_provider(
    ingested: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KB_AUTH", "oidc")
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    metadata = "https://login.microsoftonline.com/{}/v2.0/.well-known/openid-configuration"
    at.secrets["auth"] = {
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "x" * 32,
        "sarpsborg": {"client_id": "a", "client_secret": "b", "server_metadata_url": metadata.format("t1")},
        "halden": {"client_id": "c", "client_secret": "d", "server_metadata_url": metadata.format("t2")},
    }
    at.run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Logg inn"
    labels = {b.label for b in at.button}
    assert labels == {"Logg inn med jobbkonto i Sarpsborg", "Logg inn med jobbkonto i Halden"}
    assert "Søk i erfaringene" not in texts(at)
