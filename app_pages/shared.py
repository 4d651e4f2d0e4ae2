"""What several pages (and app.py around them) show: the source view, sidebar filters and status, errors."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import streamlit as st

from ingest.roles import PART_LABELS
from kb.access import UserView, uploads
from kb.errors import (
    AccessDeniedError,
    EmptyIndexError,
    KBError,
    ModelNotFoundError,
    StoreLockedError,
    StoreUnavailableError,
)
from kb.types import Filters
from kb.views import display as views

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PageContext:
    """What app.py loaded for the page it runs: the user's view of the base, their documents, the filters."""

    kb: UserView
    documents: list[Any]
    filters: Filters


def context() -> PageContext:
    """The context app.py set right before `page.run()`.

    NOTE: Streamlit runs a page file itself and passes it nothing, so the entry point hands the page its
    context through the session (one per browser tab); it is replaced on every run.
    """
    return st.session_state["page_context"]


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


# --- the source view ---------------------------------------------------------------------------------------
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


# --- the sidebar -------------------------------------------------------------------------------------------
def sidebar_filters(documents: list[Any], parts: bool = False) -> Filters:
    """Kommune, dokumenttype, periode and tema, for Søk and Spør; with `parts`, the part of a text too (Søk).

    NOTE: not on Spør: an answer reads whole documents to tell what was done and what came of it.
    """
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
    roles: list[str] = []
    if parts:
        roles = st.sidebar.multiselect(
            "Del av teksten",
            list(PART_LABELS),
            format_func=PART_LABELS.__getitem__,
            placeholder="Hele teksten",
            help="Bare avsnitt under overskrifter som «Tiltak», «Resultater» eller «Dette lærte vi».",
        )
    return views.build_filters(municipalities, doc_types, topics, years, choices.years, roles)


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
