"""The `kb` group: global options, logging, and the commands of kb.cli.* (export and import loaded lazily)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar

import click

from kb.cli import admin, evaluate, ingest, query
from kb.cli.context import configure_logging, make_settings

# NOTE: OpenBLAS spins its own threads beside torch's; on 2 cores they fight and double query latency.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


class LazyGroup(click.Group):
    """A group whose heavier commands are imported only when named (or listed in --help).

    NOTE: `kb export`/`kb import` live in kb.cli.backup, which imports the indexer and llama-index; registering
    them eagerly cost every `kb search` 0.9 s of imports it never used.
    """

    lazy: ClassVar[dict[str, tuple[str, str]]] = {
        "export": ("kb.cli.backup", "export_cmd"),
        "import": ("kb.cli.backup", "import_cmd"),
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


for command in (
    ingest.ingest,
    ingest.remove,
    query.search,
    query.ask,
    query.stats,
    admin.setup,
    admin.users,
    evaluate.eval_,
):
    cli.add_command(command)


def main() -> None:
    """Entry point for `python -m kb`."""
    cli(prog_name="kb")
