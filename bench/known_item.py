"""Known-item search quality: MRR@10 and R@10 per query style, paperfeed against baselines.

The queries are ``bench/data/known_item_dev.jsonl`` (scripts/make_known_item_set.py): each was
written for one paper of the shared corpus, so a query's only relevant paper is its target.
The papers searched are a slice of ``--size`` papers of the shared corpus that holds every
target (the others drawn by a fixed seed), or the whole corpus (``--size 0``).

Pipelines (one row each, per style and overall):

- ``default``: what `paperfeed search` runs (``service.search``), shipped or ``--fusion`` params;
- ``lexical`` / ``dense``: paperfeed's lexical stage alone / dense stage alone;
- ``bm25``: plain BM25 from the ``bm25s`` package, untuned (English stopwords, no stemming);
- ``rrf``: flat reciprocal-rank fusion (k=60) of ``bm25`` and the stock all-MiniLM-L6-v2.

Vectors come precomputed (``--vectors``: .npz files written by bench/known_item_gpu.py on a GPU,
int8 = round(127 * unit vector)), one file per model with ``<part>_ids`` / ``<part>_q`` arrays
for the parts ``full`` or ``slice`` (papers) and ``queries`` (``dev:<line>``). The model named
``stock`` is the stock all-MiniLM-L6-v2; ``sci`` is the shipped paperfeed-minilm-sci.

    PYTHONPATH=src python bench/known_item.py --size 10000 --vectors .sqgpu/out/sci.npz \
        .sqgpu/out/stock.npz --dense-model sci
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "data" / "arxiv-daily-2025-2026.jsonl.gz"
QUERIES = REPO / "bench" / "data" / "known_item_dev.jsonl"
SLICE_SEED = 10000
STYLES = ("paraphrase", "keywords", "the_paper_that")
DEPTH = 100


@dataclass(frozen=True, slots=True)
class Query:
    number: int  # line in the dev file, from 0: the key of its precomputed vector
    text: str
    style: str
    target: str
    split: str


@dataclass(frozen=True, slots=True)
class Paper:
    id: str
    title: str
    abstract: str
    authors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    listed: str = ""


def load_queries(path: Path = QUERIES) -> list[Query]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [Query(i, r["query"], r["style"], r["target"], r["split"]) for i, r in enumerate(rows)]


def load_corpus(path: Path = CORPUS) -> list[Paper]:
    with gzip.open(path, "rt") as f:
        rows = [json.loads(line) for line in f]
    return [
        Paper(
            str(r["id"]),
            str(r["title"]),
            str(r["abstract"]),
            tuple(r.get("authors") or ()),
            tuple(r.get("categories") or ()),
            str(r.get("listed") or ""),
        )
        for r in rows
    ]


def corpus_slice(papers: list[Paper], targets: set[str], size: int) -> list[Paper]:
    """``size`` papers: every target, the rest drawn by a fixed seed (corpus order kept)."""
    if size <= 0 or size >= len(papers):
        return papers
    missing = targets - {p.id for p in papers}
    if missing:
        raise SystemExit(f"targets not in the corpus: {sorted(missing)[:5]}")
    others = [p.id for p in papers if p.id not in targets]
    chosen = targets | set(random.Random(SLICE_SEED).sample(others, size - len(targets)))
    return [p for p in papers if p.id in chosen]


# ---------------------------------------------------------------- metrics


def rank_of(ranked: Sequence[str], target: str, k: int = 10) -> int | None:
    """1-based rank of ``target`` in the first ``k``, or None."""
    for rank, doc in enumerate(ranked[:k], 1):
        if doc == target:
            return rank
    return None


def score(runs: dict[int, list[str]], queries: Sequence[Query]) -> dict[str, dict[str, float]]:
    """MRR@10 and R@10 per style and over all queries (a query without a run scores 0)."""
    groups: dict[str, list[Query]] = {"all": list(queries)}
    for q in queries:
        groups.setdefault(q.style, []).append(q)
    out: dict[str, dict[str, float]] = {}
    for name, group in groups.items():
        ranks = [rank_of(runs.get(q.number, []), q.target) for q in group]
        mrr = sum(1.0 / r for r in ranks if r) / max(1, len(group))
        recall = sum(1 for r in ranks if r) / max(1, len(group))
        out[name] = {"mrr@10": round(mrr, 4), "r@10": round(recall, 4), "n": len(group)}
    return out


def rrf(*rankings: Sequence[str], k: float = 60.0, depth: int = DEPTH) -> list[str]:
    """Flat reciprocal-rank fusion of ranked id lists."""
    totals: dict[str, float] = {}
    for ranking in rankings:
        for rank, doc in enumerate(ranking[:depth], 1):
            totals[doc] = totals.get(doc, 0.0) + 1.0 / (k + rank)
    return sorted(totals, key=lambda d: (-totals[d], d))


# ---------------------------------------------------------------- baselines


def bm25_runs(papers: Sequence[Paper], queries: Sequence[Query]) -> dict[int, list[str]]:
    """Plain BM25 (bm25s defaults: k1 1.5, b 0.75, Lucene idf) over title + abstract."""
    import bm25s

    texts = [f"{p.title} {p.abstract}" for p in papers]
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(texts, stopwords="en", show_progress=False), show_progress=False)
    tokens = bm25s.tokenize([q.text for q in queries], stopwords="en", show_progress=False)
    docs, _ = retriever.retrieve(tokens, k=DEPTH, show_progress=False, n_threads=1)
    return {q.number: [papers[i].id for i in row] for q, row in zip(queries, docs, strict=True)}


@dataclass(slots=True)
class Vectors:
    """One model's precomputed vectors: papers by arXiv id, queries by dev-file line."""

    name: str
    papers: dict[str, np.ndarray] = field(default_factory=dict)
    queries: dict[str, np.ndarray] = field(default_factory=dict)
    scifact: dict[str, np.ndarray] = field(default_factory=dict)  # SciFact corpus by _id

    @classmethod
    def load(cls, path: Path) -> Vectors:
        data = np.load(path)
        out = cls(path.stem)
        for part in ("full", "slice"):
            if f"{part}_ids" in data.files:
                vectors = data[f"{part}_q"].astype(np.float32) / 127.0
                vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
                out.papers.update(zip(data[f"{part}_ids"].tolist(), vectors, strict=True))
        if "scifact_ids" in data.files:
            vectors = data["scifact_q"].astype(np.float32) / 127.0
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            out.scifact = dict(zip(data["scifact_ids"].tolist(), vectors, strict=True))
        queries = data["queries_q"].astype(np.float32) / 127.0
        queries /= np.linalg.norm(queries, axis=1, keepdims=True)
        out.queries = dict(zip(data["queries_ids"].tolist(), queries, strict=True))
        return out

    def matrix(self, papers: Sequence[Paper]) -> np.ndarray:
        missing = [p.id for p in papers if p.id not in self.papers]
        if missing:
            raise SystemExit(
                f"{self.name}: no vector for {len(missing)} papers, e.g. {missing[:3]}"
            )
        return np.stack([self.papers[p.id] for p in papers])

    def query(self, q: Query) -> np.ndarray:
        """The vector of the query as typed (the baselines embed that)."""
        return self.queries[f"dev:{q.number}"]

    def parsed_query(self, q: Query) -> np.ndarray:
        """The vector of the query's words as paperfeed's dense stage gets them."""
        return self.queries[f"devp:{q.number}"]


