"""Erfaringsbanken i nettleseren: søk, spør, forbered samling, kom i gang og legg til dokumenter.

Start with `streamlit run app.py`. Only layout lives here; the logic is in kb/ (views, themes, feedback,
uploads), where it is unit-tested.
"""

from __future__ import annotations

import os

# NOTE: OpenBLAS spins its own threads beside torch's; on 2 cores they fight and double query latency.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import logging
import re
import time
from collections.abc import Callable
from typing import Any

import streamlit as st

from kb.access import LOCAL_ADMIN, User, UserDirectory, UserView, uploads
from kb.config import Settings
from kb.errors import (
    AccessDeniedError,
    EmptyIndexError,
    KBError,
    ModelNotFoundError,
    StoreLockedError,
    StoreUnavailableError,
)
from kb.retrieve import best_per_document, group_by_municipality
from kb.types import RELATED_HEADING, Filters, Hit
from kb.views import display as views
from kb.views import feedback, themes

logger = logging.getLogger("app")

PAGES = {
    "Søk": "sok",
    "Spør": "spor",
    "Forbered samling": "samling",
    "Kom i gang": "kom-i-gang",
    "Legg til dokumenter": "legg-til",
}
RESULTS = 10
CSS = """
<style>
mark { background: #ffe58f; padding: 0 .15em; border-radius: .2em; }
/* Streamlit's uploader speaks English; the limit is stated in Norwegian above it. */
[data-testid="stFileUploaderDropzoneInstructions"] { display: none; }
[data-testid="stFileUploaderDropzone"] button { font-size: 0; }
[data-testid="stFileUploaderDropzone"] button::after { content: "Velg filer"; font-size: .875rem; }
</style>
"""


