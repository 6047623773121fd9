"""Signed feedback links: they round-trip, expire, and cannot be forged or altered."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paperfeed.rank.feedback import (
    FeedbackError,
    FeedbackToken,
    make_feedback_token,
    read_feedback_token,
)

SECRET = "test-secret"
VOTE = FeedbackToken(user_pk=7, paper_id="2401.12345", value=1, tag="rl")


def test_a_token_round_trips_until_it_expires() -> None:
    now = datetime(2026, 11, 25, tzinfo=UTC)
    token = make_feedback_token(SECRET, VOTE, now)
    assert read_feedback_token(SECRET, token, now + timedelta(days=29)) == VOTE
    with pytest.raises(FeedbackError, match="expired"):
        read_feedback_token(SECRET, token, now + timedelta(days=31))


def test_another_key_or_a_tampered_payload_is_refused() -> None:
    token = make_feedback_token(SECRET, VOTE)
    with pytest.raises(FeedbackError):
        read_feedback_token("another-secret", token)
    down = make_feedback_token(SECRET, FeedbackToken(7, "2401.12345", -1, "rl"))
    forged = down.split(".")[0] + "." + token.split(".")[1]
    with pytest.raises(FeedbackError):
        read_feedback_token(SECRET, forged)


@given(st.integers(min_value=0), st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ-_.=0123456789"))
def test_mutated_tokens_never_read(position: int, insert: str) -> None:
    token = make_feedback_token(SECRET, VOTE)
    position %= len(token)
    mutated = token[:position] + insert + token[position + 1 :]
    if mutated == token:
        return
    with pytest.raises(FeedbackError):
        read_feedback_token(SECRET, mutated)
