"""The trending score: its formula, record_activity, star growth and recompute, both backends."""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select

from paperfeed.domain import Link, PaperRecord
from paperfeed.ingest.service import run_ingest
from paperfeed.rank.trending import (
    Activity,
    TrendingParams,
    recompute_trending,
    record_activity,
    score_terms,
    why_trending,
)
from paperfeed.store.community_schema import paper_activity, paper_stats
from paperfeed.store.engine import write_transaction
from tests.factories import add_papers

# Noon today: papers stored by the tests are first seen "now".
NOW = datetime.combine(datetime.now(UTC).date(), time(12), tzinfo=UTC)
PARAMS = TrendingParams(half_life_hours=24.0, window_days=14)


def stats(engine: Engine, pk: int) -> dict[str, Any]:
    with engine.connect() as conn:
        row = conn.execute(select(paper_stats).where(paper_stats.c.paper_pk == pk)).mappings()
        return dict(row.one())


def test_formula_decays_by_half_life_and_weights_each_kind() -> None:
    today, yesterday = NOW.date(), NOW.date() - timedelta(days=1)
    activity = [
        Activity(today, "upvote", 4),
        Activity(yesterday, "upvote", 2),
        Activity(today, "comment", 1),
        Activity(today, "view", 20),
        Activity(today, "stars", 7),
        Activity(today - timedelta(days=30), "upvote", 1000),  # outside the window
    ]
    score, terms = score_terms(activity, 10, yesterday, NOW, PARAMS)
    t = terms["terms"]
    # Noon today has age 0; noon yesterday is one half-life old.
    assert t["upvotes"] == {"count": 6, "points": 5.0}
    assert t["comments"] == {"count": 1, "points": 2.0}
    assert t["views"] == {"count": 20, "points": 1.0}
    assert t["stars"] == {"count": 7, "points": 3.0}  # log2(1 + 7)
    assert t["hf_upvotes"] == {"count": 10, "points": 2.5}  # 0.5 * 10 * 0.5
    assert score == pytest.approx(5 + 2 + 1 + 3 + 2.5)
    assert [label for label, _, _ in why_trending(terms)][:2] == ["upvotes", "new GitHub stars"]
    later, _ = score_terms(activity, 10, yesterday, NOW + timedelta(hours=24), PARAMS)
    assert later < score, "time decay lowers a score when nothing new happens"


def test_record_activity_counts_and_rescores_inside_the_callers_transaction(
    engine: Engine,
) -> None:
    pks = add_papers(engine, PaperRecord(id="2401.00001", title="A", abstract="a."))
    pk = pks["2401.00001"]
    with write_transaction(engine) as conn:
        record_activity(conn, pk, "upvote", now=NOW)
        record_activity(conn, pk, "upvote", now=NOW)
        record_activity(conn, pk, "comment", now=NOW)
    with write_transaction(engine) as conn:
        record_activity(conn, pk, "upvote", -1, now=NOW)  # a vote withdrawn
        record_activity(conn, pk, "view", now=NOW)
    row = stats(engine, pk)
    assert (row["upvotes"], row["comments"], row["views"]) == (1, 1, 1)
    terms = json.loads(str(row["trending_terms"]))["terms"]
    # The score counts commenters from the comments table; a bare counter has none.
    assert terms["upvotes"]["count"] == 1 and terms["comments"]["count"] == 0
    assert row["trending_score"] == pytest.approx(1.0 + 0.05)
    with engine.connect() as conn:
        day_rows = conn.execute(select(paper_activity).where(paper_activity.c.paper_pk == pk))
        found = {(r.kind, r._mapping["count"]) for r in day_rows}
    assert found == {("upvote", 1), ("comment", 1), ("view", 1)}
    with (
        pytest.raises(ValueError, match="unknown activity kind"),
        write_transaction(engine) as conn,
    ):
        record_activity(conn, pk, "stars")


