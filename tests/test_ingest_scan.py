"""Every file the scan sees is either ingested or named with a reason (#21, item 5)."""

from __future__ import annotations

import os
from pathlib import Path

from click.testing import CliRunner

from kb.cli import cli
from tests.conftest import write


def _folder(mini_corpus: Path) -> dict[str, str]:
    """Odd files beside the corpus, each with a word its reason must contain."""
    folder = mini_corpus / "Halden" / "erfaringer"
    os.symlink(folder / "løkke-b.md", folder / "løkke-a.md")
    os.symlink(folder / "løkke-a.md", folder / "løkke-b.md")
    os.symlink(folder / "finnes-ikke.md", folder / "brutt.md")
    os.symlink(mini_corpus / "Halden", folder / "mappelenke")
    write(folder, ".skjult-notat.md", "# Skjult\n\nHalden kommune om heltid.\n")
    write(folder, "~$låst.docx", "lås")
    write(mini_corpus, "Halden/kladd/utkast.md", "# Utkast\n\nIkke ferdig.\n")
    write(mini_corpus, ".kbignore", "README.md\n*/kladd/*\n")
    return {
        "Halden/erfaringer/løkke-a.md": "lenke",
        "Halden/erfaringer/løkke-b.md": "lenke",
        "Halden/erfaringer/brutt.md": "lenke",
        "Halden/erfaringer/mappelenke": "mappe",
        "Halden/erfaringer/.skjult-notat.md": "punktum",
        "Halden/erfaringer/~$låst.docx": "låsefil",
        "Halden/kladd/utkast.md": ".kbignore",
    }


def test_every_file_the_scan_sees_is_ingested_or_named(make_kb, mini_corpus: Path) -> None:
    expected = _folder(mini_corpus)
    report = make_kb().ingest([mini_corpus])
    named = dict(report.skipped) | dict(report.ignored)
    for source, word in expected.items():
        assert source in named, source
        assert word in named[source], (source, named[source])
    assert report.seen == len(report.added) + len(named) == 5 + len(expected)


def test_the_cli_names_them_and_exits_1_only_for_broken_links(tmp_path: Path, mini_corpus: Path) -> None:
    expected = _folder(mini_corpus)
    result = CliRunner().invoke(cli, ["ingest", str(mini_corpus)])
    assert result.exit_code == 1, result.output
    for source in expected:
        assert source in result.output, source
    assert "Sett: 12" in result.output
