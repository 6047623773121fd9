"""GitHub stars of papers' code repositories, refreshed through GitHub's REST API.

``refresh_stars`` asks ``GET {github_api_url}/repos/{owner}/{repo}`` for each paper whose code
link is a GitHub repository, through the safe fetcher, and stores ``stargazers_count`` in
``paper_links.stars`` when it changed (trending's next recompute turns the change into star
growth). It is polite with GitHub's limits: anonymous clients get 60 requests an hour, a token
(``PAPERFEED_GITHUB_TOKEN``) 5,000. It stops at once when

- a reply says ``X-RateLimit-Remaining: 0`` (until ``X-RateLimit-Reset``, epoch seconds), or
- GitHub answers 403 or 429 (a secondary limit): after ``Retry-After`` seconds, else at
  ``X-RateLimit-Reset``, else in an hour;

and says when to try again (``StarsReport.retry_at``). Repositories are visited in paper order
from a cursor, so a refresh cut short by the limit goes on where it stopped next time.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson
from sqlalchemy import Engine, select, update

from paperfeed.config import Settings
from paperfeed.ingest.net.http import FetchError, Response, fetch
from paperfeed.store.engine import write_transaction
from paperfeed.store.schema import paper_links

log = logging.getLogger(__name__)

_REPO = re.compile(
    r"^https?://(?:www\.)?github\.com/([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))/([A-Za-z0-9_.-]{1,100}?)"
    r"(?:\.git)?/?(?:[?#].*)?$"
)
DEFAULT_WAIT = timedelta(hours=1)
MAX_STARS = 2**31 - 1  # the column is a 32-bit integer on PostgreSQL


def repository(url: str) -> str | None:
    """``owner/name`` of a GitHub repository URL (``…/tree/main`` and the like are not one)."""
    match = _REPO.match(url.strip())
    if match is None or match.group(2) in (".", ".."):
        return None
    return f"{match.group(1)}/{match.group(2)}"


@dataclass
class StarsReport:
    checked: int = 0
    changed: int = 0
    missing: int = 0  # repositories GitHub no longer knows (404)
    cursor: int = 0  # the last paper done; 0 once every repository was visited
    retry_at: datetime | None = None  # set when a rate limit stopped the refresh

    def as_dict(self) -> dict[str, object]:
        retry = self.retry_at.isoformat(timespec="seconds") if self.retry_at else None
        return {"checked": self.checked, "changed": self.changed, "missing": self.missing,
                "cursor": self.cursor, "retry_at": retry}  # fmt: skip


def _code_links(engine: Engine, after: int) -> Iterator[tuple[int, str, int | None]]:
    query = (
        select(paper_links.c.paper_pk, paper_links.c.url, paper_links.c.stars)
        .where(paper_links.c.kind == "code", paper_links.c.paper_pk > after)
        .order_by(paper_links.c.paper_pk)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    for row in rows:
        if repository(row.url) is not None:
            yield row.paper_pk, row.url, row.stars


def _headers(settings: Settings) -> dict[str, str]:
    headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
    if settings.github_token:
        headers["Authorization"] = f"Bearer {settings.github_token}"
    return headers


def _epoch(value: str | None) -> datetime | None:
    if value is None or not value.strip().isdigit():
        return None
    return datetime.fromtimestamp(int(value.strip()), UTC)


def retry_time(response: Response, now: datetime) -> datetime | None:
    """When GitHub allows the next request, if this reply says to wait; else None."""
    headers = response.headers
    if response.status in (403, 429):
        after = headers.get("retry-after", "").strip()
        if after.isdigit():
            return now + timedelta(seconds=int(after))
        return _epoch(headers.get("x-ratelimit-reset")) or now + DEFAULT_WAIT
    if headers.get("x-ratelimit-remaining", "").strip() == "0":
        return _epoch(headers.get("x-ratelimit-reset")) or now + DEFAULT_WAIT
    return None


def _stars(response: Response, url: str) -> int:
    try:
        value = orjson.loads(response.body).get("stargazers_count")
    except (orjson.JSONDecodeError, AttributeError):
        raise FetchError(url, "GitHub's answer is not a JSON object") from None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_STARS:
        raise FetchError(url, f"stargazers_count is not a count ({str(value)[:40]})")
    return value


def refresh_stars(
    engine: Engine,
    settings: Settings,
    *,
    after: int = 0,
    limit: int | None = None,
    now: datetime | None = None,
) -> StarsReport:
    """Refresh the stars of GitHub repositories of papers after ``after`` (a cursor), at most
    ``limit`` requests; see the module docstring for the rate limits."""
    now = now or datetime.now(UTC)
    report = StarsReport(cursor=after)
    base = settings.github_api_url.rstrip("/")
    for paper_pk, url, stored in _code_links(engine, after):
        if limit is not None and report.checked >= limit:
            return report
        api = f"{base}/repos/{repository(url)}"
        response = fetch(api, settings, headers=_headers(settings))
        wait = retry_time(response, now)
        if response.status in (403, 429):
            report.retry_at = wait
            return report
        report.checked += 1
        if response.status == 200:
            _store(engine, paper_pk, stored, _stars(response, api), report)
        elif response.status == 404:
            report.missing += 1
        else:
            raise FetchError(api, f"GitHub answered HTTP {response.status}", response.status)
        report.cursor = paper_pk
        if wait is not None:
            report.retry_at = wait
            return report
    report.cursor = 0
    return report


def _store(
    engine: Engine, paper_pk: int, stored: int | None, stars: int, report: StarsReport
) -> None:
    if stars == stored:
        return
    code = (paper_links.c.paper_pk == paper_pk) & (paper_links.c.kind == "code")
    with write_transaction(engine) as conn:
        conn.execute(update(paper_links).where(code).values(stars=stars))
    report.changed += 1
