"""An in-memory snapshot of the store: BM25 (Snowball Norwegian stemmer, compound splitting) and the vectors.

The snapshot is rebuilt from the store's chunks (never from files), so it holds exactly what Chroma holds. It is
saved beside the store with the store revision it was built from; a process that finds another revision in
the store rebuilds it, so several processes sharing one store (or one Chroma server) stay in step.

Dense search over the snapshot is exact (one matrix-vector product). NOTE: Chroma's HNSW index missed a clearly
best chunk among a few hundred near-identical vectors (repeated boilerplate) in tests/test_base_concurrency.py, and a
second process's embedded client does not see another's new vectors; exact search has neither problem and takes
milliseconds at 100k chunks (bench/query_latency.py). Chroma stays the store; its ANN query is a setting away.
"""

from __future__ import annotations

import logging
import math
import pickle
import re
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from kb.store.chroma import Record
from kb.store.nynorsk import FUNCTION_WORDS, NYNORSK_QUESTION, bokmål_forms
from kb.types import Filters, Hit, Scalar

logger = logging.getLogger(__name__)

FORMAT_VERSION = 4  # 4: stem_df
_WORD = re.compile(r"[0-9a-zæøåäöéèüA-ZÆØÅÄÖÉÈÜ]+(?:-[0-9a-zæøåA-ZÆØÅ]+)*")
# Function words carry no topic; the Snowball list for Norwegian plus question words users type.
STOPWORDS = frozenset(
    [
        "og",
        "i",
        "jeg",
        "det",
        "at",
        "en",
        "et",
        "den",
        "til",
        "er",
        "som",
        "på",
        "de",
        "med",
        "han",
        "av",
        "ikke",
        "ikkje",
        "der",
        "så",
        "var",
        "meg",
        "seg",
        "men",
        "ett",
        "har",
        "om",
        "vi",
        "min",
        "mitt",
        "ha",
        "hadde",
        "hun",
        "nå",
        "over",
        "da",
        "ved",
        "fra",
        "du",
        "ut",
        "sin",
        "dem",
        "oss",
        "opp",
        "man",
        "kan",
        "hans",
        "hvor",
        "eller",
        "hva",
        "skal",
        "selv",
        "sjøl",
        "her",
        "alle",
        "vil",
        "bli",
        "ble",
        "blei",
        "blitt",
        "kunne",
        "inn",
        "når",
        "være",
        "kom",
        "noen",
        "noe",
        "ville",
        "dere",
        "deres",
        "kun",
        "ja",
        "etter",
        "ned",
        "skulle",
        "denne",
        "for",
        "deg",
        "si",
        "sine",
        "sitt",
        "mot",
        "å",
        "meget",
        "hvorfor",
        "dette",
        "disse",
        "uten",
        "hvordan",
        "ingen",
        "din",
        "ditt",
        "blir",
        "samme",
        "hvilken",
        "hvilke",
        "sånn",
        "inni",
        "mellom",
        "vår",
        "hver",
        "hvem",
        "vors",
        "hvis",
        "både",
        "bare",
        "enn",
        "fordi",
        "før",
        "mange",
        "også",
        "slik",
        "vært",
        "båe",
        "begge",
        "siden",
        "dykk",
        "dykkar",
        "dei",
        "deira",
        "deires",
        "deim",
        "di",
        "då",
        "eg",
        "ein",
        "eit",
        "eitt",
        "elles",
        "honom",
        "hjå",
        "ho",
        "hoe",
        "henne",
        "hennar",
        "hennes",
        "hoss",
        "hossen",
        "ingi",
        "inkje",
        "korleis",
        "korso",
        "kva",
        "kvar",
        "kvarhelst",
        "kven",
        "kvi",
        "kvifor",
        "me",
        "medan",
        "mi",
        "mine",
        "mykje",
        "no",
        "nokon",
        "noka",
        "nokor",
        "noko",
        "nokre",
        "sia",
        "sidan",
        "so",
        "somt",
        "somme",
        "um",
        "upp",
        "vere",
        "vore",
        "verte",
        "vort",
        "varte",
        "vart",
        "hvordan",
        "gjør",
        "gjorde",
        "gjort",
        "få",
        "fikk",
        "fått",
        "finnes",
        "the",
    ]
)
_LINKS = ("", "s", "e")  # Norwegian compounds join with nothing, -s- or -e-: arbeid+s+miljø, barn+e+hage
MIN_PART = 4


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("norwegian")


