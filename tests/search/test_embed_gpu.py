"""The GPU bulk embedder's CPU side: FastWordPiece gives HF's ids exactly, batching covers every
text within its budget. These need no torch; the last test runs the encoder where torch is."""

from __future__ import annotations

import gc
import itertools
import json
import os
import random
from typing import Any

import numpy as np
import pytest
from tokenizers import Tokenizer

from paperfeed.search import embed_gpu, wordpiece
from paperfeed.search.embed import MAX_LENGTH, load_tokenizer, model_folder, paper_text
from paperfeed.search.embed_gpu import bucketed_batches
from paperfeed.search.wordpiece import FastWordPiece, PieceTable, ragged_arange, tokenise
from tests.search.dense_helpers import real_papers

FOLDER = model_folder("paperfeed-minilm-sci")


def hf() -> Any:
    return load_tokenizer(FOLDER, MAX_LENGTH)


def hf_ids(tokenizer: Any, texts: list[str]) -> list[list[int]]:
    return [e.ids for e in tokenizer.encode_batch(texts)]


def rows(flat: np.ndarray, lengths: np.ndarray) -> list[list[int]]:
    assert flat.dtype == np.int32 and lengths.dtype == np.int64
    assert len(flat) == int(lengths.sum())
    return [part.tolist() for part in np.split(flat, np.cumsum(lengths)[:-1])]


def assert_same_ids(texts: list[str], tokenizer: Any = None) -> FastWordPiece:
    tokenizer = tokenizer or hf()
    fast = FastWordPiece(tokenizer)
    expected = hf_ids(tokenizer, texts)
    for _ in range(2):  # the second pass reads words learnt in the first
        assert rows(*fast.tokenise(texts)) == expected
    return fast


EDGE_CASES = [
    "",
    " ",
    "\t\n\r",
    "Hello, World!",
    "already lowercase words only",
    "!!!...???",
    "e.g. 3.14159 x^2_{i,j} \\mathcal{O}(n \\log n) -- state-of-the-art (SOTA)",
    "a" * 100,
    "b" * 101,  # longer than max_input_chars_per_word: one [UNK]
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "The [MASK] token and [CLS] and [SEP] inside text",
    "lowercase [mask] and [cls] are not special but checked",
    "brackets [x] without specials",
    "x[MASK]y",
    "control\x00char",
    "bell\x07and\x0bvertical\x0ctab\x1fand\x7fdel",
    "café naïve résumé Ångström",
    "Greek α-β γ and ∑ operators, 10°C, ±3 μm",
    "中文 characters 和 English",
    "non\u00a0breaking\u2009thin\u3000ideographic spaces",
    "emoji 🚀 rocket",
    "ﬁ ligature and ＦＵＬＬＷＩＤＴＨ",
    "tab\tseparated\nnew\r\nline",
    " ".join(["word"] * 300),  # cut at 254 pieces
    " ".join(["unbelievabilities"] * 120),  # multi-piece words across the cut
    "x" + " ." * 400,
]


def test_fast_ids_equal_hf_on_edge_cases() -> None:
    fast = assert_same_ids(EDGE_CASES)
    assert fast.fast


def test_fast_ids_equal_hf_on_real_abstracts() -> None:
    texts = [paper_text(str(p["title"]), str(p["abstract"])) for p in real_papers()[:1500]]
    texts += [str(p["abstract"]) for p in real_papers()[1500:2500]]
    fast = assert_same_ids(texts)
    # Most real abstracts take the fast path: printable ASCII, no special token.
    assert sum(not fast._odd(t) for t in texts) > 0.9 * len(texts)


def test_fast_ids_equal_hf_on_random_strings() -> None:
    rng = random.Random(7)
    alphabet = (
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
        "     \t\n\r!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~" + "éαü中\x00\x01\u00a0"
    )
    words = ["[MASK]", "[CLS]", "[PAD]", "transformer", "##ing", "unaffable", "x" * 120]
    texts = []
    for _ in range(400):
        parts = [
            rng.choice(words) if rng.random() < 0.05 else rng.choice(alphabet)
            for _ in range(rng.randrange(0, 1500))
        ]
        texts.append("".join(parts))
    texts += ["".join(rng.choice(alphabet[:90]) for _ in range(2000)) for _ in range(50)]
    assert_same_ids(texts)


