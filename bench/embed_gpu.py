"""GPU bulk embedding benchmark: old exact-length TorchEmbedder vs bucketed/fused/compiled.

Random weights of the exact all-MiniLM-L6-v2 shapes (bench/minilm_l6_config.json; throughput
does not depend on the values) or real ones (--weights), the shipped tokenizer, and real arXiv
abstracts (.train/gpu/arxiv.jsonl.xz, 50k, repeated). Each variant is checked against an fp32
HF reference (attention mask + mean pooling) by max |cos - 1|.

Variants (rates in abstracts/s):
  tokenizer       the tokenizer alone: one process, and the worker pool
  old             the previous TorchEmbedder (exact-length groups), end to end
  hf-bucket       HF BertModel bf16, width-32 buckets + attention mask, pre-tokenised
  fused-eager     the new fused encoder without compile, pre-tokenised
  fused-compiled  the same through torch.compile (compile time reported apart), pre-tokenised
  e2e             the new TorchEmbedder end to end (tokeniser pool + GPU), compiled

Device: python bench/embed_gpu.py --device cuda --texts 1048576
CPU check: python bench/embed_gpu.py --device cpu --texts 2000
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
    tokenise,
    tokeniser_pool,
)

TOKENIZER = ROOT / "src/paperfeed/search/models/paperfeed-minilm-sci/tokenizer.json"
CONFIG = ROOT / "bench/minilm_l6_config.json"
DATA = ROOT / ".train/gpu/arxiv.jsonl.xz"
T0 = time.perf_counter()
LOG: list[str] = []
ROWS: list[dict[str, Any]] = []


def log(*parts: Any) -> None:
    line = " ".join(str(p) for p in parts)
    LOG.append(f"[{time.perf_counter() - T0:7.1f}s] {line}")
    print(LOG[-1], flush=True)


def sync(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def make_model_dir(weights: Path | None) -> Path:
    """A folder with config, weights and tokenizer.json, as TorchEmbedder loads it."""
    import torch
    from transformers import BertConfig, BertModel

    folder = Path(tempfile.mkdtemp(prefix="embed_gpu_"))
    if weights:
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


def cos_err(vectors: np.ndarray, ref: np.ndarray) -> float:
    assert vectors.dtype == np.float32 and vectors.shape == ref.shape, (vectors.shape, ref.shape)
    assert np.isfinite(vectors).all()
    cos = (vectors * ref).sum(1) / np.linalg.norm(vectors, axis=1) / np.linalg.norm(ref, axis=1)
    return float(np.abs(cos - 1).max())


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
        with tokeniser_pool(self.hf_dir) as pool:
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


def record(
    variant: str, n: int, seconds: float, compile_s: float | None, err: float | None, note: str = ""
) -> None:
    row = {
        "variant": variant,
        "texts": n,
        "seconds": round(seconds, 3),
        "per_s": round(n / seconds),
        "compile_s": compile_s,
        "max_cos_err": err,
        "note": note,
    }
    ROWS.append(row)
    log("RESULT", json.dumps(row))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--texts", type=int, default=2000, help="texts for the end-to-end run")
    p.add_argument("--gpu-texts", type=int, help="pre-tokenised texts per GPU-only variant")
    p.add_argument("--old-texts", type=int, help="texts for the old embedder")
    p.add_argument("--unique", type=int, default=50_000, help="distinct abstracts loaded")
    p.add_argument("--ref-texts", type=int, default=300)
    p.add_argument("--weights", type=Path, help="real HF weights (default: random, seed 0)")
    p.add_argument("--variants", default="tokenizer,old,hf-bucket,fused-eager,fused-compiled,e2e")
    p.add_argument("--deadline", type=float, default=1e9, help="skip variants after this (s)")
    p.add_argument(
        "--e2e-seconds",
        type=float,
        default=30.0,
        help="cap the e2e texts at what the tokeniser pool does in this long",
    )
    p.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", "bench/out")))
    args = p.parse_args()
    print("$ python " + " ".join(sys.argv), flush=True)
    import torch

    dev = args.device
    gpu_texts = args.gpu_texts or args.texts
    old_texts = args.old_texts or min(args.texts, 131_072)
    variants = args.variants.split(",")
    log(
        "torch",
        torch.__version__,
        "cuda" if dev == "cuda" else "cpu",
        torch.cuda.get_device_name() if dev == "cuda" else "",
        "cpus",
        os.cpu_count(),
    )
    if dev == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False  # an fp32 reference that is fp32
    model_dir = make_model_dir(args.weights)
    unique = load_texts(args.unique)
    log("loaded", len(unique), "abstracts")
    ref_texts = unique[: args.ref_texts]
    ref = reference(model_dir, ref_texts, dev)
    log("fp32 reference done")

    # Tokenise the distinct abstracts once in the pool (this also times the pool).
    tok = load_tokenizer(model_dir, MAX_LENGTH)
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    sample = unique[:4000]
    _, t1 = timed("cpu", lambda: tokenise(tok, sample))
    with tokeniser_pool(model_dir) as pool:
        pool_n = pool._max_workers
        list(pool.map(abs, range(pool_n)))  # start the workers
        embed_gpu._collect(embed_gpu._submit(pool, unique[: 4096 * pool_n]))  # warm
        (flat, lengths), tp = timed(
            "cpu", lambda: embed_gpu._collect(embed_gpu._submit(pool, unique))
        )
    tokens_per_text = float(lengths.mean())
    pool_rate = len(unique) / tp
    log(
        f"tokens/text {tokens_per_text:.1f}  at 256: {(lengths == 256).mean():.1%}  padding "
        f"at width 32: {(-(-lengths // 32) * 32).sum() / lengths.sum() - 1:.1%}"
    )
    record(
        "tokenizer-1proc",
        len(sample),
        t1,
        None,
        None,
        f"{len(sample) / t1 * tokens_per_text:,.0f} tokens/s",
    )
    record(
        f"tokenizer-pool{pool_n}",
        len(unique),
        tp,
        None,
        None,
        f"{pool_rate * tokens_per_text:,.0f} tokens/s",
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
        _, secs = timed(dev, lambda: emb.embed_tokens(chunks))
        steady_first = secs / gpu_texts * len(chunks[0][1])
        compile_s = round(max(0.0, warm - steady_first), 1) if compiled else None
        record(name, gpu_texts, secs, compile_s, err, "pre-tokenised, GPU only")

    def gpu_variant(name: str) -> None:
        if name in variants and not over():
            try:
                if name == "hf-bucket":
                    emb: TorchEmbedder = HFBucketEmbedder(model_dir, dev)
                else:
                    compiled = name == "fused-compiled"
                    emb = TorchEmbedder(model_dir, name=name, device=dev, compile=compiled)
                gpu_only(name, emb, name == "fused-compiled")
                del emb
            except Exception as e:
                log("FAILED", name, repr(e)[:2000])

    gpu_variant("fused-eager")
    gpu_variant("fused-compiled")

    if "e2e" in variants and not over():
        compiled = dev == "cuda"
        n = min(args.texts, max(CHUNK, int(pool_rate * args.e2e_seconds) // CHUNK * CHUNK))
        texts = repeat(unique, n)
        try:
            emb = TorchEmbedder(model_dir, name="e2e", device=dev, compile=compiled)
            _, warm = timed(dev, lambda: emb.embed_tokens(chunks[:1]))
            err = cos_err(emb.embed_documents(ref_texts), ref)
            _, secs = timed(dev, lambda: emb.embed_documents(texts))
            record(
                "new TorchEmbedder (e2e)",
                n,
                secs,
                round(warm, 1) if compiled else None,
                err,
                "tokeniser pool + GPU; compile s = first chunk incl. compile",
            )
        except Exception as e:
            log("FAILED e2e", repr(e)[:2000])
    gpu_variant("hf-bucket")  # least needed: last

    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "embed_gpu.json").write_text(json.dumps(ROWS, indent=1))
    (args.out / "embed_gpu.log").write_text("\n".join(LOG) + "\n")
    print("\nvariant                         texts  abstracts/s  compile s  max|cos-1|  note")
    for r in ROWS:
        err = "" if r["max_cos_err"] is None else f"{r['max_cos_err']:.1e}"
        comp = "" if r["compile_s"] is None else f"{r['compile_s']}"
        print(
            f"{r['variant']:28} {r['texts']:>9} {r['per_s']:>12,} {comp:>10} {err:>11}  {r['note']}"
        )
    for r in ROWS:
        if not r["variant"].startswith("tokenizer"):
            print(f"  {r['variant']}: 2.7M abstracts in {2.7e6 / r['per_s']:.0f} s")


if __name__ == "__main__":
    main()
