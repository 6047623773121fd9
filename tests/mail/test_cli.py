"""The mail commands, run as an operator would: subscribers, digest, worker, stats."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from paperfeed.config import Settings
from paperfeed.mail import subscriptions as subs
from tests.conftest import REPO
from tests.mail.conftest import BASE_URL, Smtp, confirmed, store_papers


def paperfeed(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-m", "paperfeed", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, **(env or {})},
    )


def test_subscribers_add_list_remove(engine: Engine, settings: Settings, smtp: Smtp) -> None:
    done = paperfeed("subscribers", "add", "Ops@Example.org", "--frequency", "weekly")
    assert done.returncode == 0, done.stderr
    [mail] = smtp.recorder.accepted()
    assert mail.rcpt == "ops@example.org" and mail.message["List-Id"] is None
    assert f"{BASE_URL}/confirm/" in mail.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    topic = paperfeed("subscribers", "add", "ops@example.org", "--topic", "protein folding -review")
    assert topic.returncode == 0, topic.stderr
    listed = paperfeed("subscribers", "list", "--json")
    rows = json.loads(listed.stdout)
    assert [(r["kind"], r["query"], r["frequency"], r["status"]) for r in rows] == [
        ("trending", "", "weekly", "pending"),
        ("topic", "protein folding -review", "daily", "pending"),
    ]
    assert "ops@example.org" in paperfeed("subscribers", "list").stdout
    bad = paperfeed("subscribers", "add", "nope", "--frequency", "daily")
    assert bad.returncode == 2 and "not an email address" in bad.stderr
    bad_frequency = paperfeed("subscribers", "add", "a@example.org", "--frequency", "hourly")
    assert bad_frequency.returncode == 2 and "daily or weekly" in bad_frequency.stderr
    removed = paperfeed("subscribers", "remove", "ops@example.org")
    assert removed.returncode == 0 and "2 subscriptions" in removed.stderr
    assert subs.list_subscriptions(engine) == []
    missing = paperfeed("subscribers", "remove", "ops@example.org")
    assert missing.returncode == 1 and "no subscriber" in missing.stderr


def test_add_without_smtp_prints_the_confirmation(engine: Engine, settings: Settings) -> None:
    done = paperfeed("subscribers", "add", "console@example.org", env={"PAPERFEED_SMTP_URL": ""})
    assert done.returncode == 0, done.stderr
    assert "Confirm your paperfeed subscription" in done.stderr
    assert f"{BASE_URL}/confirm/" in done.stderr


def test_digest_preview_dry_run_send_and_stats(
    engine: Engine, settings: Settings, smtp: Smtp
) -> None:
    store_papers(engine, 12, first_seen=datetime.now(UTC) - timedelta(hours=2))
    confirmed(engine, "one@example.org")
    confirmed(engine, "two@example.org", frequency="weekly")
    preview = paperfeed("digest", "preview", "--frequency", "daily")
    assert preview.returncode == 0, preview.stderr
    assert preview.stdout.count("https://arxiv.org/abs/") == settings.digest_max_papers
    mine = paperfeed("digest", "preview", "--email", "two@example.org", "--html")
    assert mine.returncode == 0 and "<html" in mine.stdout
    # Without --frequency, the subscriber's own (weekly: an ISO week in the subject).
    weekly = paperfeed("digest", "preview", "--email", "two@example.org")
    assert re.search(r"^Subject: .*\(\d{4}-W\d\d\)", weekly.stdout, re.M), weekly.stdout[:200]
    unknown = paperfeed("digest", "preview", "--email", "nobody@example.org")
    assert unknown.returncode == 1 and "no subscription" in unknown.stderr

    dry = paperfeed("digest", "send", "--frequency", "daily", "--dry-run", "--json")
    assert json.loads(dry.stdout) == [
        {"email": "one@example.org", "kind": "trending", "papers": 10}
    ]
    assert smtp.recorder.seen == []
    sent = paperfeed("digest", "send", "--frequency", "daily", "--json")
    assert sent.returncode == 0, sent.stderr
    assert json.loads(sent.stdout)["sent"] == 1
    again = paperfeed("digest", "send", "--frequency", "daily", "--json")
    assert json.loads(again.stdout)["sent"] == 0 and json.loads(again.stdout)["created"] == 0
    assert [r.rcpt for r in smtp.recorder.seen] == ["one@example.org"]
    stats = json.loads(paperfeed("stats", "--json").stdout)
    assert stats["subscribers"] == 2
    assert paperfeed("digest", "send").returncode == 2, "--frequency is required"


def test_worker_once_sends_due_digests(engine: Engine, settings: Settings, smtp: Smtp) -> None:
    store_papers(engine, 6, first_seen=datetime.now(UTC) - timedelta(hours=2))
    confirmed(engine, "worker@example.org")
    env = {"PAPERFEED_DIGEST_HOUR": "0", "PAPERFEED_HARVEST_SETS": ""}
    done = paperfeed("worker", "--once", env=env)
    assert done.returncode == 0, done.stderr
    tick = json.loads(done.stdout.strip().splitlines()[-1])
    assert tick["digests"]["daily"]["created"] == 1 and tick["sent"]["sent"] == 1
    assert [r.rcpt for r in smtp.recorder.seen] == ["worker@example.org"]
    again = json.loads(paperfeed("worker", "--once", env=env).stdout.strip().splitlines()[-1])
    assert again["sent"]["sent"] == 0


@pytest.mark.parametrize("url", ["http://x", "smtp://", "smtp://h:port"])
def test_bad_smtp_url_is_a_clear_error(engine: Engine, url: str) -> None:
    done = paperfeed("digest", "send", "--frequency", "daily", env={"PAPERFEED_SMTP_URL": url})
    assert done.returncode == 2 and "SMTP URL" in done.stderr and "Traceback" not in done.stderr
