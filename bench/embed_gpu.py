"""GPU bulk embedding benchmark: tokenisers, encoder variants, and the pipeline end to end.

Random weights of the exact all-MiniLM-L6-v2 shapes (bench/minilm_l6_config.json; throughput
does not depend on the values) or real ones (--weights), the shipped tokenizer, and real arXiv
abstracts (.train/gpu/arxiv.jsonl.xz, 50k, repeated). Each variant is checked against an fp32
HF reference (attention mask + mean pooling) by max |cos - 1|, and the fast tokeniser's ids
against HF's on all distinct abstracts (the run stops if they differ). Timed variants run
--reps times; the table gives the median.

Variants (rates in abstracts/s):
  tokenizer       HF's tokenizer and FastWordPiece: one process (cold = first pass over
                  distinct abstracts, warm = again), and the worker pools
  old             the TorchEmbedder before bucketing (exact-length groups), end to end
  hf-bucket       HF BertModel bf16, width-32 buckets + attention mask, pre-tokenised
  fused-eager     the fused encoder without compile, pre-tokenised
  fused-compiled  the same through torch.compile (compile time reported apart), pre-tokenised;
                  on CUDA the up-projection and its (tanh) GELU are one cuBLASLt call, and
                  attention is the Triton kernel (embed_gpu.attention_op)
  fused-compiled-sdpa  the same with SDPA's attention (cuDNN; before)
  fused-compiled-before  fused-compiled with the attention kernel setting of b7c058e
                  (2 pipeline stages, not 3)
  attn            attention alone: SDPA (default and cuDNN) against the Triton kernel in each
                  setting of a small sweep, time and max error vs fp32 on random inputs; the
                  fastest setting within bf16's error is kept for the variants after it
  fused-compiled-erf  the same with BERT's exact erf GELU as a separate pass (before)
  gelu            how far cuBLASLt's GELU epilogue is from erf and tanh GELU
  fused-autotune  torch.compile mode="max-autotune-no-cudagraphs", pre-tokenised
  fused-flex      fused-compiled with FlexAttention in place of SDPA, pre-tokenised
  profile         kernel time by kind for one chunk, after each compiled GPU-only variant,
                  and the GPU's idle gaps over two chunks (profiler trace)
  sdpa            the eager encoder under each SDPA backend (after fused-eager)
  budget-2x       fused-compiled with twice the tokens per forward pass
  e2e-hf          TorchEmbedder end to end, HF's tokenizer in the pool and erf GELU (as before)
  e2e             TorchEmbedder end to end with its defaults (FastWordPiece pool, fused GELU)
  e2e-erf         the same with the erf GELU pass
  e2e-sdpa        the same with SDPA's attention (before)
  e2e-noramp      the same with chunks of 65,536 texts from the start (no small first
                  chunks while the new tokeniser pool starts)
  e2e-before      the defaults of b7c058e: chunks of 65,536 from the start, spawned (not
                  forked) tokeniser processes, the attention kernel with 2 pipeline stages
  e2e-autotune    the same, compiled with mode="max-autotune-no-cudagraphs"
  (every e2e run on CUDA logs a "timeline": GPU idle before the first chunk and between
  chunks, the host's waits for tokens and its time after the last chunk)
  knn             top-10 neighbour agreement among the --ref-texts, each e2e variant vs e2e
                  (bf16) and vs the fp32 reference

--real takes the trained weights of the shipped int8 ONNX model, dequantised to fp32
(embed_gpu.onnx_bert_weights), instead of random ones: reduced-precision errors on real
weights and real text. Errors are given as max and mean |cos - 1| against the fp32 reference.

Device (BENCHMARKS.md): python bench/embed_gpu.py --device cuda --texts 2700000 \
    --gpu-texts 262144 --hf-e2e-texts 131072 --reps 3 \
    --variants tokenizer,gelu,fused-compiled-erf,fused-compiled,profile,e2e-hf,e2e
Attention (BENCHMARKS.md): python bench/embed_gpu.py --device cuda --real --texts 2700000 \
    --gpu-texts 262144 --reps 3 --variants \
    attn,fused-compiled-sdpa,fused-compiled,profile,e2e-sdpa,e2e,knn
Start and attention stages (BENCHMARKS.md): python bench/embed_gpu.py --device cuda --real \
    --texts 2700000 --gpu-texts 262144 --reps 3 \
    --variants fused-compiled-before,fused-compiled,profile,e2e-before,e2e,knn
CPU check: python bench/embed_gpu.py --device cpu --texts 600 --unique 1200 --reps 1 \
    --variants tokenizer,fused-eager,e2e
"""

from __future__ import annotations

import argparse
import itertools
import json
import lzma
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from paperfeed.search import embed_gpu  # noqa: E402
from paperfeed.search.embed import MAX_LENGTH, load_tokenizer  # noqa: E402
from paperfeed.search.embed_gpu import (  # noqa: E402
    CHUNK,
    TorchEmbedder,
    bucketed_batches,
    tokeniser_pool,
)
from paperfeed.search.wordpiece import FastWordPiece, tokenise  # noqa: E402

