"""The saved BM25 snapshot: one that cannot be read back is rebuilt, never an error."""

from __future__ import annotations

import pickle
from pathlib import Path

from kb.store.lexical import FORMAT_VERSION, LexicalIndex


def test_a_snapshot_saved_under_an_old_module_path_is_rebuilt(tmp_path: Path) -> None:
    # Saved before #22 moved kb/lexical.py to kb/store/lexical.py: the pickle names the class's old module.
    path = tmp_path / "lexical" / "collection.pkl"
    path.parent.mkdir()
    old_class = b"ckb.lexical\nLexicalIndex\n"
    path.write_bytes(pickle.dumps((FORMAT_VERSION, None), protocol=0).replace(b"N", b"(" + old_class + b"o", 1))
    try:
        pickle.loads(path.read_bytes())
    except ModuleNotFoundError:
        pass
    else:
        raise AssertionError("the fixture should name a module that does not exist")
    assert LexicalIndex.load(path) is None


def test_held_tells_which_stems_a_chunk_in_scope_has_also_inside_a_compound() -> None:
    from kb.store.chroma import Record
    from kb.store.lexical import analyse
    from kb.types import Filters

    index = LexicalIndex.build(
        [
            Record("a", "Lærerne i Halden fikk mentor og arbeid det første året.", {"municipality": "Halden"}),
            Record("b", "Turnover i barnehagene gikk ned.", {"municipality": "Råde"}),
            Record("c", "Turnoverarbeidet i skolen i Sarpsborg starter i høst.", {"municipality": "Sarpsborg"}),
        ],
        revision="1",
    )
    turnover = analyse("turnover", None)[0]
    mentor = analyse("mentor", None)[0]
    assert index.held([turnover, mentor]) == {turnover, mentor}
    assert index.held([turnover, mentor], Filters(municipalities=("Råde",))) == {turnover}
    assert index.held([turnover, mentor], Filters(municipalities=("Halden",))) == {mentor}  # Halden never writes it
    assert index.held([turnover], Filters(municipalities=("Sarpsborg",))) == {turnover}  # «turnoverarbeid» holds it
    assert index.held(["finnesikke"]) == frozenset()


def test_a_nynorsk_query_is_embedded_in_the_words_the_index_holds() -> None:
    from kb.store.chroma import Record

    index = LexicalIndex.build(
        [
            Record("a", "Nettverket møtes fire ganger i året.", {"municipality": "Læringsnettverket"}),
            Record("b", "Fleire lærlingar i helsearbeidarfaget.", {"municipality": "Hvaler"}),
        ],
        revision="1",
    )
    assert index.wording("Kor ofte møtest nettverket?") == "Hvor ofte møtes nettverket?"
    assert index.wording("Kva gjorde dei for å få fleire lærlingar?") == "Hva gjorde de for å få fleire lærlingar?"
    assert index.wording("Hvor ofte møtes nettverket?") == "Hvor ofte møtes nettverket?"
