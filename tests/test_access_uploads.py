"""Upload edge cases (#21, item 6): long names, errors in Norwegian, refusals that reveal nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.access import User, UserView
from kb.access.uploads import UploadError, stage_upload, uploads_dir
from kb.base import KnowledgeBase
from tests.conftest import write

OLA = User("ola", "bidragsyter", "Råde", "Ola Nordmann")
KARI = User("kari", "bidragsyter", "Sarpsborg", "Kari Nordmann")
TEXT = "# Notat\n\nRåde kommune om heltid og turnus i hjemmetjenesten.\n".encode()


def test_a_300_character_name_is_shortened_and_ingested(make_kb) -> None:
    kb = make_kb()
    long_a, long_b = "æ" * 296 + "a.md", "æ" * 296 + "b.md"
    staged = [stage_upload(kb.settings, "Råde", "erfaringer", name, TEXT) for name in (long_a, long_b)]
    for item in staged:
        assert len(item.path.name.encode()) <= 150 and item.path.suffix == ".md"
    assert staged[0].source != staged[1].source  # shortened names stay apart
    report = kb.ingest([uploads_dir(kb.settings)])
    assert sorted(report.added) == sorted(s.source for s in staged) and not report.skipped


def test_a_file_that_cannot_be_written_is_an_upload_error_and_leaves_nothing(make_kb) -> None:
    kb = make_kb()
    uploads_dir(kb.settings).mkdir(parents=True)
    (uploads_dir(kb.settings) / "Råde").write_text("en fil der mappen skulle vært")
    with pytest.raises(UploadError, match="kunne ikke lagres"):
        stage_upload(kb.settings, "Råde", "erfaringer", "notat.md", TEXT)
    assert sorted(p.name for p in uploads_dir(kb.settings).rglob("*")) == ["Råde"]


@pytest.fixture
def store(make_kb, tmp_path: Path) -> KnowledgeBase:  # type: ignore[no-untyped-def]
    """Sarpsborg's internal document filed in Råde's folder: a name Ola may not learn exists."""
    root = tmp_path / "delt"
    write(
        root,
        "Råde/erfaringer/hemmelig.md",
        "---\nkommune: Sarpsborg\ntilgang: intern\n---\n# Hemmelig\n\nSarpsborg kommune om Solsikkeprosjektet.\n",
    )
    kb = make_kb()
    assert kb.ingest([root]).added == ["Råde/erfaringer/hemmelig.md"]
    return kb


def test_the_same_answer_whether_or_not_an_invisible_document_has_the_name(store: KnowledgeBase) -> None:
    ola = UserView(store, OLA)
    known = [d.source for d in store.documents()]
    taken = ola.stage_upload("Råde", "erfaringer", "hemmelig.md", TEXT, known=known)
    free = ola.stage_upload("Råde", "erfaringer", "ledig.md", TEXT, known=known)
    assert not taken.replaced and not free.replaced
    report = ola.ingest_uploads()
    assert not report.skipped and len(report.added) == 2
    # Sarpsborg's document is untouched, and Ola sees his own under the name he chose
    secret = next(d for d in store.documents() if d.source == "Råde/erfaringer/hemmelig.md")
    assert (secret.municipality, secret.visibility, secret.title) == ("Sarpsborg", "intern", "Hemmelig")
    mine = {d.source for d in ola.documents()}
    assert taken.source in mine and free.source in mine
    assert "hemmelig" in taken.source


def test_an_owner_still_replaces_their_own_document(store: KnowledgeBase) -> None:
    kari = UserView(store, KARI)
    with pytest.raises(Exception, match="bare legge til dokumenter for Sarpsborg"):
        kari.stage_upload("Råde", "erfaringer", "hemmelig.md", TEXT)
