"""Imports go one way: no module imports one from a layer above it, and no kb module imports itself in a circle.

Every import counts, also those inside functions and under `if TYPE_CHECKING:`: a lazy import is still a
dependency, only a later one.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from kb.config import REPO_ROOT

# The order, lowest first. A module may import from its own layer and any layer below, never from one above.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("ingest",),
    ("kb", "kb.config", "kb.errors", "kb.types", "kb.files"),
    ("kb.embed", "kb.store"),
    ("kb.retrieve",),
    ("kb.answer",),
    ("kb.access", "kb.views", "kb.evaluate"),
    ("kb.base", "kb.indexer"),
    ("kb.cli", "kb.__main__", "app", "app_pages"),
)


def layer_of(module: str) -> int | None:
    """The layer of a module: that of the longest listed name it is, or lies under; None outside the project."""
    best: tuple[int, int] | None = None
    for rank, names in enumerate(LAYERS):
        for name in names:
            if (module == name or module.startswith(f"{name}.")) and (best is None or len(name) > best[1]):
                best = (rank, len(name))
    return None if best is None else best[0]


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules(root: Path = REPO_ROOT) -> dict[str, Path]:
    """Every module of ingest/, kb/, app.py and app_pages/ by its dotted name."""
    paths = [*root.glob("ingest/**/*.py"), *root.glob("kb/**/*.py"), *root.glob("app_pages/**/*.py")]
    if (root / "app.py").is_file():
        paths.append(root / "app.py")
    return {module_name(path, root): path for path in sorted(paths)}


def imports(path: Path, name: str, known: set[str]) -> Iterator[tuple[int, str]]:
    """(line, module) of every project module `path` imports, wherever the import statement is."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolved against the importing package
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                # `from kb.views import themes` imports the module kb.views.themes, not just the package
                submodule = f"{base}.{alias.name}"
                yield node.lineno, submodule if submodule in known else base


def graph(root: Path = REPO_ROOT) -> dict[str, set[tuple[int, str]]]:
    modules = project_modules(root)
    known = set(modules)
    return {
        name: {(line, target) for line, target in imports(path, name, known) if layer_of(target) is not None}
        for name, path in modules.items()
    }


def upward_imports(edges: dict[str, set[tuple[int, str]]]) -> list[str]:
    wrong = []
    for module, targets in sorted(edges.items()):
        own = layer_of(module)
        for line, target in sorted(targets):
            theirs = layer_of(target)
            if own is not None and theirs is not None and theirs > own:
                wrong.append(f"{module}:{line} imports {target} (layer {theirs} > {own}: {LAYERS[theirs][0]}…)")
    return wrong


def cycles(edges: dict[str, set[tuple[int, str]]]) -> list[list[str]]:
    """Strongly connected groups of two or more modules (Tarjan), each sorted."""
    adjacency = {m: sorted({t for _, t in targets if t in edges and t != m}) for m, targets in edges.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in adjacency[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(adjacency):
        if node not in index:
            visit(node)
    return sorted(found)


def test_every_project_module_has_a_layer() -> None:
    assert [name for name in project_modules() if layer_of(name) is None] == []


def test_no_module_imports_from_a_layer_above_it() -> None:
    assert upward_imports(graph()) == []


def test_no_import_cycles_in_kb_or_the_app() -> None:
    edges = {m: targets for m, targets in graph().items() if not m.startswith("ingest")}
    assert cycles(edges) == []


@pytest.mark.parametrize(
    ("module", "source", "problem"),
    [
        ("kb/store/wrong.py", "def f():\n    from kb.answer import ask\n", "upward"),  # lazy, still counted
        ("kb/retrieve/wrong.py", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import kb.base\n", "upward"),
        ("ingest/wrong.py", "from kb.config import Settings\n", "upward"),
        ("kb/store/one.py", "from kb.store import two\n", "cycle"),
    ],
)
def test_the_check_catches_a_wrong_import(tmp_path: Path, module: str, source: str, problem: str) -> None:
    for name in ("ingest", "kb", "kb/store", "kb/retrieve", "kb/answer"):
        (tmp_path / name).mkdir(parents=True, exist_ok=True)
        (tmp_path / name / "__init__.py").write_text("")
    (tmp_path / "kb" / "answer" / "__init__.py").write_text("def ask(): ...\n")
    (tmp_path / "kb" / "base.py").write_text("")
    (tmp_path / "kb" / "store" / "two.py").write_text("from kb.store import one\n")
    (tmp_path / module).write_text(source)
    edges = graph(tmp_path)
    if problem == "upward":
        assert upward_imports(edges), source
    else:
        assert cycles(edges) == [["kb.store.one", "kb.store.two"]]
