""" "For you" over real papers and their shipped embeddings, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update

from paperfeed.rank import feedback, for_you, tag_classifier
from paperfeed.rank.for_you import recommend
from paperfeed.store.engine import write_transaction
from paperfeed.store.recommend_schema import tag_models
from paperfeed.store.schema import papers
from tests.factories import add_user
from tests.rank.for_you_data import TAG_WORDS, load_sample, tagged_reader


@pytest.fixture
def corpus(engine: Engine, tmp_path: Path) -> Engine:
    load_sample(engine, tmp_path)
    for_you._models.clear()
    return engine


def _text(engine: Engine, paper_id: str) -> str:
    with engine.connect() as conn:
        row = conn.execute(
            select(papers.c.title, papers.c.abstract).where(papers.c.id == paper_id)
        ).one()
    return f"{row.title} {row.abstract}".lower()


def test_a_new_user_is_a_cold_start(corpus: Engine) -> None:
    result = recommend(corpus, add_user(corpus), limit=10)
    assert result.cold_start and result.papers == [] and result.tag_sizes == {}


def test_each_tag_gets_papers_on_its_topic_with_reasons(corpus: Engine) -> None:
    user_pk, tags = tagged_reader(corpus)
    result = recommend(corpus, user_pk, limit=5)
    assert set(result.tag_sizes) == set(TAG_WORDS) and not result.cold_start
    library_ids = set()
    with corpus.connect() as conn:
        for pks in tags.values():
            library_ids |= set(
                conn.execute(select(papers.c.id).where(papers.c.pk.in_(pks))).scalars()
            )
    for tag, word in TAG_WORDS.items():
        items = recommend(corpus, user_pk, limit=5, tag=tag).papers
        assert len(items) == 5
        on_topic = sum(word in _text(corpus, item.paper_id) for item in items)
        assert on_topic >= 3, f"tag {tag}: {[i.title for i in items]}"
        for item in items:
            assert item.paper_id not in library_ids, "saved papers are not recommended"
            assert item.reason.nearest_id in library_ids
            assert all(term in _text(corpus, item.paper_id) for term in item.reason.terms)
            assert tag in item.reason.as_text()
    merged_tags = {item.tag for item in result.papers}
    assert merged_tags == set(TAG_WORDS), "the merged list draws on every tag"
    assert [i.score for i in result.papers] == sorted(
        (i.score for i in result.papers), reverse=True
    )


def test_classifiers_are_cached_and_retrained_only_when_feedback_changes(
    corpus: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    user_pk, _ = tagged_reader(corpus)
    calls = []
    real_train = tag_classifier.train
    monkeypatch.setattr(
        tag_classifier, "train", lambda *a, **k: calls.append(1) or real_train(*a, **k)
    )
    first = recommend(corpus, user_pk, limit=5, tag="rl")
    assert len(calls) == 2  # one per tag
    for_you._models.clear()  # another process: the stored models are used
    recommend(corpus, user_pk, limit=5)
    assert len(calls) == 2
    disliked = first.papers[0]
    feedback.record_feedback(corpus, user_pk, disliked.paper_id, -1, "rl")
    again = recommend(corpus, user_pk, limit=5, tag="rl")
    assert len(calls) == 4, "a 👎 changes every tag's negatives"
    assert disliked.paper_id not in {i.paper_id for i in again.papers}
    with corpus.connect() as conn:
        assert len(conn.execute(select(tag_models)).all()) == 2


def test_thumbs_up_joins_the_tag(corpus: Engine) -> None:
    user_pk, tags = tagged_reader(corpus)
    liked = recommend(corpus, user_pk, limit=5, tag="speech").papers[0]
    feedback.record_feedback(corpus, user_pk, liked.paper_id, 1, "speech")
    result = recommend(corpus, user_pk, limit=5)
    assert result.tag_sizes["speech"] == len(tags["speech"]) + 1
    assert liked.paper_id not in {i.paper_id for i in result.papers}


def test_picked_categories_give_recommendations_at_once(corpus: Engine) -> None:
    user_pk = add_user(corpus)
    feedback.set_categories(corpus, user_pk, ["cs.CV"])
    result = recommend(corpus, user_pk, limit=10)
    assert not result.cold_start and list(result.tag_sizes) == ["cat:cs.CV"]
    with corpus.connect() as conn:
        categories = [
            conn.execute(
                select(papers.c.primary_category).where(papers.c.id == item.paper_id)
            ).scalar()
            for item in result.papers
        ]
    assert categories.count("cs.CV") >= 7, categories


def test_hidden_papers_are_never_recommended(corpus: Engine) -> None:
    user_pk, _ = tagged_reader(corpus)
    top = recommend(corpus, user_pk, limit=3).papers[0]
    with write_transaction(corpus) as conn:
        conn.execute(
            update(papers).where(papers.c.id == top.paper_id).values(hidden_at=datetime.now(UTC))
        )
    assert top.paper_id not in {i.paper_id for i in recommend(corpus, user_pk, limit=3).papers}


def test_a_hidden_library_paper_neither_teaches_nor_explains(corpus: Engine) -> None:
    user_pk, _ = tagged_reader(corpus)
    before = recommend(corpus, user_pk, limit=20)
    named = before.papers[0].reason.nearest_id  # a library paper given as a reason
    with write_transaction(corpus) as conn:
        conn.execute(update(papers).where(papers.c.id == named).values(hidden_at=datetime.now(UTC)))
    after = recommend(corpus, user_pk, limit=20)
    assert named not in {item.reason.nearest_id for item in after.papers}
    assert sum(after.tag_sizes.values()) == sum(before.tag_sizes.values()) - 1


def test_feedback_on_an_unknown_paper_is_refused(corpus: Engine) -> None:
    with pytest.raises(feedback.FeedbackError, match="No paper"):
        feedback.record_feedback(corpus, add_user(corpus), "9999.99999", 1)
