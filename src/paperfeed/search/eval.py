"""`paperfeed eval`: score each search pipeline on a BEIR dataset, in a scratch index.

The scratch index is an SQLite database built from the dataset's corpus with the same ingest
and embedding code as the real store (cached under DATA_DIR/eval, keyed by the corpus file and
the model, so repeated runs skip the embedding). Pipelines:

- ``lexical``: the lexical stage alone; ``dense``: the dense stage alone;
- ``hybrid``: the two fused with the shipped fusion parameters;
- ``default``: exactly what `paperfeed search` runs (query parsing, pinning, fusion, filters).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, Engine, select

from paperfeed.config import get_settings
from paperfeed.domain import PaperRecord
from paperfeed.ingest.ids import title_key
from paperfeed.ingest.normalise import Prepared
from paperfeed.ingest.upsert import upsert_batch
from paperfeed.search.beir import BeirDataset, Document, load_beir
from paperfeed.search.embedders import get_embedder
from paperfeed.search.fusion import Fused, FusionParams, fuse
from paperfeed.search.indexer import DenseRetriever, update_index
from paperfeed.search.lexical import lexical_search
from paperfeed.search.metrics import mean_scores
from paperfeed.search.query import parse_query
from paperfeed.search.service import search
from paperfeed.search.types import Embedder, Hit
from paperfeed.store import migrate
from paperfeed.store.engine import make_engine, write_transaction
from paperfeed.store.schema import papers

DEPTH = 100
ID_PREFIX = "doc:"
Progress = Callable[[int, int], None]


@dataclass(slots=True)
class StageRuns:
    """Each query's lexical and dense hits (paper pks, best first) and its default ranking."""

    lexical: dict[str, list[Hit]]
    dense: dict[str, list[Hit]]
    default: dict[str, list[str]]


def evaluate_dataset(
    folder: Path, split: str = "test", *, progress: Progress | None = None
) -> dict[str, dict[str, float]]:
    """nDCG@10, Recall@100 and MRR@10 of every pipeline on ``split``'s judged queries."""
    data = load_beir(folder, split)
    engine = scratch_index(folder, data, progress)
    runs, doc_ids = stage_runs(engine, data.queries, progress)
    return score_runs(runs, doc_ids, data.qrels, FusionParams())


def score_runs(
    runs: StageRuns,
    doc_ids: dict[int, str],
    qrels: dict[str, dict[str, int]],
    params: FusionParams,
) -> dict[str, dict[str, float]]:
    def ids(hits: Iterable[Hit | Fused]) -> list[str]:
        return [doc_ids[h.pk] for h in hits if h.pk in doc_ids]

    hybrid = {
        q: ids(fuse({"lexical": runs.lexical[q], "dense": runs.dense[q]}, params))
        for q in runs.lexical
    }
    return {
        "lexical": mean_scores({q: ids(h) for q, h in runs.lexical.items()}, qrels),
        "dense": mean_scores({q: ids(h) for q, h in runs.dense.items()}, qrels),
        "hybrid": mean_scores(hybrid, qrels),
        "default": mean_scores(runs.default, qrels),
    }


def stage_runs(
    engine: Engine,
    queries: dict[str, str],
    progress: Progress | None = None,
    embedder: Embedder | None = None,
) -> tuple[StageRuns, dict[int, str]]:
    """Each query's stage hits and default ranking; ``embedder`` defaults to the configured
    model (benchmarks pass one that serves vectors embedded elsewhere, e.g. on a GPU)."""
    retriever = DenseRetriever(embedder)
    runs = StageRuns({}, {}, {})
    with engine.connect() as conn:
        doc_ids = _doc_ids(conn)
        for number, (qid, text) in enumerate(sorted(queries.items()), 1):
            parsed = parse_query(text)
            runs.lexical[qid] = lexical_search(conn, parsed, DEPTH).hits
            runs.dense[qid] = retriever.search(conn, parsed.text or text, DEPTH)
            results = search(conn, text, limit=DEPTH, retriever=retriever).results
            runs.default[qid] = [r.id.removeprefix(ID_PREFIX) for r in results]
            if progress and number % 10 == 0:
                progress(number, len(queries))
    return runs, doc_ids


def _doc_ids(conn: Connection) -> dict[int, str]:
    rows = conn.execute(select(papers.c.pk, papers.c.id)).all()
    return {pk: paper_id.removeprefix(ID_PREFIX) for pk, paper_id in rows}


def scratch_index(
    folder: Path,
    data: BeirDataset,
    progress: Progress | None = None,
    embedder: Embedder | None = None,
) -> Engine:
    """The dataset's corpus, stored and embedded with ``embedder`` (default: the configured
    model), cached per corpus file and model."""
    settings = get_settings()
    embedder = embedder or get_embedder()
    corpus_file = folder / "corpus.jsonl"
    stat = corpus_file.stat()
    key = f"{corpus_file.resolve()}:{stat.st_size}:{stat.st_mtime_ns}:{embedder.name}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    path = settings.data_dir / "eval" / f"{folder.name}-{digest}.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    with engine.connect() as conn:
        stored = conn.execute(select(papers.c.pk).limit(1)).first() is not None
    if not stored:
        _store_corpus(engine, list(data.corpus.values()))
    update_index(engine, embedder, progress=progress)
    return engine


def _store_corpus(engine: Engine, documents: list[Document], batch: int = 2000) -> None:
    for start in range(0, len(documents), batch):
        prepared = [_prepared(d) for d in documents[start : start + batch]]
        with write_transaction(engine) as conn:
            upsert_batch(conn, prepared)


def _prepared(document: Document) -> Prepared:
    # Documents keep their dataset ids (prefixed so they can never look like arXiv ids), so two
    # documents with one title stay two papers.
    title = " ".join(document.title.split()) or " ".join(document.text.split()[:12])
    record = PaperRecord(title=title, abstract=" ".join(document.text.split()))
    return Prepared(ID_PREFIX + document.id, title_key(title) or document.id, record)
