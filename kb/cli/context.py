"""What every `kb` command shares: settings, the invocation's KnowledgeBase and user, logging, errors.

The commands (kb.cli.ingest, query, admin, backup, evaluate) and the group (kb.cli.group) import from here,
never from each other, so the helpers a command needs never pull in the group that registers it.
"""

from __future__ import annotations

import getpass
import logging
from functools import wraps
from pathlib import Path
from typing import Any

import click

from kb.config import Settings
from kb.errors import KBError


def configure_logging(verbose: bool) -> None:
    """Warnings only unless -v; quiet the chatty libraries."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    # NOTE: pypdf warns in English about damaged files it reads anyway («incorrect startxref»); the user gets
    # our reason when a file cannot be read, and -v shows pypdf's.
    for noisy in ("chromadb", "httpx", "sentence_transformers", "transformers", "bm25s", "urllib3", "pypdf"):
        logging.getLogger(noisy).setLevel(logging.WARNING if verbose else logging.ERROR)
    if not verbose:
        logging.getLogger("ingest").setLevel(logging.ERROR)
        logging.getLogger("kb").setLevel(logging.ERROR)


def handle_errors(func: Any) -> Any:
    """Turn KBError into a clean ClickException (one place for the whole CLI)."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except KBError as exc:
            raise click.ClickException(str(exc)) from exc

    return wrapper


def make_settings(store: Path | None) -> Settings:
    """Settings from the environment, with --store on top."""
    try:
        settings = Settings()
    except Exception as exc:  # pydantic's ValidationError: show which variable is wrong
        raise click.ClickException(f"Ugyldig innstilling: {exc}") from exc
    if store is not None:
        settings = settings.model_copy(update={"store": store})
    return settings


def open_kb(ctx: click.Context) -> Any:
    """The KnowledgeBase for this invocation (built once)."""
    from kb.base import KnowledgeBase

    obj = ctx.ensure_object(dict)
    if "kb" not in obj:
        obj["kb"] = KnowledgeBase(obj["settings"])
    return obj["kb"]


def cli_user(ctx: click.Context) -> Any:
    """Who this invocation acts as: `--as-user USER` from the users file, else an admin named after the OS user.

    Raises:
        KBError: `--som` names a user the users file does not have.
    """
    from kb.access.users import User, UserDirectory

    obj = ctx.ensure_object(dict)
    name = obj.get("as_user")
    if not name:
        return User(username=f"cli:{getpass.getuser()}", role="admin", name="Kommandolinjen")
    settings = obj["settings"]
    user = UserDirectory(settings.users_path).user(name)
    if user is None:
        raise KBError(f"Fant ingen bruker «{name}» i {settings.users_path}. Se `kb users list`.")
    return user


def open_view(ctx: click.Context) -> Any:
    """The store as this invocation's user may see and change it (kb.access.UserView)."""
    from kb.access.view import UserView

    return UserView(open_kb(ctx), cli_user(ctx))


def require_admin(ctx: click.Context, action: str) -> None:
    """Stop unless this invocation acts as an admin (`--as-user` a non-admin cannot export, import, remove).

    Raises:
        AccessDeniedError: the `--som` user is not an admin.
    """
    cli_user(ctx).check_admin(action)
