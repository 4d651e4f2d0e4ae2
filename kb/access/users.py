"""Who may see and change what: users, roles per municipality and sign-in (kb.access.view applies them).

Roles:
    leser        reads the network's documents and the own municipality's `intern` ones.
    bidragsyter  also uploads and replaces documents of the own municipality.
    admin        everything, including removal and re-ingest; sees every document.

The app and `kb search|ask --som BRUKER` only reach the store through `UserView` (kb.access.view), which puts
the user's scope into every read (inside both retrievers, before ranking) and checks every write. Local users
live in a TOML file with argon2id password hashes; deployments with Entra ID sign in through Streamlit's
`st.login` and are mapped to a municipality and role by e-mail address or domain (see `UserDirectory.for_identity`).
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
import tomllib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from kb.errors import AccessDeniedError, KBError
from kb.types import readable

logger = logging.getLogger(__name__)

Role = Literal["leser", "bidragsyter", "admin"]
ROLES: tuple[Role, ...] = ("leser", "bidragsyter", "admin")
# The `visible_to` of a user without a municipality: no municipality has this name, so only network
# documents match.
NO_MUNICIPALITY = "\u2205"
SIGN_IN_FAILED = "Feil brukernavn eller passord."
MAX_FAILURES = 5
LOCKOUT_SECONDS = 300.0
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,63}$")


@dataclass(frozen=True, slots=True)
class User:
    """A signed-in person: who, for which municipality, and with which role."""

    username: str
    role: Role = "leser"
    municipality: str = ""
    name: str = ""
    email: str = ""

    @property
    def is_admin(self) -> bool:
        """Admins see and change everything."""
        return self.role == "admin"

    @property
    def visible_to(self) -> str | None:
        """The `Filters.visible_to` for this user: None (everything) for admins."""
        if self.is_admin:
            return None
        return self.municipality or NO_MUNICIPALITY

    @property
    def can_upload(self) -> bool:
        """Whether the user may add documents at all."""
        return self.role in ("bidragsyter", "admin")

    @property
    def label(self) -> str:
        """«Kari Nordmann (Sarpsborg, bidragsyter)» for the sidebar."""
        where = ", ".join(p for p in (self.municipality, self.role) if p)
        return f"{self.name or self.username} ({where})"

    def can_read(self, metadata: Mapping[str, Any]) -> bool:
        """Whether a document (its chunk metadata) is visible to the user."""
        return readable(metadata, self.visible_to)

    def check_write(self, municipality: str, existing: Mapping[str, Any] | None = None) -> None:
        """Allow adding or replacing a document of `municipality`, or say why not.

        Args:
            municipality: the municipality the new version will belong to.
            existing: metadata of the stored document it replaces, if any.

        Raises:
            AccessDeniedError: the role does not upload, or the document belongs to another municipality.
        """
        if self.is_admin:
            return
        if not self.can_upload:
            raise AccessDeniedError("Du har lesetilgang og kan ikke legge til dokumenter. Spør en administrator.")
        own = self.municipality
        if not own or municipality != own:
            raise AccessDeniedError(
                f"Du kan bare legge til dokumenter for {own or 'din egen kommune'}, ikke for {municipality}."
            )
        if existing is not None and existing.get("municipality") != own:
            if self.can_read(existing):
                owner = existing.get("municipality") or "en annen kommune"
                raise AccessDeniedError(
                    f"«{existing.get('title') or existing.get('source')}» tilhører {owner} og kan bare erstattes "
                    "av dem. Gi filen et annet navn."
                )
            raise AccessDeniedError("Et dokument med samme navn tilhører en annen kommune. Gi filen et annet navn.")

    def check_admin(self, action: str) -> None:
        """Allow an admin-only action (removal, re-ingest, export), or say why not.

        Raises:
            AccessDeniedError: the user is not an admin.
        """
        if not self.is_admin:
            raise AccessDeniedError(f"Bare administratorer kan {action}.")


# The CLI on a local store, and the app when the installation is single-user (a laptop).
LOCAL_ADMIN = User(username="lokal", role="admin", name="Lokal bruker")


# --- users and sign-in -------------------------------------------------------------------------------------
class _Throttle:
    """Refuse sign-in for a while after repeated failures for one user name (known or not)."""

    def __init__(self, limit: int = MAX_FAILURES, window: float = LOCKOUT_SECONDS) -> None:
        self.limit = limit
        self.window = window
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def blocked(self, key: str) -> bool:
        with self._lock:
            recent = [t for t in self._failures.get(key, []) if time.monotonic() - t < self.window]
            self._failures[key] = recent
            return len(recent) >= self.limit

    def fail(self, key: str) -> None:
        with self._lock:
            self._failures.setdefault(key, []).append(time.monotonic())

    def clear(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)


def normalise_username(username: str) -> str:
    """User names compare in lower case, NFC, without surrounding spaces."""
    return unicodedata.normalize("NFC", username.strip().lower())


class UserDirectory:
    """The users file (TOML): local users with argon2id hashes, and e-mail domains for OIDC sign-in.

    ```toml
    [brukere.kari]
    navn = "Kari Nordmann"
    kommune = "Sarpsborg"
    rolle = "bidragsyter"
    epost = "kari.nordmann@sarpsborg.kommune.no"   # for sign-in with Entra ID (optional)
    passord = "$argon2id$v=19$m=65536,t=3,p=4$..."   # `kb users add` writes it (optional with OIDC)

    [domener]   # OIDC: anyone signed in with an address in these domains reads as `leser` of that municipality
    "sarpsborg.kommune.no" = "Sarpsborg"
    ```
    """

    def __init__(self, path: Path) -> None:
        from argon2 import PasswordHasher

        self.path = path
        self._hasher = PasswordHasher()
        self._throttle = _Throttle()
        self._dummy: str | None = None
        self.users: dict[str, dict[str, Any]] = {}
        self.domains: dict[str, str] = {}
        self._mtime = -1.0
        self.reload()

    # --- reading the file ------------------------------------------------------------------------------
    def reload(self) -> None:
        """Read the file again if it changed (the app picks up new users without a restart).

        Raises:
            KBError: the file is not valid TOML or names an unknown role.
        """
        try:
            mtime = self.path.stat().st_mtime
        except FileNotFoundError:
            self.users, self.domains, self._mtime = {}, {}, -1.0
            return
        if mtime == self._mtime:
            return
        try:
            data = tomllib.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise KBError(f"Brukerfilen {self.path} kan ikke leses: {exc}") from exc
        users = {normalise_username(name): dict(row) for name, row in dict(data.get("brukere", {})).items()}
        for name, row in users.items():
            if row.get("rolle", "leser") not in ROLES:
                raise KBError(
                    f"Brukeren {name} i {self.path} har ukjent rolle «{row.get('rolle')}»; bruk {', '.join(ROLES)}."
                )
        self.users = users
        self.domains = {str(k).lower(): str(v) for k, v in dict(data.get("domener", {})).items()}
        self._mtime = mtime

    def user(self, username: str) -> User | None:
        """The user of that name, or None."""
        self.reload()
        key = normalise_username(username)
        row = self.users.get(key)
        if row is None:
            return None
        return User(
            username=key,
            role=row.get("rolle", "leser"),
            municipality=str(row.get("kommune", "")),
            name=str(row.get("navn", "")),
            email=str(row.get("epost", "")),
        )

    # --- sign-in ---------------------------------------------------------------------------------------
    def authenticate(self, username: str, password: str) -> User:
        """The user, if the password is right.

        Every failure gives the same message, whether the name or the password was wrong, and an unknown
        name costs the same argon2 verification as a known one (no timing hint either). After
        MAX_FAILURES failures in LOCKOUT_SECONDS a name is refused for the rest of that window.

        Raises:
            AccessDeniedError: with SIGN_IN_FAILED, or the lockout message.
        """
        from argon2.exceptions import InvalidHashError, VerificationError

        key = normalise_username(username)
        if self._throttle.blocked(key):
            raise AccessDeniedError("For mange mislykkede forsøk. Vent fem minutter og prøv igjen.")
        self.reload()
        row = self.users.get(key)
        stored = str(row.get("passord", "")) if row else ""
        try:
            # NOTE: argon2's verify compares in constant time; the dummy hash keeps unknown names as slow.
            self._hasher.verify(stored or self._dummy_hash(), password)
            ok = bool(stored)
        except (VerificationError, InvalidHashError):
            ok = False
        if not ok:
            self._throttle.fail(key)
            logger.warning("failed sign-in for %r", key)
            raise AccessDeniedError(SIGN_IN_FAILED)
        self._throttle.clear(key)
        user = self.user(key)
        assert user is not None
        return user

    def _dummy_hash(self) -> str:
        if self._dummy is None:
            self._dummy = self._hasher.hash(os.urandom(16).hex())
        return self._dummy

    def for_identity(self, email: str) -> User | None:
        """The user for an OIDC identity: a listed user with that e-mail, else a `leser` of its domain."""
        self.reload()
        email = email.strip().lower()
        if not email:
            return None
        for key, row in self.users.items():
            if str(row.get("epost", "")).strip().lower() == email:
                return self.user(key)
        domain = email.rpartition("@")[2]
        if domain in self.domains:
            return User(username=email, role="leser", municipality=self.domains[domain], email=email)
        return None

    # --- changing the file (`kb users`) -------------------------------------------------------------------------------
    def add(self, username: str, *, role: str, municipality: str, name: str = "", email: str = "") -> User:
        """Add or update a user (the password is set separately).

        Raises:
            KBError: an invalid user name or role, or a non-admin without a municipality.
        """
        key = normalise_username(username)
        if not _USERNAME.match(key):
            raise KBError("Brukernavn kan ha små bokstaver, tall og . _ @ -, og høyst 64 tegn.")
        if role not in ROLES:
            raise KBError(f"Ukjent rolle «{role}»; bruk {', '.join(ROLES)}.")
        if role != "admin" and not municipality.strip():
            raise KBError("Lesere og bidragsytere må høre til en kommune (--kommune).")
        self.reload()
        row = self.users.setdefault(key, {})
        row.update({"rolle": role, "kommune": municipality.strip(), "navn": name.strip(), "epost": email.strip()})
        self.save()
        user = self.user(key)
        assert user is not None
        return user

    def set_password(self, username: str, password: str) -> None:
        """Store a new argon2id hash for the user.

        Raises:
            KBError: unknown user, or a password shorter than 12 characters.
        """
        key = normalise_username(username)
        self.reload()
        if key not in self.users:
            raise KBError(f"Fant ingen bruker «{key}». Legg til brukeren først.")
        if len(password) < 12:
            raise KBError("Passordet må ha minst 12 tegn.")
        self.users[key]["passord"] = self._hasher.hash(password)
        self.save()

    def remove(self, username: str) -> bool:
        """Delete a user; False if there was none."""
        key = normalise_username(username)
        self.reload()
        if self.users.pop(key, None) is None:
            return False
        self.save()
        return True

    def save(self) -> None:
        """Write the file atomically, readable only by its owner (it holds password hashes)."""
        lines = ["# Erfaringsbanken: brukere. Endres med `kb users`; passordene er argon2id-hasher.", ""]
        for key in sorted(self.users):
            lines.append(f"[brukere.{_toml_string(key)}]")
            for field in ("navn", "kommune", "rolle", "epost", "passord"):
                value = self.users[key].get(field)
                if value:
                    lines.append(f"{field} = {_toml_string(str(value))}")
            lines.append("")
        if self.domains:
            lines.append("[domener]")
            lines += [f"{_toml_string(d)} = {_toml_string(m)}" for d, m in sorted(self.domains.items())]
            lines.append("")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(f".{self.path.name}.part")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines))
        temporary.replace(self.path)
        self._mtime = -1.0


def _toml_string(value: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's, except that TOML also wants DEL escaped)."""
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
