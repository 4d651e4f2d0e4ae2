"""The bundled corpus and its labelled set with the real model: retrieval targets (#4) and answer floors (#5).

One store of corpus/ per test session, ingested with the real offline multilingual-e5-small. The retrieval
figures are the README's targets. The answer figures are the targets where they are met, and for key facts
(not met, README «Svarkvalitet») a floor just under what `kb eval --answers` measured, so a change that
loses key facts fails here.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kb.evaluate import retrieval as ev

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def corpus_kb(tmp_path_factory: pytest.TempPathFactory, real_model_dir: Path, real_reader_dir: Path):  # type: ignore[no-untyped-def]
    from kb.base import KnowledgeBase
    from kb.config import Settings

    home = tmp_path_factory.mktemp("quality")
    (home / "models").mkdir()
    os.symlink(real_model_dir, home / "models" / real_model_dir.name)
    os.symlink(real_reader_dir, home / "models" / real_reader_dir.name)
    kb = KnowledgeBase(Settings(home=home, embed_model=real_model_dir.name))
    report = kb.ingest([REPO_ROOT / "corpus"])
    assert report.skipped == [] and len(report.added) == 40
    return kb


@pytest.fixture(scope="module")
def questions() -> list[ev.Question]:
    return ev.load_questions(ev.DEFAULT_SET)


def test_hybrid_meets_the_retrieval_targets_on_every_kind(corpus_kb, questions) -> None:  # type: ignore[no-untyped-def]
    results = ev.evaluate(corpus_kb, questions)
    hybrid = results["modes"]["hybrid"]
    assert hybrid["overall"]["recall@5"] >= 0.90
    assert hybrid["overall"]["mrr@10"] >= 0.75
    for kind, row in hybrid["per_kind"].items():
        best_single = max(results["modes"][m]["per_kind"][kind]["recall@5"] for m in ("dense", "bm25"))
        assert row["recall@5"] >= best_single - 1e-9, kind
    assert results["current_version_first"] >= 0.95


def test_answers_stay_above_their_measured_floors(corpus_kb) -> None:  # type: ignore[no-untyped-def]
    from kb.evaluate.answers import evaluate_answers, load_questions

    rows = load_questions([ev.DEFAULT_SET])
    result = evaluate_answers(corpus_kb, rows)
    assert result["verbatim"] == 1.0  # every quote is in its source: a target, met
    assert result["citations_per_source"] == 1.0  # one [n] per document and page: a target, met
    assert result["refused"] >= 0.95  # target, met (18 of 18)
    assert result["answered"] >= 0.95  # target, met: 0.959 (139 of 145) with the reader; 0.952 without
    assert result["how_leads"] >= 0.90  # target, met: every «how did they do it» answer leads with what was done
    assert result["median_words_single"] <= 120  # target, met
    assert result["facts"] >= 0.44  # target 0.80; measured 0.455 (round ten: 0.434 before two-part questions)
    assert result["fact_recall"] >= 0.55  # no target; measured 0.569 (key facts counted one by one)


def test_nynorsk_questions_are_answered_like_bokmål_ones(corpus_kb) -> None:  # type: ignore[no-untyped-def]
    from kb.evaluate.answers import evaluate_answers, load_questions

    # 33 questions of the project's set in nynorsk (28 answerable, 5 not), asked of the bokmål corpus
    rows = load_questions([ev.DEFAULT_SET.parent / "nynorsk.jsonl"])
    result = evaluate_answers(corpus_kb, rows)
    assert result["answered"] >= 0.92  # measured 0.964 (27 of 28); before nynorsk was read, 0.464 (13 of 28)
    assert result["refused"] == 1.0  # 5 of 5
    # measured 0.643 (18 of 28) since a nynorsk question is searched for in the store's words (round twenty-two of
    # #18); 0.500 when the search began to read nynorsk words (round ten)
    assert result["facts"] >= 0.60
    assert result["verbatim"] == 1.0


def test_a_fact_the_base_does_not_hold_is_not_answered(corpus_kb) -> None:  # type: ignore[no-untyped-def]
    """evalsets/naer-bom: the topic is in corpus/, the asked fact is not (a price, a date, another year's figure,
    another municipality's measure), beside answerable questions of the same shapes; written blind."""
    from kb.evaluate.answers import evaluate_answers, load_questions

    result = evaluate_answers(corpus_kb, load_questions([ev.DEFAULT_SET.parent / "naer-bom" / "questions.jsonl"]))
    assert result["near_miss_refused"] >= 0.85  # target, met: 0.891 (41 of 46) in round twenty-two; 0 before #18
    assert result["answered"] >= 0.95  # target, met: 48 of 48
    assert result["verbatim"] == 1.0


def test_documents_from_new_municipalities_in_a_flat_folder(
    tmp_path: Path, real_model_dir: Path, real_reader_dir: Path
) -> None:
    """evalsets/nye-kommuner: nine documents nobody here wrote against, from four municipalities not in corpus/,
    dropped in one folder without front matter; the store must file them by their text and answer from them."""
    from kb.base import KnowledgeBase
    from kb.config import Settings
    from kb.evaluate.answers import evaluate_answers, load_questions

    folder = REPO_ROOT / "evalsets" / "nye-kommuner"
    (tmp_path / "models").mkdir()
    os.symlink(real_model_dir, tmp_path / "models" / real_model_dir.name)
    os.symlink(real_reader_dir, tmp_path / "models" / real_reader_dir.name)  # as `kb setup` builds it
    kb = KnowledgeBase(Settings(home=tmp_path, embed_model=real_model_dir.name))
    report = kb.ingest([folder / "dokumenter"])
    assert report.skipped == [] and len(report.added) == 9
    owners = {d.municipality for d in kb.documents()}
    assert owners == {"Moss", "Indre Østfold", "Hvaler", "Våler", "Læringsnettverket"}
    retrieval = ev.evaluate(kb, ev.load_questions(folder / "questions.jsonl"), ("hybrid",))
    assert retrieval["modes"]["hybrid"]["overall"]["recall@5"] >= 0.95  # measured 1.000
    result = evaluate_answers(kb, load_questions([folder / "questions.jsonl"]))
    # measured 0.917 (22 of 24). nye-26 («Kor mykje gjekk sjukefråværet ned då sjukeheimen prøvde lange
    # helgevakter?») is refused since a change question needs a reported change (round fifteen): the case that has
    # «Sykefraværet gikk ned fra 10,2 til 8,7 prosent» is the search's third document and is not read, and the
    # «answer» before was Hvaler's apprentices. 0.958 before.
    assert result["answered"] >= 0.9
    assert result["refused"] >= 0.85  # measured 0.875 (7 of 8); 0.750 before #18, 0.375 before the text named it
    assert result["facts"] >= 0.74  # target 0.75; measured 0.750, as `kb eval --answers` (with the reader)
    assert result["how_leads"] >= 0.85  # target 0.90; measured 1.000 (8 of 8); 0.875 before comparisons told cases
    assert result["verbatim"] == 1.0
