"""Incremental, resumable dense indexing on both backends, and dense retrieval."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import pytest
from sqlalchemy import Engine, func, select, update

from paperfeed.search import indexer
from paperfeed.search.embed import paper_text
from paperfeed.search.indexer import DenseRetriever, update_index
from paperfeed.search.types import Vectors
from paperfeed.store import embeddings as store
from paperfeed.store.engine import write_transaction
from paperfeed.store.schema import papers
from tests.search.dense_helpers import CachedEmbedder, real_papers, store_papers


def _count(engine: Engine, model: str = "paperfeed-minilm-sci") -> int:
    with engine.connect() as conn:
        return store.count_embeddings(conn, model)


def test_first_run_embeds_every_paper_and_the_second_none(engine: Engine) -> None:
    rows = real_papers()[:30]
    store_papers(engine, rows)
    calls: list[tuple[int, int]] = []
    first = update_index(engine, CachedEmbedder(), progress=lambda d, t: calls.append((d, t)))
    assert (first.papers, first.embedded, first.up_to_date) == (30, 30, 0)
    assert calls[0] == (0, 30) and calls[-1] == (30, 30)
    assert _count(engine) == 30
    again = CachedEmbedder()
    second = update_index(engine, again)
    assert (second.embedded, second.up_to_date) == (0, 30)
    assert again.embedded == []


def test_only_new_and_changed_papers_are_embedded(engine: Engine) -> None:
    rows = real_papers()[:20]
    store_papers(engine, rows[:15])
    update_index(engine, CachedEmbedder())
    store_papers(engine, rows[15:])
    with write_transaction(engine) as conn:
        conn.execute(
            update(papers)
            .where(papers.c.id == rows[0]["id"])
            .values(abstract="Rewritten abstract.")
        )
    embedder = CachedEmbedder()
    report = update_index(engine, embedder)
    assert report.embedded == 6
    assert paper_text(str(rows[0]["title"]), "Rewritten abstract.") in embedder.embedded


def test_a_new_model_embeds_everything_and_keeps_the_old_vectors(engine: Engine) -> None:
    store_papers(engine, real_papers()[:12])
    update_index(engine, CachedEmbedder())
    other = CachedEmbedder(name="other-model")
    assert update_index(engine, other).embedded == 12
    assert _count(engine, "other-model") == 12 and _count(engine) == 12
    assert update_index(engine, CachedEmbedder(), rebuild=True).embedded == 12


def test_an_interrupted_run_keeps_committed_batches_and_resumes(engine: Engine) -> None:
    store_papers(engine, real_papers()[:25])
    with pytest.raises(RuntimeError, match="simulated crash"):
        update_index(engine, CachedEmbedder(batch_size=10, fail_after=20))
    assert _count(engine) == 20  # two batches committed before the crash
    resumed = CachedEmbedder(batch_size=10)
    assert update_index(engine, resumed).embedded == 5
    assert len(resumed.embedded) == 5


def test_deleted_papers_take_their_vectors_with_them(engine: Engine) -> None:
    rows = real_papers()[:10]
    store_papers(engine, rows)
    update_index(engine, CachedEmbedder())
    with write_transaction(engine) as conn:
        conn.execute(papers.delete().where(papers.c.id == rows[3]["id"]))
    assert _count(engine) == 9


def test_dense_retriever_finds_a_paper_by_a_paraphrase_of_its_topic(engine: Engine) -> None:
    rows = real_papers()
    store_papers(engine, rows)
    embedder = CachedEmbedder()
    update_index(engine, embedder)
    retriever = DenseRetriever(embedder)
    target = rows[40]  # a cs.CL paper (the slice is ordered by the listing file)
    with engine.connect() as conn:
        hits = retriever.search(conn, str(target["title"]), 5)
        pk = conn.execute(select(papers.c.pk).where(papers.c.id == target["id"])).scalar()
    assert hits[0].pk == pk
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_the_sample_corpus_ships_with_its_embeddings(engine: Engine) -> None:
    from paperfeed.ingest.sample import sample_sources
    from paperfeed.ingest.service import run_ingest
    from paperfeed.search.precomputed import load_precomputed

    for source in sample_sources():
        run_ingest(engine, source)
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(papers)).scalar()
    assert load_precomputed(engine) == total
    embedder = CachedEmbedder()
    report = update_index(engine, embedder)  # nothing left to embed: `make run` starts at once
    assert report.embedded == 0 and embedder.embedded == []
    with engine.connect() as conn:
        hits = DenseRetriever(embedder).search(conn, "3D Gaussian splatting for scene rendering", 5)
    assert len(hits) == 5


class StreamingEmbedder(CachedEmbedder):
    """An embedder with ``embed_batches`` (as the GPU one): gets every batch in one stream."""

    streams: int = 0

    def embed_batches(self, batches: Iterable[Sequence[str]]) -> Iterator[Vectors]:
        self.streams += 1
        for texts in batches:
            yield self.embed_documents(texts) if texts else np.zeros((0, self.dim), np.float32)


def test_a_streaming_embedder_gets_all_batches_in_one_stream(engine: Engine) -> None:
    store_papers(engine, real_papers()[:25])
    calls: list[tuple[int, int]] = []
    embedder = StreamingEmbedder(batch_size=10)
    report = update_index(engine, embedder, progress=lambda d, t: calls.append((d, t)))
    assert report.embedded == 25 and embedder.streams == 1 and len(embedder.embedded) == 25
    assert calls == [(0, 25), (10, 25), (20, 25), (25, 25)]
    assert _count(engine) == 25
    crashing = StreamingEmbedder(name="other-model", batch_size=10, fail_after=20)
    with pytest.raises(RuntimeError, match="simulated crash"):
        update_index(engine, crashing)
    assert _count(engine, "other-model") == 20  # the batches embedded before it committed


def test_papers_deleted_during_a_run_drop_out(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = real_papers()[:30]
    store_papers(engine, rows)
    existing = store.existing_pks
    checked: list[int] = []

    def counting(conn: Any, pks: Sequence[int]) -> set[int]:
        checked.append(len(pks))
        return existing(conn, pks)

    monkeypatch.setattr(store, "existing_pks", counting)

    class Deleting(CachedEmbedder):
        def embed_documents(self, texts: Sequence[str]) -> Vectors:
            # Batch 3 perhaps not read yet; batch 2 read already, as it is being embedded.
            gone = {0: rows[27]["id"], 10: rows[15]["id"]}.get(len(self.embedded))
            if gone:
                with write_transaction(engine) as conn:
                    conn.execute(papers.delete().where(papers.c.id == gone))
            return super().embed_documents(texts)

    embedder = Deleting(batch_size=10)
    assert update_index(engine, embedder).embedded == 30
    assert _count(engine) == 28
    assert 10 in checked  # batch 2's write found its paper gone and wrote the other 9
    assert update_index(engine, CachedEmbedder()).embedded == 0


def test_a_failed_write_stops_the_run_and_a_rerun_finishes(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_papers(engine, real_papers()[:25])
    write = indexer._write_batch
    written: list[int] = []

    def failing(engine: Engine, model: str, batch: Any, vectors: Vectors) -> None:
        if written:
            raise OSError("disk full")
        write(engine, model, batch, vectors)
        written.append(len(batch.keys))

    monkeypatch.setattr(indexer, "_write_batch", failing)
    with pytest.raises(OSError, match="disk full"):
        update_index(engine, CachedEmbedder(batch_size=10))
    assert _count(engine) == 10
    monkeypatch.setattr(indexer, "_write_batch", write)
    assert update_index(engine, CachedEmbedder(batch_size=10)).embedded == 15
    assert _count(engine) == 25
