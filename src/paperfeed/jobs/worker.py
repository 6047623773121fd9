"""``paperfeed worker``: digests at ``PAPERFEED_DIGEST_HOUR`` (UTC), and a daily arXiv harvest.

Each tick (every minute):

- once an hour, recompute trending scores (time decay, star growth), before any digest reads
  them;
- from the digest hour on, make today's daily digests (and this week's on Mondays) and send
  what is due; creating is idempotent per period, so a tick after a restart or a second
  worker sends nothing twice, and retries (4xx backoff) go out on later ticks;
- once a day, harvest each of ``PAPERFEED_HARVEST_SETS`` through the ``oai:`` ingest source,
  from the day of the previous successful harvest (kept in ``DATA_DIR/worker-state.json``),
  then embed what it wrote (unless ``PAPERFEED_INDEX_ON_INGEST`` is off), as ``ingest`` does.

- every hour (``PAPERFEED_HF_DAILY_IMPORT``), import Hugging Face Daily Papers for today and
  the ``PAPERFEED_HF_DAILY_DAYS`` - 1 days before through the ``hf-daily:`` source: upvotes,
  submitter, GitHub repository and stars, project page (re-importing updates, never
  duplicates);
- once a day (``PAPERFEED_GITHUB_STARS_REFRESH``), refresh the GitHub stars of papers' code
  repositories, at most ``STARS_PER_TICK`` a tick, pausing when GitHub's rate limit says so
  (``ingest.net.github``); trending is recomputed after either brought anything.

One worker per site is enough; more are safe (the outbox leases rows; on PostgreSQL digest
creation uses ``FOR UPDATE SKIP LOCKED``), but they add nothing on SQLite.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from paperfeed.config import Settings
from paperfeed.mail import outbox
from paperfeed.mail.transport import MailSender

log = logging.getLogger(__name__)

TICK_SECONDS = 60.0
FIRST_HARVEST_DAYS = 2
TRENDING_EVERY = timedelta(hours=1)
HF_DAILY_EVERY = timedelta(hours=1)
STARS_EVERY = timedelta(days=1)
STARS_PER_TICK = 200


@dataclass
class TickReport:
    digests: dict[str, dict[str, object]] = field(default_factory=dict)
    sent: dict[str, object] = field(default_factory=dict)
    harvested: dict[str, str] = field(default_factory=dict)
    trending: int | None = None  # papers rescored this tick (None: not due)
    hf_daily: dict[str, str] = field(default_factory=dict)
    stars: dict[str, object] | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "digests": self.digests,
            "sent": self.sent,
            "harvested": self.harvested,
            "trending": self.trending,
            "hf_daily": self.hf_daily,
            "stars": self.stars,
        }


def due_frequencies(now: datetime, hour: int) -> list[str]:
    """Which digests are due at ``now``: daily from the hour on, weekly also on Mondays."""
    now = now.astimezone(UTC)
    if now.hour < hour:
        return []
    return ["daily", "weekly"] if now.weekday() == 0 else ["daily"]


def _state_path(settings: Settings) -> Path:
    return settings.data_dir / "worker-state.json"


def load_state(settings: Settings) -> dict[str, Any]:
    try:
        data = json.loads(_state_path(settings).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def save_state(settings: Settings, state: dict[str, Any]) -> None:
    path = _state_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(state, sort_keys=True))
    temporary.replace(path)  # atomic: a crash leaves the old state or the new one


def recompute_trending_if_due(engine: Engine, settings: Settings, now: datetime) -> int | None:
    """Rescore trending when the last recompute is an hour old; how many papers, or None."""
    from paperfeed.rank.trending import recompute_trending

    state = load_state(settings)
    last = state.get("trending")
    if last and now - datetime.fromisoformat(last) < TRENDING_EVERY:
        return None
    scored = recompute_trending(engine, now=now, settings=settings)
    state = load_state(settings)  # re-read: keep what else the state holds
    state["trending"] = now.isoformat()
    save_state(settings, state)
    return scored


Harvester = Callable[[Engine, Settings, str, date], str]


def harvest_set(engine: Engine, settings: Settings, spec: str, since: date) -> str:
    """Incremental OAI-PMH harvest of one arXiv set through the ingest pipeline."""
    from paperfeed.ingest.resolve import resolve_source
    from paperfeed.ingest.service import run_ingest

    source = resolve_source(f"oai:{spec}", settings, since=since)
    report = run_ingest(engine, source, on_error="skip", batch_size=settings.ingest_batch_size)
    done = f"read {report.read}, written {report.written}, errors {len(report.errors)}"
    if report.written and settings.index_on_ingest:  # as `paperfeed ingest` does at its end
        from paperfeed.search.embedders import get_embedder
        from paperfeed.search.indexer import update_index

        done += f", embedded {update_index(engine, get_embedder(settings)).embedded}"
    return done


def tick(
    engine: Engine,
    settings: Settings,
    make_sender: Callable[[], MailSender],
    now: datetime | None = None,
    harvester: Harvester = harvest_set,
) -> TickReport:
    fixed = now
    clock: Callable[[], datetime] = outbox.utcnow if fixed is None else (lambda: fixed)
    now = clock()
    report = TickReport()
    report.trending = recompute_trending_if_due(engine, settings, now)
    for frequency in due_frequencies(now, settings.digest_hour):
        report.digests[frequency] = outbox.enqueue(engine, settings, frequency, now).as_dict()
    # Retries and anything left by a crashed sender go out whatever the hour.
    sent = outbox.send_due(engine, settings, make_sender(), clock, more_senders=make_sender)
    report.sent = sent.as_dict()
    sets = [s.strip() for s in settings.harvest_sets.split(",") if s.strip()]
    if sets:
        state = load_state(settings)
        today = now.astimezone(UTC).date()
        for spec in sets:
            key = f"harvest:{spec}"
            last = state.get(key)
            if last == today.isoformat():
                continue
            since = date.fromisoformat(last) if last else today - timedelta(FIRST_HARVEST_DAYS)
            try:
                report.harvested[spec] = harvester(engine, settings, spec, since)
            except Exception as error:  # a failed harvest is retried on the next tick
                log.error("harvest failed", extra={"set": spec, "error": str(error)})
                report.harvested[spec] = f"failed: {error}"
                continue
            state[key] = today.isoformat()
            save_state(settings, state)
    report.hf_daily = import_hf_daily_if_due(engine, settings, now)
    report.stars = refresh_stars_if_due(engine, settings, now)
    if any(v.startswith("read") for v in report.hf_daily.values()) or (
        report.stars and report.stars.get("changed")
    ):
        from paperfeed.rank.trending import recompute_trending

        report.trending = recompute_trending(engine, now=now, settings=settings)
    return report


def _due(state: dict[str, Any], key: str, now: datetime) -> bool:
    """Whether the moment kept under ``key`` (when the job may run next) has come."""
    moment = state.get(key)
    return not moment or datetime.fromisoformat(moment) <= now


def import_hf_daily_if_due(engine: Engine, settings: Settings, now: datetime) -> dict[str, str]:
    """Import the last HF_DAILY_DAYS days of Hugging Face Daily Papers, hourly; per day, what
    was read or why it failed (a failed day is tried again next hour)."""
    state = load_state(settings)
    if not settings.hf_daily_import or not _due(state, "hf_daily:next", now):
        return {}
    from paperfeed.ingest.net.hf_daily import HfDailySource
    from paperfeed.ingest.service import run_ingest

    done: dict[str, str] = {}
    today = now.astimezone(UTC).date()
    for back in range(settings.hf_daily_days):
        day = today - timedelta(days=back)
        try:
            got = run_ingest(engine, HfDailySource(day, settings), on_error="skip")
        except Exception as error:  # the Hub down, a bad answer: the next hour tries again
            log.error("hf-daily import failed", extra={"day": day.isoformat(), "error": str(error)})
            done[day.isoformat()] = f"failed: {error}"
            continue
        done[day.isoformat()] = f"read {got.read}, errors {len(got.errors)}"
    state = load_state(settings)
    state["hf_daily:next"] = (now + HF_DAILY_EVERY).isoformat()
    save_state(settings, state)
    return done


def refresh_stars_if_due(
    engine: Engine, settings: Settings, now: datetime
) -> dict[str, object] | None:
    """Refresh GitHub stars daily, STARS_PER_TICK at a time, resuming after a rate limit."""
    state = load_state(settings)
    if not settings.github_stars_refresh or not _due(state, "github:next", now):
        return None
    from paperfeed.ingest.net.github import refresh_stars

    after = int(state.get("github:cursor", 0))
    try:
        got = refresh_stars(engine, settings, after=after, limit=STARS_PER_TICK, now=now)
    except Exception as error:  # GitHub unreachable or odd: try again in an hour
        log.error("star refresh failed", extra={"error": str(error)})
        got = None
    state = load_state(settings)
    if got is None:
        state["github:next"] = (now + timedelta(hours=1)).isoformat()
    elif got.retry_at is not None:
        state["github:next"] = got.retry_at.isoformat()
    elif got.cursor == 0:  # every repository visited: again tomorrow
        state["github:next"] = (now + STARS_EVERY).isoformat()
    else:  # STARS_PER_TICK done: the rest on the next tick
        state["github:next"] = now.isoformat()
    state["github:cursor"] = got.cursor if got is not None else after
    save_state(settings, state)
    return got.as_dict() if got is not None else {"failed": True}


def run(
    engine: Engine,
    settings: Settings,
    make_sender: Callable[[], MailSender],
    once: bool = False,
    on_tick: Callable[[TickReport], None] | None = None,
) -> None:
    while True:
        try:
            result = tick(engine, settings, make_sender)
        except Exception:
            if once:
                raise
            log.exception("worker tick failed; retrying at the next tick")
        else:
            if on_tick is not None:
                on_tick(result)
        if once:
            return
        time.sleep(TICK_SECONDS)
