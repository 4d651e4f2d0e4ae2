import pytest

from kb.retrieve import retrieval
from kb.store.chroma import Record
from kb.store.lexical import Decompounder, LexicalIndex, analyse
from kb.types import Filters, Hit


def hit(
    id_: str, source: str = "", municipality: str = "A", dense: float | None = None, bm25: float | None = None
) -> Hit:
    return Hit(
        id=id_,
        text="",
        source=source or id_,
        score=0.0,
        metadata={"municipality": municipality},
        dense_score=dense,
        bm25_score=bm25,
    )


def test_weighted_fusion_rewards_agreement() -> None:
    dense = [hit("a", dense=0.9), hit("b", dense=0.8), hit("c", dense=0.1)]
    sparse = [hit("b", bm25=12.0), hit("d", bm25=6.0)]
    fused = retrieval.fuse_weighted(dense, sparse, 0.6)
    assert [h.id for h in fused][:2] == ["b", "a"]
    assert fused[0].dense_score == 0.8 and fused[0].bm25_score == 12.0


def test_rrf_orders_by_reciprocal_rank() -> None:
    fused = retrieval.fuse_rrf([hit("a"), hit("b")], [hit("b"), hit("c")], k=60)
    assert [h.id for h in fused] == ["b", "a", "c"] and fused[0].score == 1.0


def test_versions_group_by_title_and_date() -> None:
    docs = [
        {
            "source": "S/strategier/ny.pdf",
            "municipality": "Sarpsborg",
            "doc_type": "strategi",
            "title": "Kompetansestrategi for Sarpsborg kommune 2024–2027",
            "date": "2024-01-01",
        },
        {
            "source": "S/strategier/gammel.md",
            "municipality": "Sarpsborg",
            "doc_type": "strategi",
            "title": "Kompetanseplan Sarpsborg kommune 2020–2023",
            "date": "2020-01-01",
        },
        {
            "source": "S/strategier/rekruttering.md",
            "municipality": "Sarpsborg",
            "doc_type": "strategi",
            "title": "Rekrutteringsstrategi 2019",
            "date": "2019-01-01",
        },
        {
            "source": "H/strategier/plan.md",
            "municipality": "Halden",
            "doc_type": "strategi",
            "title": "Kompetanseplan 2018",
            "date": "2018-01-01",
        },
    ]
    assert retrieval.superseded_sources(docs) == {"S/strategier/gammel.md": "S/strategier/ny.pdf"}


def test_older_version_goes_right_below_the_current_one() -> None:
    hits = [hit("old", source="old", dense=0.9), hit("x", source="x"), hit("new", source="new")]
    hits = [
        Hit(**{**{f: getattr(h, f) for f in Hit.__slots__}, "score": s})
        for h, s in zip(hits, (0.9, 0.5, 0.3), strict=True)
    ]
    ranked = retrieval.apply_versions(hits, {"old": "new"}, penalty=0.5, history=False)
    assert [h.id for h in ranked] == ["x", "new", "old"]
    assert ranked[2].superseded
    assert [h.id for h in retrieval.apply_versions(hits, {"old": "new"}, 0.5, history=True)] == ["old", "x", "new"]


def test_diversify_and_group() -> None:
    hits = [hit("1", municipality="A"), hit("2", municipality="A"), hit("3", municipality="B")]
    assert [h.id for h in retrieval.diversify(hits, 1)] == ["1", "3", "2"]
    assert list(retrieval.group_by_municipality(hits)) == ["A", "B"]


@pytest.mark.parametrize(
    ("word", "parts"),
    [
        ("sykepleierrekruttering", ("sykepleier", "rekruttering")),
        ("heltidskultur", ("heltid", "kultur")),
        ("lærlingplasser", ("lærling", "plasser")),
        ("rekruttering", ()),
    ],
)
def test_decompounder_splits_into_known_words(word: str, parts: tuple[str, ...]) -> None:
    known = Decompounder(["sykepleier", "rekruttering", "heltid", "kultur", "lærling", "plasser"])
    assert known.split(word) == parts


