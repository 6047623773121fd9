"""A configuration the CLI cannot use: one error line naming what to fix, exit 2, no traceback."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.test_cli import run, said


def refused(*args: str) -> str:
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    return said(result)


@pytest.mark.parametrize(
    ("name", "value", "named"),
    [
        ("PAPERFEED_DIGEST_HOUR", "abc", "error: PAPERFEED_DIGEST_HOUR: "),
        ("PAPERFEED_DATABASE_URL", "bogus://x", "error: PAPERFEED_DATABASE_URL: must be"),
    ],
)
def test_a_bad_variable_is_named(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, named: str
) -> None:
    monkeypatch.setenv(name, value)
    assert refused("stats").startswith(named)


def test_a_malformed_config_file_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    toml = tmp_path / "settings.toml"
    toml.write_text("digest_hour = [\n")
    monkeypatch.setenv("PAPERFEED_CONFIG", str(toml))
    assert refused("stats").startswith(f"error: config file {toml} is not valid TOML")


def test_serve_refuses_a_port_out_of_range() -> None:
    assert refused("serve", "--port", "70000") == "error: --port must be 1 to 65535, not 70000"


def test_serve_names_an_address_already_in_use() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run("serve", "--port", str(port))
    assert result.exit_code == 1
    assert said(result).startswith(f"error: cannot listen on 127.0.0.1:{port}: ")
    assert "paperfeed on" not in result.output


def test_serve_names_a_host_it_cannot_resolve() -> None:
    assert refused("serve", "--host", "no-such-host.invalid").startswith(
        "error: --host no-such-host.invalid: "
    )
