"""`paperfeed ingest URL` with a host spelled in octal or no valid IDNA name: one error line."""

from __future__ import annotations

import pytest
from typer.testing import Result

from tests.test_cli import run, said


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://0177.0.0.1/", "refused: 0177.0.0.1 is the private or reserved address 127.0.0.1"),
        ("http://0x7f.1/feed.json", "refused: 0x7f.1 is the private or reserved address"),
        ("http://xn--a.com/", "invalid host 'xn--a.com'"),
        ("http://a..b/", "invalid host 'a..b'"),
        ("http://[::1/", "not a valid URL"),
    ],
)
def test_ingest_of_such_a_url_is_one_error_naming_it(store: Result, url: str, reason: str) -> None:
    result = run("ingest", url)
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert said(result).startswith(f"error: {url}: {reason}"), result.stderr
    assert result.stderr.count("error:") == 1
