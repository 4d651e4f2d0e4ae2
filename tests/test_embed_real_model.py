"""The real offline model end to end: ingest, Norwegian paraphrase search, keyword search."""

from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def test_real_model_finds_paraphrase_and_keyword(real_settings, mini_corpus: Path) -> None:
    from kb.base import KnowledgeBase
    from tests.conftest import write

    write(
        mini_corpus,
        "Råde/erfaringer/ia.md",
        """
        # Nærvær i barnehagene
        Vi fulgte opp sykmeldte tett etter IA-avtalen og brukte verktøyet Nærværsnøkkelen.
        """,
    )
    kb = KnowledgeBase(real_settings)
    report = kb.ingest([mini_corpus])
    assert report.skipped == [] and len(report.added) == 6
    paraphrase = kb.search("hvordan fikk de nyansatte til å bli de første ukene?", k=3)
    assert paraphrase[0].source == "Sarpsborg/erfaringer/introduksjonsprogram.md"
    assert paraphrase[0].dense_score is not None and paraphrase[0].dense_score > 0.75
    keyword = kb.search("Nærværsnøkkelen", k=1)
    assert keyword[0].source == "Råde/erfaringer/ia.md"
    # The vectors are the model's: 384 dimensions, normalised.
    vector = kb.embed_query("test")
    assert len(vector) == 384 and abs(sum(v * v for v in vector) - 1.0) < 1e-3