def exact_dense_runs(
    vectors: Vectors, papers: Sequence[Paper], queries: Sequence[Query]
) -> dict[int, list[str]]:
    """Exact inner-product search (the baselines' dense side; no index)."""
    matrix = vectors.matrix(papers)
    runs = {}
    for q in queries:
        scores = matrix @ vectors.query(q)
        top = np.argpartition(-scores, DEPTH)[:DEPTH]
        runs[q.number] = [papers[i].id for i in top[np.argsort(-scores[top])]]
    return runs


# ---------------------------------------------------------------- paperfeed


class PrecomputedEmbedder:
    """paperfeed's Embedder over precomputed vectors: papers by their stored text, queries by
    their text. A text it has no vector for (the engine's spelling correction makes new query
    texts) goes to ``fallback``, the same model on the CPU, and is counted in ``misses``."""

    dim = 384

    def __init__(
        self, name: str, by_text: dict[str, np.ndarray], fallback: object | None = None
    ) -> None:
        self.name = name
        self._by_text = by_text
        self._fallback = fallback
        self.misses: list[str] = []

    def _one(self, text: str) -> np.ndarray:
        key = " ".join(text.split())
        if key in self._by_text:
            return self._by_text[key]
        if self._fallback is None:
            raise KeyError(f"{self.name}: no precomputed vector for {text[:80]!r}")
        self.misses.append(text)
        vector = self._fallback.embed_query(text)[0]  # type: ignore[attr-defined]
        self._by_text[key] = vector
        return vector

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([self._one(t) for t in texts]).astype(np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self._one(text).astype(np.float32)[None, :]


SHIPPED = {"sci": "paperfeed-minilm-sci", "stock": "all-minilm-l6-v2"}


def cpu_embedder(model: str):
    """The model's int8 ONNX export on the CPU (what `paperfeed search` embeds queries with)."""
    from paperfeed.search.embed import OnnxEmbedder, model_folder

    name = SHIPPED.get(model, model)
    return OnnxEmbedder(model_folder(name), name=name)


def texts_for(vectors: Vectors, papers: Iterable[Paper], queries: Sequence[Query]) -> dict:
    from paperfeed.search.embed import paper_text
    from paperfeed.search.query import parse_query

    out = {}
    for p in papers:
        if p.id in vectors.papers:
            key = " ".join(
                paper_text(" ".join(p.title.split()), " ".join(p.abstract.split())).split()
            )
            out[key] = vectors.papers[p.id]
    for q in queries:
        out[" ".join(q.text.split())] = vectors.query(q)
        out[" ".join((parse_query(q.text).text or q.text).split())] = vectors.parsed_query(q)
    return out


def build_store(db: Path, papers: Sequence[Paper], embedders: Sequence[PrecomputedEmbedder]):
    """An SQLite store of ``papers`` with each embedder's vectors (kept for reruns)."""
    from sqlalchemy import func, select

    from paperfeed.domain import PaperRecord
    from paperfeed.ingest.normalise import Prepared, prepare
    from paperfeed.ingest.upsert import upsert_batch
    from paperfeed.search.indexer import update_index
    from paperfeed.store import migrate
    from paperfeed.store.engine import make_engine, write_transaction
    from paperfeed.store.schema import papers as papers_table

    db.parent.mkdir(parents=True, exist_ok=True)
    engine = make_engine(f"sqlite:///{db}")
    migrate.upgrade(engine)
    with engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(papers_table)).scalar() or 0
    if stored != len(papers):
        for start in range(0, len(papers), 2000):
            prepared = []
            for p in papers[start : start + 2000]:
                title = " ".join(p.title.split())
                record = PaperRecord(
                    title=title,
                    abstract=" ".join(p.abstract.split()),
                    id=p.id,
                    authors=list(p.authors),
                    categories=list(p.categories),
                    published=date.fromisoformat(p.listed) if p.listed else None,
                )
                ready = prepare(record)
                if not isinstance(ready, Prepared):
                    raise SystemExit(f"paper {p.id}: {ready}")
                prepared.append(ready)
            with write_transaction(engine) as conn:
                upsert_batch(conn, prepared)
    for embedder in embedders:
        update_index(engine, embedder)
    return engine