def words(text: str) -> list[str]:
    """Lower-cased word tokens without stop words; hyphenated words also give their parts."""
    out: list[str] = []
    for match in _WORD.finditer(text.lower()):
        token = match.group(0)
        if "-" in token:
            parts = [p for p in token.split("-") if p]
            out.extend(p for p in parts if p not in STOPWORDS)
            token = token.replace("-", "")
        if token not in STOPWORDS:
            out.append(token)
    return out


class Decompounder:
    """Splits compounds into two known words: «sykepleierrekruttering» → «sykepleier» + «rekruttering».

    Known words are the index's own frequent words, so the splitting follows the documents' vocabulary
    (no hand-made word list) and works the same for queries and passages.
    """

    def __init__(self, vocabulary: Iterable[str], min_part: int = MIN_PART) -> None:
        self.vocabulary = frozenset(vocabulary)
        self.min_part = min_part  # letters of the shortest part

    @classmethod
    def from_counts(cls, counts: Counter[str], min_count: int = 1) -> Decompounder:
        """Known words: alphabetic words of at least MIN_PART letters seen `min_count` times or more."""
        return cls(w for w, c in counts.items() if c >= min_count and len(w) >= MIN_PART and w.isalpha())

    @lru_cache(maxsize=65536)  # noqa: B019 - one decompounder per index, bounded cache
    def split(self, word: str) -> tuple[str, ...]:
        """The two parts of a compound, or () when no split into known words exists."""
        if len(word) < 2 * self.min_part or not word.isalpha():
            return ()
        best: tuple[str, ...] = ()
        for cut in range(self.min_part, len(word) - self.min_part + 1):
            head, tail = word[:cut], word[cut:]
            if tail not in self.vocabulary and _stemmer().stemWord(tail) not in self.vocabulary:
                continue
            for link in _LINKS:
                if link and not head.endswith(link):
                    continue
                stem = head[: len(head) - len(link)] if link else head
                if len(stem) >= self.min_part and stem in self.vocabulary:
                    # NOTE: prefer the longest head: «sykepleier|rekruttering» over «syke|pleierrekruttering»
                    best = (stem, tail)
        return best


def _fix_stem(stem: str) -> str:
    """Strip a trailing «-er»/«-ern» so all forms of an agent noun share one stem.

    Snowball leaves it on plural and definite forms but strips it from the singular («sykepleier» → sykeplei,
    «sykepleiere» → sykepleier, «sykepleierne» → sykepleiern). Measured with BM25 alone (recall@5): NorQuAD
    0.954 → 0.958, our own set 0.834 → 0.834.
    """
    if stem.endswith("ern") and len(stem) >= 7:
        return stem[:-3]
    if stem.endswith("er") and len(stem) >= 6:
        return stem[:-2]
    return stem


def in_bokmål(query: str, vocab: Any, decompounder: Decompounder | None) -> list[str]:
    """The stems of the query's words the index lacks, in the bokmål form the index holds («sjukefråværet»).

    A nynorsk question to bokmål documents otherwise matches none of its own words. A word keeps its first
    rewrite (kb.store.nynorsk.bokmål_forms) whose stems the index holds.
    """
    out: list[str] = []
    for word in words(query):
        stems = analyse(word, decompounder)
        if not stems or any(t in vocab for t in stems):
            continue
        for form in bokmål_forms(word):
            known = [t for t in analyse(form, decompounder) if t in vocab]
            if known:
                out += known
                break
    return out


def _content_stems(text: str) -> list[str]:
    return [t for t in analyse(text, None) if len(t) > 1]


