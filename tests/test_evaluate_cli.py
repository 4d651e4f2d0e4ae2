"""`kb eval` end to end on small sets: the project's layout and a NorQuAD-layout folder (hash embedder)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from kb.cli import cli
from kb.evaluate.retrieval import norquad_questions


def _norquad(folder: Path) -> Path:
    """Three passages and three questions in NorQuAD's BEIR layout, with their answer spans."""
    folder.mkdir(parents=True)
    passages = {
        "p1": ("Rygge lufthavn", "Rygge lufthavn ligger i Moss og har vært stengt for sivil trafikk siden 2016."),
        "p2": ("Fredrikstad", "Fredrikstad er en by ved utløpet av Glomma med gamlebyen som kjent festning."),
        "p3": ("Halden", "Fredriksten festning ligger i Halden og ble bygget på 1600-tallet mot svenskene."),
    }
    rows = [{"_id": k, "title": t, "text": x} for k, (t, x) in passages.items()]
    (folder / "corpus.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    queries = [
        {"_id": "q1", "text": "Hvor lenge har Rygge lufthavn vært stengt?", "answers": ["siden 2016"]},
        {"_id": "q2", "text": "Hvilken elv renner ut ved Fredrikstad?", "answers": ["Glomma"]},
        {"_id": "q3", "text": "Når ble Fredriksten festning i Halden bygget?", "answers": ["på 1600-tallet"]},
    ]
    (folder / "queries.jsonl").write_text(
        "\n".join(json.dumps(q, ensure_ascii=False) for q in queries), encoding="utf-8"
    )
    (folder / "qrels.tsv").write_text("query-id\tcorpus-id\tscore\nq1\tp1\t1\nq2\tp2\t1\nq3\tp3\t1\n", encoding="utf-8")
    return folder


def test_norquad_questions_carry_their_answer_span_as_the_key_fact(tmp_path: Path) -> None:
    questions = norquad_questions(_norquad(tmp_path / "norquad"), sample=3)
    assert sorted((q.id, q.facts) for q in questions) == [
        ("q1", ("siden 2016",)),
        ("q2", ("Glomma",)),
        ("q3", ("på 1600-tallet",)),
    ]


def test_eval_answers_on_norquad(mini_corpus: Path, tmp_path: Path) -> None:
    questions = tmp_path / "set.jsonl"
    questions.write_text(
        json.dumps(
            {
                "id": "q1",
                "question": "Hvor stor andel av de nyansatte sluttet i 2024?",
                "kind": "keyword",
                "relevant": ["Sarpsborg/erfaringer/introduksjonsprogram.md"],
                "facts": ["17 prosent"],
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    folder = _norquad(tmp_path / "norquad")
    args = ["eval", "--set", str(questions), "--corpus", str(mini_corpus), "--answers", "--json"]
    result = CliRunner().invoke(cli, [*args, "--norquad", "--norquad-dir", str(folder), "--sample", "3"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output[result.output.index("{") :])
    nq = data["norquad_answers"]
    assert nq["questions"] == 3 and nq["answerable"] == 3
    assert nq["verbatim"] == 1.0  # every citation quotes its NorQuAD passage
    assert nq["facts"] == 1.0  # each one-sentence passage holds its answer span, and the answer quotes it
    assert "fact_recall" in data["answers"]
    off_topic = data["norquad_off_topic"]  # the same questions asked of the labelled store, to be refused
    assert off_topic["unanswerable"] == 3 and off_topic["answerable"] == 0
    assert 0.0 <= off_topic["refused"] <= 1.0


def test_eval_answers_tells_key_facts_per_what_was_asked(mini_corpus: Path, tmp_path: Path) -> None:
    questions = tmp_path / "set.jsonl"
    rows = [
        {"id": "a", "question": "Hvor stor andel av de nyansatte sluttet i 2024?", "facts": ["17 prosent"]},
        {"id": "b", "question": "Hvor stor andel av de nyansatte sluttet i 2024?", "facts": ["finnes ikke"]},
    ]
    questions.write_text("\n".join(json.dumps({**r, "kind": "keyword"}, ensure_ascii=False) for r in rows))
    args = ["eval", "--set", str(questions), "--corpus", str(mini_corpus), "--answers"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "nøkkelfakta etter hva spørsmålet ble lest som: tall 1/2" in result.output


def test_each_labelled_folder_gets_its_own_eval_store(tmp_path: Path) -> None:
    from kb.evaluate.retrieval import DEFAULT_CORPUS, store_name

    assert store_name(None) == store_name(DEFAULT_CORPUS) == "corpus"
    other, same_name = tmp_path / "a" / "docs", tmp_path / "b" / "docs"
    assert store_name(other).startswith("corpus-docs-")
    assert len({store_name(None), store_name(other), store_name(same_name)}) == 3