def paperfeed_runs(engine, queries: Sequence[Query], embedder, config=None) -> dict[str, dict]:
    """Each query's lexical, dense and default rankings (arXiv ids, best first)."""
    from sqlalchemy import select

    from paperfeed.search.indexer import DenseRetriever
    from paperfeed.search.lexical import lexical_search
    from paperfeed.search.query import parse_query
    from paperfeed.search.service import search
    from paperfeed.store.schema import papers as papers_table

    retriever = DenseRetriever(embedder)
    runs: dict[str, dict] = {"lexical": {}, "dense": {}, "default": {}, "stages": {}}
    with engine.connect() as conn:
        ids = dict(conn.execute(select(papers_table.c.pk, papers_table.c.id)).all())
        for q in queries:
            parsed = parse_query(q.text)
            lexical = lexical_search(conn, parsed, DEPTH).hits
            dense = retriever.search(conn, parsed.text or q.text, DEPTH)
            runs["stages"][q.number] = (lexical, dense)
            runs["lexical"][q.number] = [ids[h.pk] for h in lexical]
            runs["dense"][q.number] = [ids[h.pk] for h in dense]
            results = search(conn, q.text, limit=10, retriever=retriever, config=config)
            runs["default"][q.number] = [r.id for r in results.results]
    runs["ids"] = ids
    return runs