# --- set-up ------------------------------------------------------------------------------------------------
def configure_logging() -> None:
    """Warnings only, and quiet libraries (once per process)."""
    if getattr(configure_logging, "done", False):
        return
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("chromadb", "httpx", "sentence_transformers", "transformers", "bm25s", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    configure_logging.done = True  # type: ignore[attr-defined]


@st.cache_resource(show_spinner="Laster kunnskapsbasen og språkmodellen …", max_entries=4)
def load_kb(settings_json: str) -> Any:
    """One KnowledgeBase per configuration and process, with the model loaded (first search is fast)."""
    from kb.base import KnowledgeBase

    kb = KnowledgeBase(Settings.model_validate_json(settings_json))
    kb.embed_query("oppvarming")  # load the model now, not on the user's first search
    kb.lexical()
    return kb


def show_error(exc: BaseException) -> None:
    """A specific, friendly message and what to do; never a traceback."""
    if isinstance(exc, EmptyIndexError):
        st.info(
            "**Kunnskapsbasen er tom.** Legg til dokumenter under **Legg til dokumenter**, "
            "eller les inn eksempelkorpuset med `kb ingest corpus/`.",
            icon=":material/inbox:",
        )
    elif isinstance(exc, StoreUnavailableError):
        st.error(f"**Får ikke kontakt med kunnskapsbasen.** {exc}", icon=":material/cloud_off:")
    elif isinstance(exc, ModelNotFoundError):
        st.error(f"**Språkmodellen mangler.** {exc}", icon=":material/extension_off:")
    elif isinstance(exc, StoreLockedError):
        st.warning(f"**Kunnskapsbasen er opptatt.** {exc}", icon=":material/hourglass_top:")
    elif isinstance(exc, AccessDeniedError):
        st.warning(f"**Ingen tilgang.** {exc}", icon=":material/lock:")
    elif isinstance(exc, KBError):
        st.error(str(exc))
    else:
        logger.exception("unexpected error in the app")
        st.error(
            "**Noe gikk galt.** Prøv igjen om litt. Skjer det igjen, start appen på nytt og se i loggen "
            f"i terminalen ({type(exc).__name__}).",
            icon=":material/error:",
        )


def load_ask() -> Callable[..., Any] | None:
    """`kb.answer.ask`, or None while the answer module is not installed."""
    try:
        from kb.answer import ask
    except ImportError:
        return None
    return ask


# --- sign-in ------------------------------------------------------------------------------------------------
@st.cache_resource(max_entries=4)
def load_directory(path: str) -> UserDirectory:
    """The users file, shared by the sessions of this process (it re-reads itself when the file changes)."""
    from pathlib import Path

    return UserDirectory(Path(path))


def signed_in_user(settings: Settings) -> User | None:
    """The user of this session, or None after showing the sign-in page.

    `single-user` (the laptop default) needs no sign-in; `local` checks the users file's password hashes;
    `oidc` signs in through Streamlit's st.login (e.g. Entra ID) and maps the e-mail address to a user.
    """
    if settings.auth == "single-user":
        return LOCAL_ADMIN
    directory = load_directory(str(settings.users_path))
    if settings.auth == "oidc":
        return _oidc_user(directory)
    name = st.session_state.get("username")
    user = directory.user(name) if name else None  # NOTE: re-read every run: a removed user is signed out
    if user is not None:
        return user
    st.session_state.pop("username", None)
    st.title("Logg inn")
    st.caption("Erfaringsbanken er for medlemmene i læringsnettverket. Logg inn med brukeren du har fått.")
    with st.form("sign-in"):
        username = st.text_input("Brukernavn", key="signin_user")
        password = st.text_input("Passord", type="password", key="signin_password")
        submitted = st.form_submit_button("Logg inn", type="primary")
    if submitted:
        try:
            user = directory.authenticate(username, password)
        except AccessDeniedError as exc:
            st.error(str(exc), icon=":material/lock:")
            return None
        st.session_state["username"] = user.username
        st.rerun()
    return None


def _has_auth_secrets() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # StreamlitSecretNotFoundError: no secrets.toml at all
        return False


def _providers() -> list[str | None]:
    """Named providers under [auth] in secrets.toml ([auth.sarpsborg] …), or [None] for a single one."""
    auth = st.secrets["auth"]
    named = [str(k) for k, v in auth.items() if hasattr(v, "get") and v.get("client_id")]
    return list(named) or [None]


def _oidc_user(directory: UserDirectory) -> User | None:
    if not _has_auth_secrets():
        st.error(
            "**Innlogging er ikke satt opp.** KB_AUTH=oidc krever en [auth]-seksjon i .streamlit/secrets.toml "
            "(redirect_uri, cookie_secret, client_id, client_secret, server_metadata_url). Se README, "
            "«Drift for nettverket».",
            icon=":material/lock:",
        )
        return None
    if not getattr(st.user, "is_logged_in", False):  # (AppTest has no user info at all)
        st.title("Logg inn")
        st.caption("Erfaringsbanken er for medlemmene i læringsnettverket. Logg inn med jobbkontoen din.")
        for provider in _providers():  # one button per identity provider, e.g. one per municipality's Entra ID
            label = f"Logg inn med jobbkonto i {provider.title()}" if provider else "Logg inn med jobbkontoen"
            st.button(label, type="primary", on_click=st.login, args=(provider,) if provider else ())
        return None
    email = str(st.user.get("email") or st.user.get("preferred_username") or "")
    user = directory.for_identity(email)
    if user is None:
        st.title("Ingen tilgang")
        st.warning(
            f"Du er logget inn som {email or 'ukjent'}, men har ikke tilgang til Erfaringsbanken ennå. "
            "Be administratoren i nettverket om å legge deg til.",
            icon=":material/lock:",
        )
        st.button("Logg ut", on_click=st.logout)
        return None
    return user


def sign_out() -> None:
    """Forget the session's user (local sign-in) and start over."""
    for key in ("username", "chat", "source_view"):
        st.session_state.pop(key, None)


def sidebar_user(user: User, settings: Settings) -> None:
    """Who is signed in, and the way out."""
    if settings.auth == "single-user":
        st.sidebar.caption(
            ":material/person: Enbrukermodus: den som åpner appen, er administrator. Sett KB_AUTH=local eller oidc "
            "før andre får tilgang."
        )
        return
    st.sidebar.caption(f":material/person: {user.label}")
    if settings.auth == "oidc":
        st.sidebar.button("Logg ut", key="sign-out", on_click=st.logout)
    else:
        st.sidebar.button("Logg ut", key="sign-out", on_click=sign_out)


# --- navigation and shared state ------------------------------------------------------------------------
def open_source(source: str, chunk_index: int | None = None, quote: str = "", page: int | None = None) -> None:
    """Show the source view (callback of every «Åpne kilde» button)."""
    st.session_state["source_view"] = {
        "source": source,
        "chunk_index": chunk_index,
        "quote": quote,
        "page": page,
    }


def close_source() -> None:
    """Back from the source view to the page."""
    st.session_state.pop("source_view", None)


def go_ask(question: str) -> None:
    """Switch to Spør and ask `question` (the onboarding page's suggested questions)."""
    st.session_state["side"] = "Spør"
    st.session_state["pending_question"] = question
    close_source()


def choose_page(user: User) -> str:
    """The sidebar menu (upload only for roles that may); `?side=spor` in the URL opens a page directly."""
    pages = [p for p in PAGES if p != "Legg til dokumenter" or user.can_upload]
    if st.session_state.get("side") not in pages:
        wanted = st.query_params.get("side", "")
        st.session_state["side"] = next((p for p in pages if PAGES[p] == wanted), "Søk")
    return str(st.sidebar.radio("Meny", pages, key="side", on_change=close_source))


def sidebar_filters(documents: list[Any]) -> Filters:
    """Kommune, dokumenttype, periode and tema, for Søk and Spør."""
    choices = views.filter_choices(documents)
    st.sidebar.subheader("Filtre")
    municipalities = st.sidebar.multiselect("Kommune", choices.municipalities, placeholder="Alle kommuner")
    doc_types = st.sidebar.multiselect(
        "Dokumenttype", choices.doc_types, format_func=views.doc_type_label, placeholder="Alle typer"
    )
    years = None
    if choices.years and choices.years[0] < choices.years[1]:
        years = st.sidebar.slider("Periode", choices.years[0], choices.years[1], choices.years, key="years")
    topics = st.sidebar.multiselect("Tema", choices.themes, placeholder="Alle temaer")
    return views.build_filters(municipalities, doc_types, topics, years, choices.years)


def sidebar_status(kb: Any) -> None:
    """Documents and chunks per municipality, last ingest, model and answer mode."""
    stats = kb.stats()
    st.sidebar.divider()
    st.sidebar.caption(views.status_line(stats, kb.settings))
    rows = views.per_municipality_rows(stats)
    if rows:
        with st.sidebar.expander("Dokumenter per kommune"):
            table = "| Kommune | Dok. | Biter |\n|---|---:|---:|\n" + "\n".join(
                f"| {r['Kommune']} | {r['Dokumenter']} | {r['Tekstbiter']} |" for r in rows
            )
            st.markdown(table)


# --- shared pieces ------------------------------------------------------------------------------------------
def hit_card(hit: Hit, query: str, key: str) -> None:
    """One search result: title, place, type, date, page and the passage with the query words marked."""
    with st.container(border=True):
        st.markdown(f"**{views.escape_markdown(hit.title or hit.source)}**")
        line = views.meta_line(hit.metadata)
        if hit.superseded:
            line += " · eldre versjon (det finnes en nyere)"
        st.caption(line)
        st.markdown(views.highlight(views.excerpt(hit.text, query), query), unsafe_allow_html=True)
        st.button(
            "Åpne kilde",
            key=f"open-{key}",
            on_click=open_source,
            kwargs={
                "source": hit.source,
                "chunk_index": _int(hit.metadata.get("chunk_index")),
                "page": hit.page,
            },
        )


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) else None


