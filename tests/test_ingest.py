import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from kb.errors import EmptyIndexError, StoreLockedError
from tests.conftest import copy_data, write


def test_ingest_is_idempotent(make_kb, mini_corpus: Path) -> None:
    kb = make_kb()
    first = kb.ingest([mini_corpus])
    assert (len(first.added), first.unchanged, first.skipped) == (5, 0, [])
    count = kb.store.count()
    again = make_kb().ingest([mini_corpus])
    assert (len(again.added), len(again.updated), again.unchanged) == (0, 0, 5)
    assert kb.store.count() == count


def test_changed_file_replaces_its_old_chunks(make_kb, mini_corpus: Path) -> None:
    kb = make_kb()
    kb.ingest([mini_corpus])
    path = mini_corpus / "Halden/erfaringer/heltidskultur.md"
    path.write_text(path.read_text(encoding="utf-8").replace("52 prosent", "61 prosent"), encoding="utf-8")
    report = kb.ingest([mini_corpus])
    assert report.updated == ["Halden/erfaringer/heltidskultur.md"]
    texts = [r.text for r, _ in kb.store.records() if r.metadata["source"] == "Halden/erfaringer/heltidskultur.md"]
    assert any("61 prosent" in t for t in texts)
    assert not any("52 prosent" in t for t in texts)
    assert [h.text for h in kb.search("52 prosent heltidsandel", k=10, mode="bm25") if "52 prosent" in h.text] == []


def test_prune_removes_deleted_files_only_when_asked(make_kb, mini_corpus: Path) -> None:
    kb = make_kb()
    kb.ingest([mini_corpus])
    (mini_corpus / "Halden/erfaringer/heltidskultur.md").unlink()
    assert kb.ingest([mini_corpus]).removed == []
    assert "Halden/erfaringer/heltidskultur.md" in kb.store.files()
    report = kb.ingest([mini_corpus], prune=True)
    assert report.removed == ["Halden/erfaringer/heltidskultur.md"]
    assert "Halden/erfaringer/heltidskultur.md" not in kb.store.files()
    assert all(h.municipality != "Halden" for h in kb.search("heltidsandel årsturnus", k=10))


def test_bad_files_are_named_and_the_rest_is_ingested(make_kb, mini_corpus: Path) -> None:
    for name in ("ødelagt.pdf", "kryptert.pdf", "tom.txt", "regneark.xlsx", "binær.txt"):
        copy_data(name, mini_corpus / "Råde/erfaringer" / name)
    copy_data("flersidig.pdf", mini_corpus / "Råde/strategier/flersidig.pdf")
    report = make_kb().ingest([mini_corpus])
    reasons = dict(report.skipped)
    assert set(reasons) == {
        f"Råde/erfaringer/{n}" for n in ("ødelagt.pdf", "kryptert.pdf", "tom.txt", "regneark.xlsx", "binær.txt")
    }
    assert "kryptert" in reasons["Råde/erfaringer/kryptert.pdf"]
    assert "tom" in reasons["Råde/erfaringer/tom.txt"]
    assert "støttes ikke" in reasons["Råde/erfaringer/regneark.xlsx"]
    assert len(report.added) == 6  # five good Markdown files and the PDF


def test_pdf_chunks_carry_page_and_metadata(make_kb, mini_corpus: Path) -> None:
    copy_data("flersidig.pdf", mini_corpus / "Råde/strategier/flersidig.pdf")
    kb = make_kb()
    kb.ingest([mini_corpus])
    hit = kb.search("læreplasser lærlingordningen", k=1, mode="bm25")[0]
    assert hit.source == "Råde/strategier/flersidig.pdf"
    assert hit.page == 3
    assert (hit.municipality, hit.doc_type, hit.title) == (
        "Råde",
        "strategi",
        "Kompetanseplan for Æsøy kommune",
    )
    assert hit.metadata["content_hash"] and hit.heading == "Tiltak"


def test_personal_data_is_masked_in_the_store(make_kb, mini_corpus: Path) -> None:
    write(
        mini_corpus,
        "Læringsnettverket/samlinger/2024-02-01-notat.md",
        "# Notat\n\nRing 412 34 567 eller skriv til a@b.no.\n",
    )
    kb = make_kb()
    report = kb.ingest([mini_corpus])
    assert report.masked["telefon"] == 1 and report.masked["e-post"] == 1
    texts = " ".join(r.text for r, _ in kb.store.records())
    assert "412 34 567" not in texts and "a@b.no" not in texts and "[telefon]" in texts


def test_search_on_empty_store_says_what_to_do(make_kb) -> None:
    with pytest.raises(EmptyIndexError, match="kb ingest"):
        make_kb().search("noe")


