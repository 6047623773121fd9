"""`paperfeed index` embeds each paper up to the configured document window, on both backends."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine

from paperfeed import config
from paperfeed.search.embed import OnnxEmbedder, model_folder, paper_text
from paperfeed.store import embeddings as store
from tests.search.dense_helpers import onnx_embedder, real_papers
from tests.test_cli import run, said

MODEL = "paperfeed-minilm-sci"


def test_index_reads_each_paper_up_to_the_window(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAPERFEED_EMBEDDING_DEVICE", "cpu")
    monkeypatch.setenv("PAPERFEED_EMBEDDING_DOCUMENT_TOKENS", "48")
    config.get_settings.cache_clear()
    rows = real_papers()[:6]
    source = tmp_path / "papers.jsonl"
    source.write_text("".join(json.dumps(dict(r)) + "\n" for r in rows), encoding="utf-8")
    assert run("ingest", str(source), "--format", "jsonl", "--no-index").exit_code == 0

    result = run("index")
    assert result.exit_code == 0, result.output
    assert "6 embedded (48 wordpieces each at most)" in said(result)
    assert "abstracts/s" in said(result)

    with engine.connect() as conn:
        pks, stored = store.load_vectors(conn, MODEL, 384)
        texts = store.paper_texts(conn, pks.tolist())
    docs = [paper_text(*texts[int(pk)]) for pk in pks]
    narrow = OnnxEmbedder(model_folder(MODEL), window=48).embed_documents(docs)
    full = onnx_embedder().embed_documents(docs)
    # Each stored vector is the 48-wordpiece one (float16 storage, int8 batch partners aside),
    # and not the whole abstract's.
    assert np.min(np.sum(stored * narrow, axis=1)) > 0.98
    assert np.max(np.sum(stored * full, axis=1)) < np.min(np.sum(stored * narrow, axis=1))