def test_order_is_kept_when_some_texts_go_to_hf() -> None:
    texts = ["plain one", "café", "plain two", "[MASK] here", "", "plain three"] * 5
    fast = assert_same_ids(texts)
    assert [fast._odd(t) for t in texts[:6]] == [False, True, False, True, False, False]


def test_all_texts_to_hf_and_none() -> None:
    assert_same_ids(["über", "naïve", "中文"])
    fast = FastWordPiece(hf())
    flat, lengths = fast.tokenise([])
    assert flat.shape == (0,) and lengths.shape == (0,)


def test_without_truncation_long_texts_are_whole() -> None:
    tokenizer = hf()
    tokenizer.no_truncation()
    text = " ".join(["token"] * 600)
    fast = assert_same_ids([text, "short"], tokenizer)
    assert fast.room is None
    assert len(rows(*fast.tokenise([text]))[0]) == 602


def test_the_word_table_starts_over_when_full(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = [paper_text(str(p["title"]), str(p["abstract"])) for p in real_papers()[:300]]
    monkeypatch.setattr(wordpiece, "CACHE_WORDS", 31_000)  # a little over the vocabulary
    fast = FastWordPiece(hf())
    expected = hf_ids(fast.hf, texts)
    for i in range(0, len(texts), 50):
        assert rows(*fast.tokenise(texts[i : i + 50])) == expected[i : i + 50]
    assert len(fast.index) < 31_000 + 50 * 400


def test_another_tokenizer_shape_goes_to_hf_whole() -> None:
    spec = json.loads((FOLDER / "tokenizer.json").read_text())
    spec["normalizer"]["lowercase"] = False  # a cased model: the fast path does not apply
    tokenizer = Tokenizer.from_str(json.dumps(spec))
    tokenizer.enable_truncation(MAX_LENGTH)
    tokenizer.no_padding()
    fast = assert_same_ids(["Cased Text, kept AS IS", "plain"], tokenizer)
    assert not fast.fast


def test_tokenise_takes_plain_hf_tokenizers_too() -> None:
    texts = ["one text", "another, longer text"]
    assert rows(*tokenise(hf(), texts)) == hf_ids(hf(), texts)
    assert rows(*tokenise(FastWordPiece(hf()), texts)) == hf_ids(hf(), texts)


def test_ragged_arange_and_piece_table() -> None:
    assert ragged_arange(np.array([2, 0, 3, 1])).tolist() == [0, 1, 0, 1, 2, 0]
    assert ragged_arange(np.array([], dtype=np.int64)).tolist() == []
    table = PieceTable()
    ids = [table.add(list(range(k % 5))) for k in range(70_000)]  # grows past its first size
    assert ids == list(range(70_000))
    assert table.count[69_999] == 4
    start = table.start[69_999]
    assert table.flat[start : start + 4].tolist() == [0, 1, 2, 3]


def test_buckets_cover_every_text_in_few_shapes_within_budget() -> None:
    rng = np.random.default_rng(0)
    lengths = np.sort(rng.integers(3, 257, size=5000))
    batches = list(bucketed_batches(lengths, budget=8192))
    covered = np.concatenate([np.arange(a, b) for a, b, _ in batches])
    assert covered.tolist() == list(range(len(lengths)))
    for start, stop, width in batches:
        assert width % 32 == 0
        assert lengths[stop - 1] <= width < lengths[start] + 32
        assert (stop - start) * width <= 8192
    assert len({w for _, _, w in batches}) <= 8


def test_chunks_start_small_and_grow_to_the_chunk_size() -> None:
    sizes = embed_gpu.chunk_sizes(2_700_000)
    assert sum(sizes) == 2_700_000 and sizes[0] == embed_gpu.FIRST_CHUNK
    assert max(sizes) == embed_gpu.CHUNK and len(sizes) < 2_700_000 // embed_gpu.CHUNK + 12
    ramp = sizes[: sizes.index(embed_gpu.CHUNK) + 1]
    assert all(a < b <= embed_gpu.RAMP * a for a, b in itertools.pairwise(ramp))
    assert all(n % 256 == 0 for n in sizes[:-1])
    assert embed_gpu.chunk_sizes(200_000, ramp=1.0) == [65_536] * 3 + [3392]
    assert embed_gpu.chunk_sizes(1000) == [1000] and embed_gpu.chunk_sizes(0) == []


@pytest.mark.parametrize(("ramp", "start"), [(True, "forkserver"), (False, "spawn")])
def test_pool_chunks_cover_every_text_in_order(
    monkeypatch: pytest.MonkeyPatch, ramp: bool, start: str
) -> None:
    """The tokeniser pool's chunks, small ones first or not, give HF's ids in input order
    with a bounded look-ahead (sizes scaled down here)."""
    monkeypatch.setattr(embed_gpu, "CHUNK", 70)
    monkeypatch.setattr(embed_gpu, "FIRST_CHUNK", 10)
    monkeypatch.setattr(embed_gpu, "LOOKAHEAD", 140)
    papers = real_papers()
    texts = [str(p["abstract"]) for p in papers] + EDGE_CASES
    texts += [paper_text(str(p["title"]), str(p["abstract"])) for p in papers]
    emb = pipeline(ramp, start)
    chunks = list(emb._token_chunks(texts))
    emb.close()
    expected = embed_gpu.chunk_sizes(len(texts), 70, 10, embed_gpu.RAMP if ramp else 1.0)
    assert [len(lengths) for _, lengths in chunks] == expected and len(expected) > 3
    assert rows(*tokenise(hf(), texts)) == [r for c in chunks for r in rows(*c)]


def pipeline(ramp: bool = True, start: str = "forkserver") -> Any:
    """A TorchEmbedder's tokenising pipeline alone, no torch, 2 workers."""
    emb = object.__new__(embed_gpu.TorchEmbedder)
    emb.hf_dir, emb.workers, emb.fast_tokenizer, emb.ramp = FOLDER, 2, True, ramp
    emb.start_method, emb.tokenizer = start, FastWordPiece(hf())
    emb.pool = embed_gpu.LazyPool(FOLDER, 2, fast=True, start_method=start)
    return emb


def test_one_tokeniser_pool_serves_every_call_until_closed() -> None:
    texts = [str(p["abstract"]) for p in real_papers()[:40]]
    emb = pipeline()
    assert not emb.pool.running  # started on first use
    first = list(emb._token_chunks(texts))
    pool = emb.pool.get()
    second = list(emb._token_chunks(texts))
    assert emb.pool.get() is pool and emb.pool.running  # the same workers
    assert [rows(*c) for c in first] == [rows(*c) for c in second]
    emb.close()
    assert not emb.pool.running
    with pytest.raises(RuntimeError, match="shutdown"):
        pool.submit(os.getpid)
    assert rows(*next(emb._token_chunks(texts[:3]))) == hf_ids(hf(), texts[:3])
    assert emb.pool.get() is not pool  # a new pool after close()
    emb.close()
    emb.close()  # twice is fine


def test_the_pool_stops_when_its_owner_is_collected_and_at_exit() -> None:
    holder = embed_gpu.LazyPool(FOLDER, 1, fast=True, start_method="forkserver")
    pool = holder.get()
    assert pool.submit(os.getpid).result() != os.getpid()
    finalizer = holder._finalizer
    assert finalizer is not None and finalizer.alive and finalizer.atexit
    del holder
    gc.collect()
    assert not finalizer.alive
    with pytest.raises(RuntimeError, match="shutdown"):
        pool.submit(os.getpid)


def test_batches_stream_through_one_pipeline_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    """embed_batches: each batch's vectors in input order, empty batches too, batches read
    only as the look-ahead reaches them; small batches tokenised in process until the pool
    runs. The device is faked: a text's "vector" is (its token count, its first id)."""
    monkeypatch.setattr(embed_gpu, "CHUNK", 70)
    monkeypatch.setattr(embed_gpu, "FIRST_CHUNK", 10)
    monkeypatch.setattr(embed_gpu, "LOOKAHEAD", 140)
    monkeypatch.setattr(embed_gpu, "SMALL", 60)
    papers = real_papers()
    texts = [paper_text(str(p["title"]), str(p["abstract"])) for p in papers] + EDGE_CASES[:5]
    texts = [t + suffix for suffix in ("", " x", " y") for t in texts]
    cuts = [0, 20, 120, 120, 121, 300, len(texts)]  # in process, pool, empty, one text, ...
    batches = [texts[a:b] for a, b in itertools.pairwise(cuts)]
    emb = pipeline()
    emb.dim = 2

    def launch(flat: np.ndarray, lengths: np.ndarray) -> Any:
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        return np.stack([lengths, flat[starts]], axis=1).astype(np.float32)

    def finish(launched: Any, into: np.ndarray) -> None:
        into[:] = launched

    emb._launch, emb._finish = launch, finish
    pulled: list[int] = []

    def source() -> Any:
        for i, batch in enumerate(batches):
            pulled.append(i)
            yield batch

    out = []
    for vectors in emb.embed_batches(source()):
        if not out:
            assert len(pulled) < len(batches)  # not all read before the first is out
        out.append(vectors)
    emb.close()
    assert [len(v) for v in out] == [len(b) for b in batches]
    flat, lengths = tokenise(hf(), texts)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    assert (np.concatenate(out) == np.stack([lengths, flat[starts]], axis=1)).all()
    assert list(emb.embed_batches([])) == []
    (alone,) = emb.embed_batches([texts[:20]])  # small: tokenised here, no pool started
    assert (alone == out[0]).all() and not emb.pool.running


def test_torch_embedder_on_cpu_matches_hf_bert(tmp_path: Any) -> None:
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    config = transformers.BertConfig(
        vocab_size=30522,
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=128,
        max_position_embeddings=512,
    )
    torch.manual_seed(0)
    model = transformers.BertModel(config).eval()
    model.save_pretrained(str(tmp_path))
    (tmp_path / "tokenizer.json").write_text((FOLDER / "tokenizer.json").read_text())
    texts = [*EDGE_CASES[:12], *(str(p["abstract"]) for p in real_papers()[:20])]
    vectors = embed_gpu.TorchEmbedder(tmp_path, name="t", device="cpu").embed_documents(texts)
    expected = []
    with torch.inference_mode():
        for ids in hf_ids(hf(), texts):
            hidden = model(input_ids=torch.tensor([ids]))[0][0]
            expected.append(torch.nn.functional.normalize(hidden.mean(0), dim=0).numpy())
    assert vectors.shape == (len(texts), 64) and vectors.dtype == np.float32
    assert np.abs((vectors * np.vstack(expected)).sum(1) - 1).max() < 1e-5
    # The fused (tanh) GELU that CUDA uses by default stays within rounding of erf GELU.
    fused = embed_gpu.TorchEmbedder(tmp_path, name="t", device="cpu", fused_gelu=True)
    assert np.abs((fused.embed_documents(texts) * vectors).sum(1) - 1).max() < 1e-4
    # The Triton attention kernel is for CUDA only: the CPU keeps SDPA.
    cpu = embed_gpu.TorchEmbedder(tmp_path, name="t", device="cpu", attention="triton")
    assert cpu.attention == "sdpa"
    assert np.abs(cpu.embed_documents(texts) - vectors).max() < 1e-6


def test_triton_attention_matches_sdpa_on_cuda() -> None:
    """The Triton kernel against fp32 SDPA, full-width and masked, as close as bf16 SDPA."""
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    op = embed_gpu.attention_op()
    if op is None:
        pytest.skip("needs Triton")
    g = torch.Generator(device="cuda").manual_seed(0)
    for rows, width, masked in ((8, 256, False), (9, 224, True), (5, 32, True), (3, 96, False)):
        qkv = (torch.randn(rows, width, 3 * 384, device="cuda", generator=g) * 1.5).bfloat16()
        lens = torch.randint(width - 31 if masked else width, width + 1, (rows,), device="cuda")
        keep = torch.arange(width, device="cuda")[None, :] < lens[:, None]
        outs = []
        for x in (qkv.float(), qkv):
            q, k, v = (t.transpose(1, 2) for t in x.view(rows, width, 3, 12, 32).unbind(2))
            mask = keep[:, None, None, :] if masked else None
            a = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask)
            outs.append(a.transpose(1, 2).reshape(rows, width, 384).float())
        exact, bf16 = outs
        got = op(qkv, lens, 12, masked).float()
        rows_in = keep[:, :, None]
        assert ((got - exact).abs() * rows_in).max() <= 1.5 * ((bf16 - exact).abs() * rows_in).max()


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(((x - mean) ** 2).mean(-1, keepdims=True) + 1e-12) * w + b


