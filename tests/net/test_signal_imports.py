"""The worker's signal imports, against recorded responses on a local server, both backends:
Hugging Face Daily Papers for each day, and GitHub stars within GitHub's rate limits."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from paperfeed import config
from paperfeed.config import Settings
from paperfeed.ingest.net.github import refresh_stars, repository
from paperfeed.jobs import worker
from paperfeed.mail.transport import MailSender, make_sender
from paperfeed.store.community_schema import paper_stats
from paperfeed.store.schema import paper_links, papers
from tests.net.conftest import RECORDED, Reply, Server, recorded

DAY = date(2024, 1, 12)  # the recorded Daily Papers day
NOW = datetime(2024, 1, 13, 9, tzinfo=UTC)
DEEPSEEK, TOVA = "/repos/deepseek-ai/DeepSeek-MoE", "/repos/schwartz-lab-NLP/TOVA"


def daily(query: dict[str, str]) -> Reply:
    if query.get("date") == DAY.isoformat() and query.get("p") == "0":
        return recorded(f"hf_daily_{DAY}.json")
    return Reply(200, b"[]", {"Content-Type": "application/json"})


def github(name: str, **headers: str) -> Reply:
    body = (RECORDED / f"github_repo_{name}.json").read_bytes()
    return Reply(200, body, {"Content-Type": "application/json", **headers})


@pytest.fixture
def signal_env(net_env: Server, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("PAPERFEED_HF_DAILY_IMPORT", "1")
    monkeypatch.setenv("PAPERFEED_GITHUB_STARS_REFRESH", "1")
    monkeypatch.setenv("PAPERFEED_HF_DAILY_DAYS", "2")
    monkeypatch.setenv("PAPERFEED_GITHUB_API_URL", net_env.url)
    monkeypatch.setenv("PAPERFEED_GITHUB_TOKEN", "ghp_test")
    monkeypatch.setenv("PAPERFEED_HARVEST_SETS", "")
    config.get_settings.cache_clear()
    net_env.route("/api/daily_papers", daily)
    return config.get_settings()


def sender(settings: Settings) -> MailSender:
    return make_sender(settings)


def stored(engine: Engine) -> dict[str, dict[str, object]]:
    query = select(papers, paper_links.c.url, paper_links.c.stars).outerjoin(
        paper_links, (paper_links.c.paper_pk == papers.c.pk) & (paper_links.c.kind == "code")
    )
    with engine.connect() as conn:
        return {row.id: dict(row._mapping) for row in conn.execute(query)}


def test_worker_imports_daily_papers_then_refreshes_stars(
    engine: Engine, signal_env: Settings, net_env: Server
) -> None:
    net_env.route(DEEPSEEK, lambda q: github("deepseek-moe", **{"X-RateLimit-Remaining": "58"}))
    net_env.route(TOVA, lambda q: github("tova"))
    report = worker.tick(engine, signal_env, lambda: sender(signal_env), NOW)
    assert set(report.hf_daily) == {"2024-01-13", "2024-01-12"}
    assert report.hf_daily["2024-01-12"].startswith("read 3,")
    found = stored(engine)
    items = json.loads((RECORDED / f"hf_daily_{DAY}.json").read_text())
    for item in items:  # upvotes, submitter, featured day, first-version date, code + stars
        paper = item["paper"]
        row = found[paper["id"]]
        assert row["external_upvotes"] == paper["upvotes"]
        assert row["submitter"] == "akhaliq" and row["featured_day"] == DAY
        assert row["published"] == date.fromisoformat(paper["publishedAt"][:10])
        assert row["url"] == paper.get("githubRepo")
    # The star refresh ran in the same tick: GitHub's counts replaced the Hub's.
    assert report.stars is not None and report.stars["changed"] == 2
    assert found["2401.06066"]["stars"] == 1840 and found["2401.06104"]["stars"] == 95
    asked = [seen for seen in net_env.seen if seen.path.startswith("/repos/")]
    assert [seen.path for seen in asked] == [DEEPSEEK, TOVA]
    with engine.connect() as conn:  # trending was recomputed with the new signal
        assert conn.execute(select(paper_stats.c.paper_pk)).all()
    # Within the hour and the day, a second tick asks neither service again.
    again = worker.tick(engine, signal_env, lambda: sender(signal_env), NOW + timedelta(minutes=5))
    assert again.hf_daily == {} and again.stars is None
    later = worker.tick(engine, signal_env, lambda: sender(signal_env), NOW + timedelta(hours=1))
    assert set(later.hf_daily) == {"2024-01-13", "2024-01-12"} and later.stars is None
    assert len(stored(engine)) == 3, "re-importing updates, never duplicates"


def test_each_import_can_be_turned_off(
    engine: Engine, signal_env: Settings, net_env: Server
) -> None:
    off = signal_env.model_copy(update={"hf_daily_import": False, "github_stars_refresh": False})
    report = worker.tick(engine, off, lambda: sender(off), NOW)
    assert report.hf_daily == {} and report.stars is None
    assert net_env.seen == []


def test_stars_stop_at_the_rate_limit_and_resume_after_reset(
    engine: Engine, signal_env: Settings, net_env: Server
) -> None:
    net_env.route("/api/daily_papers", daily)
    worker.import_hf_daily_if_due(engine, signal_env, NOW)
    reset = int((NOW + timedelta(minutes=20)).timestamp())
    limited = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)}
    net_env.route(DEEPSEEK, lambda q: github("deepseek-moe", **limited))
    net_env.route(TOVA, lambda q: github("tova"))
    first = worker.refresh_stars_if_due(engine, signal_env, NOW)
    assert first is not None and first["checked"] == 1  # the reply said: nothing left
    assert first["retry_at"] == (NOW + timedelta(minutes=20)).isoformat()
    assert worker.refresh_stars_if_due(engine, signal_env, NOW + timedelta(minutes=10)) is None
    second = worker.refresh_stars_if_due(engine, signal_env, NOW + timedelta(minutes=21))
    assert second is not None and second["checked"] == 1 and second["cursor"] == 0
    assert [s.path for s in net_env.seen if s.path.startswith("/repos/")] == [DEEPSEEK, TOVA]
    assert stored(engine)["2401.06104"]["stars"] == 95


@pytest.mark.parametrize(
    ("status", "headers", "wait"),
    [
        (429, {"Retry-After": "120"}, timedelta(seconds=120)),
        (403, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "RESET"}, timedelta(hours=2)),
        (403, {}, timedelta(hours=1)),
    ],
)
def test_403_and_429_pause_the_refresh(
    engine: Engine,
    signal_env: Settings,
    net_env: Server,
    status: int,
    headers: dict[str, str],
    wait: timedelta,
) -> None:
    worker.import_hf_daily_if_due(engine, signal_env, NOW)
    reset = str(int((NOW + timedelta(hours=2)).timestamp()))
    sent = {k: v.replace("RESET", reset) for k, v in headers.items()}
    net_env.route(DEEPSEEK, lambda q: Reply(status, b'{"message": "rate limited"}', sent))
    report = refresh_stars(engine, signal_env, now=NOW)
    assert report.retry_at == NOW + wait and report.checked == 0 and report.cursor == 0
    assert stored(engine)["2401.06066"]["stars"] == 1000, "the Hub's count is kept"


def test_a_missing_repository_is_skipped(
    engine: Engine, signal_env: Settings, net_env: Server
) -> None:
    worker.import_hf_daily_if_due(engine, signal_env, NOW)
    net_env.route(DEEPSEEK, lambda q: Reply(404, b'{"message": "Not Found"}'))
    net_env.route(TOVA, lambda q: github("tova"))
    report = refresh_stars(engine, signal_env, now=NOW)
    assert (report.checked, report.missing, report.changed) == (2, 1, 1)


def test_repository_urls() -> None:
    assert repository("https://github.com/deepseek-ai/DeepSeek-MoE") == "deepseek-ai/DeepSeek-MoE"
    assert repository("https://github.com/a/b.git") == "a/b"
    assert repository("https://www.github.com/a/b/") == "a/b"
    for url in ("https://gitlab.com/a/b", "https://github.com/a", "https://github.com/a/b/tree/x",
                "https://github.com/../x", "javascript:alert(1)"):  # fmt: skip
        assert repository(url) is None, url