def source_view(kb: Any, state: dict[str, Any]) -> None:
    """The whole document, opened at the cited passage (for PDFs: at its page), with the original file."""
    st.button("← Tilbake", key="source-back", on_click=close_source)
    source = str(state["source"])
    chunks = kb.chunks_of(source)
    if not chunks:
        st.warning("Dokumentet finnes ikke lenger i kunnskapsbasen. Det kan ha blitt fjernet eller lest inn på nytt.")
        return
    meta = chunks[0][1]
    st.header(str(meta.get("title", source)))
    st.caption(views.meta_line({k: v for k, v in meta.items() if k != "page"}) + f" · `{source}`")
    original = kb.original(source)
    if original is not None:
        st.download_button(
            f"Last ned originalfilen ({original.suffix.lstrip('.').upper()})",
            data=original.read_bytes(),
            file_name=original.name,
            mime=uploads.mime_type(original),
            key="download-original",
        )
    else:
        st.caption("Originalfilen finnes ikke på denne maskinen; teksten under er det som er lest inn.")
    blocks = views.document_blocks(chunks)
    target = views.locate_passage(
        blocks,
        chunk_index=state.get("chunk_index"),
        quote=str(state.get("quote") or ""),
        page=state.get("page"),
    )
    query = str(st.session_state.get("query", ""))
    shown = list(range(len(blocks)))
    pages = views.pages_of(blocks)
    if pages:
        start = blocks[target].page if target is not None and blocks[target].page else pages[0]
        page = st.selectbox(
            "Side",
            pages,
            index=pages.index(start) if start in pages else 0,
            format_func=lambda p: f"Side {p} av {pages[-1]}",
            key=f"page-{source}-{target}",
        )
        shown = [i for i, b in enumerate(blocks) if b.page == page]
    if target is None or target not in shown:
        for i in shown:
            st.markdown(views.highlight(blocks[i].text, query), unsafe_allow_html=True)
        return
    before = [i for i in shown if i < target]
    if before:
        with st.expander("Teksten før det siterte avsnittet"):
            for i in before:
                st.markdown(views.highlight(blocks[i].text, query), unsafe_allow_html=True)
    with st.container(border=True):
        st.caption(":material/format_quote: Sitert avsnitt")
        quoted = str(state.get("quote") or "")
        text = blocks[target].text
        body = views.mark_quote(text, quoted, query) if quoted else views.highlight(text, query)
        st.markdown(body, unsafe_allow_html=True)
    for i in shown:
        if i > target:
            st.markdown(views.highlight(blocks[i].text, query), unsafe_allow_html=True)


