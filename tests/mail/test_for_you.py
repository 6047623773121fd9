""" "For you" digests: the recommendations of the account with the subscriber's address."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from paperfeed.config import Settings
from paperfeed.mail import outbox
from paperfeed.mail import subscriptions as subs
from paperfeed.mail.transport import make_sender
from paperfeed.rank import for_you
from paperfeed.rank.for_you import recommend
from tests.factories import anonymous
from tests.mail.conftest import Smtp, confirmed
from tests.rank.for_you_data import load_sample, tagged_reader


def test_for_you_digest_holds_the_accounts_recommendations(
    engine: Engine, settings: Settings, smtp: Smtp, tmp_path: Path
) -> None:
    load_sample(engine, tmp_path)
    for_you._models.clear()
    user_pk, _ = tagged_reader(engine)
    with pytest.raises(subs.SubscriptionError, match="need an account"):
        subs.subscribe(engine, "stranger@example.org", "daily", "for_you")
    confirmed(engine, "reader@example.org", kind="for_you")
    now = datetime.now(UTC)
    assert outbox.enqueue(engine, settings, "daily", now).created == 1
    assert outbox.send_due(engine, settings, make_sender(settings), lambda: now).sent == 1
    [got] = smtp.recorder.accepted()
    assert str(got.message["Subject"]).startswith("Papers for you today")
    text = got.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    recommended = [
        p.paper_id for p in recommend(engine, user_pk, limit=200, settings=settings).papers
    ]
    sent = [pid for pid in recommended if f"arxiv.org/abs/{pid}" in text]
    assert len(sent) == settings.digest_max_papers
    assert sent == recommended[: settings.digest_max_papers], "in the recommendation order"


def test_for_you_digest_votes_go_through_a_page_and_train_the_account(
    engine: Engine, settings: Settings, smtp: Smtp, tmp_path: Path
) -> None:
    import re

    from bs4 import BeautifulSoup
    from sqlalchemy import select

    from paperfeed.store.recommend_schema import recommendation_feedback

    load_sample(engine, tmp_path, 800)
    for_you._models.clear()
    user_pk, _ = tagged_reader(engine, per_tag=4)
    confirmed(engine, "reader@example.org", kind="for_you")
    now = datetime.now(UTC)
    outbox.enqueue(engine, settings, "daily", now)
    outbox.send_due(engine, settings, make_sender(settings), lambda: now)
    [got] = smtp.recorder.accepted()
    text = got.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = got.message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    less = re.findall(r"Less like this: (\S+)", text)
    assert len(less) == settings.digest_max_papers and "Less like this" in html
    path = less[0].removeprefix(settings.base_url.rstrip("/"))
    with anonymous() as reader:
        page = reader.get(path)  # what a mail scanner does: records nothing
        assert page.status_code == 200
        with engine.connect() as conn:
            assert conn.execute(select(recommendation_feedback)).all() == []
        token = BeautifulSoup(page.text, "html.parser").find("input", attrs={"name": "csrf_token"})
        assert token is not None
        assert reader.post(path, data={"csrf_token": str(token["value"])}).status_code == 200
    with engine.connect() as conn:
        rows = conn.execute(select(recommendation_feedback)).all()
    assert [(row.user_pk, row.value) for row in rows] == [(user_pk, -1)]