def hybrid_runs(runs: dict, params) -> dict[int, list[str]]:
    """Re-fuse stored stage hits with other fusion parameters (no search needed)."""
    from paperfeed.search.fusion import fuse

    ids = runs["ids"]
    return {
        n: [ids[f.pk] for f in fuse({"lexical": lex, "dense": dense}, params)]
        for n, (lex, dense) in runs["stages"].items()
    }


def fusion_grid() -> list:
    from paperfeed.search.fusion import FusionParams

    grid = [
        FusionParams("convex", {"lexical": round(1 - d, 2), "dense": d})
        for d in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6)
    ]
    for dense in (0.25, 0.5, 0.75, 1.0, 1.5):
        for k in (5.0, 20.0, 60.0):
            grid.append(FusionParams("rrf", {"lexical": 1.0, "dense": dense}, k))
    return grid


def scifact_runs(vectors: Vectors, folder: Path, split: str, dev_only: bool):
    """SciFact stage runs with these precomputed vectors: the training claims' dev part
    (``dev_only``, for tuning) or a whole split (``test``: report once)."""
    from paperfeed.search.beir import dev_split, load_beir
    from paperfeed.search.eval import scratch_index, stage_runs
    from paperfeed.search.query import parse_query

    data = load_beir(folder, split)
    by_text = {}
    for doc_id, doc in data.corpus.items():
        title = " ".join(doc.title.split()) or " ".join(doc.text.split()[:12])
        by_text[" ".join(f"{title} {' '.join(doc.text.split())}".split())] = vectors.scifact[doc_id]
    for qid, text in data.queries.items():
        by_text[" ".join(text.split())] = vectors.queries[f"scifact:{qid}"]
        parsed = parse_query(text).text or text
        by_text[" ".join(parsed.split())] = vectors.queries[f"scifactp:{qid}"]
    embedder = PrecomputedEmbedder(f"gpu-{vectors.name}", by_text, cpu_embedder(vectors.name))
    qrels = data.qrels
    if dev_only:
        _, dev = dev_split(sorted(data.qrels))
        qrels = {q: data.qrels[q] for q in dev}
    engine = scratch_index(folder, data, embedder=embedder)
    runs, doc_ids = stage_runs(engine, {q: data.queries[q] for q in qrels}, embedder=embedder)
    return runs, doc_ids, qrels


def print_table(rows: dict[str, dict[str, dict[str, float]]], out=sys.stdout) -> None:
    head = ["pipeline"] + [f"{s} MRR/R@10" for s in (*STYLES, "all")]
    print("| " + " | ".join(head) + " |", file=out)
    print("|" + " --- |" * len(head), file=out)
    for name, result in rows.items():
        cells = [f"{result[s]['mrr@10']:.3f} / {result[s]['r@10']:.3f}" for s in (*STYLES, "all")]
        print(f"| {name} | " + " | ".join(cells) + " |", file=out)


def tune(runs: dict, queries: Sequence[Query], vectors: Vectors, scifact: Path | None) -> None:
    """The fusion grid: known-item MRR@10 per style (hybrid of the stored stage hits) and,
    with ``scifact``, nDCG@10 on the dev part of SciFact's training claims."""
    from paperfeed.search.eval import score_runs

    sci = scifact_runs(vectors, scifact, "train", dev_only=True) if scifact else None
    print("| fusion | " + " | ".join(STYLES) + " | all | SciFact train-dev nDCG@10 |")
    for params in fusion_grid():
        result = score(hybrid_runs(runs, params), queries)
        cells = [f"{result[s]['mrr@10']:.3f}" for s in (*STYLES, "all")]
        if sci is not None:
            ndcg = score_runs(sci[0], sci[1], sci[2], params)["hybrid"]["ndcg@10"]
            cells.append(f"{ndcg:.3f}")
        weights = ",".join(f"{k}={v}" for k, v in params.weights.items())
        print(f"| {params.method} {weights} k={params.rrf_k:g} | " + " | ".join(cells) + " |")


