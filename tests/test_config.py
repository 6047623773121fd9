"""Settings that cannot be used are a ConfigError naming the variable or file key to fix."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from paperfeed import config
from paperfeed.config import ConfigError


def load(monkeypatch: pytest.MonkeyPatch, **env: str) -> config.Settings:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config.get_settings.cache_clear()
    return config.get_settings()


def test_a_bad_variable_is_named_with_its_value(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match=r"^PAPERFEED_DIGEST_HOUR: .*integer.*'abc'"):
        load(monkeypatch, PAPERFEED_DIGEST_HOUR="abc")


def test_a_bad_file_key_is_named_with_the_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    toml = tmp_path / "settings.toml"
    toml.write_text("digest_hour = 24\n")
    with pytest.raises(ConfigError, match=rf"^digest_hour in {re.escape(str(toml))}: .*23"):
        load(monkeypatch, PAPERFEED_CONFIG=str(toml))


def test_a_file_that_is_not_toml_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    toml = tmp_path / "settings.toml"
    toml.write_text("base_url = [\n")
    not_toml = rf"^config file {re.escape(str(toml))} is not valid TOML"
    with pytest.raises(ConfigError, match=not_toml):
        load(monkeypatch, PAPERFEED_CONFIG=str(toml))


@pytest.mark.parametrize("url", ["bogus://x", "not a url", "mysql://u:hunter2@h/db"])
def test_a_database_url_paperfeed_cannot_use_is_refused_without_echoing_it(
    monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    with pytest.raises(ConfigError, match=r"^PAPERFEED_DATABASE_URL: must be") as raised:
        load(monkeypatch, PAPERFEED_DATABASE_URL=url)
    assert url not in str(raised.value)


@pytest.mark.parametrize(
    "url", ["sqlite:///x.db", "postgresql://u:p@/db?host=/run/postgresql", "postgres://h/db"]
)
def test_supported_database_urls_load(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    assert load(monkeypatch, PAPERFEED_DATABASE_URL=url).database_url == url


def test_a_config_file_named_but_missing_is_an_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    missing = tmp_path / "nonexistent.toml"
    with pytest.raises(ConfigError, match=f"^PAPERFEED_CONFIG names {re.escape(str(missing))}"):
        load(monkeypatch, PAPERFEED_CONFIG=str(missing))


def test_an_empty_paperfeed_config_reads_no_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "paperfeed.toml").write_text("digest_hour = 99\n")  # would be refused if read
    monkeypatch.chdir(tmp_path)
    assert load(monkeypatch, PAPERFEED_CONFIG="").digest_hour == 7
