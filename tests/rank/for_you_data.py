"""A corpus with real embeddings for "for you" tests: the first papers of the bundled sample
(real arXiv listings) and their shipped vectors, plus users with tagged libraries."""

from __future__ import annotations

import gzip
import itertools
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, func, insert, select

from paperfeed.ingest.formats import ParseOptions
from paperfeed.ingest.sample import SAMPLE_DIR
from paperfeed.ingest.service import run_ingest
from paperfeed.ingest.sources import file_source
from paperfeed.search.precomputed import load_precomputed
from paperfeed.store.community_schema import library_items, library_tags
from paperfeed.store.engine import write_transaction
from paperfeed.store.schema import papers
from tests.factories import add_user

SAMPLE_PAPERS = 1500
TAG_WORDS = {"rl": "reinforcement", "speech": "speech"}


def load_sample(engine: Engine, tmp_path: Path, count: int = SAMPLE_PAPERS) -> None:
    """Store ``count`` sample papers with their precomputed vectors."""
    path = tmp_path / "sample.jsonl"
    with gzip.open(SAMPLE_DIR / "arxiv-listings.jsonl.gz", "rt") as lines:
        path.write_text("".join(itertools.islice(lines, count)))
    run_ingest(engine, file_source(str(path), None, ParseOptions()))
    assert load_precomputed(engine) == count


def papers_about(engine: Engine, word: str, limit: int) -> list[int]:
    query = (
        select(papers.c.pk)
        .where(func.lower(papers.c.title).contains(word))
        .order_by(papers.c.pk)
        .limit(limit)
    )
    with engine.connect() as conn:
        return list(conn.execute(query).scalars())


def tag_papers(engine: Engine, user_pk: int, tag: str, pks: list[int]) -> None:
    now = datetime.now(UTC)
    with write_transaction(engine) as conn:
        saved = set(
            conn.execute(
                select(library_items.c.paper_pk).where(library_items.c.user_pk == user_pk)
            ).scalars()
        )
        for pk in pks:
            if pk not in saved:
                conn.execute(
                    insert(library_items).values(user_pk=user_pk, paper_pk=pk, created_at=now)
                )
            conn.execute(insert(library_tags).values(user_pk=user_pk, paper_pk=pk, tag=tag))


def tagged_reader(
    engine: Engine, per_tag: int = 6, password: str | None = None
) -> tuple[int, dict[str, list[int]]]:
    """ "reader", with one tag per TAG_WORDS entry, each holding papers whose title has the word;
    with a ``password`` the reader can log in."""
    user_pk = add_user(engine, "reader", password=password)
    tags = {}
    for tag, word in TAG_WORDS.items():
        tags[tag] = papers_about(engine, word, per_tag)
        assert len(tags[tag]) == per_tag, f"the sample has {per_tag} papers about {word}"
        tag_papers(engine, user_pk, tag, tags[tag])
    return user_pk, tags
