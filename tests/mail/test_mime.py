"""The digest's hand-written MIME parses back, with every header and both parts intact."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime

import pytest

from paperfeed.config import Settings
from paperfeed.mail.digest import DigestPaper, build_raw
from paperfeed.mail.mime import HeaderError, compose
from paperfeed.mail.subscriptions import Subscription

NOW = datetime(2026, 11, 25, 7, tzinfo=UTC)
HOSTILE = 'Über <script>alert(1)</script> "quotes" & ' + "λ" * 80


def test_non_ascii_subject_from_and_bodies_round_trip() -> None:
    settings = Settings(
        base_url="https://papers.example.org",
        secret_key="k",
        mail_from="Pâperfeed Digest <digest@papers.example.org>",
    )
    sub = Subscription(7, "r@example.org", "topic", HOSTILE, "daily", NOW, NOW, None, 1, None, None)
    paper = DigestPaper(
        1,
        "2503.11731",
        HOSTILE,
        "Zoë Ünal",
        "x" * 3000,
        3,
        "/papers/2503.11731",
        "https://arxiv.org/abs/2503.11731",
    )
    raw = build_raw(settings, sub, "2026-11-25", [paper], NOW)
    assert all(len(line) <= 998 for line in raw.data.split(b"\r\n"))
    assert raw.data.isascii()
    message = email.message_from_bytes(raw.data, policy=email.policy.default)
    assert HOSTILE in str(message["Subject"])
    assert message["From"].addresses[0].display_name == "Pâperfeed Digest"
    assert message["Message-ID"] == raw.message_id == "<digest.7.2026-11-25@papers.example.org>"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert HOSTILE in text and "x" * 200 in text
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Zoë Ünal" in html


@pytest.mark.parametrize(
    "headers",
    [[("Subject", "a\r\nBcc: x@y.org")], [("To", "a@b.org\nBcc: x@y.org")], [("To", "")]],
)
def test_line_breaks_in_headers_are_refused(headers: list[tuple[str, str]]) -> None:
    with pytest.raises(HeaderError):
        compose(headers, "t", "h", "a@b.org", "c@d.org")
