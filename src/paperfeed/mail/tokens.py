"""Signed, expiring, single-purpose links for email: confirm, unsubscribe, preferences.

A token is ``base64url(payload) "." base64url(HMAC-SHA256(key, payload))`` where the payload is
``purpose:subscription:version:expiry``. The key is derived from ``resolved_secret_key()`` for
this use only, so a token is worthless elsewhere (sessions, CSRF). The purpose is inside the
signed payload: a confirm token is not an unsubscribe token. Single use (confirm) is enforced
by the database (``confirm_version`` and ``confirmed_at``), not by the token.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from paperfeed import urlsafe

Purpose = Literal["confirm", "unsubscribe", "preferences"]

LIFETIMES: dict[str, timedelta] = {
    "confirm": timedelta(days=3),
    # Links in old digests keep working for a year (RFC 8058 asks for a long-lived URL).
    "unsubscribe": timedelta(days=400),
    "preferences": timedelta(days=400),
}
MAX_TOKEN_LENGTH = 200
_SIG_BYTES = 20


class TokenError(ValueError):
    """The link is malformed, forged, for something else, or expired."""


@dataclass(frozen=True, slots=True)
class Token:
    purpose: str
    subscription_pk: int
    version: int
    expires: datetime

    @property
    def issued(self) -> datetime:
        """When the token was made, to the second below (its expiry less its lifetime)."""
        return self.expires - LIFETIMES[self.purpose]


def _key(secret: str) -> bytes:
    return hmac.new(secret.encode(), b"paperfeed mail links v1", hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return urlsafe.encode(data)


def _unb64(text: str) -> bytes:
    try:
        return urlsafe.decode(text)
    except ValueError:
        raise TokenError("This link is not valid.") from None


def make_token(
    secret: str,
    purpose: Purpose,
    subscription_pk: int,
    version: int = 0,
    now: datetime | None = None,
) -> str:
    now = now or datetime.now(UTC)
    expires = int((now + LIFETIMES[purpose]).timestamp())
    payload = f"{purpose}:{subscription_pk}:{version}:{expires}".encode()
    signature = hmac.new(_key(secret), payload, hashlib.sha256).digest()[:_SIG_BYTES]
    return f"{_b64(payload)}.{_b64(signature)}"


def read_token(secret: str, token: str, purpose: Purpose, now: datetime | None = None) -> Token:
    """The token's content, if it is genuine, unexpired and made for ``purpose``."""
    if len(token) > MAX_TOKEN_LENGTH or token.count(".") != 1:
        raise TokenError("This link is not valid.")
    body, _, sig = token.partition(".")
    payload, signature = _unb64(body), _unb64(sig)
    expected = hmac.new(_key(secret), payload, hashlib.sha256).digest()[:_SIG_BYTES]
    if not hmac.compare_digest(signature, expected):
        raise TokenError("This link is not valid.")
    try:
        kind, sub, version, expires = payload.decode("ascii").split(":")
        parsed = Token(kind, int(sub), int(version), datetime.fromtimestamp(int(expires), UTC))
    except (ValueError, UnicodeDecodeError, OverflowError, OSError):
        raise TokenError("This link is not valid.") from None
    if parsed.purpose != purpose:
        raise TokenError("This link is not valid.")
    if (now or datetime.now(UTC)) >= parsed.expires:
        raise TokenError("This link has expired.")
    return parsed
