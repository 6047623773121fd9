"""The CPU embedder (int8 ONNX): shapes, normalisation, batching, and meaning."""

from __future__ import annotations

import numpy as np
import pytest

from paperfeed.search.embed import (
    OnnxEmbedder,
    length_sorted_batches,
    model_folder,
    paper_text,
)
from paperfeed.search.embedders import get_embedder
from paperfeed.store.vector_codec import decode_vectors, encode_vectors
from tests.search.dense_helpers import onnx_embedder, real_papers


def _texts(n: int) -> list[str]:
    return [paper_text(str(p["title"]), str(p["abstract"])) for p in real_papers()[:n]]


def test_documents_are_unit_vectors_of_the_model_dimension() -> None:
    vectors = onnx_embedder().embed_documents(_texts(5))
    assert vectors.shape == (5, 384)
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_length_sorting_does_not_change_the_vectors() -> None:
    texts = [*_texts(6), "a short one", "landmark attention"]
    embedder = onnx_embedder()
    sorted_ = embedder.embed_documents(texts)
    unsorted = embedder.embed_documents(texts, sort=False)
    singles = np.vstack([embedder.embed_documents([t]) for t in texts])
    # int8 activations are quantised per call (one scale per tensor), so batch partners shift a
    # vector slightly: cosine stays above 0.98 (fp32 would give 1.0).
    assert np.min(np.sum(sorted_ * unsorted, axis=1)) > 0.98
    assert np.min(np.sum(sorted_ * singles, axis=1)) > 0.98


def test_calls_at_once_give_the_vectors_of_calls_in_turn() -> None:
    texts = _texts(12)
    folder = model_folder("paperfeed-minilm-sci")
    # A small token budget makes several batches, so two of them run at once.
    together = OnnxEmbedder(folder, threads=2, token_budget=600).embed_documents(texts)
    in_turn = OnnxEmbedder(folder, threads=2, calls=1, token_budget=600).embed_documents(texts)
    assert np.allclose(together, in_turn, atol=1e-5)


def test_a_query_finds_its_own_paper_among_real_papers() -> None:
    papers = real_papers()[:40]
    embedder = onnx_embedder()
    docs = embedder.embed_documents(
        [paper_text(str(p["title"]), str(p["abstract"])) for p in papers]
    )
    for i in (0, 7, 23):
        query = embedder.embed_query(str(papers[i]["title"]))
        assert query.shape == (1, 384)
        assert int(np.argmax(docs @ query[0])) == i


def test_batches_respect_the_token_budget_and_cover_every_text() -> None:
    lengths = [5, 300, 17, 256, 256, 3, 90, 128, 1]
    batches = length_sorted_batches(lengths, token_budget=512, max_rows=4)
    assert sorted(int(i) for b in batches for i in b) == list(range(len(lengths)))
    for batch in batches:
        assert len(batch) <= 4
        width = max(lengths[i] for i in batch)
        assert len(batch) == 1 or len(batch) * width <= 512
        assert [lengths[i] for i in batch] == sorted(lengths[i] for i in batch)


def test_model_names_map_to_the_shipped_folder() -> None:
    folder = model_folder("paperfeed-minilm-sci")
    assert (folder / "model.onnx").exists() and (folder / "tokenizer.json").exists()
    assert model_folder("PaperFeed-MiniLM-Sci") == folder
    with pytest.raises(ValueError, match="unknown embedding model"):
        model_folder("no-such-model")


def test_get_embedder_is_the_cpu_model_named_by_the_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PAPERFEED_EMBEDDING_DEVICE", "cpu")
    embedder = get_embedder()
    assert isinstance(embedder, OnnxEmbedder)
    assert embedder.name == "paperfeed-minilm-sci"
    assert embedder.dim == 384


def test_stored_float16_and_int8_keep_the_ranking() -> None:
    vectors = onnx_embedder().embed_documents(_texts(8))
    for dtype in ("float16", "int8"):
        back = decode_vectors(encode_vectors(vectors, dtype), 384, dtype)
        assert np.max(np.abs(back - vectors)) < 0.01
        assert (np.argsort(-(back @ vectors[0])) == np.argsort(-(vectors @ vectors[0]))).all()
