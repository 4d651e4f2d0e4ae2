"""The sign-in page: the users file's form (KB_AUTH=local) or one button per identity provider (oidc).

Not an st.Page of its own: app.py shows it in place of whichever page the URL asks for, so a link to a page
opens that page once the user has signed in.
"""

from __future__ import annotations

import streamlit as st

from kb.access import UserDirectory
from kb.config import Settings
from kb.errors import AccessDeniedError


def show(settings: Settings, directory: UserDirectory) -> None:
    """Ask who the user is; app.py finds them on the next run (local) or after the identity provider (oidc)."""
    if settings.auth == "oidc":
        _oidc_sign_in()
        return
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
            return
        st.session_state["username"] = user.username
        st.rerun()


def has_auth_secrets() -> bool:
    """Whether secrets.toml has the [auth] section st.login needs."""
    try:
        return "auth" in st.secrets
    except Exception:  # StreamlitSecretNotFoundError: no secrets.toml at all
        return False


def email() -> str:
    """The signed-in identity's e-mail address (or its user name at the identity provider)."""
    return str(st.user.get("email") or st.user.get("preferred_username") or "")


def _providers() -> list[str | None]:
    """Named providers under [auth] in secrets.toml ([auth.sarpsborg] …), or [None] for a single one."""
    auth = st.secrets["auth"]
    named = [str(k) for k, v in auth.items() if hasattr(v, "get") and v.get("client_id")]
    return list(named) or [None]


def _oidc_sign_in() -> None:
    if not has_auth_secrets():
        st.error(
            "**Innlogging er ikke satt opp.** KB_AUTH=oidc krever en [auth]-seksjon i .streamlit/secrets.toml "
            "(redirect_uri, cookie_secret, client_id, client_secret, server_metadata_url). Se README, "
            "«Drift for nettverket».",
            icon=":material/lock:",
        )
        return
    if not getattr(st.user, "is_logged_in", False):  # (AppTest has no user info at all)
        st.title("Logg inn")
        st.caption("Erfaringsbanken er for medlemmene i læringsnettverket. Logg inn med jobbkontoen din.")
        for provider in _providers():  # one button per identity provider, e.g. one per municipality's Entra ID
            label = f"Logg inn med jobbkonto i {provider.title()}" if provider else "Logg inn med jobbkontoen"
            st.button(label, type="primary", on_click=st.login, args=(provider,) if provider else ())
        return
    st.title("Ingen tilgang")  # signed in at the identity provider, but not in the users file
    st.warning(
        f"Du er logget inn som {email() or 'ukjent'}, men har ikke tilgang til Erfaringsbanken ennå. "
        "Be administratoren i nettverket om å legge deg til.",
        icon=":material/lock:",
    )
    st.button("Logg ut", on_click=st.logout)