def test_bm25_matches_compound_and_phrase_both_ways() -> None:
    records = [
        Record("1", "Rekruttering av sykepleiere er vanskelig. Sykepleier er et yrke.", {"source": "a"}),
        Record("2", "Vi jobber med sykepleierrekruttering i hele kommunen.", {"source": "b"}),
        Record("3", "Lærlinger og fagbrev i barnehagen. Rekruttering av lærere.", {"source": "c"}),
    ]
    index = LexicalIndex.build(records, revision="r")
    assert {h.id for h in index.search("sykepleierrekruttering", 5)} >= {"1", "2"}
    assert {h.id for h in index.search("rekruttering av sykepleiere", 5)} >= {"1", "2"}
    decompounder = Decompounder(index.vocabulary)
    shared = set(analyse("sykepleierrekruttering", decompounder)) & set(
        analyse("rekruttering av sykepleiere", decompounder)
    )
    assert len(shared) == 2  # the nurse stem and the recruitment stem


def test_bm25_reads_a_nynorsk_question_in_the_bokmål_the_documents_use() -> None:
    """«Kva gjorde dei med sjukefråværet blant reinhaldarane?» matched no word of bokmål documents."""
    records = [
        Record("1", "Sykefraværet blant renholderne gikk ned etter ergonomiske kartlegginger.", {"source": "a"}),
        Record("2", "Lærlingene får tilbud om fast stilling etter fagprøven.", {"source": "b"}),
        Record("3", "Nyansatte får fadder de første ukene.", {"source": "c"}),
    ]
    index = LexicalIndex.build(records, revision="r")
    assert [h.id for h in index.search("sjukefråværet", 5)] == ["1"]
    assert [h.id for h in index.search("Kor mange lærlingar fekk fast stilling?", 5)][:1] == ["2"]
    assert index.rarity("sjukefråværet") == index.rarity("sykefraværet") > 0
    assert index.search("sykkelleasing", 5) == []  # a word with no bokmål form in the index finds nothing


def test_bm25_filters_before_ranking() -> None:
    records = [
        Record(str(i), "lærlinger " * (10 - i), {"source": str(i), "municipality": "A" if i else "B"}) for i in range(5)
    ]
    index = LexicalIndex.build(records, revision="r")
    hits = index.search("lærlinger", 1, Filters(municipalities=("A",)))
    assert [h.id for h in hits] == ["1"]


def test_rarity_is_the_rarest_words_idf_within_the_readers_scope() -> None:
    records = [
        Record(str(i), f"Kommunen jobber med heltid i helse nummer {i}.", {"source": str(i), "municipality": "A"})
        for i in range(8)
    ]
    records.append(Record("x", "Kommunen tilbyr sykkelleasing.", {"source": "x", "municipality": "B"}))
    records += [Record(f"b{i}", "Heltid i barnehagen.", {"source": f"b{i}", "municipality": "B"}) for i in range(3)]
    index = LexicalIndex.build(records, revision="r")
    assert index.rarity("sykkelleasing") == pytest.approx(1.0)  # in one chunk: as rare as a word can be
    assert index.rarity("kommunen sykkelleasing") == pytest.approx(1.0)  # the rarest word decides
    common = index.rarity("hvordan jobber kommunen med heltid?")
    assert 0.0 < common < 0.5
    assert index.rarity("ord som ikke finnes") == 0.0
    # Within municipality A «sykkelleasing» does not occur, and «heltid» is in every chunk the reader may see.
    scoped = Filters(municipalities=("A",))
    assert index.rarity("sykkelleasing", scoped) == 0.0
    assert index.rarity("heltid", scoped) < index.rarity("heltid")


def test_rarity_weight_keeps_bm25_for_rare_words_and_shrinks_it_for_common_ones() -> None:
    assert retrieval.rarity_weight(0.5, 1.0, 0.8) == pytest.approx(0.5)
    assert retrieval.rarity_weight(0.5, 0.8, 0.8) == pytest.approx(0.5)
    assert retrieval.rarity_weight(0.5, 0.4, 0.8) == pytest.approx(0.75)
    assert retrieval.rarity_weight(0.5, 0.0, 0.8) == pytest.approx(1.0)
    # A flat, weak BM25 list no longer outvotes the dense ranking when every word of the question is common.
    dense = [hit("a", dense=0.90), hit("b", dense=0.86), hit("c", dense=0.80)]
    sparse = [hit("c", bm25=2.6), hit("b", bm25=2.5), hit("a", bm25=1.0)]
    assert next(h.id for h in retrieval.fuse_weighted(dense, sparse, 0.5)) == "b"
    weight = retrieval.rarity_weight(0.5, 0.3, 0.8)
    assert next(h.id for h in retrieval.fuse_weighted(dense, sparse, weight)) == "a"
