"""A file over the size limit is named with its reason and never read; the small files beside it are stored (#21, 4).

Before, `kb ingest` took a file of any size: a 30 MB text became 40,000 chunks held in memory with the small
files of the same run, and nothing was stored. The limit (KB_MAX_FILE_MB, 20 MB like the app's upload) is
checked on the file's size, before it is hashed or parsed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from kb.base import KnowledgeBase
from kb.cli import cli
from kb.config import Settings
from tests.conftest import write

BIG = "Halden/erfaringer/stor.txt"
SMALL = ("Halden/erfaringer/a-liten.md", "Halden/erfaringer/z-liten.md")  # one sorts before the big file, one after


def _corpus(tmp_path: Path, big_mb: float) -> Path:
    root = tmp_path / "corpus"
    for i, relative in enumerate(SMALL):
        write(root, relative, f"# Liten fil {i}\n\nHalden kommune om heltid og turnus, notat nummer {i}.\n")
    line = "Sykefraværet i hjemmetjenesten ble fulgt opp med samtaler hver uke i hele perioden.\n"
    big = root / BIG
    big.write_text(line * int(big_mb * 1024 * 1024 / len(line)), encoding="utf-8")
    return root


def test_the_limit_is_a_setting_like_the_uploads(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().max_file_mb == 20 == Settings().max_upload_mb
    monkeypatch.setenv("KB_MAX_FILE_MB", "5")
    assert Settings().max_file_mb == 5


def test_a_file_over_the_limit_is_named_and_the_small_files_are_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _corpus(tmp_path, big_mb=1.2)
    monkeypatch.setenv("KB_MAX_FILE_MB", "1")
    result = CliRunner().invoke(cli, ["ingest", str(root)])
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if "stor.txt" in line]
    assert len(lines) == 1 and "Hoppet over" in lines[0], result.output
    assert "1,2 MB" in lines[0] and "1 MB" in lines[0] and "KB_MAX_FILE_MB" in lines[0], lines[0]
    assert "lagt til: 2" in result.output and "hoppet over: 1" in result.output
    kb = KnowledgeBase(Settings())
    assert sorted(d.source for d in kb.documents()) == sorted(SMALL)


def test_a_file_over_the_limit_is_never_read(make_kb, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import ingest.pipeline
    import kb.indexer

    root = _corpus(tmp_path, big_mb=1.1)
    read: list[str] = []
    for module, name in ((kb.indexer, "prepare"), (kb.indexer, "version_hash"), (ingest.pipeline, "load_path")):
        original = getattr(module, name)

        def spy(first, *args, _original=original, **kwargs):  # type: ignore[no-untyped-def]
            read.append(str(getattr(first, "path", first)))
            return _original(first, *args, **kwargs)

        monkeypatch.setattr(module, name, spy)
    report = make_kb(max_file_mb=1).ingest([root])
    assert not [path for path in read if path.endswith("stor.txt")]
    assert [source for source, _ in report.skipped] == [BIG]
    assert sorted(report.added) == sorted(SMALL)


def test_a_file_at_the_limit_is_read(make_kb, tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    for relative in SMALL:
        write(root, relative, "# Liten\n\nHalden om heltid.\n")
    line = "Heltid og turnus i Halden.\n"
    (root / BIG).write_text(line * (1024 * 1024 // len(line)), encoding="utf-8")  # just under 1 MB
    report = make_kb(max_file_mb=1).ingest([root])
    assert not report.skipped and len(report.added) == 3


def test_a_long_file_under_the_limit_does_not_hold_back_the_small_files(make_kb, tmp_path: Path) -> None:
    """The user gives up (Ctrl-C) while a long file is embedded: the small file read before it is stored."""
    root = _corpus(tmp_path, big_mb=0.3)
    kb = make_kb()
    embedder = kb.embedder

    class GivesUp:
        def __getattr__(self, name: str) -> object:
            return getattr(embedder, name)

        def get_text_embedding_batch(self, texts: list[str], **kwargs: object) -> list[list[float]]:
            if any("Sykefraværet i hjemmetjenesten" in text for text in texts):
                raise KeyboardInterrupt
            return embedder.get_text_embedding_batch(texts, **kwargs)

    kb._embedder = GivesUp()
    with pytest.raises(KeyboardInterrupt):
        kb.ingest([root])
    assert [d.source for d in make_kb().documents()] == [SMALL[0]]