def test_a_rolled_back_transaction_leaves_no_activity(engine: Engine) -> None:
    pk = add_papers(engine, PaperRecord(id="2401.00002", title="B", abstract="b."))["2401.00002"]
    with pytest.raises(RuntimeError), write_transaction(engine) as conn:
        record_activity(conn, pk, "upvote", now=NOW)
        raise RuntimeError("the vote failed")
    with engine.connect() as conn:
        assert conn.execute(select(paper_stats)).all() == []


def test_recompute_snapshots_star_growth_and_decays_scores(engine: Engine) -> None:
    day = NOW.date()
    code = "https://github.com/example/repo"
    record = PaperRecord(
        id="2401.00003",
        title="C",
        abstract="c.",
        featured_day=day,
        upvotes=40,
        links=[Link("code", code, 100)],
    )
    pk = add_papers(engine, record)["2401.00003"]
    assert recompute_trending(engine, now=NOW) == 1
    first = stats(engine, pk)
    terms = json.loads(str(first["trending_terms"]))["terms"]
    assert terms["hf_upvotes"] == {"count": 40, "points": 20.0}
    assert terms["stars"]["count"] == 100  # a new paper: its stars so far are its growth
    # The repository gains 28 stars by the next ingest: growth is recorded once, not again.
    record.links = [Link("code", code, 128)]
    add_papers(engine, record)
    later = NOW + timedelta(hours=1)
    recompute_trending(engine, now=later)
    recompute_trending(engine, now=later)
    with engine.connect() as conn:
        rows = conn.execute(
            select(paper_activity.c["count"]).where(paper_activity.c.kind == "stars")
        ).all()
    assert sum(r[0] for r in rows) == 128
    second = stats(engine, pk)
    assert json.loads(str(second["trending_terms"]))["terms"]["stars"]["count"] == 128
    # A week on, nothing new: the score decays towards zero.
    week = NOW + timedelta(days=7)
    recompute_trending(engine, now=week)
    assert float(stats(engine, pk)["trending_score"]) < float(first["trending_score"]) / 20
    # Out of the window, with nothing newer anywhere: trending is computed as of the last day
    # with signal, and says so, rather than going empty.
    gone = NOW + timedelta(days=20)
    recompute_trending(engine, now=gone)
    quiet = stats(engine, pk)
    assert float(quiet["trending_score"]) == pytest.approx(float(second["trending_score"]), 0.3)
    assert json.loads(str(quiet["trending_terms"]))["based_on"] == day.isoformat()
    # Once anything happens in the window, trending is about now again: the old paper is out.
    other = add_papers(engine, PaperRecord(id="2401.00033", title="D", abstract="d."))
    with write_transaction(engine) as conn:
        record_activity(conn, other["2401.00033"], "view", now=gone)
    recompute_trending(engine, now=gone)
    assert stats(engine, pk)["trending_score"] == 0
    assert "based_on" not in json.loads(str(stats(engine, other["2401.00033"])["trending_terms"]))
    assert recompute_trending(engine, now=gone) == 1


def test_old_papers_first_star_snapshot_is_not_growth(engine: Engine) -> None:
    record = PaperRecord(
        id="2401.00004",
        title="D",
        abstract="d.",
        links=[Link("code", "https://github.com/a/b", 5000)],
    )
    pk = add_papers(engine, record)["2401.00004"]
    fresh = add_papers(engine, PaperRecord(id="2401.00005", title="E", abstract="e."))
    later = datetime.now(UTC) + timedelta(days=60)
    with write_transaction(engine) as conn:  # something happens then, so trending is "now"
        record_activity(conn, fresh["2401.00005"], "view", now=later)
    # Seen long before "now": its 5,000 stars are a baseline, not a jump today.
    recompute_trending(engine, now=later)
    with engine.connect() as conn:
        score = conn.execute(
            select(paper_stats.c.trending_score).where(paper_stats.c.paper_pk == pk)
        ).scalar()
        days = conn.execute(select(paper_activity.c.day).where(paper_activity.c.paper_pk == pk))
        assert [row.day for row in days] == [date(2024, 1, 1)]  # its day: the id's month
    assert not score


