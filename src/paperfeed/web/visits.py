"""The NEW badge: papers that arrived since the visitor's last visit, not every recent paper.

The server renders one rule for everyone, so anonymous pages stay cacheable (web/page_cache.py):
NEW on the newest day's papers. Each badge host carries the paper's first-seen time
(``data-first-seen``), and ``static/visits.js`` applies the visitor's own rule in the browser:
it keeps two Unix times in ``localStorage`` (``pf_visit``: this visit's threshold and the last
page's time; no identity, never sent to the server); a visit ends after ``VISIT_GAP`` seconds
without pages, and the next one marks as new the papers first seen after the end of the one
before. Without JavaScript, or on a first visit, the server's rule stands.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from starlette.requests import Request

VISIT_GAP = 3600  # seconds without a page that end a visit (static/visits.js uses the same)


def is_new(request: Request, item: Any) -> bool:
    """Whether a listed paper (``queries.ListedPaper``) is rendered with the NEW badge."""
    return item.day is not None and item.day == _newest_day(request)


def first_seen(item: Any) -> int:
    """When this site first saw the paper, in Unix seconds (0: unknown), for visits.js."""
    seen: datetime | None = item.paper.first_seen_at
    if seen is None:
        return 0
    return int((seen if seen.tzinfo else seen.replace(tzinfo=UTC)).timestamp())


def _newest_day(request: Request) -> date | None:
    if "newest_day" not in request.state._state:
        from paperfeed.web.queries import latest_day

        request.state.newest_day = latest_day(request.app.state.engine)
    day: date | None = request.state.newest_day
    return day
