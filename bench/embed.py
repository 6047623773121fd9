"""Embedding throughput: abstracts/s and one-query latency, on CPU (ONNX) or a GPU (PyTorch).

    .venv/bin/python bench/embed.py                         # CPU: int8 vs fp32, sorted vs not
    .venv/bin/python bench/embed.py --n 1000 --variants int8-sorted,int8-sorted-onecall --rounds 3
    python bench/embed.py --device cuda --hf-dir DIR --n 1000000   # on the lent H100

Texts are real title + abstract pairs from ../shared/data (cycled when --n exceeds 74,728).
The fp32 graph comes from scripts/export_model.py (build/, not shipped). A variant is
KIND-ORDER[-onecall][-wN][-bN]: int8 or fp32, sorted or unsorted batches, "onecall" for one ONNX
call at a time on every core (the default runs one single-threaded call per core at once), a
document window of N wordpieces (``embedding_document_tokens``; default the model's 256) and
N tokens an ONNX call (default 8192); or
openvino[-PRECISION] (bf16 by default, f32): the OpenVINO embedder (paperfeed[openvino]).
Rounds interleave the variants, so load from other work falls on each alike; medians printed,
and each variant's median ratio to the first one's rate in the same round.
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from paperfeed.search.embed import (  # noqa: E402
    CPU_TOKEN_BUDGET,
    MODELS_DIR,
    OnnxEmbedder,
    paper_text,
)
from paperfeed.search.embed_openvino import OpenVinoEmbedder  # noqa: E402

DATA = Path(
    os.environ.get("ARXIV_DAILY", REPO.parent / "shared/data/arxiv-daily-2025-2026.jsonl.gz")
)
SHIPPED = MODELS_DIR / "paperfeed-minilm-sci"
FP32 = REPO / "build" / "models" / "paperfeed-minilm-sci"
QUERIES = ["landmark attention", "how do I shrink the KV cache for long contexts", "diffusion"]


def load_texts(n: int) -> list[str]:
    with gzip.open(DATA, "rt") as lines:
        rows = [json.loads(line) for line in lines]
    texts = [paper_text(r["title"], r["abstract"]) for r in rows]
    return list(itertools.islice(itertools.cycle(texts), n))


def cpu(texts: list[str], variants: list[str], rounds: int) -> None:
    embedders: dict[str, OnnxEmbedder | OpenVinoEmbedder] = {}
    rates: dict[str, list[float]] = {v: [] for v in variants}
    for variant in variants:
        kind, *rest = variant.split("-")
        if kind == "openvino":
            embedders[variant] = OpenVinoEmbedder(SHIPPED, precision=rest[0] if rest else "bf16")
        else:
            folder, onnx = (SHIPPED, "model.onnx") if kind == "int8" else (FP32, "model-fp32.onnx")
            calls = 1 if "onecall" in rest else None
            window = next((int(r[1:]) for r in rest if r.startswith("w")), None)
            budget = next((int(r[1:]) for r in rest if r.startswith("b")), CPU_TOKEN_BUDGET)
            embedders[variant] = OnnxEmbedder(
                folder, onnx_file=onnx, calls=calls, window=window, token_budget=budget
            )
        embedders[variant].embed_documents(texts[:16])
    for _ in range(rounds):
        for variant, embedder in embedders.items():
            start = time.perf_counter()
            if "unsorted" in variant:
                embedder.embed_documents(texts, sort=False)
            else:
                embedder.embed_documents(texts)
            rates[variant].append(len(texts) / (time.perf_counter() - start))
    first = rates[variants[0]]
    for variant, embedder in embedders.items():
        ratio = statistics.median(r / f for r, f in zip(rates[variant], first, strict=True))
        latencies = []
        for i in range(60):
            start = time.perf_counter()
            getattr(embedder, "queries", embedder)._cache.clear()
            embedder.embed_query(f"{QUERIES[i % 3]} {i}")
            latencies.append((time.perf_counter() - start) * 1000)
        print(
            f"{variant:22} {statistics.median(rates[variant]):7.1f} abstracts/s (median of "
            f"{rounds}: {', '.join(f'{r:.1f}' for r in rates[variant])}) x{ratio:.2f}   "
            f"one query p50 {statistics.median(latencies):.2f} ms",
            flush=True,
        )


def gpu(texts: list[str], hf_dir: Path) -> None:
    import torch

    from paperfeed.search.embed_gpu import TorchEmbedder

    embedder = TorchEmbedder(hf_dir, name="bench", device="cuda")
    embedder.embed_documents(texts[:20000])  # warm-up: kernels, allocator
    torch.cuda.synchronize()
    start = time.perf_counter()
    embedder.embed_documents(texts)
    torch.cuda.synchronize()
    took = time.perf_counter() - start
    print(f"cuda bf16 exact-length batches: {len(texts) / took:,.0f} abstracts/s ({took:.1f} s)")
    print(f"  -> 2.7M arXiv abstracts in {2.7e6 / (len(texts) / took):.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--hf-dir", type=Path)
    parser.add_argument("--variants", default="openvino,int8-sorted,int8-sorted-onecall")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print("$ " + " ".join(["python", *sys.argv]), f"(load {os.getloadavg()[0]:.1f})")
    texts = load_texts(args.n)
    if args.device == "cuda":
        gpu(texts, args.hf_dir)
    else:
        cpu(texts, args.variants.split(","), args.rounds)


if __name__ == "__main__":
    main()
