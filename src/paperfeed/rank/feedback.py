"""👍 / 👎 on recommendations, categories picked at cold start, and signed feedback links.

Feedback trains the tag a paper was recommended from (its classifier's fingerprint changes, so
it is retrained on the next request). Digest emails carry one link per paper and vote: a
signed, expiring token naming the user, the paper, the vote and the tag, usable for nothing
else (its key is derived for this purpose only). Opening the link shows a page; only its POST
records the vote, because mail scanners follow links.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, insert, select

from paperfeed import urlsafe
from paperfeed.store.engine import write_transaction
from paperfeed.store.recommend_schema import recommendation_feedback, user_categories
from paperfeed.store.schema import papers

TOKEN_LIFETIME = timedelta(days=30)
MAX_CATEGORIES = 20
VALUES = {"up": 1, "down": -1}


class FeedbackError(ValueError):
    """A vote that cannot be recorded (unknown paper, bad value or token); says why."""


@dataclass(frozen=True, slots=True)
class FeedbackToken:
    user_pk: int
    paper_id: str
    value: int
    tag: str


def record_feedback(engine: Engine, user_pk: int, paper_id: str, value: int, tag: str = "") -> None:
    """Store the user's vote on ``paper_id`` (a new vote replaces the old one)."""
    if value not in (1, -1):
        raise FeedbackError("A vote is up (+1) or down (-1).")
    tag = tag.strip()[:80]
    with write_transaction(engine) as conn:
        paper_pk = conn.execute(select(papers.c.pk).where(papers.c.id == paper_id)).scalar()
        if paper_pk is None:
            raise FeedbackError(f"No paper with id {paper_id!r}.")
        conn.execute(
            delete(recommendation_feedback).where(
                recommendation_feedback.c.user_pk == user_pk,
                recommendation_feedback.c.paper_pk == paper_pk,
            )
        )
        row = {"user_pk": user_pk, "paper_pk": paper_pk, "tag": tag, "value": value}
        conn.execute(insert(recommendation_feedback).values(**row, created_at=datetime.now(UTC)))


def set_categories(engine: Engine, user_pk: int, categories: list[str]) -> list[str]:
    """Replace the user's picked categories (cold start); returns what was kept."""
    kept = sorted({c.strip() for c in categories if c.strip()})[:MAX_CATEGORIES]
    if any(len(c) > 64 for c in kept):
        raise FeedbackError("A category name is at most 64 characters.")
    with write_transaction(engine) as conn:
        conn.execute(delete(user_categories).where(user_categories.c.user_pk == user_pk))
        for category in kept:
            conn.execute(insert(user_categories).values(user_pk=user_pk, category=category))
    return kept


def _key(secret: str) -> bytes:
    return hashlib.sha256(f"paperfeed recommendation feedback:{secret}".encode()).digest()


def make_feedback_token(secret: str, token: FeedbackToken, now: datetime | None = None) -> str:
    expires = int(((now or datetime.now(UTC)) + TOKEN_LIFETIME).timestamp())
    fields = [str(token.user_pk), token.paper_id, str(token.value), token.tag, str(expires)]
    payload = "\x1f".join(fields).encode()
    mac = hmac.new(_key(secret), payload, hashlib.sha256).digest()[:16]
    return urlsafe.encode(payload) + "." + urlsafe.encode(mac)


def read_feedback_token(secret: str, text: str, now: datetime | None = None) -> FeedbackToken:
    """The vote a genuine, unexpired feedback token carries; FeedbackError otherwise."""
    try:
        payload_text, mac_text = text.split(".", 1)
        payload, mac = urlsafe.decode(payload_text), urlsafe.decode(mac_text)
    except ValueError:
        raise FeedbackError("This feedback link is not valid.") from None
    expected = hmac.new(_key(secret), payload, hashlib.sha256).digest()[:16]
    if not hmac.compare_digest(mac, expected):
        raise FeedbackError("This feedback link is not valid.")
    user_pk, paper_id, value, tag, expires = payload.decode().split("\x1f")
    if int(expires) < (now or datetime.now(UTC)).timestamp():
        raise FeedbackError("This feedback link has expired.")
    return FeedbackToken(int(user_pk), paper_id, int(value), tag)
