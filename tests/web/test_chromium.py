"""Without Chromium a browser test fails with one line saying what to do; it skips only where
PAPERFEED_SKIP_BROWSER_TESTS=1 asks for it."""

from __future__ import annotations

import sys

import pytest

from tests.web.chromium import require_chromium


def test_a_missing_chromium_fails_with_one_line_saying_how_to_install_or_opt_out() -> None:
    with pytest.raises(pytest.fail.Exception) as failed:
        require_chromium("/nonexistent/chromium", skip=False)
    message = str(failed.value)
    assert "\n" not in message
    assert "no Chromium at /nonexistent/chromium" in message
    assert "apt-get install chromium" in message
    assert "PAPERFEED_SKIP_BROWSER_TESTS=1" in message


def test_a_missing_chromium_skips_only_when_asked() -> None:
    with pytest.raises(pytest.skip.Exception, match="PAPERFEED_SKIP_BROWSER_TESTS=1"):
        require_chromium("/nonexistent/chromium", skip=True)


def test_a_present_browser_is_used_whatever_the_opt_out() -> None:
    assert require_chromium(sys.executable, skip=True) == sys.executable
    assert require_chromium(sys.executable, skip=False) == sys.executable
