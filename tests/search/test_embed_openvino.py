"""The OpenVINO bulk embedder: its float graph is the shipped int8 model's, and it is chosen only
where it is installed and the CPU computes bfloat16 natively."""

from __future__ import annotations

import numpy as np
import pytest

from paperfeed.config import Settings
from paperfeed.search import embed_openvino, embedders
from paperfeed.search.embed import OnnxEmbedder, model_folder, paper_text
from paperfeed.search.embedders import get_embedder
from tests.search.dense_helpers import onnx_embedder, real_papers

ov = pytest.importorskip("openvino", reason="paperfeed[openvino] is not installed")
onnx = pytest.importorskip("onnx", reason="paperfeed[openvino] is not installed")

FOLDER = model_folder("paperfeed-minilm-sci")


def _texts(n: int) -> list[str]:
    return [paper_text(str(p["title"]), str(p["abstract"])) for p in real_papers()[:n]]


def test_the_float_graph_keeps_no_int8_product_and_every_layer() -> None:
    graph = onnx.load_from_string(embed_openvino.float_graph(FOLDER / "model.onnx")).graph
    ops = [n.op_type for n in graph.node]
    assert not {"DynamicQuantizeLinear", "MatMulInteger", "QAttention"} & set(ops)
    assert ops.count("Attention") == 6 and ops.count("MatMul") == 18
    assert ops.count("EmbedLayerNormalization") == 1 and ops.count("SkipLayerNormalization") == 12
    # Every input of every node exists: a weight, a graph input or another node's output.
    known = {i.name for i in graph.initializer} | {i.name for i in graph.input} | {""}
    known |= {out for n in graph.node for out in n.output}
    assert {i for n in graph.node for i in n.input} <= known


@pytest.mark.parametrize("precision", ["f32", "bf16"])
def test_documents_match_the_onnx_runtime_vectors(precision: str) -> None:
    if precision == "bf16" and not embed_openvino.openvino_bf16_available():
        pytest.skip("this CPU has no native bfloat16")
    texts = [*_texts(12), "a short one", "landmark attention"]
    reference = onnx_embedder().embed_documents(texts)
    vectors = embed_openvino.OpenVinoEmbedder(FOLDER, precision=precision).embed_documents(texts)
    assert vectors.shape == (len(texts), 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # ONNX Runtime quantises activations to int8 per call; OpenVINO computes in float.
    assert np.min(np.sum(vectors * reference, axis=1)) > 0.98


def test_queries_go_through_onnx_runtime() -> None:
    embedder = embed_openvino.OpenVinoEmbedder(FOLDER, precision="f32")
    query = embedder.embed_query("landmark attention")
    assert np.allclose(query, onnx_embedder().embed_query("landmark attention"))
    assert embedder.embed_documents([]).shape == (0, 384)


def test_auto_picks_openvino_only_with_native_bfloat16(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embedders, "torch_cuda_available", lambda: False)
    try:
        for native, kind in ((True, embed_openvino.OpenVinoEmbedder), (False, OnnxEmbedder)):
            embedders._embedder.cache_clear()
            monkeypatch.setattr(embed_openvino, "openvino_bf16_available", lambda n=native: n)
            assert isinstance(get_embedder(Settings(embedding_device="auto")), kind)
        embedders._embedder.cache_clear()
        chosen = get_embedder(Settings(embedding_device="openvino"))
        assert isinstance(chosen, embed_openvino.OpenVinoEmbedder)
    finally:
        embedders._embedder.cache_clear()


def test_openvino_compiles_only_when_documents_come() -> None:
    embedder = embed_openvino.OpenVinoEmbedder(FOLDER, precision="f32")
    embedder.embed_query("landmark attention")
    assert embedder._compiled is None  # a server that only embeds queries never compiles
    embedder.embed_documents(["landmark attention"])
    assert embedder._compiled is not None


def test_auto_falls_back_to_onnx_runtime_when_openvino_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(path: object) -> bytes:
        raise RuntimeError("no CPU plugin")

    monkeypatch.setattr(embedders, "torch_cuda_available", lambda: False)
    monkeypatch.setattr(embed_openvino, "openvino_bf16_available", lambda: True)
    monkeypatch.setattr(embed_openvino, "float_graph", broken)
    texts = _texts(3)
    embedders._embedder.cache_clear()
    try:
        chosen = get_embedder(Settings(embedding_device="auto"))
        assert np.allclose(chosen.embed_documents(texts), onnx_embedder().embed_documents(texts))
        embedders._embedder.cache_clear()
        named = get_embedder(Settings(embedding_device="openvino"))
        with pytest.raises(RuntimeError, match="no CPU plugin"):  # asked for by name: say so
            named.embed_documents(texts)
    finally:
        embedders._embedder.cache_clear()
