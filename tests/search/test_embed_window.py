"""The document window: how many wordpieces of a paper the CPU embedders read."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from paperfeed.config import Settings
from paperfeed.search.embed import OnnxEmbedder, model_folder, paper_text
from paperfeed.search.embedders import get_embedder
from tests.search.dense_helpers import onnx_embedder, real_papers

FOLDER = model_folder("paperfeed-minilm-sci")


def _long_texts(n: int) -> list[str]:
    return [paper_text(str(p["title"]), str(p["abstract"])) for p in real_papers()[:n]]


def test_a_document_is_read_up_to_the_window_and_no_further() -> None:
    narrow = OnnxEmbedder(FOLDER, window=32)
    texts = _long_texts(4)
    assert all(len(e.ids) == 32 for e in narrow.doc_tokenizer.encode_batch(texts))
    # Past the window nothing counts: a changed tail leaves the vector as it was.
    tails = [t + " Completely different closing words about marine biology." for t in texts]
    assert np.allclose(narrow.embed_documents(texts), narrow.embed_documents(tails), atol=1e-5)
    full = onnx_embedder().embed_documents(texts)
    assert np.max(np.abs(narrow.embed_documents(texts) - full)) > 0.05


def test_texts_shorter_than_the_window_embed_as_before() -> None:
    texts = ["landmark attention", "diffusion models for video generation"]
    narrow = OnnxEmbedder(FOLDER, window=64).embed_documents(texts)
    assert np.allclose(narrow, onnx_embedder().embed_documents(texts), atol=1e-5)


def test_queries_keep_the_model_length_whatever_the_window() -> None:
    long_query = _long_texts(1)[0]
    narrow = OnnxEmbedder(FOLDER, window=32)
    assert narrow.window == 32 and onnx_embedder().window == 256
    assert np.allclose(narrow.embed_query(long_query), onnx_embedder().embed_query(long_query))


@pytest.mark.parametrize("window", [8, 257, 4096])
def test_a_window_the_model_cannot_read_is_refused_by_name(window: int) -> None:
    with pytest.raises(ValueError, match=rf"embedding_document_tokens is {window}.*16 to 256"):
        OnnxEmbedder(FOLDER, window=window)


def test_the_setting_reaches_the_cpu_embedder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAPERFEED_EMBEDDING_DEVICE", "cpu")
    monkeypatch.setenv("PAPERFEED_EMBEDDING_DOCUMENT_TOKENS", "128")
    embedder = get_embedder()
    assert isinstance(embedder, OnnxEmbedder) and embedder.window == 128
    assert embedder.name == "paperfeed-minilm-sci"  # same model, same stored vectors' space
    assert (
        get_embedder(Settings(embedding_device="cpu", embedding_document_tokens=None)).window == 256
    )


def test_the_setting_refuses_a_window_below_a_title() -> None:
    with pytest.raises(ValidationError, match="embedding_document_tokens"):
        Settings(embedding_document_tokens=4)


def test_an_empty_setting_means_the_model_length(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAPERFEED_EMBEDDING_DOCUMENT_TOKENS", "")
    assert Settings().embedding_document_tokens is None
    monkeypatch.setenv("PAPERFEED_EMBEDDING_DOCUMENT_TOKENS", "160")
    assert Settings().embedding_document_tokens == 160
