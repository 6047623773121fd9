"""Adapt the MiniLM sentence embedder to scientific text (contrastive, in-batch negatives).

Runs on a GPU machine with PyTorch + sentence-transformers (the lent H100; see BENCHMARKS.md),
over the pairs made by `scripts/prepare_training_data.py`. Each variant is scored on the SciFact
*dev* split of the training claims (used to choose) and on the test split (reported once).

    python scripts/train_embedder.py --data .train/gpu --out $OUT

The chosen weights come back as fp16 safetensors parts; `scripts/export_model.py --model-dir`
turns them into the int8 ONNX model that ships in the package.
"""

from __future__ import annotations

import argparse
import json
import lzma
import math
import random
import shutil
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from sentence_transformers import SentenceTransformer

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from paperfeed.search.beir import dev_split

VARIANTS = {
    # name: (pair sets with repeat counts, epochs, learning rate)
    "arxiv+scifact": ({"arxiv": 1, "scifact_corpus": 1, "scifact_claims": 4}, 1, 3e-5),
    "arxiv+scifact-2ep": ({"arxiv": 1, "scifact_corpus": 1, "scifact_claims": 4}, 2, 3e-5),
    "scifact-only": ({"scifact_corpus": 2, "scifact_claims": 8}, 2, 2e-5),
    "arxiv+scifact-3ep": ({"arxiv": 1, "scifact_corpus": 1, "scifact_claims": 4}, 3, 3e-5),
}


def load_pairs(folder: Path, name: str) -> list[tuple[str, str]]:
    with lzma.open(folder / f"{name}.jsonl.xz", "rt") as handle:
        return [tuple(json.loads(line)) for line in handle if line.strip()]  # type: ignore[misc]


def prepare_base(folder: Path, work: Path) -> Path:
    base = work / "base"
    if not base.exists():
        shutil.copytree(folder / "base", base)
        packed = base / "model.safetensors.xz"
        (base / "model.safetensors").write_bytes(lzma.decompress(packed.read_bytes()))
        packed.unlink()
    return base