def store_form(word: str, holds: Callable[[str], bool]) -> str:
    """The word, or its bokmål form (kb.store.nynorsk) when the store lacks the word and `holds` that form's stems."""
    stems = _content_stems(word)
    if not stems or all(holds(t) for t in stems):
        return word
    for form in bokmål_forms(word):
        known = _content_stems(form)
        if known and all(holds(t) for t in known):
            return form
    return word


def bokmål_wording(question: str, holds: Callable[[str], bool]) -> str:
    """A nynorsk question in the store's words, for the search and the embedder; other questions as given.

    Each word the store lacks becomes its bokmål form when the store `holds` that (`store_form`), and the
    question and function words become bokmål («Kor ofte møtest nettverket?» -> «Hvor ofte møtes nettverket?»):
    the embedder met «kor» as nothing like «hvor». A word the store holds stays, so a nynorsk document is still
    met in its own words.
    """
    if not NYNORSK_QUESTION.search(question):
        return question

    def bokmål(match: re.Match[str]) -> str:
        word = match.group(0)
        lower = word.lower()
        form = FUNCTION_WORDS.get(lower) or store_form(lower, holds)
        if form == lower:
            return word
        return form.capitalize() if word[0].isupper() else form

    return _WORD.sub(bokmål, question)  # the search's words: «PPU-Y» and «60-åringane» are one word each


def analyse(text: str, decompounder: Decompounder | None) -> list[str]:
    """Stemmed tokens of a text, with compound parts added after each compound."""
    tokens = words(text)
    if decompounder is not None:
        expanded: list[str] = []
        for token in tokens:
            expanded.append(token)
            expanded.extend(decompounder.split(token))
        tokens = expanded
    return [_fix_stem(stem) for stem in _stemmer().stemWords(tokens)]


