"""What is stored, and the indexes built from it: nothing here knows about questions or answers.

- `chroma`: the Chroma collection (embedded or a server); the only module that imports chromadb;
- `erase`: clears what Chroma keeps of deleted chunks inside its SQLite file;
- `lexical`: the in-memory snapshot of the store: BM25 (Norwegian stemming, compound splitting) and vectors;
- `sentence_cache`: passage vectors of answer sentences, on disk by model and text.
"""

from kb.store.chroma import Record, Store, StoredFile
from kb.store.lexical import LexicalIndex
from kb.store.sentence_cache import SentenceVectors

__all__ = ["LexicalIndex", "Record", "SentenceVectors", "Store", "StoredFile"]
