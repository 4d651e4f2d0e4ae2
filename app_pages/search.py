"""Søk: a query box, result cards with the query words marked, and grouping by municipality."""

from __future__ import annotations

import time
from typing import Any

import streamlit as st

from app_pages.shared import context, open_source
from kb.retrieve import best_per_document, group_by_municipality
from kb.types import Filters, Hit
from kb.views import display as views

RESULTS = 10


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
                hit_card(hit, query, f"{municipality}-{n}-{hit.id}", filters.roles)
    else:
        st.caption(f"{len(hits)} dokumenter ({elapsed:.2f} s)")
        for n, hit in enumerate(hits):
            hit_card(hit, query, f"{n}-{hit.id}", filters.roles)


def hit_card(hit: Hit, query: str, key: str, roles: tuple[str, ...] = ()) -> None:
    """One search result: title, place, type, date, page and the passage with the query words marked.

    With a part of the text asked for («Del av teksten»), the passage starts where that part does.
    """
    with st.container(border=True):
        st.markdown(f"**{views.escape_markdown(hit.title or hit.source)}**")
        line = views.meta_line(hit.metadata)
        if hit.superseded:
            line += " · eldre versjon (det finnes en nyere)"
        st.caption(line)
        passage = views.excerpt(views.part_text(hit, roles), query)
        st.markdown(views.highlight(passage, query), unsafe_allow_html=True)
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


page_search(context().kb, context().filters)