@dataclass
class LexicalIndex:
    """BM25 over every stored chunk, plus the chunks' metadata for filtering and overviews."""

    revision: str
    ids: list[str]
    texts: list[str]
    metadatas: list[dict[str, Scalar]]
    vocabulary: frozenset[str]
    retriever: Any  # bm25s.BM25, or None for an empty store
    vectors: np.ndarray | None = None  # (chunks, dim) float32, unit length; None when built without vectors
    # In how many chunks each whole-word stem occurs (analyse(text, None)): the answers' IDF, counted once at
    # build time instead of re-stemming every chunk in each new process.
    stem_df: dict[str, int] | None = None

    @classmethod
    def build(cls, records: Iterable[Record | tuple[Record, Sequence[float] | None]], revision: str) -> LexicalIndex:
        """Tokenise and index all records (optionally paired with their vectors)."""
        import bm25s

        # SEE: bm25s sets its own logger to DEBUG on import; keep its progress chatter out of our output.
        logging.getLogger("bm25s").setLevel(logging.WARNING)
        pairs = [item if isinstance(item, tuple) else (item, None) for item in records]
        rows = [record for record, _ in pairs]
        vectors = None
        if pairs and all(vector is not None for _, vector in pairs):
            vectors = np.asarray([vector for _, vector in pairs], dtype=np.float32)
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            vectors /= np.where(norms == 0, 1.0, norms)
        counts: Counter[str] = Counter()
        surface = [words(r.text) for r in rows]
        for tokens in surface:
            counts.update(tokens)
        decompounder = Decompounder.from_counts(counts)
        corpus_tokens = [analyse(r.text, decompounder) for r in rows]
        stemmer = _stemmer()
        stem_df: Counter[str] = Counter()
        for tokens in surface:
            stem_df.update({stem for stem in map(_fix_stem, stemmer.stemWords(tokens)) if len(stem) > 1})
        retriever = None
        if rows:
            retriever = bm25s.BM25(k1=1.2, b=0.75)
            retriever.index([t or ["∅"] for t in corpus_tokens], show_progress=False)
        return cls(
            revision=revision,
            ids=[r.id for r in rows],
            texts=[r.text for r in rows],
            metadatas=[dict(r.metadata) for r in rows],
            vocabulary=decompounder.vocabulary,
            retriever=retriever,
            vectors=vectors,
            stem_df=dict(stem_df),
        )

    def __len__(self) -> int:
        return len(self.ids)

    # --- persistence -----------------------------------------------------------------------------------
    def save(self, path: Path) -> None:
        """Write atomically (temp file, then rename), so a reader never loads half a file."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False, suffix=".tmp") as handle:
            pickle.dump((FORMAT_VERSION, self), handle, protocol=pickle.HIGHEST_PROTOCOL)
        Path(handle.name).replace(path)

    @classmethod
    def load(cls, path: Path) -> LexicalIndex | None:
        """The saved index, or None if missing, unreadable or of an older format."""
        try:
            with path.open("rb") as handle:
                version, index = pickle.load(handle)
        except (OSError, pickle.UnpicklingError, EOFError, ValueError, AttributeError, ImportError):
            # NOTE: ImportError: pickled before #22 moved kb.lexical to kb.store.lexical; rebuilt like an old format
            return None
        return index if version == FORMAT_VERSION else None

    # --- search ----------------------------------------------------------------------------------------
    @cached_property
    def decompounder(self) -> Decompounder:
        """The index's compound splitter, built once: its cache of splits serves every query."""
        return Decompounder(self.vocabulary)

    @cached_property
    def current_versions(self) -> frozenset[tuple[str, str]]:
        """(source, content_hash) of every indexed chunk: the file versions readers may see."""
        return frozenset((str(m.get("source")), str(m.get("content_hash"))) for m in self.metadatas)

    @cached_property
    def _columns(self) -> dict[str, np.ndarray]:
        """Metadata as arrays, so filters are vectorised instead of a Python loop per query."""

        def column(key: str) -> np.ndarray:
            return np.array([str(m.get(key, "")) for m in self.metadatas], dtype=object)

        return {
            "municipality": column("municipality"),
            "doc_type": column("doc_type"),
            "visibility": np.array([str(m.get("visibility", "nettverket")) for m in self.metadatas], dtype=object),
            "date_num": np.array([int(m.get("date_num", 0) or 0) for m in self.metadatas], dtype=np.int64),
        }

    def mask(self, filters: Filters | None) -> np.ndarray | None:
        """Boolean mask of chunks that pass the filters (None = all pass); the same rules as store.where_clause."""
        if filters is None or (not filters and filters.visible_to is None):
            return None
        from ingest.metadata import theme_key
        from ingest.roles import role_key

        cols = self._columns
        keep = np.ones(len(self.ids), dtype=bool)
        if filters.municipalities:
            keep &= np.isin(cols["municipality"], list(filters.municipalities))
        if filters.doc_types:
            keep &= np.isin(cols["doc_type"], list(filters.doc_types))
        if filters.themes:
            keys = [theme_key(t) for t in filters.themes]
            keep &= np.array([any(m.get(key) for key in keys) for m in self.metadatas], dtype=bool)
        if filters.roles:
            keys = [role_key(r) for r in filters.roles]
            keep &= np.array([any(m.get(key) for key in keys) for m in self.metadatas], dtype=bool)
        if filters.date_from:
            keep &= cols["date_num"] >= int(filters.date_from.replace("-", ""))
        if filters.date_to:
            keep &= cols["date_num"] <= int(filters.date_to.replace("-", ""))
        if filters.visible_to is not None:
            keep &= (cols["visibility"] == "nettverket") | (cols["municipality"] == filters.visible_to)
        return keep

    def dense_search(self, embedding: Sequence[float], k: int, filters: Filters | None = None) -> list[Hit]:
        """Top `k` chunks by cosine similarity (exact), filters applied to all chunks before ranking."""
        if self.vectors is None or not len(self.ids):
            return []
        query = np.asarray(embedding, dtype=np.float32)
        query /= np.linalg.norm(query) or 1.0
        scores = self.vectors @ query
        keep = self.mask(filters)
        if keep is not None:
            scores = np.where(keep, scores, -np.inf)
        top = [i for i in _top(scores, k) if np.isfinite(scores[i])]
        return [self._hit(i, float(scores[i]), dense_score=float(scores[i])) for i in top]

    def wording(self, query: str) -> str:
        """A nynorsk query in the words this index holds (`bokmål_wording`), for the dense search's embedder.

        NOTE: the index's words, as the BM25 side reads a nynorsk query by them (`in_bokmål`). Measured with
        `kb eval --set evalsets/nynorsk.jsonl` (28 questions over corpus/): hybrid recall@5 0.885 -> 0.957, MRR
        0.821 -> 0.893 (with only the question and function words in bokmål: recall@5 0.921). The own set is
        unchanged (bokmål); naer-bom hybrid recall@5 0.947 -> 0.952; nye-kommuner (a nynorsk case among its
        documents) hybrid unchanged, dense MRR 0.868 -> 0.896.
        """
        vocab = self.retriever.vocab_dict if self.retriever is not None else {}
        return bokmål_wording(query, vocab.__contains__)

    def search(self, query: str, k: int, filters: Filters | None = None) -> list[Hit]:
        """Top `k` chunks by BM25, filters applied to all chunks before ranking."""
        if self.retriever is None:
            return []
        decompounder = self.decompounder
        vocab = self.retriever.vocab_dict
        tokens = [t for t in analyse(query, decompounder) if t in vocab]
        tokens += in_bokmål(query, vocab, decompounder)
        if not tokens:
            return []
        scores = self.retriever.get_scores(tokens)
        keep = self.mask(filters)
        if keep is not None:
            scores = np.where(keep, scores, 0.0)
        return [self._hit(i, float(scores[i]), bm25_score=float(scores[i])) for i in _top(scores, k) if scores[i] > 0]

    def rarity(self, query: str, filters: Filters | None = None) -> float:
        """How rare the query's rarest indexed word is, in [0, 1].

        Its BM25 IDF over the chunks `filters` allows, relative to the IDF of a word found in a single chunk;
        0 when no query word is indexed. Counted within the reader's scope, like everything else they see.
        """
        if self.retriever is None:
            return 0.0
        vocab = self.retriever.vocab_dict
        decompounder = self.decompounder
        stems = [*analyse(query, decompounder), *in_bokmål(query, vocab, decompounder)]
        tokens = {vocab[t] for t in stems if t in vocab}
        if not tokens:
            return 0.0
        indptr, indices = self.retriever.scores["indptr"], self.retriever.scores["indices"]
        keep = self.mask(filters)
        n = len(self) if keep is None else int(keep.sum())
        if n < 2:
            return 0.0

        def idf(df: int) -> float:  # the same IDF as BM25 (Lucene's)
            return math.log(1 + (n - df + 0.5) / (df + 0.5))

        counts = [
            int(indptr[t + 1] - indptr[t])
            if keep is None
            else int(np.count_nonzero(keep[indices[indptr[t] : indptr[t + 1]]]))
            for t in tokens
        ]
        present = [df for df in counts if df > 0]
        return min(1.0, idf(min(present)) / idf(1)) if present else 0.0

    def held(self, stems: Iterable[str], filters: Filters | None = None) -> frozenset[str]:
        """The stems (as `analyse` gives them) that a chunk `filters` allows holds, also as a compound's part."""
        if self.retriever is None:
            return frozenset()
        indptr, indices = self.retriever.scores["indptr"], self.retriever.scores["indices"]
        keep = self.mask(filters)  # once for all the stems
        out: set[str] = set()
        for stem in stems:
            token = self.retriever.vocab_dict.get(stem)
            if token is None:
                continue
            rows = indices[indptr[token] : indptr[token + 1]]
            if len(rows) if keep is None else np.count_nonzero(keep[rows]):
                out.add(stem)
        return frozenset(out)

    def _hit(self, i: int, score: float, **scores: float) -> Hit:
        """The Hit for chunk `i`; `scores` names which retriever found it (dense_score or bm25_score)."""
        meta = self.metadatas[i]
        return Hit(
            id=self.ids[i], text=self.texts[i], source=str(meta.get("source", "")), score=score, metadata=meta, **scores
        )


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the `k` highest scores, best first."""
    if k < len(scores):
        part = np.argpartition(-scores, k)[:k]
        return part[np.argsort(-scores[part])]
    return np.argsort(-scores)
