"""A fused BERT feed-forward block for CUDA: ``y = GELU(x @ W1.T + b1) @ W2.T + b2`` (plus ``x``
with ``residual``) in one Triton kernel that never writes the 4x-wide intermediate to memory.

Each program takes ``BLOCK_M`` token rows of ``x`` (bf16, ``hidden`` wide), loops over the
feed-forward dimension in chunks of ``BLOCK_F``: ``h = gelu(x @ W1[chunk].T + b1[chunk])`` in
registers (fp32, then bf16 as the second product's operand, as the unfused path rounds it), and
``acc += h @ W2[:, chunk].T`` into an fp32 accumulator of ``BLOCK_M x hidden``; bias (and the
residual) are added before the one bf16 store. Weights are read in ``nn.Linear``'s layout
(out x in) through strides, so no copies are made. ``hidden`` is split into three power-of-two
pieces (Triton's tiles are powers of two): 384 = 3 x 128 for MiniLM.

GELU is the tanh approximation by default, as cuBLASLt's epilogue on the unfused path
(``x * sigmoid(2u)`` with ``u = sqrt(2/pi) (x + 0.044715 x^3)``, which is ``0.5 x (1 + tanh u)``);
``erf=True`` gives BERT's exact GELU.

Imports torch and Triton: only import this on a machine that has them. Exposed as the custom
op ``paperfeed::fused_mlp`` so that ``torch.compile`` treats it as one opaque call. The
autotuner picks a config once per process and GELU kind, on the first call's shape.

Measured on an H200 (torch 2.11, Triton 3.6; ``bench/embed_gpu.py --real``): as exact as the
unfused bf16 path (relative error 1.7e-3 to 2.8e-3 from fp32 on each layer's real inputs, the
same as cuBLASLt's), but ~2x slower: 2.3-2.5 ms for 262,144 tokens (248-266 TFLOP/s; BLOCK_M
64, BLOCK_F 32, 4 warps, as tuned then on a first call of one row) against 1.08 ms (574
TFLOP/s) for the cuBLASLt pair (GELU epilogue + down-projection), so that pair is near
compute-bound already. Likely causes (not profiled further): both weight matrices (2.4 MB)
re-read from L2 for every 64-row block, and chunked products too narrow for the tensor cores.
So it stays opt-in (``TorchEmbedder(fused_mlp=True)``).
"""

from __future__ import annotations

from typing import Any

import torch
import triton
import triton.language as tl

from paperfeed.search.embed_gpu import MLP_PIECES as PIECES
from paperfeed.search.embed_gpu import fused_mlp_shape_ok as supported

CONFIGS = [
    triton.Config({"BLOCK_M": 128, "BLOCK_F": 32}, num_warps=8, num_stages=2),
    triton.Config({"BLOCK_M": 128, "BLOCK_F": 16}, num_warps=8, num_stages=3),
    triton.Config({"BLOCK_M": 128, "BLOCK_F": 64}, num_warps=8, num_stages=2),
    triton.Config({"BLOCK_M": 64, "BLOCK_F": 32}, num_warps=4, num_stages=3),
    triton.Config({"BLOCK_M": 64, "BLOCK_F": 64}, num_warps=4, num_stages=2),
    triton.Config({"BLOCK_M": 64, "BLOCK_F": 32}, num_warps=8, num_stages=3),
    triton.Config({"BLOCK_M": 128, "BLOCK_F": 32}, num_warps=8, num_stages=3),
    triton.Config({"BLOCK_M": 128, "BLOCK_F": 64}, num_warps=8, num_stages=1),
    triton.Config({"BLOCK_M": 64, "BLOCK_F": 64}, num_warps=8, num_stages=1),
    triton.Config({"BLOCK_M": 64, "BLOCK_F": 128}, num_warps=8, num_stages=1),
    triton.Config({"BLOCK_M": 64, "BLOCK_F": 64}, num_warps=4, num_stages=1),
    triton.Config({"BLOCK_M": 64, "BLOCK_F": 16}, num_warps=4, num_stages=4),
]


