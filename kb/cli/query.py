"""`kb search`, `kb ask` and `kb stats`: the commands that read the store, as the invocation's user sees it."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import click

from ingest.roles import PART_NAMES
from kb.cli.context import handle_errors, open_view
from kb.types import Filters


def roles_of(parts: tuple[str, ...]) -> tuple[str, ...]:
    """The section roles (ingest.roles) of the parts a reader names («tiltak», «resultat»)."""
    return tuple(PART_NAMES[part] for part in parts)


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


@click.command()
@click.argument("query")
@click.option("-k", default=5, show_default=True, help="Number of hits.")
@filter_options
@click.option("--mode", type=click.Choice(["hybrid", "dense", "bm25"]), default="hybrid", show_default=True)
@click.option(
    "--part",
    multiple=True,
    type=click.Choice(list(PART_NAMES)),
    help="Only this part of a text, by its heading: bakgrunn, mål, tiltak, resultat, råd (repeatable).",
)
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
    part: tuple[str, ...],
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
      kb search "heltid" --part resultat --part råd
    """
    from kb.retrieve.retrieval import group_by_municipality

    kb = open_view(ctx)
    filters = replace(_filters(municipality, type_, theme, date_from, date_to), roles=roles_of(part))
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
                _print_hit(hit, filters.roles)
        return
    if json_:
        click.echo(json.dumps([h.to_dict() for h in hits], ensure_ascii=False, indent=2))
        return
    if not hits:
        click.echo("Ingen treff.")
    for rank, hit in enumerate(hits, start=1):
        click.echo(f"{rank}. ", nl=False)
        _print_hit(hit, filters.roles)


def _print_hit(hit: Any, roles: tuple[str, ...] = ()) -> None:
    """A hit's title line, place and score, and its first 300 characters (of the part asked for, with `--part`)."""
    text = hit.text
    if roles:  # NOTE: imported only then: kb.views costs a plain `kb search` 40 ms of start-up
        from kb.views.display import part_text

        text = part_text(hit, roles)
    where = f"{hit.source}" + (f", s. {hit.page}" if hit.page else "")
    old = "  [eldre versjon]" if hit.superseded else ""
    click.secho(f"{hit.title} – {hit.municipality} ({hit.doc_type}, {hit.date or 'udatert'}){old}", bold=True)
    click.echo(f"   {where}  score {hit.score:.3f}")
    snippet = " ".join(text.split())
    click.echo(f"   {snippet[:300]}{'…' if len(snippet) > 300 else ''}")


@click.command()
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


@click.command()
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