def test_filters_apply_before_ranking(make_kb, mini_corpus: Path) -> None:
    kb = make_kb()
    kb.ingest([mini_corpus])
    from kb.types import Filters

    for mode in ("dense", "bm25", "hybrid"):
        hits = kb.search("nyansatte fadder", k=1, filters=Filters(municipalities=("Halden",)), mode=mode)
        assert [h.municipality for h in hits] == ["Halden"] or (mode == "bm25" and hits == [])
    dated = kb.search("heltid", k=10, filters=Filters(date_from="2024-01-01", date_to="2024-12-31"))
    assert {h.date[:4] for h in dated} == {"2024"}
    themed = kb.search("program", k=10, filters=Filters(themes=("onboarding",)))
    assert {h.source for h in themed} == {"Sarpsborg/erfaringer/introduksjonsprogram.md"}


def test_newer_strategy_ranks_first_and_older_is_marked(make_kb, mini_corpus: Path) -> None:
    kb = make_kb()
    kb.ingest([mini_corpus])
    hits = [h for h in kb.search("lærlinger mål kompetansestrategi", k=5) if h.doc_type == "strategi"]
    assert hits[0].source.endswith("2024-2027.md") and not hits[0].superseded
    assert hits[1].source.endswith("2020-2023.md") and hits[1].superseded
    history = kb.search("30 lærlinger innen 2023", k=5, history=True)
    assert history[0].source.endswith("2020-2023.md") and history[0].superseded


def test_per_municipality_spreads_results(make_kb, mini_corpus: Path) -> None:
    kb = make_kb()
    kb.ingest([mini_corpus])
    hits = kb.search("kommune", k=3, per_municipality=1)
    assert len({h.municipality for h in hits}) == 3


def test_second_writer_is_refused(make_kb) -> None:
    kb = make_kb()
    with kb.write_lock(), pytest.raises(StoreLockedError, match="skriver til kunnskapsbasen"):
        make_kb().ingest([Path(".")])


def test_interrupted_ingest_is_repaired_by_the_next_run(tmp_path: Path, mini_corpus: Path) -> None:
    for i in range(40):
        write(
            mini_corpus,
            f"Råde/erfaringer/case-{i:02d}.md",
            f"# Case {i}\n\nTekst om lærlinger nummer {i}. " * 20,
        )
    # The child kills itself with SIGKILL in the middle of the run: no cleanup code gets to run.
    script = (
        "import os, signal, pathlib\n"
        "import kb.indexer\nkb.indexer.EMBED_FLUSH = 1\n"
        "from kb.config import Settings\nfrom kb.base import KnowledgeBase\n"
        "def progress(done, total, source):\n"
        "    if done == 20:\n        os.kill(os.getpid(), signal.SIGKILL)\n"
        f"KnowledgeBase(Settings()).ingest([pathlib.Path({str(mini_corpus)!r})], progress=progress)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).parent.parent, check=False)
    assert proc.returncode == -signal.SIGKILL
    from kb.base import KnowledgeBase
    from kb.config import Settings

    kb = KnowledgeBase(Settings())
    assert 0 < len(kb.store.files()) < 45, "the kill should land mid-run"
    report = kb.ingest([mini_corpus])
    files = kb.store.files()
    assert len(files) == 45 and report.skipped == []
    assert all(len(f.versions) == 1 and f.is_complete(next(iter(f.versions))) for f in files.values())
    assert len(kb.lexical()) == kb.store.count()


def test_ingest_summary_json_and_exit_status(tmp_path: Path, mini_corpus: Path) -> None:
    from click.testing import CliRunner

    from kb.cli import cli

    copy_data("ødelagt.pdf", mini_corpus / "Halden/erfaringer/ødelagt.pdf")
    result = CliRunner().invoke(cli, ["ingest", str(mini_corpus), "--json"])
    assert result.exit_code == 1
    summary = json.loads(result.output)
    assert summary["added"] == 5 and summary["skipped"][0]["source"] == "Halden/erfaringer/ødelagt.pdf"
    assert "ødelagt" in summary["skipped"][0]["reason"]
    clean = CliRunner().invoke(cli, ["ingest", str(mini_corpus / "Halden" / ".." / "Sarpsborg")])
    assert clean.exit_code == 0, clean.output


def test_changing_chunking_or_model_uses_a_new_collection(make_kb, mini_corpus: Path) -> None:
    kb = make_kb()
    kb.ingest([mini_corpus])
    other = make_kb(chunk_size=400)
    assert other.store.name != kb.store.name
    assert other.store.count() == 0  # nothing of the 1000-character index leaks in
    other.ingest([mini_corpus])
    assert other.store.count() >= kb.store.count() > 0
    assert make_kb(embed_model="/some/other/model").store.name not in {kb.store.name, other.store.name}
