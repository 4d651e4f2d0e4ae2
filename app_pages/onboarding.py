"""Kom i gang (for a new member): the network, its members, sessions so far, key documents, first questions."""

from __future__ import annotations

from typing import Any

import streamlit as st

from app_pages.shared import close_source, context, open_source
from kb.views import display as views

ASK = "app_pages/ask.py"


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
        # NOTE: switched after the click, not in on_click: st.switch_page ends the run, which is the script's to do.
        if st.button(question, key=f"suggest-{n}"):
            go_ask(question)


def go_ask(question: str) -> None:
    """Switch to Spør and ask `question` (the onboarding page's suggested questions)."""
    st.session_state["pending_question"] = question
    close_source()
    st.switch_page(ASK)


page_onboarding(context().documents)
