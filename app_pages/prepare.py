"""Forbered samling (for facilitators): what the network knows about a theme, and a theme brief to download."""

from __future__ import annotations

import re
from typing import Any

import streamlit as st

from app_pages.shared import context, open_source
from kb.views import display as views
from kb.views import feedback, themes


def page_prepare(kb: Any, documents: list[Any]) -> None:
    """Forbered samling: who wrote about a theme, sessions over time, challenges, measures, lessons, open questions."""
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

        st.subheader("Erfaringer og råd")
        st.caption("Fra avsnittene der kommunene skriver hva de lærte («Dette lærte vi», «Råd til andre»).")
        findings_list(overview.lessons, "Ingen har skrevet hva de lærte om temaet ennå.", "l")

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


page_prepare(context().kb, context().documents)