# --- pages ------------------------------------------------------------------------------------------------
def page_search(kb: Any, filters: Filters) -> None:
    """Søk: a query box, result cards, and grouping by municipality."""
    st.title("Søk i erfaringene")
    query = st.text_input(
        "Hva leter du etter?",
        key="query",
        placeholder="For eksempel: hvordan beholde nyansatte i hjemmetjenesten",
    )
    grouped = st.toggle("Grupper etter kommune", key="grouped")
    if not query.strip():
        st.caption("Skriv noen ord eller et spørsmål. Filtrene i sidemenyen avgrenser søket.")
        return
    started = time.perf_counter()
    hits = kb.search(query, k=RESULTS * 3, filters=filters or None)
    elapsed = time.perf_counter() - started
    # NOTE: one card per document (its best passage): neighbouring chunks of one file repeat each other.
    hits = best_per_document(hits)
    if not grouped:
        hits = hits[:RESULTS]
    if not hits:
        advice = " Prøv å fjerne noen filtre i sidemenyen." if filters else " Prøv andre eller færre ord."
        st.info(f"Ingen treff på «{query}».{advice}", icon=":material/search_off:")
        return
    if grouped:
        groups = group_by_municipality(hits, per_group=3)
        st.caption(f"Treff fra {len(groups)} kommuner ({elapsed:.2f} s)")
        for municipality, group in groups.items():
            st.subheader(municipality)
            for n, hit in enumerate(group):
                hit_card(hit, query, f"{municipality}-{n}-{hit.id}")
    else:
        st.caption(f"{len(hits)} dokumenter ({elapsed:.2f} s)")
        for n, hit in enumerate(hits):
            hit_card(hit, query, f"{n}-{hit.id}")


def _vote(index: int, vote: str) -> None:
    turn = st.session_state["chat"][index]
    turn["vote"] = vote
    settings = st.session_state["settings"]
    feedback.record(settings.feedback_file, feedback.entry_for(turn["question"], turn["answer"], vote))


def _answer_markdown(text: str) -> str:
    # The answer is Markdown from kb.answer; only LaTeX and raw HTML are neutralised.
    return text.replace("$", r"\$").replace("<", "&lt;")


def _citation(index: int, citation: Any, kind: str, *, numbered: bool = True) -> None:
    """A source as an expander with every sentence the answer quotes from it, and a button that opens it."""
    label = f"{citation.title or citation.source} – {citation.municipality}"
    if numbered:
        label = f"[{citation.n}] {label}"
    if citation.page:
        label += f", side {citation.page}"
    with st.expander(label):
        for quote in citation.quotes or (citation.text,):
            st.markdown("> " + views.escape_markdown(quote).replace("  \n", " "))
        st.button(
            "Åpne kilden",
            key=f"{kind}-{index}-{citation.n}",
            on_click=open_source,
            kwargs={"source": citation.source, "quote": citation.text, "page": citation.page},
        )


