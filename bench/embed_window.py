"""Retrieval quality at each document window (``embedding_document_tokens``): SciFact and a
known-item set, through ``paperfeed eval``'s own pipelines (lexical, dense, hybrid, default).

Embedding 15k documents at three windows takes an hour on two busy cores, so the work splits:

    # here: the texts to embed (exactly as the eval's scratch index stores them) and the
    # known-item set as a BEIR folder (its 10,000-paper slice: the targets + seeded others)
    .venv/bin/python bench/embed_window.py data --known-item QUERIES.jsonl --out DIR
    # anywhere with onnxruntime, tokenizers and numpy (the lent machine's 16 cores): vectors
    python bench/embed_window.py vectors --texts DIR/texts.jsonl --windows 256,160,128 --out V
    # here: every pipeline's scores at each window, documents' vectors looked up from V
    .venv/bin/python bench/embed_window.py eval --data DIR --vectors V --windows 256,160,128

Queries are embedded by the real ONNX embedder (a window never applies to them). QUERIES.jsonl
has one ``{"query", "style", "target", "split"}`` a line (search-quality's known-item dev set).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from paperfeed.search.embed import MODELS_DIR, OnnxEmbedder, paper_text  # noqa: E402

SHARED = REPO.parent / "shared" / "data"
SLICE = 10_000
SEED = 16


def data(known_item: Path, out: Path, size: int = SLICE) -> None:
    """``out/known-item`` (BEIR folder, a split per style and ``all``) and ``out/texts.jsonl``."""
    from paperfeed.search.beir import Document, load_beir
    from paperfeed.search.eval import _prepared

    folder = out / "known-item"
    (folder / "qrels").mkdir(parents=True, exist_ok=True)
    rows = [json.loads(line) for line in known_item.read_text().splitlines()]
    with gzip.open(SHARED / "arxiv-daily-2025-2026.jsonl.gz", "rt") as lines:
        corpus = [json.loads(line) for line in lines]
    targets = {r["target"] for r in rows}
    others = [p for p in corpus if p["id"] not in targets]
    chosen = [p for p in corpus if p["id"] in targets]
    chosen += random.Random(SEED).sample(others, size - len(chosen))
    with (folder / "corpus.jsonl").open("w") as f:
        for p in chosen:
            f.write(json.dumps({"_id": p["id"], "title": p["title"], "text": p["abstract"]}) + "\n")
    with (folder / "queries.jsonl").open("w") as f:
        for n, r in enumerate(rows):
            f.write(json.dumps({"_id": f"q{n}", "text": r["query"]}) + "\n")
    for split in ("all", "paraphrase", "keywords", "the_paper_that"):
        with (folder / "qrels" / f"{split}.tsv").open("w") as f:
            f.write("query-id\tcorpus-id\tscore\n")
            for n, r in enumerate(rows):
                if split in ("all", r["style"]):
                    f.write(f"q{n}\t{r['target']}\t1\n")
    texts: dict[str, None] = {}
    scifact_first = 0 if size == SLICE else 1  # a smaller slice: the known-item texts alone
    for dataset, split in ((SHARED / "scifact", "test"), (folder, "all"))[scifact_first:]:
        for document in load_beir(dataset, split).corpus.values():
            record = _prepared(Document(document.id, document.title, document.text)).record
            texts[paper_text(record.title, record.abstract or "")] = None
    with (out / "texts.jsonl").open("w") as f:
        for text in texts:
            f.write(json.dumps(text) + "\n")
    print(f"{out}: {len(chosen):,} known-item papers, {len(rows)} queries, {len(texts):,} texts")


def vectors(texts_file: Path, windows: Sequence[int], out: Path) -> None:
    """Each window's float16 vectors of every text, in file order (``out/vectors-W.npy``)."""
    with gzip.open(texts_file, "rt") if texts_file.suffix == ".gz" else texts_file.open() as f:
        texts = [json.loads(line) for line in f]
    out.mkdir(parents=True, exist_ok=True)
    for window in windows:
        embedder = OnnxEmbedder(MODELS_DIR / "paperfeed-minilm-sci", window=window)
        found = embedder.embed_documents(texts)
        np.save(out / f"vectors-{window}.npy", found.astype(np.float16))
        print(f"window {window}: {len(texts):,} texts embedded", flush=True)


class LookedUp:
    """Documents' vectors read from a ``vectors`` run; queries embedded by the real model."""

    def __init__(self, texts: list[str], found: np.ndarray[Any, Any]) -> None:
        self.model = OnnxEmbedder(MODELS_DIR / "paperfeed-minilm-sci")
        self.name, self.dim = self.model.name, self.model.dim
        self.rows = {text: i for i, text in enumerate(texts)}
        self.found = found.astype(np.float32)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray[Any, Any]:
        missing = [t[:60] for t in texts if t not in self.rows]
        if missing:  # the eval stored other texts than `data` wrote: the scores would lie
            raise KeyError(f"{len(missing)} texts have no vector, e.g. {missing[0]!r}")
        return self.found[[self.rows[t] for t in texts]]

    def embed_query(self, text: str) -> np.ndarray[Any, Any]:
        return self.model.embed_query(text)


def evaluate(folder: Path, found: Path, windows: Sequence[int], scifact_only: bool) -> None:
    from paperfeed.config import get_settings
    from paperfeed.search import eval as beir_eval
    from paperfeed.search import indexer

    texts = [json.loads(line) for line in (folder / "texts.jsonl").read_text().splitlines()]
    known = [
        (folder / "known-item", s) for s in ("all", "paraphrase", "keywords", "the_paper_that")
    ]
    has_scifact = scifact_only or len(texts) > 5000  # `data --slice` below 10,000 leaves it out
    runs = [(SHARED / "scifact", "test")] * has_scifact + known * (not scifact_only)
    print("window | dataset | split | lexical | dense | hybrid | default (nDCG@10 / MRR@10)")
    for window in windows:
        embedder = LookedUp(texts, np.load(found / f"vectors-{window}.npy"))
        beir_eval.get_embedder = indexer.get_embedder = lambda e=embedder: e  # type: ignore[misc]
        with tempfile.TemporaryDirectory() as scratch:  # the eval's cache knows no window
            os.environ["PAPERFEED_DATA_DIR"] = scratch
            get_settings.cache_clear()
            for dataset, split in runs:
                scores = beir_eval.evaluate_dataset(dataset, split)
                cells = " | ".join(
                    f"{s['ndcg@10']:.3f} / {s['mrr@10']:.3f}" for s in scores.values()
                )
                print(f"{window} | {dataset.name} | {split} | {cells}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=("data", "vectors", "eval"))
    parser.add_argument("--known-item", type=Path)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--texts", type=Path)
    parser.add_argument("--data", type=Path)
    parser.add_argument("--vectors", type=Path)
    parser.add_argument("--windows", default="256,160,128")
    parser.add_argument("--scifact-only", action="store_true")
    parser.add_argument("--slice", type=int, default=SLICE, help="known-item papers")
    args = parser.parse_args()
    windows = [int(w) for w in args.windows.split(",")]
    if args.action == "data":
        data(args.known_item, args.out, args.slice)
    elif args.action == "vectors":
        vectors(args.texts, windows, args.out)
    else:
        evaluate(args.data, args.vectors, windows, args.scifact_only)


if __name__ == "__main__":
    main()
