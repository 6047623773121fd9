"""Fixtures of the web tests."""

from __future__ import annotations

import pytest

from tests.web.chromium import require_chromium


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's Chromium, looked for once a session (tests/web/chromium.py says what if not)."""
    return require_chromium()