def chat_turn(index: int, turn: dict[str, Any]) -> None:
    """One question and its answer, with citations that expand and open their source, and thumbs."""
    with st.chat_message("user"):
        st.markdown(views.escape_markdown(turn["question"]))
    with st.chat_message("assistant"):
        if turn.get("error"):
            st.warning(turn["error"])
            return
        answer = turn["answer"]
        # NOTE: the «Kanskje relevant» list of a not-found answer is shown as documents to open, not as text.
        st.markdown(_answer_markdown(answer.text.split(f"\n\n{RELATED_HEADING}:")[0]))
        if answer.notice:
            st.caption(answer.notice)
        for citation in answer.citations:
            _citation(index, citation, "cite")
        if answer.related:
            st.markdown(f"**{RELATED_HEADING}**")
            for citation in answer.related:
                _citation(index, citation, "related", numbered=False)
        if turn.get("vote"):
            st.caption("Takk for tilbakemeldingen!")
        else:
            up, down, _ = st.columns([1, 1, 4])
            up.button("Nyttig", key=f"up-{index}", icon=":material/thumb_up:", on_click=_vote, args=(index, "up"))
            down.button(
                "Ikke nyttig", key=f"down-{index}", icon=":material/thumb_down:", on_click=_vote, args=(index, "down")
            )


def page_ask(kb: Any, filters: Filters) -> None:
    """Spør: a chat with cited answers; earlier questions in the session stay visible."""
    st.title("Spør erfaringsbanken")
    ask = load_ask()
    if ask is None:
        st.info("Spør-funksjonen kommer snart. Bruk **Søk** i mellomtiden.", icon=":material/construction:")
        return
    history: list[dict[str, Any]] = st.session_state.setdefault("chat", [])
    if not history:
        st.caption("Svarene bygger bare på dokumentene i kunnskapsbasen, med kilde til hver påstand.")
    for index, turn in enumerate(history):
        chat_turn(index, turn)
    question = st.chat_input("Still et spørsmål om erfaringene …", key="question")
    question = question or st.session_state.pop("pending_question", None)
    if not question or not question.strip():
        return
    turn: dict[str, Any] = {"question": question.strip(), "answer": None, "vote": None}
    try:
        if kb.settings.generator_url:
            turn["answer"] = stream_answer(kb, turn["question"], filters or None)
        else:
            with st.spinner("Leter i erfaringene …"):
                turn["answer"] = ask(kb, turn["question"], filters or None)
    except EmptyIndexError:
        turn["error"] = (
            "Kunnskapsbasen er tom. Legg til dokumenter først (Legg til dokumenter, eller `kb ingest corpus/`)."
        )
    except KBError as exc:
        turn["error"] = str(exc)
    except (ConnectionError, TimeoutError, OSError) as exc:
        logger.warning("generator unreachable: %s", exc)
        turn["error"] = (
            "Får ikke kontakt med svargeneratoren. Prøv igjen om litt, eller fjern KB_GENERATOR_URL for å få "
            "svar satt sammen direkte fra dokumentene."
        )
    history.append(turn)
    if turn["answer"] is not None and not turn["answer"].answered:
        entry = feedback.entry_for(turn["question"], turn["answer"])
        feedback.record(kb.settings.feedback_file, entry)
    chat_turn(len(history) - 1, turn)


def stream_answer(kb: Any, question: str, filters: Filters | None) -> Any:
    """Show the generator's draft as it arrives, then replace it with the checked, cited answer."""
    from kb.answer import ask_stream

    stream = ask_stream(kb, question, filters)
    draft = st.empty()
    with draft.container(), st.chat_message("assistant"):
        st.caption("Utkast fra svargeneratoren – kildene sjekkes når det er ferdig …")
        st.write_stream(stream)
    draft.empty()
    return stream.answer