TOKENIZER = ROOT / "src/paperfeed/search/models/paperfeed-minilm-sci/tokenizer.json"
CONFIG = ROOT / "bench/minilm_l6_config.json"
ONNX = ROOT / "src/paperfeed/search/models/paperfeed-minilm-sci/model.onnx"
DATA = ROOT / ".train/gpu/arxiv.jsonl.xz"
T0 = time.perf_counter()
LOG: list[str] = []
ROWS: list[dict[str, Any]] = []
VECS: dict[str, np.ndarray] = {}  # each e2e variant's vectors of the reference texts


def log(*parts: Any) -> None:
    line = " ".join(str(p) for p in parts)
    LOG.append(f"[{time.perf_counter() - T0:7.1f}s] {line}")
    print(LOG[-1], flush=True)


def sync(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def make_model_dir(weights: Path | None, real: bool = False) -> Path:
    """A folder with config, weights and tokenizer.json, as TorchEmbedder loads it."""
    import torch
    from transformers import BertConfig, BertModel

    folder = Path(tempfile.mkdtemp(prefix="embed_gpu_"))
    if real:
        model = BertModel(BertConfig.from_dict(json.loads(CONFIG.read_text())))
        state = {k: torch.from_numpy(v) for k, v in embed_gpu.onnx_bert_weights(ONNX).items()}
        missing, unexpected = model.load_state_dict(state, strict=False)
        assert not unexpected and all(k.startswith("pooler.") for k in missing), missing
    elif weights:
        model = BertModel.from_pretrained(str(weights))
    else:
        torch.manual_seed(0)
        model = BertModel(BertConfig.from_dict(json.loads(CONFIG.read_text())))
    model.save_pretrained(str(folder))
    shutil.copy(TOKENIZER, folder / "tokenizer.json")
    return folder


def load_texts(limit: int) -> list[str]:
    texts = []
    with lzma.open(DATA, "rt") as f:
        for line in itertools.islice(f, limit):
            texts.append(json.loads(line)[1])
    return texts


def repeat(texts: list[str], n: int) -> list[str]:
    return (texts * (n // len(texts) + 1))[:n]


def token_chunks(flat: np.ndarray, lengths: np.ndarray, n: int) -> list[tuple[Any, Any]]:
    """Pre-tokenised chunks of CHUNK texts covering ``n`` texts (the unique ones repeated)."""
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    idx = np.arange(n) % len(lengths)
    chunks = []
    for i in range(0, n, CHUNK):
        rows = idx[i : i + CHUNK]
        lens = lengths[rows]
        parts = [flat[offsets[r] : offsets[r + 1]] for r in rows]
        chunks.append((np.concatenate(parts), lens))
    return chunks


def reference(model_dir: Path, texts: list[str], device: str) -> np.ndarray:
    """fp32 HF BertModel with an attention mask, mean pooling over real tokens, L2 norm."""
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(model_dir), dtype=torch.float32).to(device).eval()
    tok = load_tokenizer(model_dir, MAX_LENGTH)
    out = []
    with torch.inference_mode():
        for i in range(0, len(texts), 64):
            rows = [e.ids for e in tok.encode_batch(texts[i : i + 64])]
            width = max(map(len, rows))
            ids = torch.zeros((len(rows), width), dtype=torch.long)
            mask = torch.zeros_like(ids)
            for j, r in enumerate(rows):
                ids[j, : len(r)] = torch.tensor(r)
                mask[j, : len(r)] = 1
            ids, mask = ids.to(device), mask.to(device)
            hidden = model(input_ids=ids, attention_mask=mask)[0].float()
            m = mask[:, :, None].float()
            pooled = (hidden * m).sum(1) / m.sum(1)
            out.append(torch.nn.functional.normalize(pooled, dim=1).cpu().numpy())
    return np.vstack(out)


def cos_err(vectors: np.ndarray, ref: np.ndarray) -> tuple[float, float]:
    """Max and mean |cos - 1| against the reference."""
    assert vectors.dtype == np.float32 and vectors.shape == ref.shape, (vectors.shape, ref.shape)
    assert np.isfinite(vectors).all()
    cos = (vectors * ref).sum(1) / np.linalg.norm(vectors, axis=1) / np.linalg.norm(ref, axis=1)
    err = np.abs(cos - 1)
    return float(err.max()), float(err.mean())


def top_k(vectors: np.ndarray, k: int = 10) -> np.ndarray:
    sims = vectors @ vectors.T
    np.fill_diagonal(sims, -np.inf)
    return np.argpartition(-sims, k, axis=1)[:, :k]


def knn_agreement(ref: np.ndarray, k: int = 10) -> None:
    """Mean share of each text's top-k neighbours (among the reference texts) that a variant
    has in common with e2e (bf16) and with the fp32 reference."""
    tops = {"fp32": top_k(ref, k)} | {n: top_k(v, k) for n, v in VECS.items()}
    for name, top in tops.items():
        parts = []
        for other in ("e2e", "fp32"):
            if other in tops and other != name:
                both = [len(set(a) & set(b)) for a, b in zip(top, tops[other], strict=True)]
                parts.append(f"vs {other} {np.mean(both) / k:.4f} (min {min(both)}/{k})")
        log(f"knn top-{k} over {len(ref)} texts: {name:22} " + "  ".join(parts))


class OldTorchEmbedder:
    """The previous TorchEmbedder (exact-length groups, HF BertModel, no mask), for the baseline."""

    def __init__(self, hf_dir: Path, device: str) -> None:
        import torch
        from transformers import AutoModel

        self.device = device
        dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
        model = AutoModel.from_pretrained(str(hf_dir), dtype=dtype, attn_implementation="sdpa")
        self.model = model.to(device).eval()
        self.tokenizer = load_tokenizer(hf_dir, MAX_LENGTH)
        self.hf_dir = hf_dir
        self.dim = int(model.config.hidden_size)
        self.budget = 262_144 if device.startswith("cuda") else 8192

    def _embed_chunk(self, flat: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        import torch

        offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
        out = torch.empty((len(lengths), self.dim), dtype=torch.float32, device=self.device)
        order = np.argsort(lengths, kind="stable")
        bounds = np.flatnonzero(np.diff(lengths[order])) + 1
        with torch.inference_mode():
            for grp in np.split(order, bounds):
                rows_per = max(1, self.budget // int(lengths[grp[0]]))
                for s in range(0, len(grp), rows_per):
                    group = grp[s : s + rows_per]
                    width = int(lengths[group[0]])
                    rows = np.resize(group, 1 << (len(group) - 1).bit_length())
                    block = flat[offsets[rows][:, None] + np.arange(width)]
                    ids = torch.from_numpy(block.astype(np.int64)).to(self.device)
                    hidden = self.model(input_ids=ids, token_type_ids=torch.zeros_like(ids))[0]
                    pooled = hidden[: len(group)].float().mean(dim=1)
                    index = torch.from_numpy(group).to(self.device)
                    out[index] = torch.nn.functional.normalize(pooled, dim=1)
        return out.cpu().numpy()

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        if len(texts) <= embed_gpu.SMALL:
            return self._embed_chunk(*tokenise(self.tokenizer, texts))
        chunks = [texts[i : i + CHUNK] for i in range(0, len(texts), CHUNK)]
        parts = []
        with tokeniser_pool(self.hf_dir, fast=False) as pool:
            pending = [embed_gpu._submit(pool, c) for c in chunks[:2]]
            for i in range(len(chunks)):
                flat, lengths = embed_gpu._collect(pending.pop(0))
                if i + 2 < len(chunks):
                    pending.append(embed_gpu._submit(pool, chunks[i + 2]))
                parts.append(self._embed_chunk(flat, lengths))
        return np.vstack(parts).astype(np.float32)


class HFBucketEmbedder(TorchEmbedder):
    """Bucketed batches + attention mask through the stock HF BertModel (no fusion)."""

    def __init__(self, hf_dir: Path, device: str) -> None:
        import torch
        from transformers import AutoModel

        super().__init__(hf_dir, name="hf-bucket", device=device, compile=False)
        dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
        model = AutoModel.from_pretrained(str(hf_dir), dtype=dtype, attn_implementation="sdpa")
        self.hf = model.to(device).eval()

        def forward(ids: Any, lengths: Any, masked: bool) -> Any:
            keep = torch.arange(ids.shape[1], device=ids.device)[None, :] < lengths[:, None]
            hidden = self.hf(input_ids=ids, attention_mask=keep.long() if masked else None)[0]
            w = keep.float()[:, :, None]
            pooled = (hidden.float() * w).sum(1) / lengths[:, None].float()
            return torch.nn.functional.normalize(pooled, dim=1)

        self.forward = forward


def timed(device: str, fn: Callable[[], Any]) -> tuple[Any, float]:
    sync(device)
    start = time.perf_counter()
    result = fn()
    sync(device)
    return result, time.perf_counter() - start


def repeated(device: str, reps: int, fn: Callable[[], Any]) -> tuple[Any, list[float]]:
    """The result of the last of ``reps`` timed runs, and each run's seconds."""
    result, times = None, []
    for _ in range(reps):
        result, secs = timed(device, fn)
        times.append(secs)
    return result, times


def record(
    variant: str,
    n: int,
    seconds: float | list[float],
    compile_s: float | None,
    err: float | tuple[float, float] | None,
    note: str = "",
) -> dict[str, Any]:
    times = seconds if isinstance(seconds, list) else [seconds]
    mean_err = None
    if isinstance(err, tuple):
        err, mean_err = err
    median = float(np.median(times))
    row = {
        "variant": variant,
        "texts": n,
        "seconds": round(median, 3),
        "per_s": round(n / median),
        "runs_per_s": [round(n / t) for t in times],
        "compile_s": compile_s,
        "max_cos_err": err,
        "mean_cos_err": mean_err,
        "note": note,
    }
    ROWS.append(row)
    log("RESULT", json.dumps(row))
    return row


def in_slices(fn: Callable[[list[str]], Any], texts: list[str], size: int = 4096) -> list[Any]:
    return [fn(texts[i : i + size]) for i in range(0, len(texts), size)]


def joined(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def kernel_kind(name: str) -> str:
    low = name.lower()
    if any(k in low for k in ("flash", "fmha", "attention", "cudnn", "sdpa")):
        return "attention"
    if any(k in low for k in ("gemm", "xmma", "cutlass", "nvjet", "cublas", "mm_")):
        return "matmul"
    if "triton" in low:
        return "triton (fused elementwise/norm)"
    return "other"


def profile_chunk(emb: TorchEmbedder, chunk: tuple[Any, Any]) -> None:
    """Device time by kernel for one chunk, grouped by kind (the first look at where it goes)."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    emb.embed_tokens([chunk])
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        emb.embed_tokens([chunk])
        torch.cuda.synchronize()
    events = [e for e in prof.key_averages() if e.self_device_time_total > 0]
    total = sum(e.self_device_time_total for e in events)
    kinds: dict[str, float] = {}
    for e in events:
        kind = kernel_kind(e.key)
        kinds[kind] = kinds.get(kind, 0.0) + e.self_device_time_total
    log(f"profile: {total / 1e3:.0f} ms device time for {len(chunk[1])} texts")
    for kind, us in sorted(kinds.items(), key=lambda kv: -kv[1]):
        log(f"  {kind:34} {us / 1e3:8.1f} ms {us / total:6.1%}")
    for e in sorted(events, key=lambda e: -e.self_device_time_total)[:14]:
        log(f"    {e.self_device_time_total / total:6.1%} x{e.count:<5} {e.key[:110]}")
    gpu_gaps(emb, chunk)


def gpu_gaps(emb: TorchEmbedder, chunk: tuple[Any, Any]) -> None:
    """Where the GPU idles over two pre-tokenised chunks: the union of kernel and copy times
    from a profiler trace against the span from the first to the last, and the gaps between
    them by size (launch gaps, per-batch host work, the chunk boundary)."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        emb.embed_tokens([chunk, chunk])
        torch.cuda.synchronize()
    path = Path(tempfile.mkdtemp(prefix="trace_")) / "trace.json"
    prof.export_chrome_trace(str(path))
    trace = json.loads(path.read_text())
    spans = sorted(
        (float(e["ts"]), float(e["ts"]) + float(e.get("dur", 0)))
        for e in trace.get("traceEvents", [])
        if e.get("ph") == "X" and e.get("cat") in ("kernel", "gpu_memcpy", "gpu_memset")
    )
    if not spans:
        log("gaps: no device events in the trace")
        return
    busy, gaps, end = 0.0, [], spans[0][0]
    for a, b in spans:
        if a > end:
            gaps.append(a - end)
        busy += max(0.0, b - max(a, end))
        end = max(end, b)
    span = end - spans[0][0]
    log(
        f"gaps: 2 chunks, {len(spans)} device ops, span {span / 1e3:.1f} ms, busy "
        f"{busy / 1e3:.1f} ms ({busy / span:.1%}), idle {(span - busy) / 1e3:.1f} ms"
    )
    g = np.array(gaps) if gaps else np.zeros(1)
    for lo, hi in ((0, 5), (5, 20), (20, 100), (100, 1000), (1000, 1e9)):
        sel = g[(g >= lo) & (g < hi)]
        log(f"  gaps {lo:>5}-{hi:<5} us: {len(sel):6} totalling {sel.sum() / 1e3:8.2f} ms")
    log("  largest gaps (us): " + " ".join(f"{x:.0f}" for x in sorted(g)[-8:]))


def sdpa_backends(emb: TorchEmbedder, chunks: list[Any], device: str) -> None:
    """Eager encoder under each SDPA backend (masked batches may fall back to efficient)."""
    from torch.nn.attention import SDPBackend, sdpa_kernel

    choices = {
        "flash(+efficient)": [SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION],
        "efficient": [SDPBackend.EFFICIENT_ATTENTION],
        "cudnn(+efficient)": [SDPBackend.CUDNN_ATTENTION, SDPBackend.EFFICIENT_ATTENTION],
    }
    n = sum(len(c[1]) for c in chunks)
    for name, backends in choices.items():
        try:
            with sdpa_kernel(backends):
                emb.embed_tokens(chunks[:1])
                _, secs = timed(device, lambda: emb.embed_tokens(chunks))
            record(f"sdpa {name}, eager", n, secs, None, None, "pre-tokenised, GPU only")
        except Exception as e:
            log("FAILED sdpa", name, repr(e)[:500])


def flex_sdpa(original: Callable[..., Any]) -> Callable[..., Any]:
    """SDPA's signature (as the fused encoder calls it) on FlexAttention, for fused-flex."""
    import torch
    from torch.nn.attention.flex_attention import flex_attention

    def sdpa(q: Any, k: Any, v: Any, attn_mask: Any = None, **kw: Any) -> Any:
        if kw or q.device.type != "cuda":
            return original(q, k, v, attn_mask=attn_mask, **kw)
        if attn_mask is None:
            return flex_attention(q, k, v)
        keep = attn_mask[:, 0, 0, :]

        def score_mod(score: Any, b: Any, h: Any, q_idx: Any, kv_idx: Any) -> Any:
            return torch.where(keep[b, kv_idx], score, -float("inf"))

        return flex_attention(q, k, v, score_mod=score_mod)

    return sdpa


def gelu_check(device: str) -> None:
    """Max |difference| of cuBLASLt's fused GELU from erf and tanh GELU (fp32), and the error
    of fused and unfused bf16 GELU against fp32 erf GELU, on random pre-activations."""
    import torch
    from torch.nn import functional as F

    g = torch.Generator(device=device).manual_seed(0)
    x = torch.randn(8192, 384, device=device, generator=g)
    w = torch.randn(1536, 384, device=device, generator=g) / 384**0.5
    b = torch.randn(1536, device=device, generator=g)
    pre = torch.addmm(b, x, w.t())
    exact = F.gelu(pre)
    fused = torch._addmm_activation(b, x, w.t(), use_gelu=True)
    to_erf = (fused - exact).abs().max().item()
    to_tanh = (fused - F.gelu(pre, approximate="tanh")).abs().max().item()
    xb, wb, bb = x.bfloat16(), w.bfloat16(), b.bfloat16()
    fused_b = torch._addmm_activation(bb, xb, wb.t(), use_gelu=True).float()
    plain_b = F.gelu(torch.addmm(bb, xb, wb.t())).float()
    log(
        f"GELU epilogue (fp32) vs erf {to_erf:.1e}, vs tanh {to_tanh:.1e}; bf16 vs fp32 erf: "
        f"fused {(fused_b - exact).abs().max().item():.1e}, "
        f"unfused {(plain_b - exact).abs().max().item():.1e}"
    )


def attention_sweep(device: str, reps: int = 20, keep: bool = True) -> None:
    """Attention alone on random QKV (262,144 tokens a call, as in a batch): SDPA as the
    encoder called it, and the Triton kernel in each setting; max |error| against fp32 SDPA.
    Keeps the fastest setting whose error is within 1.5x SDPA's (bf16) for what follows."""
    import torch
    from torch.nn import functional as F
    from torch.nn.attention import SDPBackend, sdpa_kernel

    op = embed_gpu.attention_op()
    heads, hidden = 12, 384
    g = torch.Generator(device=device).manual_seed(0)
    cases = []
    for rows, width, masked in ((1024, 256, False), (1170, 224, True), (2048, 128, True)):
        qkv = (torch.randn(rows, width, 3 * hidden, device=device, generator=g) * 1.5).bfloat16()
        low = width - 31 if masked else width
        lens = torch.randint(low, width + 1, (rows,), device=device, generator=g)
        cases.append((qkv, lens, masked))

    def sdpa(qkv: Any, lens: Any, masked: bool, dtype: Any = None) -> Any:
        rows, width, _ = qkv.shape
        x = qkv if dtype is None else qkv.to(dtype)
        q, k, v = (t.transpose(1, 2) for t in x.view(rows, width, 3, heads, -1).unbind(2))
        keep = torch.arange(width, device=device)[None, :] < lens[:, None]
        mask = keep[:, None, None, :] if masked else None
        a = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return a.transpose(1, 2).reshape(rows, width, hidden)

    refs = [sdpa(*c, dtype=torch.float32) for c in cases]

    def measure(fn: Callable[..., Any]) -> tuple[list[float], float]:
        times, err = [], 0.0
        for case, ref in zip(cases, refs, strict=True):
            out = fn(*case)
            keep = torch.arange(ref.shape[1], device=device)[None, :] < case[1][:, None]
            err = max(err, ((out.float() - ref).abs() * keep[:, :, None]).max().item())
            for _ in range(3):
                fn(*case)
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            for _ in range(reps):
                fn(*case)
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end) / reps)
        return times, err

    def flops(qkv: Any) -> float:
        rows, width, _ = qkv.shape
        return 4.0 * rows * width * width * hidden

    def show(name: str, times: list[float], err: float) -> None:
        rates = " ".join(
            f"{t:.3f} ms ({flops(c[0]) / t / 1e9:.0f} TF/s)"
            for t, c in zip(times, cases, strict=True)
        )
        log(f"attention {name:40} {rates}  max err {err:.2e}")

    base_times, base_err = measure(sdpa)
    show("SDPA (default backend)", base_times, base_err)
    try:
        with sdpa_kernel([SDPBackend.CUDNN_ATTENTION]):
            show("SDPA cuDNN", *measure(sdpa))
    except Exception as e:
        log("FAILED cuDNN SDPA", repr(e)[:300])
    if op is None:
        log("no Triton: attention sweep skipped")
        return
    best: tuple[float, dict[str, Any]] | None = None
    first = dict(embed_gpu.ATTENTION_CONFIG)
    settings = [*itertools.product((32, 64, 128), (2, 4), (1, 2))]
    settings += [(64, 8, 2), (128, 8, 1), (128, 8, 2), (64, 4, 3), (128, 4, 3), (128, 8, 3)]
    for block_m, warps, stages in settings:
        config = {"block_m": block_m, "num_warps": warps, "num_stages": stages}
        embed_gpu.ATTENTION_CONFIG.update(config)
        try:
            times, err = measure(lambda q, l_, m: op(q, l_, heads, m))
        except Exception as e:
            log("FAILED attention", config, repr(e)[:1500])
            continue
        show(f"Triton {config}", times, err)
        if err <= 1.5 * base_err and (best is None or sum(times) < best[0]):
            best = (sum(times), config)
    embed_gpu.ATTENTION_CONFIG.update(first if best is None or not keep else best[1])
    if best is not None:
        verb = "kept" if keep else "best (not kept)"
        log(f"attention setting {verb}: {best[1]} ({sum(base_times) / best[0]:.2f}x SDPA)")


class Timeline:
    """Host and GPU timings of one TorchEmbedder run, from wrappers on its pipeline steps:
    the host's waits for tokens, the GPU's idle time before the first chunk and between
    chunks (CUDA events around each chunk's launch), and the host's time after the last."""

    def __init__(self, emb: TorchEmbedder) -> None:
        import torch

        self.torch = torch
        self.runs: list[dict[str, Any]] = []
        self.starts: list[Any] = []
        self.ends: list[Any] = []
        self.token_waits: list[float] = []
        self.launch_s = self.sync_s = self.scatter_s = 0.0
        self.last_settle = (0.0, 0.0)
        launch, finish, stream = emb._launch, emb._finish, emb._token_stream
        documents = emb.embed_documents

        def event() -> Any:
            e = torch.cuda.Event(enable_timing=True)
            e.record()
            return e

        def timed_launch(flat: Any, lengths: Any) -> Any:
            self.starts.append(event())
            t = time.perf_counter()
            out = launch(flat, lengths)
            self.launch_s += time.perf_counter() - t
            self.ends.append(event())
            return out

        def timed_finish(launched: Any, into: Any) -> None:
            t = time.perf_counter()
            if launched[0][1] is not None:
                launched[0][1].synchronize()
            t1 = time.perf_counter()
            finish(launched, into)
            t2 = time.perf_counter()
            self.sync_s += t1 - t
            self.scatter_s += t2 - t1
            self.last_settle = (t, t2)

        def timed_stream(batches: Any, *args: Any) -> Any:
            it = iter(stream(batches, *args))
            while True:
                t = time.perf_counter()
                try:
                    item = next(it)
                except StopIteration:
                    return
                self.token_waits.append(time.perf_counter() - t)
                yield item

        def timed_documents(texts: Any) -> Any:
            self.starts, self.ends, self.token_waits = [], [], []  # this run's
            self.launch_s = self.sync_s = self.scatter_s = 0.0
            self.begin = event()
            t0 = time.perf_counter()
            out = documents(texts)
            wall = time.perf_counter() - t0
            torch.cuda.synchronize()
            self.record(wall, t0)
            return out

        emb._launch = timed_launch  # type: ignore[method-assign]
        emb._finish = timed_finish  # type: ignore[method-assign]
        emb._token_stream = timed_stream  # type: ignore[method-assign]
        emb.embed_documents = timed_documents  # type: ignore[method-assign]

    def record(self, wall: float, t0: float) -> None:
        if not self.starts:
            return
        first = self.begin.elapsed_time(self.starts[0]) / 1e3
        gaps = [
            max(0.0, e.elapsed_time(s) / 1e3)
            for e, s in zip(self.ends[:-1], self.starts[1:], strict=True)
        ]
        spans = sum(s.elapsed_time(e) for s, e in zip(self.starts, self.ends, strict=True)) / 1e3
        tail = self.last_settle[1] - self.last_settle[0]
        run = {
            "wall": wall,
            "chunks": len(self.starts),
            "gpu_idle_first": first,
            "gpu_gaps": sum(gaps),
            "gpu_gap_max": max(gaps, default=0.0),
            "gpu_spans": spans,
            "first_tokens": self.token_waits[0] if self.token_waits else 0.0,
            "token_waits_later": sum(self.token_waits[1:]),
            "launch_host": self.launch_s,
            "sync_wait": self.sync_s,
            "scatter": self.scatter_s,
            "last_settle": tail,
        }
        self.runs.append(run)
        log(
            "timeline "
            + " ".join(
                f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in run.items()
            )
        )


# The attention kernel's setting before (commit b7c058e), for the "-before" variants.
BEFORE_ATTENTION = {"block_m": 64, "num_warps": 4, "num_stages": 2}


def fresh_compile() -> None:
    """Forget compiled code: each embedder's forward is another entry for the same code object,
    and past torch._dynamo's recompile limit (8) it silently runs eagerly."""
    import torch

    torch._dynamo.reset()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--texts", type=int, default=2000, help="texts for the end-to-end run")
    p.add_argument("--gpu-texts", type=int, help="pre-tokenised texts per GPU-only variant")
    p.add_argument("--hf-e2e-texts", type=int, help="texts for e2e-hf (default: --texts)")
    p.add_argument("--erf-e2e-texts", type=int, help="texts for e2e-erf (default: --texts)")
    p.add_argument("--old-texts", type=int, help="texts for the old embedder")
    p.add_argument("--unique", type=int, default=50_000, help="distinct abstracts loaded")
    p.add_argument("--ref-texts", type=int, default=300)
    p.add_argument("--reps", type=int, default=3, help="timed runs per variant (median)")
    p.add_argument("--weights", type=Path, help="real HF weights (default: random, seed 0)")
    p.add_argument("--real", action="store_true", help="the shipped model's weights (ONNX)")
    p.add_argument(
        "--variants",
        default="tokenizer,gelu,fused-compiled-erf,fused-compiled,profile,e2e-hf,e2e,e2e-erf",
    )
    p.add_argument(
        "--attn-keep",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="use the attn sweep's fastest setting in the variants after it",
    )
    p.add_argument("--deadline", type=float, default=1e9, help="skip variants after this (s)")
    p.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", "bench/out")))
    args = p.parse_args()
    print("$ python " + " ".join(sys.argv), flush=True)
    import tokenizers
    import torch

    dev = args.device
    gpu_texts = args.gpu_texts or args.texts
    old_texts = args.old_texts or min(args.texts, 131_072)
    variants = args.variants.split(",")
    log(
        "torch",
        torch.__version__,
        "tokenizers",
        tokenizers.__version__,
        "cuda" if dev == "cuda" else "cpu",
        torch.cuda.get_device_name() if dev == "cuda" else "",
        "cpus",
        os.cpu_count(),
    )
    if dev == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False  # an fp32 reference that is fp32
    model_dir = make_model_dir(args.weights, args.real)
    log("weights:", "shipped model (dequantised ONNX)" if args.real else args.weights or "random")
    unique = load_texts(args.unique)
    log("loaded", len(unique), "abstracts")
    ref_texts = unique[: args.ref_texts]
    ref = reference(model_dir, ref_texts, dev)
    log("fp32 reference done")

    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    hf = load_tokenizer(model_dir, MAX_LENGTH)
    sample = unique[:4000]
    if "tokenizer" in variants:
        _, secs = timed("cpu", lambda: tokenise(hf, sample))
        record("tokenizer HF, 1 process", len(sample), secs, None, None, "encode_batch_fast")
        fast = FastWordPiece(load_tokenizer(model_dir, MAX_LENGTH))
        few = unique[:20_000]
        _, cold = timed("cpu", lambda: in_slices(fast.tokenise, few))
        record("tokenizer fast, 1 process, cold", len(few), cold, None, None, "first pass")
        _, warm = repeated("cpu", args.reps, lambda: in_slices(fast.tokenise, few))
        record("tokenizer fast, 1 process, warm", len(few), warm, None, None, "words known")
    # Both pools on all distinct abstracts: rates, and the fast ids checked against HF's.
    pool_rates = {}
    tokens: dict[bool, tuple[np.ndarray, np.ndarray]] = {}
    for fast_pool in (False, True):
        with tokeniser_pool(model_dir, fast=fast_pool) as pool:
            pool_n = pool._max_workers  # type: ignore[attr-defined]
            list(pool.map(abs, range(4 * pool_n)))  # start the workers (and their tables)
            run = lambda: embed_gpu._collect(embed_gpu._submit(pool, unique))  # noqa: E731
            tokens[fast_pool], cold = timed("cpu", run)
            _, warm = repeated("cpu", args.reps, run)
        name = f"tokenizer {'fast' if fast_pool else 'HF'}, pool of {pool_n}"
        pool_rates[fast_pool] = len(unique) / float(np.median(warm))
        if "tokenizer" in variants:
            record(name + ", cold", len(unique), cold, None, None, "first pass")
            record(name + ", warm", len(unique), warm, None, None, "again")
    flat, lengths = tokens[False]
    same = all(np.array_equal(a, b) for a, b in zip(tokens[False], tokens[True], strict=True))
    log(f"fast ids == HF ids on {len(unique)} abstracts: {same}")
    if not same:
        raise SystemExit("FastWordPiece ids differ from HF's")
    tokens_per_text = float(lengths.mean())
    log(
        f"tokens/text {tokens_per_text:.1f}  at 256: {(lengths == 256).mean():.1%}  padding "
        f"at width 32: {(-(-lengths // 32) * 32).sum() / lengths.sum() - 1:.1%}"
    )
    chunks = token_chunks(flat, lengths, gpu_texts)
    n_batches = sum(1 for _ in bucketed_batches(np.sort(lengths[:CHUNK]), 262_144))
    log(f"gpu-only runs: {gpu_texts} texts in {len(chunks)} chunks, ~{n_batches} batches/chunk")

    def over() -> bool:
        late = time.perf_counter() - T0 > args.deadline
        if late:
            log("deadline reached, skipping")
        return late

    if "old" in variants and not over():
        old = OldTorchEmbedder(model_dir, dev)
        err = cos_err(old.embed_documents(ref_texts), ref)
        texts = repeat(unique, old_texts)
        _, secs = timed(dev, lambda: old.embed_documents(texts))
        record("old (exact-length, e2e)", len(texts), secs, None, err, "first pass: shape setup")
        del old

    def gpu_only(name: str, emb: TorchEmbedder, compiled: bool) -> None:
        # Warm-up: one chunk (all widths, both mask states); for compile that is the compile.
        _, warm = timed(dev, lambda: emb.embed_tokens(chunks[:1]))
        err = cos_err(emb.embed_documents(ref_texts), ref)
        _, times = repeated(dev, args.reps, lambda: emb.embed_tokens(chunks))
        steady_first = float(np.median(times)) / gpu_texts * len(chunks[0][1])
        compile_s = round(max(0.0, warm - steady_first), 1) if compiled else None
        record(name, gpu_texts, times, compile_s, err, "pre-tokenised, GPU only")
        if compiled and "profile" in variants and dev == "cuda":
            profile_chunk(emb, chunks[0])
        if name == "fused-compiled" and "budget-2x" in variants and not over():
            emb.budget *= 2  # fewer, larger forward passes (same compiled code, new sizes)
            _, warm = timed(dev, lambda: emb.embed_tokens(chunks[:1]))
            _, times = repeated(dev, args.reps, lambda: emb.embed_tokens(chunks))
            note = f"token budget {emb.budget}; first chunk {warm:.1f} s"
            record(name + ", 2x budget", gpu_texts, times, None, None, note)

    def gpu_variant(name: str) -> None:
        if name not in variants or over():
            return
        sdpa = torch.nn.functional.scaled_dot_product_attention
        setting = dict(embed_gpu.ATTENTION_CONFIG)
        try:
            fresh_compile()
            if name.endswith("-before"):
                embed_gpu.ATTENTION_CONFIG.update(BEFORE_ATTENTION)
            if name == "hf-bucket":
                emb: TorchEmbedder = HFBucketEmbedder(model_dir, dev)
                compiled = False
            else:
                compiled = name != "fused-eager"
                mode = "max-autotune-no-cudagraphs" if name == "fused-autotune" else None
                if name == "fused-flex":
                    torch.nn.functional.scaled_dot_product_attention = flex_sdpa(sdpa)
                emb = TorchEmbedder(
                    model_dir,
                    name=name,
                    device=dev,
                    compile=compiled,
                    compile_mode=mode,
                    fused_gelu=False if name == "fused-compiled-erf" else None,
                    attention="sdpa" if name.endswith("-sdpa") else None,
                )
                log(name, "attention:", emb.attention, embed_gpu.ATTENTION_CONFIG)
            gpu_only(name, emb, compiled and dev == "cuda")
            if name == "fused-eager" and "sdpa" in variants and dev == "cuda":
                sdpa_backends(emb, chunks[:2], dev)
            del emb
        except Exception as e:
            log("FAILED", name, repr(e)[:2000])
        finally:
            torch.nn.functional.scaled_dot_product_attention = sdpa
            embed_gpu.ATTENTION_CONFIG.update(setting)

    if "gelu" in variants and dev == "cuda":
        gelu_check(dev)
    if "attn" in variants and dev == "cuda":
        attention_sweep(dev, keep=args.attn_keep)
    gpu_variant("fused-eager")
    gpu_variant("fused-compiled-erf")
    gpu_variant("fused-compiled-sdpa")
    gpu_variant("fused-compiled-before")
    gpu_variant("fused-compiled")

    def e2e(
        name: str,
        fast_tokenizer: bool,
        n: int,
        mode: str | None = None,
        erf: bool = False,
        attention: str | None = None,
        ramp: bool = True,
        start_method: str = "forkserver",
    ) -> None:
        if name not in variants or over():
            return
        compiled = dev == "cuda"
        texts = repeat(unique, n)
        setting = dict(embed_gpu.ATTENTION_CONFIG)
        try:
            fresh_compile()
            if name.endswith("-before"):
                embed_gpu.ATTENTION_CONFIG.update(BEFORE_ATTENTION)
            emb = TorchEmbedder(
                model_dir,
                name=name,
                device=dev,
                compile=compiled,
                compile_mode=mode,
                fast_tokenizer=fast_tokenizer,
                fused_gelu=False if erf else None,
                attention=attention,
                ramp=ramp,
                start_method=start_method,
            )
            log(name, "attention:", emb.attention, embed_gpu.ATTENTION_CONFIG)
            _, warm = timed(dev, lambda: emb.embed_tokens(chunks[:1]))
            VECS[name] = emb.embed_documents(ref_texts)
            err = cos_err(VECS[name], ref)
            if dev == "cuda":
                Timeline(emb)
            times = []
            for _ in range(args.reps):  # a new tokeniser pool each run, as before 2026-11-26
                emb.close()
                times += repeated(dev, 1, lambda: emb.embed_documents(texts))[1]
            emb.close()
            tokeniser = "FastWordPiece" if fast_tokenizer else "HF tokenizer"
            gelu = "erf GELU pass" if erf else "fused GELU"
            note = (
                f"{tokeniser} pool (new each run), {gelu}, {emb.attention} attention, "
                f"{'small first chunks' if ramp else 'chunks of 65,536 from the start'}, "
                f"{start_method} pool, attention {embed_gpu.ATTENTION_CONFIG}; "
                "compile s = first chunk incl. it"
            )
            record(name, n, times, round(warm, 1) if compiled else None, err, note)
        except Exception as e:
            log("FAILED", name, repr(e)[:2000])
        finally:
            embed_gpu.ATTENTION_CONFIG.update(setting)

    e2e("e2e-hf", False, args.hf_e2e_texts or args.texts, erf=True)
    e2e("e2e-sdpa", True, args.texts, attention="sdpa")
    e2e("e2e-before", True, args.texts, ramp=False, start_method="spawn")
    e2e("e2e-noramp", True, args.texts, ramp=False)
    e2e("e2e", True, args.texts)
    e2e("e2e-erf", True, args.erf_e2e_texts or args.texts, erf=True)
    if "knn" in variants:
        knn_agreement(ref)
    gpu_variant("fused-flex")
    gpu_variant("fused-autotune")
    e2e("e2e-autotune", True, args.texts, "max-autotune-no-cudagraphs")
    gpu_variant("hf-bucket")  # least needed: last

    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "embed_gpu.json").write_text(json.dumps(ROWS, indent=1))
    (args.out / "embed_gpu.log").write_text("\n".join(LOG) + "\n")
    print("\nvariant                                  texts  abstracts/s  compile s  max|cos-1|")
    for r in ROWS:
        cos = "" if r["max_cos_err"] is None else f"{r['max_cos_err']:.1e}"
        if r["mean_cos_err"] is not None:
            cos += f" (mean {r['mean_cos_err']:.1e})"
        comp = "" if r["compile_s"] is None else f"{r['compile_s']}"
        print(f"{r['variant']:38} {r['texts']:>9} {r['per_s']:>12,} {comp:>10} {cos:>11}")
        print(f"    runs {r['runs_per_s']}  {r['note']}")
    for r in ROWS:
        if not r["variant"].startswith("tokenizer"):
            print(f"  {r['variant']}: 2.7M abstracts in {2.7e6 / r['per_s']:.0f} s")


if __name__ == "__main__":
    main()
