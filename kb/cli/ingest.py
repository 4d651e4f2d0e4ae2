"""`kb ingest` and `kb remove`: the commands that write documents into the store or take them out."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from kb.cli.context import handle_errors, open_view


@click.command()
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


@click.command()
@click.argument("source")
@click.pass_context
@handle_errors
def remove(ctx: click.Context, source: str) -> None:
    """Remove the document SOURCE (its path as shown by `kb search`)."""
    removed = open_view(ctx).remove(source)
    if not removed:
        raise click.ClickException(f"Fant ikke «{source}» i kunnskapsbasen. Se `kb search --json` for stier.")
    click.echo(f"Fjernet {source} ({removed} biter).")