def page_prepare(kb: Any, documents: list[Any]) -> None:
    """Forbered samling: who wrote about a theme, sessions over time, challenges, measures, open questions."""
    st.title("Forbered samling")
    st.caption("For fasilitatorer: se hva nettverket allerede vet om et tema, og last ned en temabrief.")
    choices = views.filter_choices(documents)
    left, right = st.columns(2)
    picked = left.selectbox("Velg et tema", ["", *choices.themes], key="theme_pick", format_func=lambda t: t or "–")
    typed = right.text_input("… eller skriv et tema", key="theme_typed", placeholder="For eksempel: turnus")
    theme = (typed or picked or "").strip()
    if not theme:
        st.info("Velg et tema fra listen eller skriv inn ditt eget.", icon=":material/explore:")
        return
    overview = themes.theme_overview(kb, theme, feedback.read(kb.settings.feedback_file))
    if overview.is_empty:
        st.info(
            f"Ingen dokumenter handler om «{theme}» ennå. Prøv et annet ord, eller et bredere tema.",
            icon=":material/search_off:",
        )
    else:
        a, b, c = st.columns(3)
        a.metric("Kommuner", len(overview.municipalities))
        b.metric("Dokumenter", len(overview.documents))
        c.metric("Samlinger", len(overview.sessions))

        st.subheader("Hvem har skrevet om temaet")
        for municipality, docs in overview.municipalities.items():
            titles = "; ".join(
                f"{views.escape_markdown(d.title)} ({views.doc_type_label(d.doc_type).lower()})" for d in docs
            )
            st.markdown(f"- **{municipality}**: {titles}")

        st.subheader("Samlinger over tid")
        rows = themes.timeline_rows(overview)
        if rows:
            timeline_chart(rows)
            for session in overview.sessions:
                st.markdown(f"- **{views.format_date(session.date)}**: {views.escape_markdown(session.title)}")
        else:
            st.caption("Temaet har ikke vært tema på en samling ennå.")

        left, right = st.columns(2)
        with left:
            st.subheader("Gjentakende utfordringer")
            findings_list(overview.challenges, "Ingen utfordringer er beskrevet i tekstene.", "c")
        with right:
            st.subheader("Tiltak som er prøvd")
            findings_list(overview.measures, "Ingen tiltak er beskrevet i tekstene.", "m")

    st.subheader("Åpne spørsmål")
    if overview.questions:
        for question in overview.questions[:10]:
            st.markdown(f"- {views.escape_markdown(question.question)}")
    else:
        st.caption("Ingen ubesvarte eller dårlig besvarte spørsmål om temaet er registrert.")

    brief = themes.theme_brief(overview)
    slug = re.sub(r"[^a-z0-9æøå]+", "-", theme.lower()).strip("-") or "tema"
    st.download_button(
        "Last ned temabrief (Markdown)", data=brief, file_name=f"temabrief-{slug}.md", mime="text/markdown"
    )
    with st.expander("Forhåndsvis temabrief"):
        st.markdown(brief.replace("$", r"\$"))


def timeline_chart(rows: list[dict[str, Any]]) -> None:
    """Session notes as points on a time axis, titles on hover."""
    import altair as alt
    import pandas as pd

    frame = pd.DataFrame(rows)
    frame["Dato"] = pd.to_datetime(frame["Dato"])
    chart = (
        alt.Chart(frame)
        .mark_circle(size=160)
        .encode(
            x=alt.X("Dato:T", title=None, axis=alt.Axis(format="%b %Y")),
            y=alt.value(30),
            tooltip=["Samling", alt.Tooltip("Dato:T", format="%d.%m.%Y"), "Tema"],
        )
        .properties(height=70)
    )
    st.altair_chart(chart, width="stretch")


def findings_list(findings: list[themes.Finding], empty: str, key: str) -> None:
    """Sentences with their municipality and a button to open the source."""
    if not findings:
        st.caption(empty)
        return
    for n, finding in enumerate(findings):
        source = f"{finding.municipality}: {views.escape_markdown(finding.title)}"
        st.markdown(f"- {views.escape_markdown(finding.text)}  \n  *{source}*")
        st.button(
            "Åpne kilde",
            key=f"finding-{key}-{n}",
            type="tertiary",
            on_click=open_source,
            kwargs={"source": finding.source, "quote": finding.text, "page": finding.page},
        )


