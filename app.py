"""Erfaringsbanken i nettleseren: søk, spør, forbered samling, kom i gang og legg til dokumenter.

Start with `streamlit run app.py`. This entry point signs the user in, loads the knowledge base and runs the
page chosen in the menu (st.navigation); the pages are in app_pages/, one file each. Only layout lives
there; the logic is in kb/ (views, themes, feedback, uploads), where it is unit-tested.
"""

from __future__ import annotations

import os

# NOTE: OpenBLAS spins its own threads beside torch's; on 2 cores they fight and double query latency.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import logging
from pathlib import Path
from typing import Any

import streamlit as st

from app_pages import sign_in
from app_pages.shared import PageContext, close_source, show_error, sidebar_filters, sidebar_status, source_view
from kb.access import LOCAL_ADMIN, User, UserDirectory, UserView
from kb.config import Settings
from kb.errors import EmptyIndexError, KBError
from kb.types import Filters

# (file, menu title, url path): the url path is also the `?side=` slug of links from before the page URLs
PAGES = (
    ("app_pages/search.py", "Søk", "sok"),
    ("app_pages/ask.py", "Spør", "spor"),
    ("app_pages/prepare.py", "Forbered samling", "samling"),
    ("app_pages/onboarding.py", "Kom i gang", "kom-i-gang"),
    ("app_pages/upload.py", "Legg til dokumenter", "legg-til"),
)
CSS = """
<style>
mark { background: #ffe58f; padding: 0 .15em; border-radius: .2em; }
/* Streamlit's uploader speaks English; the limit is stated in Norwegian above it. */
[data-testid="stFileUploaderDropzoneInstructions"] { display: none; }
[data-testid="stFileUploaderDropzone"] button { font-size: 0; }
[data-testid="stFileUploaderDropzone"] button::after { content: "Velg filer"; font-size: .875rem; }
</style>
"""


# --- set-up and sign-in -------------------------------------------------------------------------------------
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


@st.cache_resource(max_entries=4)
def load_directory(path: str) -> UserDirectory:
    """The users file, shared by the sessions of this process (it re-reads itself when the file changes)."""
    return UserDirectory(Path(path))


def signed_in_user(settings: Settings) -> User | None:
    """The user of this session, or None while nobody is signed in (app_pages/sign_in.py then asks).

    `single-user` (the laptop default) needs no sign-in; `local` checks the users file's password hashes;
    `oidc` signs in through Streamlit's st.login (e.g. Entra ID) and maps the e-mail address to a user.
    """
    if settings.auth == "single-user":
        return LOCAL_ADMIN
    directory = load_directory(str(settings.users_path))
    if settings.auth == "oidc":
        signed_in = sign_in.has_auth_secrets() and getattr(st.user, "is_logged_in", False)
        return directory.for_identity(sign_in.email()) if signed_in else None
    name = st.session_state.get("username")
    user = directory.user(name) if name else None  # NOTE: re-read every run: a removed user is signed out
    if user is None:
        st.session_state.pop("username", None)
    return user


def sign_out() -> None:
    """Forget the session's user (local sign-in) and start over."""
    for key in ("username", "chat", "source_view", "page_context"):
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


# --- navigation ---------------------------------------------------------------------------------------------
def menu(user: User | None) -> dict[str, st.Page]:
    """The pages this user may open, by url path (upload only for roles that may); Søk is the start page."""
    return {
        slug: st.Page(path, title=title, url_path=slug, default=slug == "sok")
        for path, title, slug in PAGES
        if slug != "legg-til" or user is None or user.can_upload
    }


def follow_old_link(pages: dict[str, st.Page]) -> None:
    """Send a bookmark from before the page URLs (`?side=spor`) to the page's own URL (`/spor`)."""
    slug = st.query_params.get("side")
    if slug is None:
        return
    del st.query_params["side"]
    if slug in pages:  # an unknown slug, or one for a page this user may not open, stays on Søk as before
        st.switch_page(pages[slug])


def main() -> None:
    """Sign in, draw the menu, then run the chosen page (or the source view opened from it)."""
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
    pages = menu(user)
    # NOTE: before sign-in every page is known but none is listed, so a link to /spor opens Spør after it.
    page = st.navigation(list(pages.values()), position="hidden" if user is None else "sidebar")
    if user is None:
        sign_in.show(settings, load_directory(str(settings.users_path)))
        return
    sidebar_user(user, settings)
    follow_old_link(pages)
    if st.session_state.get("page") != page.title:  # another page chosen: leave the source view
        close_source()
        st.session_state["page"] = page.title
    try:
        # NOTE: pages only ever get the user's view: every read is scoped to what they may see.
        kb = UserView(load_kb(settings.model_dump_json()), user)
        documents = kb.documents()
    except Exception as exc:
        show_error(exc)
        return
    state = st.session_state.get("source_view")
    try:
        searching = page.title in ("Søk", "Spør") and documents
        filters = sidebar_filters(documents, parts=page.title == "Søk") if searching else Filters()
        if state:
            source_view(kb, state)
        elif not documents and page.title != "Legg til dokumenter":
            st.title(page.title)
            show_error(EmptyIndexError())
        else:
            st.session_state["page_context"] = PageContext(kb, documents, filters)
            page.run()
        sidebar_status(kb)
    except Exception as exc:
        show_error(exc)


main()
