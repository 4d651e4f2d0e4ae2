"""Spør: a chat with cited answers (streamed when a generator is set), feedback votes and sources to open."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import streamlit as st

from app_pages.shared import context, open_source
from kb.errors import EmptyIndexError, KBError
from kb.types import RELATED_HEADING, Filters
from kb.views import display as views
from kb.views import feedback

logger = logging.getLogger("app_pages.ask")  # NOTE: Streamlit runs this file as __main__


def load_ask() -> Callable[..., Any] | None:
    """`kb.answer.ask`, or None while the answer module is not installed."""
    try:
        from kb.answer import ask
    except ImportError:
        return None
    return ask


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


page_ask(context().kb, context().filters)