def page_onboarding(documents: list[Any]) -> None:
    """Kom i gang: the network, its members, sessions so far, key documents and first questions."""
    st.title("Kom i gang")
    st.markdown(
        "Læringsnettverket i **Kompetanseforum Østfold** samler HR- og kompetansemiljøene i kommunene "
        "i Østfold og fylkeskommunen. Vi møtes på samlinger, deler det som virker (og det som ikke virket) "
        "og bygger felles kunnskap om rekruttering, heltidskultur, kompetanseutvikling og ledelse. "
        "Erfaringsbanken samler strategiene, erfaringene og samlingsnotatene, så du kan finne dem igjen."
    )
    data = views.onboarding(documents)
    for doc in data.about:
        st.button(
            f"📄 {doc.title}",
            key=f"about-{doc.source}",
            type="tertiary",
            on_click=open_source,
            args=(doc.source,),
        )

    st.subheader("Hvem er med")
    if data.members:
        columns = st.columns(3)
        for n, (member, count) in enumerate(data.members):
            columns[n % 3].markdown(f"**{member}**  \n{count} dokumenter i banken")
    else:
        st.caption("Ingen medlemmer har delt dokumenter ennå.")

    st.subheader("Samlingene så langt")
    if data.sessions:
        for session in data.sessions:
            topics = f" · tema: {', '.join(session.themes)}" if session.themes else ""
            when = views.format_date(session.date) or "Udatert"
            st.markdown(f"- **{when}**: {views.escape_markdown(session.title)}{topics}")
    else:
        st.caption("Ingen samlingsnotater er lagt inn ennå.")

    st.subheader("Nøkkeldokumenter per kommune")
    columns = st.columns(3)
    for n, (municipality, docs) in enumerate(data.key_documents.items()):
        with columns[n % 3]:
            st.markdown(f"**{municipality}**")
            for doc in docs:
                year = f", {doc.date[:4]}" if doc.date else ""
                st.button(
                    f"{doc.title} ({views.doc_type_label(doc.doc_type).lower()}{year})",
                    key=f"key-{doc.source}",
                    type="tertiary",
                    on_click=open_source,
                    args=(doc.source,),
                )

    st.subheader("Spørsmål å begynne med")
    for n, question in enumerate(data.questions):
        st.button(question, key=f"suggest-{n}", on_click=go_ask, args=(question,))


def page_upload(kb: UserView, documents: list[Any]) -> None:
    """Legg til dokumenter: upload for one's own municipality, check, keep the original, ingest with progress."""
    st.title("Legg til dokumenter")
    settings = kb.settings
    user = kb.user
    allowed = ", ".join(s.lstrip(".").upper() for s in uploads.ALLOWED_SUFFIXES)
    st.caption(
        f"Filtyper: {allowed}. Største fil: {settings.max_upload_mb} MB. Personnummer, telefonnumre og "
        "e-postadresser maskeres ved innlesing."
    )
    if user.is_admin:
        present = {d.municipality for d in documents}
        municipalities = [*views.MEMBERS, views.NETWORK, *sorted(present - {*views.MEMBERS, views.NETWORK, ""})]
    else:
        municipalities = [user.municipality]
    with st.form("upload", clear_on_submit=True):
        municipality = st.selectbox(
            "Kommune", municipalities, key="upload_municipality", disabled=len(municipalities) == 1
        )
        folder = st.selectbox(
            "Dokumenttype",
            list(uploads.TYPE_FOLDERS),
            format_func=uploads.TYPE_FOLDERS.get,
            key="upload_type",
        )
        visibility = st.radio(
            "Hvem kan lese dokumentet?",
            ["nettverket", "intern"],
            format_func=lambda v: "Hele nettverket" if v == "nettverket" else "Bare vår kommune (internt)",
            key="upload_visibility",
            horizontal=True,
        )
        files = st.file_uploader("Filer", accept_multiple_files=True, key="upload_files")
        replace = st.checkbox("Erstatt dokumenter med samme navn", key="upload_replace")
        submitted = st.form_submit_button("Last opp og les inn", type="primary")
    if user.is_admin:
        remove_documents(kb, documents)
    if not submitted:
        return
    if not files:
        st.warning("Velg minst én fil først.")
        return
    known = [d.source for d in kb.kb.documents()]  # every stored name, so nothing is overwritten unasked
    staged: list[uploads.StagedFile] = []
    names: dict[str, str] = {}  # source -> the name the user chose (a long or taken name is stored shortened)
    for file in files:
        try:
            staged.append(
                kb.stage_upload(
                    municipality,
                    folder,
                    file.name,
                    file.getvalue(),
                    visibility=visibility,
                    replace=replace,
                    known=known,
                )
            )
        except (uploads.UploadError, AccessDeniedError) as exc:
            st.error(str(exc))
            continue
        names[staged[-1].source] = file.name
    if not staged:
        return
    bar = st.progress(0.0, text="Leser inn …")

    def progress(done: int, total: int, source: str) -> None:
        bar.progress(done / max(total, 1), text=f"Leser inn {source} ({done}/{total})")

    try:
        report = kb.ingest_uploads(progress=progress)
    except StoreLockedError:
        uploads.unstage(staged)
        bar.empty()
        st.warning(
            "**Kunnskapsbasen er opptatt.** En annen innlesing pågår (for eksempel `kb ingest`). "
            "Vent til den er ferdig og last opp på nytt.",
            icon=":material/hourglass_top:",
        )
        return
    bar.progress(1.0, text="Ferdig")
    skipped = dict(report.skipped)
    readers = "hele nettverket" if visibility == "nettverket" else f"bare {municipality}"
    for item in staged:
        name = names.get(item.source, item.path.name)
        if item.source in skipped:
            uploads.unstage([item])
            st.error(f"«{name}» kunne ikke leses: {skipped[item.source]}")
        elif item.source in report.added:
            kind = uploads.TYPE_FOLDERS[folder].lower()
            st.success(
                f"«{name}» er lagt til for {municipality} ({kind}), synlig for {readers}. Du finner det nå under Søk."
            )
        elif item.source in report.updated:
            st.success(f"«{name}» er oppdatert, synlig for {readers}.")
        else:
            st.info(f"«{name}» var allerede lest inn, uendret.")