def lexical_caps(engine, queries: Sequence[Query], caps: Sequence[int]) -> dict[str, dict]:
    """The lexical stage alone with other document-frequency caps (0: none), and its mean time
    a query (meaningful only on a quiet machine; compare as ratios within one run)."""
    from sqlalchemy import select

    from paperfeed.search.lexical import lexical_search
    from paperfeed.search.lexical_sql import LexicalParams
    from paperfeed.search.query import parse_query
    from paperfeed.store.schema import papers as papers_table

    rows = {}
    with engine.connect() as conn:
        ids = dict(conn.execute(select(papers_table.c.pk, papers_table.c.id)).all())
        for cap in caps:
            # The posting budget grows with the cap, so the cap alone decides what is scored.
            params = LexicalParams(max_term_df=cap or 10**12, posting_budget=(cap or 10**12) * 2)
            start, runs = time.perf_counter(), {}
            for q in queries:
                hits = lexical_search(conn, parse_query(q.text), DEPTH, params).hits
                runs[q.number] = [ids[h.pk] for h in hits]
            took = (time.perf_counter() - start) * 1000 / max(1, len(queries))
            rows[f"paperfeed lexical, cap {cap or 'none'} ({took:.0f} ms/query)"] = score(
                runs, queries
            )
    return rows


def scifact_test(folder: Path, vectors: Vectors) -> None:
    """SciFact test claims, every pipeline, shipped fusion parameters (the once-only report)."""
    from paperfeed.search.eval import score_runs
    from paperfeed.search.fusion import FusionParams

    runs, doc_ids, qrels = scifact_runs(vectors, folder, "test", dev_only=False)
    print(json.dumps(score_runs(runs, doc_ids, qrels, FusionParams()), indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=10000, help="papers (0: the whole corpus)")
    parser.add_argument("--vectors", type=Path, nargs="+", required=True)
    parser.add_argument("--dense-model", default="sci", help="which vectors paperfeed uses")
    parser.add_argument("--split", default="dev", choices=("dev", "held", "all"))
    parser.add_argument("--store", type=Path, help="SQLite file (default .sqgpu/store-SIZE.db)")
    parser.add_argument("--json", type=Path, help="write the scores here too")
    parser.add_argument("--tune", action="store_true", help="score the fusion grid (hybrid)")
    parser.add_argument("--scifact", type=Path, help="SciFact folder: also its train-dev part")
    parser.add_argument(
        "--caps",
        help="lexical stage alone with these max_term_df values (0: no cap), e.g. 5000,20000,0",
    )
    parser.add_argument(
        "--scifact-test", type=Path, help="SciFact folder: score its test claims (report once)"
    )
    args = parser.parse_args()
    t0 = time.perf_counter()
    if args.scifact_test:
        scifact_test(args.scifact_test, Vectors.load(args.vectors[0]))
        return
    queries = [q for q in load_queries() if args.split in ("all", q.split)]
    every = load_queries()
    papers = corpus_slice(load_corpus(), {q.target for q in every}, args.size)
    models = {v.name: v for v in map(Vectors.load, args.vectors)}
    print(f"{len(papers)} papers, {len(queries)} queries ({args.split})", file=sys.stderr)
    rows: dict[str, dict] = {}
    bm25 = bm25_runs(papers, queries)
    rows["bm25 (bm25s)"] = score(bm25, queries)
    if "stock" in models:
        stock = exact_dense_runs(models["stock"], papers, queries)
        rows["stock MiniLM alone"] = score(stock, queries)
        rrf_runs = {q.number: rrf(bm25[q.number], stock[q.number]) for q in queries}
        rows["flat RRF bm25 + stock"] = score(rrf_runs, queries)
    vectors = models[args.dense_model]
    name = f"gpu-{args.dense_model}"  # not a shipped model's name: eval caches by name
    embedder = PrecomputedEmbedder(
        name, texts_for(vectors, papers, every), cpu_embedder(args.dense_model)
    )
    store = args.store or REPO / ".sqgpu" / f"store-{len(papers)}-{args.dense_model}.db"
    engine = build_store(store, papers, [embedder])
    runs = paperfeed_runs(engine, queries, embedder)
    for pipeline in ("lexical", "dense", "default"):
        rows[f"paperfeed {pipeline}"] = score(runs[pipeline], queries)
    if args.caps:
        rows.update(lexical_caps(engine, queries, [int(c) for c in args.caps.split(",")]))
    print_table(rows)
    if args.tune:
        tune(runs, queries, vectors, args.scifact)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    print(f"took {time.perf_counter() - t0:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
