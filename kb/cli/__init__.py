"""The `kb` command (`kb = "kb.cli:cli"`, `python -m kb`): one module per group of commands.

- `group`: the `kb` group, its global options and `main`;
- `context`: what every command shares (settings, the invocation's KnowledgeBase and user, errors);
- `ingest`: ingest, remove; `query`: search, ask, stats; `admin`: setup, users;
  `backup`: export, import (loaded only when named); `evaluate`: eval.
"""

from kb.cli.group import cli, main

__all__ = ["cli", "main"]
