"""Build the contrastive training pairs for adapting the embedding model to scientific text.

Pairs are (query-like text, document text): arXiv title -> "title. abstract" for the 74,728
real arXiv papers in ../shared/data, SciFact corpus title -> its document (unsupervised: no
claims), and SciFact *training* claims -> their cited abstracts, minus a dev split of the training
claims kept for tuning fusion. SciFact test claims are never used.

    python scripts/prepare_training_data.py --out .train
"""

from __future__ import annotations

import argparse
import gzip
import json
import lzma
from pathlib import Path

from paperfeed.search.beir import dev_split, load_beir

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def doc_text(title: str, abstract: str) -> str:
    return f"{title}. {abstract}".strip() if title else abstract


def arxiv_pairs() -> list[tuple[str, str]]:
    pairs = []
    with gzip.open(SHARED / "arxiv-daily-2025-2026.jsonl.gz", "rt") as handle:
        for line in handle:
            paper = json.loads(line)
            title = " ".join(paper["title"].split())
            abstract = " ".join(paper["abstract"].split())
            pairs.append((title, doc_text(title, abstract)))
    return pairs


def scifact_pairs() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    data = load_beir(SHARED / "scifact", "train")
    corpus = [(d.title, doc_text(d.title, d.text)) for d in data.corpus.values() if d.title]
    train_ids, _dev_ids = dev_split(sorted(data.qrels))
    claims = [
        (data.queries[qid], doc_text(data.corpus[cid].title, data.corpus[cid].text))
        for qid in train_ids
        for cid in data.qrels[qid]
        if cid in data.corpus
    ]
    return corpus, claims


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path(".train"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    corpus, claims = scifact_pairs()
    sets = {"arxiv": arxiv_pairs(), "scifact_corpus": corpus, "scifact_claims": claims}
    for name, pairs in sets.items():
        with lzma.open(args.out / f"{name}.jsonl.xz", "wt") as handle:
            for query, document in pairs:
                handle.write(json.dumps([query, document]) + "\n")
        print(f"{name}: {len(pairs):,} pairs")


if __name__ == "__main__":
    main()