def train(
    model: SentenceTransformer,
    pairs: list[tuple[str, str]],
    epochs: int,
    lr: float,
    batch_size: int = 256,
    scale: float = 20.0,
) -> None:
    if len(pairs) < batch_size:
        batch_size = 8
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    steps = epochs * math.ceil(len(pairs) / batch_size)
    warmup = max(1, steps // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (steps - s) / (steps - warmup)))
    )
    rng = random.Random(0)
    for _epoch in range(epochs):
        order = pairs[:]
        rng.shuffle(order)
        for start in range(0, len(order) - batch_size + 1, batch_size):
            batch = order[start : start + batch_size]
            with torch.autocast(model.device.type, dtype=torch.bfloat16):
                q = _encode(model, [p[0] for p in batch])
                d = _encode(model, [p[1] for p in batch])
            q, d = F.normalize(q.float(), dim=-1), F.normalize(d.float(), dim=-1)
            logits = q @ d.T * scale
            labels = torch.arange(len(batch), device=logits.device)
            loss = (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad(set_to_none=True)
    model.eval()


def _encode(model: SentenceTransformer, texts: list[str]) -> torch.Tensor:
    features = model.tokenize(texts)
    features = {k: (v.to(model.device) if hasattr(v, "to") else v) for k, v in features.items()}
    return model(features)["sentence_embedding"]


def load_scifact(scifact: Path, limit: int | None = None):
    with lzma.open(scifact / "corpus.jsonl.xz", "rt") as handle:
        corpus = [json.loads(x) for x in handle][:limit]
    lines = (scifact / "queries.jsonl").read_text().splitlines()
    queries = {q["_id"]: q["text"] for q in map(json.loads, lines)}
    qrels: dict[str, dict[str, dict[str, int]]] = {}
    for split in ("train", "test"):
        for line in (scifact / "qrels" / f"{split}.tsv").read_text().splitlines()[1:]:
            qid, cid, score = line.split("\t")
            qrels.setdefault(split, {}).setdefault(qid, {})[cid] = int(score)
    _train, dev = dev_split(sorted(qrels["train"]))
    return corpus, queries, {"dev": {q: qrels["train"][q] for q in dev}, "test": qrels["test"]}


def ndcg_at_10(doc_vecs, corpus, q_vecs, qids, qrels) -> float:
    scores = q_vecs @ doc_vecs.T
    total = 0.0
    for row, top in enumerate(scores.argsort(axis=1)[:, ::-1][:, :10]):
        rels = qrels[qids[row]]
        gains = [rels.get(corpus[i]["_id"], 0) for i in top]
        dcg = sum(g / math.log2(r + 2) for r, g in enumerate(gains))
        ideal = sorted(rels.values(), reverse=True)[:10]
        total += dcg / sum(g / math.log2(r + 2) for r, g in enumerate(ideal))
    return total / len(qids)


def evaluate(model: SentenceTransformer, scifact) -> dict[str, float]:
    corpus, queries, qrels = scifact
    docs = [f"{d['title']}. {d['text']}" for d in corpus]
    doc_vecs = model.encode(docs, batch_size=512, normalize_embeddings=True, convert_to_numpy=True)
    result = {}
    for split, split_qrels in qrels.items():
        qids = sorted(split_qrels)
        q_vecs = model.encode([queries[q] for q in qids], normalize_embeddings=True)
        result[split] = round(ndcg_at_10(doc_vecs, corpus, q_vecs, qids, split_qrels), 4)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path(".train/gpu"))
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--work", type=Path, default=Path("/tmp/pf-train"))
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--smoke", action="store_true", help="tiny run to check the script")
    parser.add_argument("--variants", nargs="*", help="train only these (default: all)")
    args = parser.parse_args()
    for name in set(VARIANTS) - set(args.variants or VARIANTS):
        del VARIANTS[name]
    if args.smoke:
        VARIANTS.clear()
        VARIANTS["smoke"] = ({"scifact_claims": 1}, 1, 3e-5)
    base = prepare_base(args.data, args.work)
    sets = {n: load_pairs(args.data, n) for n in ("arxiv", "scifact_corpus", "scifact_claims")}
    scifact = load_scifact(args.data / "scifact", 200 if args.smoke else None)
    results = {}
    model = SentenceTransformer(str(base), device=args.device).float()
    model.max_seq_length = 256
    results["base"] = evaluate(model, scifact)
    print("base", results["base"], flush=True)
    best_name, best_dev = "base", results["base"]["dev"]
    for name, (mix, epochs, lr) in VARIANTS.items():
        started = time.time()
        model = SentenceTransformer(str(base), device=args.device).float()
        model.max_seq_length = 256
        pairs = [p for set_name, times in mix.items() for p in sets[set_name] * times]
        if args.smoke:
            pairs = pairs[:32]
        train(model, pairs, epochs, lr)
        results[name] = evaluate(model, scifact) | {
            "seconds": round(time.time() - started, 1),
            "pairs": len(pairs),
        }
        print(name, results[name], flush=True)
        if results[name]["dev"] > best_dev:
            best_name, best_dev = name, results[name]["dev"]
            model.save(str(args.work / "best"))
    results["chosen_by_dev"] = best_name
    (args.out / "results.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    if best_name != "base":
        _export_parts(args.work / "best", args.out)


def _export_parts(folder: Path, out: Path) -> None:
    """fp16 weights split under the 16 MB limit of files returned from the GPU machine."""
    from safetensors.torch import load_file, save_file

    weights = load_file(str(folder / "model.safetensors"))
    half = {k: (v.half() if v.is_floating_point() else v).contiguous() for k, v in weights.items()}
    save_file(half, "/tmp/pf-best.safetensors")
    data = Path("/tmp/pf-best.safetensors").read_bytes()
    for index in range(0, len(data), 15_000_000):
        (out / f"best.safetensors.part{index // 15_000_000}").write_bytes(
            data[index : index + 15_000_000]
        )
    print("weights bytes", len(data))


if __name__ == "__main__":
    main()
