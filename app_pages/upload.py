"""Legg til dokumenter: upload for one's own municipality (admins: any, and removal), check, ingest, report."""

from __future__ import annotations

from typing import Any

import streamlit as st

from app_pages.shared import context
from kb.access import UserView, uploads
from kb.errors import AccessDeniedError, StoreLockedError
from kb.views import display as views


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


page_upload(context().kb, context().documents)
