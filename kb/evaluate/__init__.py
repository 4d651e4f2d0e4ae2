"""How good search and answers are, measured on labelled question sets (`kb eval`).

- `retrieval`: recall@5/10, MRR@10 and nDCG@10 per question kind, on the own set and NorQuAD;
- `answers`: key facts, refusals, verbatim quotes and citations of `kb ask` answers.

Both take a knowledge base and never open one: the `kb eval` command (kb.cli.evaluate) builds the stores.
"""

from kb.evaluate import answers, retrieval

__all__ = ["answers", "retrieval"]
