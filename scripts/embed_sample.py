"""Precompute the sample corpus's embeddings (``src/paperfeed/sample/embeddings-<model>.npz``).

Ingests the bundled sample into a scratch SQLite database exactly as ``paperfeed ingest
--sample`` does (so the text hashes match what users' databases will hold), embeds it with
the configured model, and writes ids, text hashes and float16 vectors.

    .venv/bin/python scripts/embed_sample.py                 # PAPERFEED_EMBEDDING_MODEL or default
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

from paperfeed.config import get_settings
from paperfeed.ingest.sample import sample_sources
from paperfeed.ingest.service import run_ingest
from paperfeed.search.embed import get_embedder
from paperfeed.search.indexer import update_index
from paperfeed.search.precomputed import sample_path, save_precomputed
from paperfeed.store import embeddings as store
from paperfeed.store import migrate
from paperfeed.store.engine import make_engine
from paperfeed.store.schema import papers


def main() -> None:
    model = get_settings().embedding_model
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'sample.db'}")
        migrate.upgrade(engine)
        for source in sample_sources():
            run_ingest(engine, source)
        start = time.perf_counter()
        report = update_index(
            engine,
            get_embedder(),
            progress=lambda d, t: print(f"\r{d}/{t}", end="", file=sys.stderr),
        )
        print(f"\nembedded {report.embedded} in {time.perf_counter() - start:.0f} s")
        with engine.connect() as conn:
            state = store.model_state(conn, model)
            assert state is not None
            pks, vectors = store.load_vectors(conn, model, state.dim)
            emb = store.paper_embeddings
            ids = dict(conn.execute(select(papers.c.pk, papers.c.id)).all())
            hashes = dict(
                conn.execute(select(emb.c.paper_pk, emb.c.content_hash).where(emb.c.model == model)).all()
            )
    out = sample_path(model)
    save_precomputed(out, model, [ids[p] for p in pks.tolist()], [hashes[p] for p in pks.tolist()], vectors)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
