"""The worker's schedule: digests from the configured hour (weekly on Mondays) and a daily
incremental OAI-PMH harvest through the real `oai:` source (served from recorded responses)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from paperfeed import config, services
from paperfeed.config import Settings
from paperfeed.jobs import worker
from paperfeed.mail.transport import make_sender
from paperfeed.store.embeddings import count_embeddings
from tests.mail.conftest import Smtp, confirmed, store_papers
from tests.net.conftest import Server, net_env, server  # noqa: F401  (fixtures)
from tests.net.test_sources import oai_routes


def test_due_frequencies() -> None:
    monday = datetime(2026, 11, 23, 7, tzinfo=UTC)
    assert worker.due_frequencies(monday, 7) == ["daily", "weekly"]
    assert worker.due_frequencies(monday - timedelta(minutes=1), 7) == []
    assert worker.due_frequencies(monday + timedelta(days=1), 7) == ["daily"]


def test_tick_sends_digests_and_harvests_once_a_day(
    engine: Engine,
    settings: Settings,
    smtp: Smtp,
    net_env: Server,  # noqa: F811
) -> None:
    oai_routes(net_env)
    config.get_settings.cache_clear()
    settings = config.get_settings().model_copy(
        update={"digest_hour": 6, "harvest_sets": "cs", "index_on_ingest": True}
    )
    monday = datetime(2026, 11, 23, 6, 30, tzinfo=UTC)
    store_papers(engine, 8, first_seen=monday - timedelta(hours=5))
    confirmed(engine, "daily@example.org", at=monday - timedelta(days=2))
    confirmed(engine, "weekly@example.org", frequency="weekly", at=monday - timedelta(days=2))

    early = worker.tick(
        engine, settings, lambda: make_sender(settings), monday - timedelta(hours=1)
    )
    assert early.digests == {} and smtp.recorder.seen == []
    assert set(early.harvested) == {"cs"} and early.harvested["cs"].startswith("read ")
    harvested = services.stats(engine).papers
    assert harvested > 8, "the OAI pages were ingested"
    # ... and embedded, as `paperfeed ingest` does: similar papers and "for you" see them.
    assert ", embedded " in early.harvested["cs"]
    with engine.connect() as conn:
        assert count_embeddings(conn, settings.embedding_model) == harvested
    state = worker.load_state(settings)
    assert state["harvest:cs"] == "2026-11-23"
    assert early.trending is not None and state["trending"].startswith("2026-11-23T05:30")

    first = worker.tick(engine, settings, lambda: make_sender(settings), monday)
    assert first.harvested == {}, "one harvest a day"
    assert first.digests["daily"]["created"] == 1 and first.digests["weekly"]["created"] == 1
    assert sorted(r.rcpt for r in smtp.recorder.accepted()) == [
        "daily@example.org",
        "weekly@example.org",
    ]
    later = worker.tick(
        engine, settings, lambda: make_sender(settings), monday + timedelta(hours=3)
    )
    assert later.sent["sent"] == 0 and len(smtp.recorder.seen) == 2


def test_trending_is_recomputed_once_an_hour(
    engine: Engine, settings: Settings, smtp: Smtp
) -> None:
    settings = settings.model_copy(update={"digest_hour": 23, "harvest_sets": ""})
    noon = datetime(2026, 11, 24, 12, tzinfo=UTC)
    store_papers(engine, 3, first_seen=noon - timedelta(hours=2))
    sender = lambda: make_sender(settings)  # noqa: E731
    assert worker.tick(engine, settings, sender, noon).trending is not None
    assert worker.tick(engine, settings, sender, noon + timedelta(minutes=59)).trending is None
    assert worker.tick(engine, settings, sender, noon + timedelta(minutes=60)).trending is not None
