"""The reader (a cross-encoder fine-tuned on NorQuAD): its shipped weights, its export, and how it rescores.

The unit tests give `read_most_likely` a reader whose logits are written out, so what is checked (which
sentences it reads, how the combination orders them, that unread ones stay behind) does not depend on a model.
The integration tests build the real graph from the offline e5 folder and the shipped layers.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from kb.answer.question import read_question
from kb.answer.reader import (
    COMBINATION,
    WEIGHTS,
    Combination,
    export,
    is_exported,
    load_combination,
    reader_dir,
    shipped_layers,
    torch_reader,
    tuned_names,
)
from kb.answer.score import Candidate, answer_reader, read_most_likely
from kb.answer.sentences import Span, opening_heading, sentence_spans
from kb.types import Hit

COMBINED = Combination(selector=1.0, reader=1.0, reader_gap=0.0, bias=0.0, answerable=0.5, read=2)


class WrittenReader:
    """Logits looked up by sentence: a reader whose judgement the test states."""

    def __init__(self, logits: dict[str, float]) -> None:
        self.table = logits
        self.read: list[str] = []

    def logits(self, question: str, sentences: list[str]) -> list[float]:
        self.read.extend(sentences)
        return [self.table[s] for s in sentences]


def candidate(text: str, score: float, municipality: str = "Halden") -> Candidate:
    hit = Hit(id=text, text=text, source=f"{municipality}/a.md", score=1.0, metadata={"municipality": municipality})
    return Candidate(Span(hit, 0, len(text), 0), score=score)


def test_the_shipped_combination_is_fitted_and_has_a_threshold() -> None:
    combination = load_combination()
    assert combination is not None
    assert combination.reader + combination.reader_gap > 0  # the sentence the reader finds likeliest is likelier
    assert 0.0 < combination.answerable < 1.0 and combination.read >= 4
    report = json.loads(COMBINATION.read_text(encoding="utf-8"))["report"]
    assert report["top1_held_out"]["combined"] > report["top1_held_out"]["selector"]


def test_the_reader_reorders_what_it_reads_and_leaves_the_rest_behind() -> None:
    topic = candidate("Lede i Østfold er fylkeskommunens lederprogram.", 0.8)
    answer = candidate("29 av 32 deltakere fullførte programmet i juni 2025.", 0.6)
    unread = candidate("Programmet ble utviklet sammen med Høgskolen i Østfold.", 0.55)
    reader = WrittenReader({topic.span.display: -3.0, answer.span.display: 3.0})
    read_most_likely((reader, COMBINED), "Hvor mange fullførte Lede i Østfold?", [topic, answer, unread])
    assert reader.read == [topic.span.display, answer.span.display]  # the selector's two most likely
    assert answer.score > topic.score
    assert unread.score <= min(answer.score, topic.score)


def test_a_sentence_that_opens_a_section_is_read_after_its_heading() -> None:
    # «Når er neste samling?» quoted the note's own «Dato: 27. november 2025» before «5. februar 2026 i Fredrikstad.»,
    # which says nothing of the next session without the heading above it.
    text = "# Samling 27. november 2025\n\n## Neste samling\n\n5. februar 2026 i Fredrikstad. Tema: rekruttering.\n"
    hit = Hit(id="n", text=text, source="Læringsnettverket/n.md", score=1.0, metadata={})
    start = text.index("5.")
    opening = Candidate(Span(hit, start, text.index(" Tema"), 0), score=0.6)
    later = Candidate(Span(hit, text.index("Tema"), len(text) - 1, 0), score=0.5)
    assert opening_heading(opening.span) == "Neste samling"
    assert opening_heading(later.span) == ""  # not the first sentence under it
    reader = WrittenReader({"Neste samling: 5. februar 2026 i Fredrikstad.": 2.0, "Tema: rekruttering.": 0.0})
    read_most_likely((reader, COMBINED), "Når er neste samling?", [opening, later])
    assert reader.read == ["Neste samling: 5. februar 2026 i Fredrikstad.", "Tema: rekruttering."]
    assert opening.span.display == "5. februar 2026 i Fredrikstad."  # what is quoted stays the sentence alone
    # A document's title is what all of it is about; read before its first sentence, it won on NorQuAD where the
    # title happens to hold the answer («Ingen vet hva Krekar har kostet Norge» to «Hvem vet hva …?»).
    text = "Ingen vet hva Krekar har kostet Norge\n\nPSTs forsøk har kostet mye.\n"
    hit = Hit(id="t", text=text, source="nq.txt", score=1.0, metadata={"chunk_index": 0})
    (first,) = [Candidate(s, score=0.5) for s in sentence_spans(hit)]
    reader = WrittenReader({"PSTs forsøk har kostet mye.": 0.0})
    read_most_likely((reader, COMBINED), "Hvem vet hva Krekar har kostet?", [first])
    assert reader.read == ["PSTs forsøk har kostet mye."]


def test_a_section_named_by_a_question_is_read_under_it() -> None:
    # The welcome letter's «Hvem er med?» was quoted as a sentence of its own, and «Medlemmene er Sarpsborg kommune,
    # …» below it was read without it, as a list of names on no question.
    text = (
        "# Velkommen\n\nBrevet sendes til alle nye kontaktpersoner i nettverket.\n\nHvem er med?\n\n"
        "Medlemmene er Sarpsborg kommune og Råde kommune. Hver har en kontaktperson.\n"
    )
    hit = Hit(id="v", text=text, source="Læringsnettverket/v.md", score=1.0, metadata={})
    spans = sentence_spans(hit)
    assert [s.display for s in spans] == [
        "Brevet sendes til alle nye kontaktpersoner i nettverket.",
        "Medlemmene er Sarpsborg kommune og Råde kommune.",  # the heading is no sentence of its own
        "Hver har en kontaktperson.",
    ]
    letter, members, contact = (Candidate(s, score=p) for s, p in zip(spans, (0.9, 0.5, 0.2), strict=True))
    assert opening_heading(members.span) == "Hvem er med?"
    members_read = "Hvem er med?: Medlemmene er Sarpsborg kommune og Råde kommune."
    reader = WrittenReader({letter.span.display: 0.0, members_read: 3.0})
    read_most_likely((reader, COMBINED), "Hvem er med i nettverket?", [letter, members, contact])
    assert reader.read == [letter.span.display, members_read]
    assert members.score > letter.score
    # A question that carries on into its paragraph stays a sentence; one alone between blank lines is a heading.
    text = (
        "Vi ringte alle som hadde sagt opp det siste året.\n\nHva gjorde vi galt med de nyansatte?\n"
        "Det spurte vi lederne om i etterkant.\n\nHvorfor sluttet så mange sykepleiere etter første år?\n\n"
        "Svarene pekte på turnus og mangel på oppfølging.\n"
    )
    shown = [s.display for s in sentence_spans(Hit(id="q", text=text, source="q.md", score=1.0, metadata={}))]
    assert "Hva gjorde vi galt med de nyansatte?" in shown
    assert "Hvorfor sluttet så mange sykepleiere etter første år?" not in shown


def test_no_reader_for_the_hash_embedder_or_when_switched_off(make_kb) -> None:  # type: ignore[no-untyped-def]
    assert answer_reader(make_kb()) is None  # the test default: the hash embedder
    assert answer_reader(make_kb(embed_model="multilingual-e5-small", reader=False)) is None


def test_without_a_built_reader_the_selector_ranks_alone(make_kb) -> None:  # type: ignore[no-untyped-def]
    kb = make_kb(embed_model="multilingual-e5-small")
    assert not is_exported(reader_dir(kb.settings.models_dir))
    assert answer_reader(kb) is None


def test_the_layers_kept_in_float32_are_those_the_shipped_file_holds(tmp_path: Path) -> None:
    weights = tmp_path / "reader.npz"
    layer = np.zeros((2, 2), dtype=np.float16)
    names = (
        "bert.encoder.layer.3.attention.self.query.weight",
        "bert.encoder.layer.11.output.dense.weight",
        "bert.encoder.layer.10.intermediate.dense.bias",
        "head.weight",
    )
    np.savez(weights, **dict.fromkeys(names, layer))
    assert shipped_layers(weights) == [3, 10, 11]


@pytest.mark.integration
def test_the_shipped_layers_are_the_ones_the_training_changes(real_model_dir: Path) -> None:
    shipped = np.load(WEIGHTS)
    model = torch_reader(real_model_dir)
    layers = json.loads(COMBINATION.read_text(encoding="utf-8"))["tuned_layers"]
    assert sorted(shipped.files) == sorted(tuned_names(model, layers))
    depth = len(model.bert.encoder.layer)
    assert shipped_layers() == list(range(depth - layers, depth))
    state = model.state_dict()
    for name in shipped.files:
        assert np.allclose(state[name].numpy(), shipped[name].astype(np.float32))


@pytest.mark.integration
def test_the_exported_reader_matches_torch_and_reads_the_answer_first(real_reader_dir: Path) -> None:
    from kb.answer.reader import Reader

    marker = json.loads((real_reader_dir / ".reader-export.json").read_text(encoding="utf-8"))
    assert marker["max_abs_diff"] < 0.01
    reader = Reader(real_reader_dir)
    question = "Hvor mange deltakere fullførte det første kullet av Lede i Østfold?"
    sentences = [
        "Lede i Østfold er fylkeskommunens lederprogram for ledere på alle nivåer.",
        "Det andre kullet starter høsten 2025 med 36 deltakere.",
        "29 av 32 deltakere fullførte programmet i juni 2025, og 26 tok eksamen.",
    ]
    logits = reader.logits(question, sentences)
    assert max(range(3), key=lambda i: logits[i]) == 2


@pytest.mark.integration
def test_the_reader_finds_the_next_session_under_its_heading(real_reader_dir: Path) -> None:
    from kb.answer.reader import Reader

    reader = Reader(real_reader_dir)
    dated, headed = reader.logits(
        "Når er neste samling?",
        ["Dato: 27. november 2025, kl. 09.00–14.00", "Neste samling: 5. februar 2026 i Fredrikstad."],
    )
    assert headed > dated


@pytest.mark.integration
def test_export_skips_a_finished_build(real_model_dir: Path, real_reader_dir: Path) -> None:
    assert is_exported(real_reader_dir, real_model_dir)
    assert export(real_model_dir, real_reader_dir.parent) == real_reader_dir.resolve()


def test_a_comparison_is_not_read_and_keeps_the_selectors_threshold(make_kb, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from kb.answer import score
    from kb.answer.selector import load_selector

    kb = make_kb(embed_model="multilingual-e5-small")
    monkeypatch.setattr(score, "answer_reader", lambda kb: (WrittenReader({}), COMBINED))
    assert score.min_answerable(kb) == COMBINED.answerable
    # The combination was fitted on one question's likeliest sentences; across municipalities the selector ranks.
    assert score.min_answerable(kb, read=False) == load_selector().answerable


def test_the_reader_reads_a_single_topic_answer_and_not_a_comparison(make_kb, mini_corpus, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from collections import defaultdict

    from kb.answer import score
    from kb.answer.select import retrieve

    kb = make_kb()
    kb.ingest([mini_corpus])
    reader = WrittenReader(defaultdict(float))
    monkeypatch.setattr(score, "answer_reader", lambda kb: (reader, COMBINED))
    compared = retrieve(kb, "Sammenlign hvordan kommunene rekrutterer sykepleiere")
    assert compared.comparison and compared.candidates
    assert reader.read == []
    retrieve(kb, "Hvordan rekrutterer Fredrikstad sykepleiere?")
    assert len(reader.read) == COMBINED.read


def test_a_new_tokenizer_in_the_e5_folder_asks_for_a_new_reader(tmp_path: Path) -> None:
    from kb.answer.reader import (
        EXPORTER_VERSION,
        MARKER_NAME,
        MODEL_FILE,
        TOKENIZER_FILE,
        _shipped_digest,
        _weights_digest,
    )

    model_dir, folder = tmp_path / "e5", tmp_path / "reader"
    model_dir.mkdir()
    folder.mkdir()
    (model_dir / "model.safetensors").write_bytes(b"weights")
    (model_dir / TOKENIZER_FILE).write_text('{"model": "one"}', encoding="utf-8")
    (folder / MODEL_FILE).write_bytes(b"graph")
    marker = {"exporter_version": EXPORTER_VERSION, "source": _weights_digest(model_dir), "shipped": _shipped_digest()}
    (folder / MARKER_NAME).write_text(json.dumps(marker), encoding="utf-8")
    assert is_exported(folder, model_dir)
    # The export copies the tokenizer, so a reader built with another one is stale even with the same weights.
    (model_dir / TOKENIZER_FILE).write_text('{"model": "two"}', encoding="utf-8")
    assert not is_exported(folder, model_dir)


def test_a_story_reads_no_more_than_story_read_and_a_typed_question_the_combinations_count() -> None:
    from dataclasses import replace

    from kb.answer.score import STORY_READ

    many = replace(COMBINED, read=STORY_READ + 4)
    sentences = [candidate(f"Setning nummer {i} om lærlinger.", 0.9 - i / 100) for i in range(STORY_READ + 8)]
    reader = WrittenReader({c.span.display: 0.0 for c in sentences})
    # «hvordan» and «hva kom ut av det» are told as a story by role; the reader picks a line from its likeliest
    read_most_likely((reader, many), read_question("Hvordan fikk Rakkestad flere lærlinger?"), sentences)
    assert len(reader.read) == STORY_READ
    reader.read.clear()
    read_most_likely((reader, many), read_question("Hvor mange lærlinger hadde Rakkestad i 2024?"), sentences)
    assert len(reader.read) == many.read
