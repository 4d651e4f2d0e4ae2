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
