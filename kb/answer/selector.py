"""How likely a sentence is to hold the answer to a question: a logistic model learned on NorQuAD.

NorQuAD's 4,752 Norwegian questions each have their answer marked inside a passage, so the sentence that holds
it is a free label. `scripts/train_selector.py` fits the weights on 80 % of the passages, reports them against
plain cosine on the other 20 %, and writes `selector.json` beside this module. The features are the ones an
answer has at query time: how close the sentence is to the question (cosine, and keyword overlap), each also
relative to the best sentence read, the overlap in the question's words that set sentences apart among those
read (of it and of the sentence before it), whether it holds an item of the asked type that the question does not
already say (a figure, a date, a name), whether it names the year asked about, and its length.

The same file holds the answerability threshold: a typed question whose best typed sentence scores below it is
answered «fant ikke» (calibrated on the same NorQuAD split, with the answer sentences taken out of the text).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from kb.answer.facts import asked_items, mentions_year
from kb.answer.question import Question

WEIGHTS = Path(__file__).with_name("selector.json")
FEATURES = (
    "cosine",
    "cosine_gap",
    "overlap",
    "overlap_gap",
    "item",
    "no_item",
    "year",
    "no_year",
    "words",
    "local",
    "local_gap",
    "previous",
)


@dataclass(frozen=True, slots=True)
class Selector:
    """Logistic weights over FEATURES, and the answerability threshold for typed questions."""

    weights: tuple[float, ...]
    bias: float
    answerable: float  # a typed question is answered only if its best typed sentence's probability reaches this

    def probability(self, values: Sequence[float]) -> float:
        """P(the sentence holds the answer)."""
        z = self.bias + sum(w * v for w, v in zip(self.weights, values, strict=True))
        return 1.0 / (1.0 + math.exp(-max(min(z, 40.0), -40.0)))


@cache
def load_selector(path: Path = WEIGHTS) -> Selector:
    """The shipped model (`selector.json`)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if tuple(data["features"]) != FEATURES:
        raise ValueError(f"{path} was trained on other features; run scripts/train_selector.py")
    return Selector(tuple(float(w) for w in data["weights"]), float(data["bias"]), float(data["answerable"]))


def features(
    question: Question,
    sentence: str,
    cosine: float,
    overlap: float,
    best_cosine: float,
    best_overlap: float,
    items: Sequence[str] | None = None,
    *,
    local: float = 0.0,
    best_local: float = 0.0,
    previous: float = 0.0,
) -> list[float]:
    """The FEATURES of one sentence for one question (best_*: the highest among the sentences read).

    `items`: the sentence's new items of the asked type (kb.answer.facts.new_items), when already known.
    `local`: its overlap with the question weighted by rarity among the sentences read (kb.answer.score.
    local_overlaps), `previous` the same for the sentence before it in its document (0 for a first sentence).
    """
    if items is None:
        items = asked_items(question, sentence)
    has_items = question.typed and bool(items)
    years = bool(question.years) and mentions_year(sentence, question.years)
    return [
        cosine,
        cosine - best_cosine,
        overlap,
        overlap - best_overlap,
        float(has_items),
        float(question.typed and not has_items),
        float(years),
        float(bool(question.years) and not years),
        math.log1p(len(sentence.split())),
        local,
        local - best_local,
        previous,
    ]