@triton.autotune(configs=CONFIGS, key=["P", "F", "ERF", "RESIDUAL"])
@triton.jit
def _fused_mlp_kernel(
    x_ptr,
    w1_ptr,
    b1_ptr,
    w2_ptr,
    b2_ptr,
    y_ptr,
    M,
    stride_xm,
    stride_w1f,
    stride_w1d,
    stride_w2d,
    stride_w2f,
    stride_ym,
    P: tl.constexpr,
    F: tl.constexpr,
    ERF: tl.constexpr,
    RESIDUAL: tl.constexpr,
    BLOCK_M: tl.constexpr,
    BLOCK_F: tl.constexpr,
):
    pid = tl.program_id(0)
    rows = pid * BLOCK_M + tl.arange(0, BLOCK_M)
    keep = rows < M
    d = tl.arange(0, P)
    f = tl.arange(0, BLOCK_F)
    x_rows = x_ptr + rows.to(tl.int64)[:, None] * stride_xm
    x0 = tl.load(x_rows + d[None, :], mask=keep[:, None], other=0.0)
    x1 = tl.load(x_rows + (P + d)[None, :], mask=keep[:, None], other=0.0)
    x2 = tl.load(x_rows + (2 * P + d)[None, :], mask=keep[:, None], other=0.0)
    acc0 = tl.zeros((BLOCK_M, P), dtype=tl.float32)
    acc1 = tl.zeros((BLOCK_M, P), dtype=tl.float32)
    acc2 = tl.zeros((BLOCK_M, P), dtype=tl.float32)
    # W1 is (F, hidden): its chunk as (hidden piece, BLOCK_F); W2 is (hidden, F): (BLOCK_F, piece).
    w1_base = w1_ptr + d[:, None] * stride_w1d + f[None, :] * stride_w1f
    w2_base = w2_ptr + f[:, None] * stride_w2f + d[None, :] * stride_w2d
    for f0 in range(0, F, BLOCK_F):
        w1 = w1_base + f0 * stride_w1f
        h = tl.dot(x0, tl.load(w1))
        h = tl.dot(x1, tl.load(w1 + P * stride_w1d), h)
        h = tl.dot(x2, tl.load(w1 + 2 * P * stride_w1d), h)
        h += tl.load(b1_ptr + f0 + f).to(tl.float32)[None, :]
        if ERF:
            h = 0.5 * h * (1.0 + tl.math.erf(h * 0.7071067811865476))
        else:
            u = 0.7978845608028654 * (h + 0.044715 * h * h * h)
            h = h / (1.0 + tl.exp(-2.0 * u))  # 0.5 h (1 + tanh u)
        hb = h.to(tl.bfloat16)
        w2 = w2_base + f0 * stride_w2f
        acc0 = tl.dot(hb, tl.load(w2), acc0)
        acc1 = tl.dot(hb, tl.load(w2 + P * stride_w2d), acc1)
        acc2 = tl.dot(hb, tl.load(w2 + 2 * P * stride_w2d), acc2)
    acc0 += tl.load(b2_ptr + d).to(tl.float32)[None, :]
    acc1 += tl.load(b2_ptr + P + d).to(tl.float32)[None, :]
    acc2 += tl.load(b2_ptr + 2 * P + d).to(tl.float32)[None, :]
    if RESIDUAL:
        acc0 += x0.to(tl.float32)
        acc1 += x1.to(tl.float32)
        acc2 += x2.to(tl.float32)
    y_rows = y_ptr + rows.to(tl.int64)[:, None] * stride_ym
    out = y_ptr.dtype.element_ty
    tl.store(y_rows + d[None, :], acc0.to(out), mask=keep[:, None])
    tl.store(y_rows + (P + d)[None, :], acc1.to(out), mask=keep[:, None])
    tl.store(y_rows + (2 * P + d)[None, :], acc2.to(out), mask=keep[:, None])


@torch.library.custom_op("paperfeed::fused_mlp", mutates_args=())
def fused_mlp(
    x: torch.Tensor,
    w1: torch.Tensor,
    b1: torch.Tensor,
    w2: torch.Tensor,
    b2: torch.Tensor,
    residual: bool = False,
    erf: bool = False,
) -> torch.Tensor:
    """``gelu(x @ w1.T + b1) @ w2.T + b2`` (``+ x`` with ``residual``) for ``x`` of shape
    (tokens, hidden), ``w1`` (ffn, hidden) and ``w2`` (hidden, ffn) as ``nn.Linear`` holds
    them; bf16 (or fp16) in and out, fp32 accumulation."""
    m, hidden = x.shape
    ffn = w1.shape[0]
    assert w1.shape == (ffn, hidden) and w2.shape == (hidden, ffn), (w1.shape, w2.shape)
    assert supported(hidden, ffn), (hidden, ffn)
    if x.stride(1) != 1:
        x = x.contiguous()
    y = torch.empty((m, hidden), dtype=x.dtype, device=x.device)
    if m == 0:
        return y

    def grid(meta: dict[str, Any]) -> tuple[int]:
        return (triton.cdiv(m, meta["BLOCK_M"]),)

    _fused_mlp_kernel[grid](
        x,
        w1,
        b1,
        w2,
        b2,
        y,
        m,
        x.stride(0),
        w1.stride(0),
        w1.stride(1),
        w2.stride(0),
        w2.stride(1),
        y.stride(0),
        P=hidden // PIECES,
        F=ffn,
        ERF=erf,
        RESIDUAL=residual,
    )
    return y


@fused_mlp.register_fake
def _(
    x: torch.Tensor,
    w1: torch.Tensor,
    b1: torch.Tensor,
    w2: torch.Tensor,
    b2: torch.Tensor,
    residual: bool = False,
    erf: bool = False,
) -> torch.Tensor:
    return x.new_empty(x.shape)


def reference(
    x: torch.Tensor,
    w1: torch.Tensor,
    b1: torch.Tensor,
    w2: torch.Tensor,
    b2: torch.Tensor,
    residual: bool = False,
    erf: bool = False,
) -> torch.Tensor:
    """The same in fp32 with torch (for checks)."""
    x32 = x.float()
    h = torch.nn.functional.linear(x32, w1.float(), b1.float())
    h = torch.nn.functional.gelu(h, approximate="none" if erf else "tanh")
    y = torch.nn.functional.linear(h, w2.float(), b2.float())
    return y + x32 if residual else y


def best_config() -> str:
    """The autotuner's choice so far and each config's time in ms (for logs)."""
    best = getattr(_fused_mlp_kernel, "best_config", None)
    if best is None:
        return "not tuned yet"
    try:
        timings = getattr(_fused_mlp_kernel, "configs_timings", None) or {}
        each = "; ".join(
            f"{c.kwargs} w{c.num_warps} s{c.num_stages}: {t if isinstance(t, float) else t[0]:.3f}"
            for c, t in timings.items()
        )
    except Exception as e:  # only a log line: never fail for it
        each = repr(e)
    return f"{best} (ms each: {each})"
