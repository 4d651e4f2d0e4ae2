"""A document's identity does not depend on the folder given, and --prune stays inside it (#21, item 2).

The store holds the corpus (with an internal Sarpsborg document), an upload from the app and a document
from another folder. Ingesting `corpus/Sarpsborg` (with and without --prune) must leave everything else as
it was, keep the same sources and owners, and remove only a Sarpsborg file that is gone.
"""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from kb.access.uploads import stage_upload, uploads_dir
from kb.base import KnowledgeBase
from kb.cli import cli
from tests.conftest import write

INTERNAL = "Sarpsborg/erfaringer/omstilling-intern.md"
UPLOAD = "Halden/erfaringer/opplastet.md"
OTHER_ROOT = "Råde/erfaringer/fra-annen-mappe.md"


def _snapshot(kb: KnowledgeBase) -> dict[str, tuple[str, str, str]]:
    return {d.source: (d.municipality, d.visibility, d.title) for d in kb.documents()}


def _store(make_kb, mini_corpus: Path, tmp_path: Path) -> KnowledgeBase:  # type: ignore[no-untyped-def]
    write(
        mini_corpus,
        INTERNAL,
        "---\ntilgang: intern\n---\n# Omstilling\n\nSarpsborg kommune flytter tolv årsverk i 2025.\n",
    )
    kb = make_kb()
    assert not kb.ingest([mini_corpus]).skipped
    stage_upload(kb.settings, "Halden", "erfaringer", "opplastet.md", "# Opplastet\n\nHalden om lærlinger.\n".encode())
    assert kb.ingest([uploads_dir(kb.settings)]).added == [UPLOAD]
    other = tmp_path / "annen"
    write(other, OTHER_ROOT, "# Fra en annen mappe\n\nRåde kommune om heltid og turnus.\n")
    assert kb.ingest([other]).added == [OTHER_ROOT]
    return kb


def test_a_subfolder_is_stored_under_the_same_sources(make_kb, mini_corpus: Path, tmp_path: Path) -> None:
    kb = _store(make_kb, mini_corpus, tmp_path)
    before = _snapshot(kb)
    for folder in (mini_corpus / "Sarpsborg", mini_corpus / "Sarpsborg" / "erfaringer"):
        report = kb.ingest([folder])
        assert not report.added and not report.updated and not report.skipped, folder
        assert _snapshot(kb) == before
    assert before[INTERNAL] == ("Sarpsborg", "intern", "Omstilling")


def test_prune_of_a_subfolder_changes_nothing_outside_it(make_kb, mini_corpus: Path, tmp_path: Path) -> None:
    kb = _store(make_kb, mini_corpus, tmp_path)
    before = _snapshot(kb)
    report = kb.ingest([mini_corpus / "Sarpsborg"], prune=True)
    assert report.removed == [] and not report.added
    assert _snapshot(kb) == before

    gone = "Sarpsborg/strategier/kompetansestrategi-2020-2023.md"
    (mini_corpus / gone).unlink()
    report = kb.ingest([mini_corpus / "Sarpsborg"], prune=True)
    assert report.removed == [gone]
    assert _snapshot(kb) == {s: v for s, v in before.items() if s != gone}

    # the whole corpus with --prune: the upload and the other folder's document stay
    report = kb.ingest([mini_corpus], prune=True)
    assert report.removed == []
    assert {UPLOAD, OTHER_ROOT} <= set(_snapshot(kb))


def test_prune_dry_run_lists_what_would_go_and_removes_nothing(make_kb, mini_corpus: Path, tmp_path: Path) -> None:
    kb = _store(make_kb, mini_corpus, tmp_path)
    gone = "Halden/erfaringer/heltidskultur.md"
    (mini_corpus / gone).unlink()
    before = _snapshot(kb)
    result = CliRunner().invoke(
        cli, ["--store", str(kb.settings.store_dir), "ingest", str(mini_corpus), "--prune", "--dry-run"]
    )
    assert result.exit_code == 0, result.output
    assert gone in result.output and UPLOAD not in result.output and OTHER_ROOT not in result.output
    assert _snapshot(make_kb()) == before
