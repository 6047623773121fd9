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


def test_digest_html_has_no_markup_from_the_data() -> None:
    """RELIABILITY 13 for the digest: hostile titles, authors and summaries stay text."""
    from bs4 import BeautifulSoup

    settings = Settings(base_url="https://papers.example.org", secret_key="k")
    sub = Subscription(3, "r@example.org", "trending", "", "daily", NOW, NOW, None, 1, None, None)
    hostile = [
        DigestPaper(
            i,
            f"2503.1173{i}",
            title,
            author,
            summary,
            i,
            f"/papers/2503.1173{i}",
            f"https://arxiv.org/abs/2503.1173{i}",
        )
        for i, (title, author, summary) in enumerate(
            [
                ("<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "<b>bold</b>"),
                ('<a href="javascript:alert(1)">x</a>', "<svg onload=alert(1)>", "javascript:x"),
            ]
        )
    ]
    message = email.message_from_bytes(
        build_raw(settings, sub, "2026-11-25", hostile, NOW).data, policy=email.policy.default
    )
    html = message.get_body(("html",)).get_content()
    soup = BeautifulSoup(html, "html.parser")
    assert soup.find_all(["script", "img", "svg", "b"]) == []
    assert not [a for tag in soup.find_all(True) for a in tag.attrs if a.startswith("on")]
    assert all(a["href"].startswith("https://") for a in soup.find_all("a", href=True))
