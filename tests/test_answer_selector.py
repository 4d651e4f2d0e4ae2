"""The learned answer-sentence selector: its shipped weights, and the features it reads."""

from __future__ import annotations

from kb.answer.question import _stems, read_question
from kb.answer.score import local_overlaps, previous_in_document
from kb.answer.selector import FEATURES, features, load_selector

DOCUMENT = [
    "Grønn anakonda er en kvelerslange og hører til boaslangenes familie.",
    "En anakonda kan leve i opptil 60 år, og de vokser nesten hele livet.",
    "En anakonda jakter som oftest annenhver måned og bruker lang tid på å fordøye byttet.",
    "Den har tenner, men disse brukes til å holde fast byttet.",
]
QUESTION = "Hva bruker en anakonda tennene sine til?"


def test_shipped_weights_match_the_features() -> None:
    selector = load_selector()
    assert len(selector.weights) == len(FEATURES)
    assert 0.0 < selector.answerable < 1.0


def test_local_overlap_weighs_the_words_that_set_sentences_apart() -> None:
    # «anakonda» is in three of the four sentences: the topic, not the answer. «tenner» is in one.
    local = local_overlaps(_stems(QUESTION) - _stems("hva en sine til"), [_stems(s) for s in DOCUMENT])
    assert max(range(len(DOCUMENT)), key=lambda i: local[i]) == 3
    assert local[3] > local[0]


def test_local_overlap_without_question_words_is_zero() -> None:
    assert local_overlaps(frozenset(), [_stems(s) for s in DOCUMENT]) == [0.0] * len(DOCUMENT)


def test_previous_stays_inside_a_document() -> None:
    assert previous_in_document(["a", "a", "b", "b"], [0.1, 0.2, 0.3, 0.4]) == [0.0, 0.1, 0.0, 0.3]


def test_the_answer_sentence_is_the_most_probable() -> None:
    selector = load_selector()
    question = read_question(QUESTION)
    q_stems = _stems(QUESTION) - _stems("hva en sine til")
    local = local_overlaps(q_stems, [_stems(s) for s in DOCUMENT])
    # Equal cosines and global overlaps: only what sets the sentences apart inside the document may decide.
    probabilities = [
        selector.probability(features(question, s, 0.85, 0.3, 0.85, 0.3, local=loc, best_local=max(local)))
        for s, loc in zip(DOCUMENT, local, strict=True)
    ]
    assert max(range(len(DOCUMENT)), key=lambda i: probabilities[i]) == 3