def _numpy_bert(w: dict[str, np.ndarray], ids: list[int], heads: int = 12) -> np.ndarray:
    """Hidden states of a BERT state dict (tanh GELU: what the ONNX graph's BiasGelu is near)."""
    e = "embeddings."
    x = w[e + "word_embeddings.weight"][ids] + w[e + "position_embeddings.weight"][: len(ids)]
    x = _layer_norm(x + w[e + "token_type_embeddings.weight"][0], *_norm(w, e + "LayerNorm"))
    layer = 0
    while f"encoder.layer.{layer}.output.dense.weight" in w:
        p = f"encoder.layer.{layer}."

        def lin(name: str, h: np.ndarray, p: str = p) -> np.ndarray:
            return h @ w[p + name + ".weight"].T + w[p + name + ".bias"]

        q, k, v = (
            lin(f"attention.self.{n}", x).reshape(len(ids), heads, -1).transpose(1, 0, 2)
            for n in ("query", "key", "value")
        )
        s = q @ k.transpose(0, 2, 1) / np.sqrt(q.shape[-1])
        s = np.exp(s - s.max(-1, keepdims=True))
        a = ((s / s.sum(-1, keepdims=True)) @ v).transpose(1, 0, 2).reshape(len(ids), -1)
        x = _layer_norm(x + lin("attention.output.dense", a), *_norm(w, p + "attention.output"))
        h = lin("intermediate.dense", x)
        h = 0.5 * h * (1 + np.tanh(np.sqrt(2 / np.pi) * (h + 0.044715 * h**3)))
        x = _layer_norm(x + lin("output.dense", h), *_norm(w, p + "output"))
        layer += 1
    return x


def _norm(w: dict[str, np.ndarray], prefix: str) -> tuple[np.ndarray, np.ndarray]:
    name = prefix if prefix.endswith("LayerNorm") else prefix + ".LayerNorm"
    return w[name + ".weight"], w[name + ".bias"]


def test_onnx_bert_weights_are_the_shipped_model() -> None:
    """The dequantised weights, as a BertModel state dict, give the ONNX float graph's states."""
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from paperfeed.search.embed_openvino import float_graph

    weights = embed_gpu.onnx_bert_weights(FOLDER / "model.onnx")
    assert weights["encoder.layer.5.intermediate.dense.weight"].shape == (1536, 384)
    assert all(v.dtype == np.float32 for v in weights.values())
    ids = hf_ids(hf(), ["Surface codes with neural decoders for quantum error correction."])[0]
    session = ort.InferenceSession(float_graph(FOLDER / "model.onnx"))
    feeds = {"input_ids": np.array([ids]), "attention_mask": np.ones((1, len(ids)), np.int64)}
    feeds["token_type_ids"] = np.zeros_like(feeds["input_ids"])
    expected = session.run(None, feeds)[0][0]
    assert np.abs(_numpy_bert(weights, ids) - expected).max() < 1e-2