def test_ingest_with_upvotes_computes_trending(engine: Engine, tmp_path: object) -> None:
    from pathlib import Path

    from paperfeed.config import get_settings
    from paperfeed.ingest.resolve import resolve_source

    today = datetime.now(UTC).date().isoformat()
    items = [
        {
            "paper": {
                "id": "2405.00001",
                "title": "Upvoted paper",
                "summary": "Text.",
                "authors": [{"name": "A B"}],
                "publishedAt": f"{today}T00:00:00.000Z",
                "upvotes": 12,
            },
            "publishedAt": f"{today}T00:00:00.000Z",
        }
    ]
    path = Path(str(tmp_path)) / "hf.json"
    path.write_text(json.dumps(items))
    run_ingest(engine, resolve_source(str(path), get_settings()))
    with engine.connect() as conn:
        row = conn.execute(select(paper_stats.c.trending_score, paper_stats.c.trending_terms)).one()
    assert row.trending_score > 0
    assert json.loads(row.trending_terms)["terms"]["hf_upvotes"]["count"] == 12
    assert math.isfinite(row.trending_score)
    assert date.fromisoformat(today)


def test_cli_recomputes_and_shows_the_terms(engine: Engine) -> None:
    from typer.testing import CliRunner

    from paperfeed.cli import app

    today = datetime.now(UTC).date()
    add_papers(
        engine,
        PaperRecord(id="2401.00005", title="E", abstract="e.", featured_day=today, upvotes=6),
    )
    runner = CliRunner()
    before = runner.invoke(app, ["trending", "--json"], prog_name="paperfeed")
    assert before.exit_code == 0 and json.loads(before.stdout) == []
    result = runner.invoke(app, ["trending", "--recompute", "--json"], prog_name="paperfeed")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [row["id"] for row in rows] == ["2401.00005"]
    assert rows[0]["terms"]["terms"]["hf_upvotes"]["count"] == 6 and rows[0]["score"] > 0
    table = runner.invoke(app, ["trending"], prog_name="paperfeed")
    assert table.exit_code == 0 and "2401.00005" in table.stdout


def test_concurrent_activity_loses_nothing_and_counts_nothing_twice(engine: Engine) -> None:
    from concurrent.futures import ThreadPoolExecutor

    pk = add_papers(engine, PaperRecord(id="2401.00006", title="F", abstract="f."))["2401.00006"]

    def vote(_: int) -> None:
        for _ in range(15):
            with write_transaction(engine) as conn:
                record_activity(conn, pk, "upvote")

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(vote, range(6)))
    row = stats(engine, pk)
    assert row["upvotes"] == 90
    assert json.loads(str(row["trending_terms"]))["terms"]["upvotes"]["count"] == 90
    with engine.connect() as conn:
        total = conn.execute(
            select(paper_activity.c["count"]).where(paper_activity.c.paper_pk == pk)
        ).scalar()
    assert total == 90


def test_a_score_as_of_an_old_day_is_read_without_further_decay(engine: Engine) -> None:
    from paperfeed.web.queries import trending_page

    now = datetime.now(UTC)
    old_day = (now - timedelta(days=40)).date()
    record = PaperRecord(id="2401.00077", title="Q", abstract="q.", featured_day=old_day)
    record.upvotes = 40
    pk = add_papers(engine, record)["2401.00077"]
    # Scored ten days ago (no worker since, as under `make run`): nothing in the window then.
    recompute_trending(engine, now=now - timedelta(days=10))
    stored = stats(engine, pk)
    assert json.loads(str(stored["trending_terms"]))["based_on"] == old_day.isoformat()
    (item,) = trending_page(engine, 1, 10).items
    assert item.score == pytest.approx(float(stored["trending_score"]))  # not 0.5 ** 10 of it
    assert item.terms["based_on"] == old_day.isoformat()
