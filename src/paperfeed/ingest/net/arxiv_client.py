"""arXiv politeness: one request at a time, spaced out, retried with backoff.

arXiv's terms for the API and OAI-PMH ask for no more than one request every three seconds
from one client, on a single connection; it answers 503 with ``Retry-After`` when busy. All
requests to arXiv (API and OAI) go through ``ArxivClient.get``, which holds a process-wide lock
for the whole request so threads (the web app's "submit by id", the worker) queue up.

What is retried: answers that say "busy" (429, 5xx) and connections cut off mid-answer, with
backoff, within ``patience`` seconds of waiting in all. What is not: a name that does not
resolve or a host that refuses the connection (``Unreachable``): retrying DNS six times made a
submission wait 67 s for an answer that was clear at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlencode

from paperfeed.config import Settings
from paperfeed.ingest.net.http import FetchError, RefusedAddress, Response, Unreachable, fetch

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
BACKOFF_BASE = 2.0  # seconds; doubled on each retry
BACKOFF_MAX = 300.0  # never wait longer than this, whatever Retry-After says
PATIENCE = 900.0  # seconds of retry waits one request may spend in all (batch ingest)

# Shared by every client in the process: arXiv counts requests per client machine.
_LOCK = threading.Lock()


@dataclass
class _Spacing:
    """When the last request to arXiv started (monotonic clock), shared process-wide."""

    last_start: float | None = None


_SPACING = _Spacing()


class ArxivError(FetchError):
    """arXiv kept failing (or refused) after the retries."""


@dataclass
class ArxivClient:
    """Polite GETs to arXiv. ``clock``/``sleep``/``get`` are injectable for tests.

    ``patience``: seconds of retry waits a request may add up; a retry that would wait past it
    is not made (a person waiting on a submission gets a short one).
    """

    settings: Settings
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    get: Callable[[str, Settings], Response] = field(default=fetch)
    utcnow: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    spacing: _Spacing = field(default_factory=lambda: _SPACING)
    lock: threading.Lock = field(default_factory=lambda: _LOCK)
    patience: float = PATIENCE

    def request(self, base: str, params: dict[str, str]) -> Response:
        """GET ``base?params``, politely; a 2xx response or ArxivError."""
        url = f"{base}?{urlencode(params)}" if params else base
        with self.lock:
            return self._with_retries(url)

    def _with_retries(self, url: str) -> Response:
        attempts = self.settings.arxiv_max_retries + 1
        patience = self.patience
        for attempt in range(1, attempts + 1):
            self._wait_turn()
            response, problem, wait = self._attempt(url, attempt)
            if response is not None:
                return response
            wait = min(wait, BACKOFF_MAX)
            if attempt == attempts or wait > patience:
                break
            patience -= wait
            self.sleep(wait)
        tries = f"{attempt} attempt{'s' if attempt > 1 else ''}"
        raise ArxivError(url, f"arXiv still failing after {tries} (last: {problem})")

    def _attempt(self, url: str, attempt: int) -> tuple[Response | None, str, float]:
        """One request: the response, or what went wrong and how long to wait before the next."""
        try:
            response = self.get(url, self.settings)
        except FetchError as error:
            if _permanent(error):
                raise
            return None, error.reason, _backoff(attempt)
        if response.status < 300:
            return response, "", 0.0
        if response.status not in RETRY_STATUSES:
            raise ArxivError(url, f"arXiv answered HTTP {response.status}", response.status)
        wait = retry_after(response, self.utcnow()) or _backoff(attempt)
        return None, f"HTTP {response.status}", wait

    def _wait_turn(self) -> None:
        """Sleep until ``arxiv_delay`` seconds have passed since the last request started."""
        now = self.clock()
        last = self.spacing.last_start
        if last is not None:
            wait = last + self.settings.arxiv_delay - now
            if wait > 0:
                self.sleep(wait)
                now = self.clock()
        self.spacing.last_start = now


def _permanent(error: FetchError) -> bool:
    """Errors a retry soon after cannot fix: no connection at all, refused addresses, bad
    schemes, over-size bodies."""
    if isinstance(error, RefusedAddress | Unreachable):
        return True
    return any(word in error.reason for word in ("scheme", "cap", "redirects", "no host"))


def _backoff(attempt: int) -> float:
    """The wait after failed attempt number ``attempt`` (1, 2, ...): 2, 4, 8, ... seconds."""
    return float(min(BACKOFF_BASE * (2 ** (attempt - 1)), BACKOFF_MAX))


def retry_after(response: Response, now: datetime) -> float | None:
    """Seconds asked for by a ``Retry-After`` header (delay-seconds or an HTTP-date)."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())
