"""Bulk embedding on the CPU with OpenVINO in bfloat16, where the CPU computes bfloat16 natively.

On CPUs with AMX or AVX-512 BF16 (Intel Sapphire Rapids and later, AMD Zen 4 and later) this
embeds about twice as many abstracts a second as ONNX Runtime's int8 graph (BENCHMARKS.md):
ONNX Runtime runs the int8 products fast, but attention, layer norms and GELUs stay in fp32,
where OpenVINO fuses them and runs everything in bfloat16. Optional (`pip install
'paperfeed[openvino]'`); without it, or without native bfloat16, ONNX Runtime embeds.

No second copy of the weights ships: the graph OpenVINO reads is made at load time from the
shipped int8 ONNX graph, each int8 product turned back into a float one over its dequantised
weights (``float_graph``). Queries, a handful of tokens each, stay on ONNX Runtime, which
answers one in ~1 ms; both run the same weights, so documents and queries meet in one space.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from paperfeed.search.embed import OnnxEmbedder, cpu_threads, embed_in_batches, mean_pool, pad

if TYPE_CHECKING:  # like embed: at run time no SQLAlchemy (bench/embed.py runs without it)
    from paperfeed.search.types import Vectors

MS_DOMAIN = "com.microsoft"
log = logging.getLogger(__name__)


def openvino_bf16_available() -> bool:
    """Whether OpenVINO is installed and this CPU computes bfloat16 natively."""
    try:
        import openvino as ov
    except ImportError:
        return False
    capabilities = ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    return "BF16" in capabilities


class OpenVinoEmbedder:
    """Documents through OpenVINO (bfloat16), queries through the ONNX Runtime embedder."""

    def __init__(
        self,
        folder: Path,
        *,
        name: str | None = None,
        precision: str | None = None,
        fallback: bool = False,
        window: int | None = None,
    ) -> None:
        """``precision``: ``bf16`` or ``f32``; by default bf16 where the CPU has it natively.

        OpenVINO compiles on the first documents, not here: a web server embeds only queries,
        and should hold neither the float weights nor OpenVINO's threads. With ``fallback``,
        documents go to ONNX Runtime if OpenVINO cannot compile the model (a broken install
        must not stop indexing when nobody asked for OpenVINO by name)."""
        self.queries = OnnxEmbedder(folder, name=name, window=window)
        self.name, self.dim = self.queries.name, self.queries.dim
        self.tokenizer = self.queries.doc_tokenizer
        self.folder, self.precision, self.fallback = folder, precision, fallback
        self._compiled: Any = None
        self._unusable = False
        self._lock = threading.Lock()  # a compiled model's own infer request serves one call

    def _model(self) -> Any:
        if self._compiled is None:
            import openvino as ov

            precision = self.precision or ("bf16" if openvino_bf16_available() else "f32")
            core = ov.Core()
            model = core.read_model(float_graph(self.folder / "model.onnx"), b"")
            config = {
                "INFERENCE_PRECISION_HINT": precision,
                "PERFORMANCE_HINT": "LATENCY",
                "INFERENCE_NUM_THREADS": str(cpu_threads()),
            }
            self._compiled = core.compile_model(model, "CPU", config)
        return self._compiled

    def _run(self, rows: Sequence[Sequence[int]]) -> Vectors:
        ids, mask = pad(rows)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        with self._lock:
            compiled = self._model()
            hidden = compiled(feeds)[compiled.output(0)]
        return mean_pool(hidden, mask)

    def embed_documents(self, texts: Sequence[str]) -> Vectors:
        if self.fallback and not self._usable():
            return self.queries.embed_documents(texts)
        return embed_in_batches(self.tokenizer, texts, self.dim, self._run)

    def _usable(self) -> bool:
        if not self._unusable and self._compiled is None:
            try:
                with self._lock:
                    self._model()
            except Exception as error:
                log.warning(
                    "OpenVINO unusable, embedding with ONNX Runtime", extra={"error": str(error)}
                )
                self._unusable = True
        return not self._unusable

    def embed_query(self, text: str) -> Vectors:
        return self.queries.embed_query(text)


def float_graph(int8_graph: Path) -> bytes:
    """The shipped int8 graph with float products over dequantised weights (serialised ONNX).

    ``quantize_dynamic`` made three patterns out of float nodes; each is turned back:
    ``QEmbedLayerNormalization`` -> ``EmbedLayerNormalization``, ``QAttention`` -> ``Attention``,
    and ``DynamicQuantizeLinear`` -> ``MatMulInteger`` -> ``Cast`` -> ``Mul`` -> ``MatMul``.
    """
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(int8_graph))
    graph = model.graph
    weights = {i.name: i for i in graph.initializer}
    quantised_from = {
        n.output[0]: n.input[0] for n in graph.node if n.op_type == "DynamicQuantizeLinear"
    }
    added: dict[str, Any] = {}

    def real(name: str) -> str:
        """A float copy of an int8 weight (per-tensor or per-column scale and zero point)."""
        if not name.endswith("_quantized"):
            return name
        base = name[: -len("_quantized")]
        if base not in added:
            values = numpy_helper.to_array(weights[name]).astype(np.float32)
            scale = numpy_helper.to_array(weights[base + "_scale"]).astype(np.float32)
            zero = numpy_helper.to_array(weights[base + "_zero_point"]).astype(np.float32)
            added[base] = numpy_helper.from_array((values - zero) * scale, base)
        return base

    plumbing = _quantisation_outputs(graph)
    nodes = []
    for node in graph.node:
        if node.op_type == "QEmbedLayerNormalization":
            inputs = [real(i) for i in node.input[:8]]
            nodes.append(_node(helper, "EmbedLayerNormalization", inputs, node))
        elif node.op_type == "QAttention":
            x, w, bias, _, _, mask = node.input[:6]
            inputs = [quantised_from[x], real(w), bias, mask]
            nodes.append(_node(helper, "Attention", inputs, node))
        elif node.op_type == "MatMulInteger":
            x, w = node.input[:2]
            scaled = _consumer(graph, _consumer(graph, node.output[0]).output[0])  # Cast, Mul
            nodes.append(helper.make_node("MatMul", [quantised_from[x], real(w)], scaled.output))
        elif not set(node.output) <= plumbing:
            nodes.append(node)
    del graph.node[:]
    graph.node.extend(nodes)
    used = {i for n in nodes for i in n.input}
    kept = [i for i in graph.initializer if i.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept + [t for t in added.values() if t.name in used])
    return bytes(model.SerializeToString())


def _node(helper: Any, op: str, inputs: list[str], like: Any) -> Any:
    attributes = {a.name: helper.get_attribute_value(a) for a in like.attribute}
    return helper.make_node(op, inputs, list(like.output), domain=MS_DOMAIN, **attributes)


def _consumer(graph: Any, name: str) -> Any:
    return next(n for n in graph.node if name in n.input)


def _quantisation_outputs(graph: Any) -> set[str]:
    """Names made only to run products in int8: quantised activations, their scales and zero
    points, integer products, their casts and their rescaling."""
    found: set[str] = set()
    for node in graph.node:  # topological order: a node's sources come first
        sources = set(node.input)
        if (
            node.op_type in ("DynamicQuantizeLinear", "MatMulInteger")
            or (node.op_type in ("Cast", "Mul") and sources & found)
            or (node.op_type == "Mul" and all(i.endswith("_scale") or i in found for i in sources))
        ):
            found.update(node.output)
    return found