def remove_documents(kb: UserView, documents: list[Any]) -> None:
    """For admins: take a document out of the store (logged in the audit log)."""
    with st.expander("Fjern et dokument (administrator)"):
        source = st.selectbox(
            "Dokument",
            [""] + [d.source for d in documents],
            format_func=lambda s: s or "–",
            key="remove_source",
        )
        confirm = st.checkbox("Ja, fjern dokumentet fra kunnskapsbasen", key="remove_confirm")
        if st.button("Fjern", key="remove_button", disabled=not (source and confirm)):
            removed = kb.remove(source)
            st.success(f"Fjernet {source} ({removed} tekstbiter).")


# --- main ---------------------------------------------------------------------------------------------------
def main() -> None:
    """Build the page from the sidebar's choice."""
    st.set_page_config(page_title="Erfaringsbanken", page_icon=":material/menu_book:", layout="wide")
    configure_logging()
    st.markdown(CSS, unsafe_allow_html=True)
    st.sidebar.title("Erfaringsbanken")
    st.sidebar.caption("Kompetanseforum Østfold – læringsnettverket")
    try:
        settings = Settings()
    except Exception as exc:  # pydantic's ValidationError: say which variable is wrong
        st.error(f"**Ugyldig innstilling.** Sjekk KB_-variablene: {exc}")
        return
    st.session_state["settings"] = settings
    try:
        user = signed_in_user(settings)
    except KBError as exc:  # an unreadable users file
        show_error(exc)
        return
    if user is None:
        return
    sidebar_user(user, settings)
    page = choose_page(user)
    try:
        # NOTE: pages only ever get the user's view: every read is scoped to what they may see.
        kb = UserView(load_kb(settings.model_dump_json()), user)
        documents = kb.documents()
    except Exception as exc:
        show_error(exc)
        return
    state = st.session_state.get("source_view")
    try:
        filters = sidebar_filters(documents) if page in ("Søk", "Spør") and documents else Filters()
        if state:
            source_view(kb, state)
        elif page == "Legg til dokumenter":
            page_upload(kb, documents)
        elif not documents:
            st.title(page)
            show_error(EmptyIndexError())
        elif page == "Søk":
            page_search(kb, filters)
        elif page == "Spør":
            page_ask(kb, filters)
        elif page == "Forbered samling":
            page_prepare(kb, documents)
        else:
            page_onboarding(documents)
        sidebar_status(kb)
    except Exception as exc:
        show_error(exc)


main()
