"""Shared fixtures: every path in tmp_path, a hash embedder by default, the real model when asked for."""

from __future__ import annotations

import os
import shutil
import textwrap
from pathlib import Path

import pytest

from kb.config import DEFAULT_MODEL, REPO_ROOT, Settings

DATA = Path(__file__).parent / "data"

pytest_plugins = ["tests.chroma_server"]  # the `chroma_server` fixture: a real `chroma run` on loopback


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads or writes the user's store: HOME and the store live in tmp_path."""
    for key in list(os.environ):
        if key.startswith("KB_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("KB_HOME", str(tmp_path / "kbhome"))
    monkeypatch.setenv("KB_EMBED_MODEL", "hash")
    monkeypatch.setenv("ANONYMIZED_TELEMETRY", "False")
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings with the hash embedder and a store in tmp_path."""
    return Settings(home=tmp_path / "kbhome", embed_model="hash")


@pytest.fixture
def make_kb(settings: Settings):  # type: ignore[no-untyped-def]
    """Factory for a KnowledgeBase over the test settings (optionally changed)."""
    from kb.base import KnowledgeBase

    def factory(**changes: object) -> KnowledgeBase:
        return KnowledgeBase(settings.model_copy(update=changes) if changes else settings)

    return factory


def write(root: Path, relative: str, text: str) -> Path:
    """Write a UTF-8 file under root, creating folders."""
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


@pytest.fixture
def mini_corpus(tmp_path: Path) -> Path:
    """A small corpus in the real folder layout: two municipalities, the network, two strategy versions."""
    root = tmp_path / "corpus"
    write(
        root,
        "Sarpsborg/erfaringer/introduksjonsprogram.md",
        """
        ---
        tittel: Introduksjonsprogram for nyansatte
        dato: 2024-03-01
        tema: [onboarding]
        ---
        # Introduksjonsprogram for nyansatte

        ## Utfordringen
        Mange nyansatte i hjemmetjenesten sluttet i løpet av det første året. Turnover var 31 prosent.

        ## Hva vi gjorde
        Vi innførte et introduksjonsprogram med fadder og mentorordning de første tolv ukene.

        ## Resultater
        Andelen som sluttet falt til 17 prosent i 2024.
        """,
    )
    write(
        root,
        "Halden/erfaringer/heltidskultur.md",
        """
        # Heltidskultur i helse og omsorg

        ## Utfordringen
        Halden hadde lav heltidsandel i sykehjemmene, bare 38 prosent heltid.

        ## Hva vi gjorde
        Vi prøvde årsturnus og langvakter i helgene sammen med de tillitsvalgte.

        ## Resultater
        Heltidsandelen økte til 52 prosent på to år.
        """,
    )
    write(
        root,
        "Sarpsborg/strategier/kompetansestrategi-2020-2023.md",
        """
        # Kompetansestrategi for Sarpsborg kommune 2020–2023

        ## Mål
        Kommunen skal ha 30 lærlinger innen 2023.
        """,
    )
    write(
        root,
        "Sarpsborg/strategier/kompetansestrategi-2024-2027.md",
        """
        # Kompetansestrategi for Sarpsborg kommune 2024–2027

        ## Mål
        Kommunen skal ha 45 lærlinger innen 2027, og alle ledere skal ta lederprogrammet.
        """,
    )
    write(
        root,
        "Læringsnettverket/samlinger/2024-01-25-samling-heltidskultur.md",
        """
        # Samling om heltidskultur

        ## Metoder
        Vi brukte fiskebolle og refleksjonsrunder. Psykologisk trygghet er grunnlaget for læring.
        """,
    )
    return root


@pytest.fixture(scope="session")
def real_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The offline multilingual-e5-small: the one `make setup` built, else built once for this session."""
    from kb.embed.e5build import build_model, is_complete

    built = REPO_ROOT / ".kb" / "models" / DEFAULT_MODEL
    if is_complete(built):
        return built

    target = tmp_path_factory.mktemp("models") / DEFAULT_MODEL
    return build_model(target)


@pytest.fixture(scope="session")
def real_onnx_dir(real_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ONNX export of the offline model: the one `make setup` made, else exported once for this session."""
    from kb.embed.onnx_model import export, is_exported, onnx_dir

    built = onnx_dir(real_model_dir.parent, DEFAULT_MODEL)
    if is_exported(built, real_model_dir):
        return built
    return export(real_model_dir, tmp_path_factory.mktemp("onnx") / built.name).out_dir


@pytest.fixture(scope="session")
def real_reader_dir(real_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reader's graph (kb.answer.reader): the one `make setup` built, else exported once for this session."""
    from kb.answer.reader import export, is_exported, reader_dir

    built = reader_dir(real_model_dir.parent)
    if is_exported(built, real_model_dir):
        return built
    out = export(real_model_dir, tmp_path_factory.mktemp("reader"))
    assert out is not None
    return out


@pytest.fixture
def real_settings(tmp_path: Path, real_model_dir: Path, real_onnx_dir: Path, real_reader_dir: Path) -> Settings:
    """Settings with the real offline model, its ONNX export and the reader (linked into this test's HOME)."""
    home = tmp_path / "kbhome-real"
    (home / "models").mkdir(parents=True)
    os.symlink(real_model_dir, home / "models" / DEFAULT_MODEL)
    os.symlink(real_onnx_dir, home / "models" / real_onnx_dir.name)
    os.symlink(real_reader_dir, home / "models" / real_reader_dir.name)
    return Settings(home=home, embed_model=DEFAULT_MODEL)


def copy_data(name: str, target: Path) -> Path:
    """Copy a fixture file from tests/data into target."""
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(DATA / name, target)
    return target
