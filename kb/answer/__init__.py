"""Cited answers in Norwegian, composed from the retrieved passages.

The stages, one module each:
- `question`: what is asked (a figure, a date, a name, a measure, a result, a comparison, an overview; two
  things in one question), the municipalities and years it names, its words in the store's spelling;
- `sentences`: the verbatim sentences of a stored chunk;
- `score`: how well each sentence answers the question (a model learned on NorQuAD, `selector.json`);
- `select`: the documents to read, and whether the asked fact is there at all;
- `compose`: the extractive answer, grouped by municipality with one citation per source, or the plain
  «fant ikke» with the closest documents; a question that asks two things gets both answers under one list;
- `generated`: an optional generator's answer, checked against its passages;
- `generator`, `prompts`: the client for that generator (an OpenAI-compatible endpoint) and its prompt text.

The default answer is extractive, so numbers, names and dates are always exactly as in the source.
"""

from kb.answer.compose import NOT_FOUND, compose, compose_parts
from kb.answer.generated import AnswerStream, ask, ask_stream, check_generated
from kb.answer.question import in_store_spelling, is_comparison, named_municipalities
from kb.answer.score import Candidate, idf_table, score_sentences, sentence_cache
from kb.answer.select import Retrieved, document_chunks, focus, min_score, novelty, retrieve, retrieve_parts
from kb.answer.sentences import Span, is_directive, sentence_spans

__all__ = [
    "NOT_FOUND",
    "AnswerStream",
    "Candidate",
    "Retrieved",
    "Span",
    "ask",
    "ask_stream",
    "check_generated",
    "compose",
    "compose_parts",
    "document_chunks",
    "focus",
    "idf_table",
    "in_store_spelling",
    "is_comparison",
    "is_directive",
    "min_score",
    "named_municipalities",
    "novelty",
    "retrieve",
    "retrieve_parts",
    "score_sentences",
    "sentence_cache",
    "sentence_spans",
]
