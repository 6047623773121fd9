"""SciFact quality of the dense retriever alone (exact search): fp32 vs int8 graphs, and the
cost of storing vectors as float16 or int8 + scale.

    .venv/bin/python bench/embed_quality.py                      # shipped int8 + build/ fp32
    .venv/bin/python bench/embed_quality.py --onnx path/a.onnx --onnx path/b.onnx

Reports nDCG@10 and Recall@100 on the test claims (never tuned on) and the train claims.
The fp32 graph comes from ``scripts/export_model.py`` (kept in ``build/``, not shipped).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from paperfeed.search.embed import MODELS_DIR, OnnxEmbedder, paper_text
from paperfeed.store.vector_codec import Vectors, decode_vectors, encode_vectors

REPO = Path(__file__).resolve().parent.parent
SCIFACT = Path(os.environ.get("SCIFACT", REPO.parent / "shared" / "data" / "scifact"))
SHIPPED = MODELS_DIR / "paperfeed-minilm-sci" / "model.onnx"
FP32 = REPO / "build" / "models" / "paperfeed-minilm-sci" / "model-fp32.onnx"


def load_scifact(split: str) -> tuple[list[str], list[str], dict[str, str], dict[str, set[str]]]:
    """Corpus ids and texts, query texts by id, relevant doc ids by query id for ``split``."""
    ids, texts = [], []
    for line in (SCIFACT / "corpus.jsonl").open():
        row = json.loads(line)
        ids.append(row["_id"])
        texts.append(paper_text(row["title"], row["text"]))
    queries = {}
    for line in (SCIFACT / "queries.jsonl").open():
        row = json.loads(line)
        queries[row["_id"]] = row["text"]
    qrels: dict[str, set[str]] = defaultdict(set)
    with (SCIFACT / "qrels" / f"{split}.tsv").open() as f:
        for row in csv.DictReader(f, delimiter="\t"):
            if int(row["score"]) > 0:
                qrels[row["query-id"]].add(row["corpus-id"])
    return ids, texts, queries, dict(qrels)


def ndcg_recall(ranked: list[str], relevant: set[str]) -> tuple[float, float]:
    """nDCG@10 (binary gains) and Recall@100 of one ranking."""
    dcg = sum(1 / math.log2(i + 2) for i, d in enumerate(ranked[:10]) if d in relevant)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(10, len(relevant))))
    recall = len(relevant & set(ranked[:100])) / len(relevant)
    return dcg / ideal, recall


def evaluate(docs: Vectors, ids: list[str], queries: Vectors, qrels: list[set[str]]) -> str:
    scores = queries @ docs.T
    top = np.argsort(-scores, axis=1)[:, :100]
    results = [ndcg_recall([ids[j] for j in row], rel) for row, rel in zip(top, qrels, strict=True)]
    ndcg, recall = np.mean(results, axis=0)
    return f"nDCG@10 {ndcg:.3f}  R@100 {recall:.3f}"


def roundtrip(vectors: Vectors, dtype: str) -> Vectors:
    return decode_vectors(encode_vectors(vectors, dtype), vectors.shape[1], dtype)


def run(onnx: Path) -> None:
    ids, texts, queries, _ = load_scifact("test")
    embedder = OnnxEmbedder(onnx.parent, onnx_file=onnx.name)
    start = time.perf_counter()
    docs = embedder.embed_documents(texts)
    took = time.perf_counter() - start
    print(f"{onnx}: corpus of {len(texts)} in {took:.0f} s ({len(texts) / took:.0f}/s)")
    np.save(REPO / "bench" / "out" / f"scifact-{onnx.stem}.npy", docs)
    for split in ("test", "train"):
        qrels = load_scifact(split)[3]
        qids = sorted(qrels)
        qvecs = np.vstack([embedder.embed_query(queries[q]) for q in qids])
        rels = [qrels[q] for q in qids]
        for stored in ("float32", "float16", "int8"):
            stored_docs = docs if stored == "float32" else roundtrip(docs, stored)
            line = evaluate(stored_docs, ids, qvecs, rels)
            print(f"  {split:5} ({len(qids)} queries) stored {stored:7}: {line}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--onnx", type=Path, action="append", help="graphs to score")
    args = parser.parse_args()
    (REPO / "bench" / "out").mkdir(exist_ok=True)
    for onnx in args.onnx or [SHIPPED, FP32]:
        run(onnx)


if __name__ == "__main__":
    main()
