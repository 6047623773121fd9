"""Settings: declared once, with defaults and help, from PAPERFEED_* variables or paperfeed.toml.

Every field's ``description`` is its help text, and docs/settings.md is generated from them by
``python scripts/gen_docs.py``; ``tests/test_docs_generated.py`` fails until it is run after a
setting is added or changed.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import tomllib
from functools import lru_cache
from pathlib import Path

import platformdirs
from pydantic import Field, ValidationError, field_validator
from pydantic_core import ErrorDetails
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from paperfeed.private_files import private_dir

ENV_PREFIX = "PAPERFEED_"
DEFAULT_BASE_URL = "http://127.0.0.1:8000"
# Settings whose values may hold a password: an error about one does not repeat the value.
_SECRET_BEARING = {"database_url", "secret_key", "smtp_url", "github_token"}


class ConfigError(ValueError):
    """A setting or the config file is wrong; the message names which, and why."""


def _default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("paperfeed", appauthor=False))


class Settings(BaseSettings):
    """All of paperfeed's configuration. Each field is `PAPERFEED_<NAME>` in the environment."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    data_dir: Path = Field(
        default_factory=_default_data_dir,
        description="Folder for the embedded database, index files and the generated secret key.",
    )
    database_url: str = Field(
        default="",
        description="SQLAlchemy URL of the database. Empty: an SQLite file `paperfeed.db` in "
        "DATA_DIR. `postgresql://user:pass@host/db` (or a unix socket, "
        "`postgresql://user@/db?host=/run/postgresql`) selects PostgreSQL with pgvector.",
    )
    base_url: str = Field(
        default=DEFAULT_BASE_URL,
        description="Public URL of the site, used in links that leave the site (email, feeds, "
        "the API's `url` fields). Unset: `paperfeed serve` uses the address it listens on "
        "(`http://HOST:PORT`, loopback for 0.0.0.0 or ::); other commands (`worker`, `digest "
        "send`) use `http://127.0.0.1:8000`.",
    )
    secret_key: str = Field(
        default="",
        description="Key that signs sessions and email links. Empty: a random key is generated "
        "once and kept in DATA_DIR/secret_key.",
    )
    smtp_url: str = Field(
        default="",
        description="Outgoing mail server, e.g. `smtp://user:pass@host:587?starttls=1`. Empty: "
        "mail is printed to standard error instead (for development).",
    )
    smtp_timeout: float = Field(
        default=30.0,
        gt=0,
        description="Seconds to wait for the mail server to connect or answer.",
    )
    smtp_connections: int = Field(
        default=1,
        ge=1,
        le=32,
        description="Connections `digest send` and the worker open to the mail server at once, "
        "each sending its own share of the queue (a crash can then duplicate one message per "
        "connection).",
    )
    mail_from: str = Field(
        default="",
        description="From header of digests, e.g. `paperfeed <digest@example.org>`. Empty: "
        "`digest@` the host of BASE_URL.",
    )
    mail_transactional_from: str = Field(
        default="",
        description="From header of one-to-one mail (confirmations, password resets). Empty: "
        "`noreply@` the host of BASE_URL.",
    )
    digest_hour: int = Field(
        default=7,
        ge=0,
        le=23,
        description="Hour (UTC) at which `paperfeed worker` sends the day's digests; weekly "
        "digests go out on Mondays at that hour.",
    )
    digest_max_papers: int = Field(
        default=10,
        ge=1,
        le=100,
        description="Most papers in one digest.",
    )
    mail_lease_seconds: float = Field(
        default=300.0,
        gt=0,
        description="How long a sender holds queued digests it is sending; after a crash, "
        "another sender takes them over once this has passed. Keep it above SMTP_TIMEOUT.",
    )
    harvest_sets: str = Field(
        default="cs",
        description="arXiv OAI-PMH sets (comma-separated) that `paperfeed worker` harvests "
        "incrementally once a day. Empty: no harvest.",
    )
    soft_bounce_limit: int = Field(
        default=3,
        ge=1,
        description="Soft bounces in a row (with no delivery between) after which an address "
        "is suppressed.",
    )
    subscribe_daily_cap: int = Field(
        default=5,
        ge=1,
        description="Subscription requests accepted per email address per day, and four times "
        "as many per IP address (an office or a campus shares one); each sends a confirmation "
        "email.",
    )
    embedding_model: str = Field(
        default="paperfeed-minilm-sci",
        description="Sentence-embedding model for semantic search: the name of a shipped model "
        "(`paperfeed-minilm-sci`, all-MiniLM-L6-v2 adapted to scientific text) or the path of "
        "a folder made by `scripts/export_model.py`. Changing it re-embeds every paper.",
    )
    embedding_device: str = Field(
        default="auto",
        pattern="^(auto|cpu|openvino|cuda)$",
        description="Where to embed: `auto` (a CUDA GPU when PyTorch sees one; else OpenVINO in "
        "bfloat16 when `paperfeed[openvino]` is installed and the CPU computes bfloat16 "
        "natively; else ONNX Runtime), `cpu` (ONNX Runtime, int8), `openvino` (documents; "
        "queries stay on ONNX Runtime) or `cuda`.",
    )
    embedding_document_tokens: int | None = Field(
        default=None,
        ge=16,
        description="Wordpieces of a paper's title and abstract that the CPU embedders read "
        "(empty: the model's own length, 256 for the shipped model; a GPU always reads that). "
        "Fewer embed faster on CPUs without bfloat16, at a cost in quality measured in "
        "BENCHMARKS.md. Applies to papers embedded from then on: `paperfeed index --rebuild` "
        "re-embeds the others.",
    )
    for_you_window_days: int = Field(
        default=7,
        ge=1,
        le=366,
        description='"For you" ranks the papers of this many most recent days (counted back '
        "from the newest day in the store).",
    )
    index_on_ingest: bool = Field(
        default=True,
        description="Embed new and changed papers at the end of every ingest, so semantic search "
        "stays current (off: run `paperfeed index` yourself, e.g. on a GPU machine).",
    )
    sqlite_cache_mb: int = Field(
        default=64,
        ge=1,
        description="Page cache of each SQLite connection, in MiB (SQLite's own default is 2). "
        "Search at a million papers reads many index pages: 64 cut its median latency by a "
        "fifth (BENCHMARKS.md). It is memory per open connection, filled only as pages are read.",
    )
    ingest_batch_size: int = Field(
        default=2000,
        ge=1,
        description="Records written per database transaction during ingest.",
    )
    allow_private_urls: bool = Field(
        default=False,
        description="Allow URL sources on loopback and private networks (off: refused, "
        "to prevent server-side request forgery).",
    )
    fetch_max_bytes: int = Field(
        default=200_000_000,
        ge=1,
        description="Largest response body accepted from a URL source, in bytes.",
    )
    fetch_timeout: float = Field(
        default=30.0,
        gt=0,
        description="Seconds to wait for a URL source to connect or send more data.",
    )
    arxiv_api_url: str = Field(
        default="https://export.arxiv.org/api/query",
        description="arXiv API endpoint (Atom feeds) used by `arxiv:` sources and submissions.",
    )
    arxiv_oai_url: str = Field(
        default="https://oaipmh.arxiv.org/oai",
        description="arXiv OAI-PMH endpoint used by `oai:` sources.",
    )
    arxiv_delay: float = Field(
        default=3.0,
        ge=0,
        description="Seconds between requests to arXiv (its politeness rule asks for 3).",
    )
    arxiv_max_retries: int = Field(
        default=5,
        ge=0,
        description="Retries of an arXiv request answered 503 / 429 or cut off, with backoff.",
    )
    hf_api_url: str = Field(
        default="https://huggingface.co",
        description="Hugging Face endpoint used by `hf-daily:` sources.",
    )
    hf_daily_import: bool = Field(
        default=True,
        description="`paperfeed worker` imports Hugging Face Daily Papers (upvotes, submitter, "
        "GitHub repository and stars, project page) every hour for the last HF_DAILY_DAYS "
        "days, from HF_API_URL. Off: no requests to Hugging Face.",
    )
    hf_daily_days: int = Field(
        default=3,
        ge=1,
        le=30,
        description="Days of Hugging Face Daily Papers the worker re-imports (today and the "
        "days before): upvotes keep coming for a few days after a paper is featured.",
    )
    github_stars_refresh: bool = Field(
        default=True,
        description="`paperfeed worker` refreshes the GitHub stars of papers' code "
        "repositories once a day (GITHUB_API_URL), within GitHub's rate limits. Off: no "
        "requests to GitHub.",
    )
    github_api_url: str = Field(
        default="https://api.github.com",
        description="GitHub REST API endpoint used for stars.",
    )
    github_token: str = Field(
        default="",
        description="Optional GitHub token for star refreshes (5,000 requests an hour instead "
        "of 60); it needs no scopes.",
    )
    trending_half_life_hours: float = Field(
        default=24.0,
        gt=0,
        description="Trending: hours after which a unit of activity (an upvote, comment, view, "
        "star or imported upvote) counts half as much.",
    )
    trending_window_days: int = Field(
        default=14,
        ge=1,
        description="Trending: days of activity that count at all (older activity has decayed "
        "to almost nothing and is ignored).",
    )
    trending_weight_upvote: float = Field(
        default=1.0,
        ge=0,
        description="Trending: points per (decayed) upvote on this site.",
    )
    trending_weight_comment: float = Field(
        default=2.0,
        ge=0,
        description="Trending: points per (decayed) comment.",
    )
    trending_weight_view: float = Field(
        default=0.05,
        ge=0,
        description="Trending: points per (decayed) paper-page view.",
    )
    trending_weight_stars: float = Field(
        default=1.0,
        ge=0,
        description="Trending: points per doubling of the (decayed) GitHub-star growth of the "
        "paper's code repository: weight x log2(1 + growth).",
    )
    trending_weight_external: float = Field(
        default=0.5,
        ge=0,
        description="Trending: points per upvote imported from Hugging Face, decayed from the "
        "day the paper was featured.",
    )
    count_views: bool = Field(
        default=True,
        description="Count paper-page views for trending: browser navigations only, once per "
        "person (signed-in account, else a keyed hash of address and browser), paper and day, "
        "counted in memory and written in batches. Off: GET requests never write.",
    )
    view_flush_seconds: float = Field(
        default=30.0,
        gt=0,
        description="Views are written at most this many seconds after they happen (or "
        "sooner, at VIEW_FLUSH_BATCH); a crash loses at most these views, nothing else.",
    )
    view_flush_batch: int = Field(
        default=500,
        ge=1,
        description="Views held in memory before they are written in one transaction.",
    )
    comment_burst: int = Field(
        default=10,
        ge=1,
        description="Comments one account may post in 10 minutes (more get 429 with "
        "`Retry-After`).",
    )
    comments_per_day: int = Field(
        default=100,
        ge=1,
        description="Comments one account may post in a day.",
    )
    page_cache_seconds: int = Field(
        default=60,
        ge=0,
        le=86_400,
        description="Anonymous pages and feeds are served from memory for up to this many "
        "seconds, and at once renewed by any write that changes them (votes, comments, ingest, "
        'hiding). Time alone ages "new" badges and trending scores, hence the limit. 0: off.',
    )
    trusted_proxies: str = Field(
        default="",
        description="Comma-separated IP addresses or CIDR ranges of reverse proxies whose "
        "`X-Forwarded-For` header is believed (for rate limits per client address). Empty: "
        "the header is ignored and the TCP peer is the client.",
    )
    allowed_hosts: str = Field(
        default="",
        description="Comma-separated host names the site answers to, besides the host of "
        "BASE_URL and the loopback names (localhost, 127.0.0.1, ::1), which are always allowed. "
        "A request for any other host gets 400, so a DNS-rebinding page cannot drive a private "
        "instance. `*` allows every host (only behind a proxy that checks the host itself).",
    )
    log_level: str = Field(
        default="WARNING",
        description="Log level of paperfeed's structured (JSON lines) logs on stderr.",
    )

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        if not value:
            return value
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            backend = make_url(value).get_backend_name()
        except ArgumentError:
            backend = ""
        if backend not in ("sqlite", "postgresql", "postgres"):
            raise ValueError("must be an sqlite:/// or postgresql:// URL")
        return value

    @field_validator("embedding_document_tokens", mode="before")
    @classmethod
    def _empty_is_the_model_length(cls, value: object) -> object:
        return None if value == "" else value  # `PAPERFEED_EMBEDDING_DOCUMENT_TOKENS=` unsets it

    @field_validator("trusted_proxies")
    @classmethod
    def _check_trusted_proxies(cls, value: str) -> str:
        for item in value.replace(" ", ",").split(","):
            if item:
                ipaddress.ip_network(item, strict=False)  # ValueError names the bad entry
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment beats the toml file, which beats the defaults. The file is looked up at
        # each load (not at import) so PAPERFEED_CONFIG can point elsewhere at any time.
        toml_file = config_file()
        if toml_file is None:
            return (init_settings, env_settings)
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file))

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'paperfeed.db'}"

    def resolved_secret_key(self) -> str:
        """The configured key, else one generated on first use and kept in the data dir."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if not path.exists():
            private_dir(path.parent)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
        return path.read_text().strip()


def served_base_url(host: str, port: int) -> str:
    """The URL a browser uses for a server listening on ``host``:``port``.

    A wildcard host (0.0.0.0, ::) is no address to link to: links name loopback instead.
    """
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return f"http://{host}:{port}"  # a host name
    if address.is_unspecified:
        address = ipaddress.ip_address("::1" if address.version == 6 else "127.0.0.1")
    shown = f"[{address}]" if address.version == 6 else str(address)
    return f"http://{shown}:{port}"


def use_served_address(host: str, port: int) -> str:
    """Make the address ``serve`` listens on the base URL, unless one is configured; return the
    base URL in force.

    Set in this process's environment, so every Settings made from now on (the app, uvicorn's
    worker processes, which inherit it) agrees; other processes (a worker started beside the
    server) keep their own setting or the default.
    """
    if "base_url" not in get_settings().model_fields_set:
        os.environ[ENV_PREFIX + "BASE_URL"] = served_base_url(host, port)
        get_settings.cache_clear()
    return get_settings().base_url


def config_file() -> str | None:
    """The toml file to read: PAPERFEED_CONFIG (empty: none), else paperfeed.toml if present."""
    return os.environ.get("PAPERFEED_CONFIG", "paperfeed.toml") or None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings; a :class:`ConfigError` names the setting or file that is wrong."""
    named = os.environ.get("PAPERFEED_CONFIG")
    # A file named on purpose and not there is a mistake (a typo, a missing mount), not a hint
    # to run on defaults; paperfeed.toml in the current folder stays optional.
    if named and not Path(named).is_file():
        raise ConfigError(f"PAPERFEED_CONFIG names {named}, which is not a file")
    try:
        return Settings()
    except ValidationError as error:
        raise ConfigError("; ".join(map(_describe, error.errors()))) from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"config file {config_file()} is not valid TOML: {error}") from None
    except OSError as error:
        raise ConfigError(f"cannot read config file {config_file()}: {error.strerror}") from None


def _describe(problem: ErrorDetails) -> str:
    """One validation problem, under the name the user set it by (variable or file key)."""
    name = str(problem["loc"][0]) if problem["loc"] else "settings"
    variable = ENV_PREFIX + name.upper()
    if any(key.upper() == variable for key in os.environ):
        where = variable
    else:
        where = f"{name} in {config_file()}"
    reason = str(problem["msg"]).removeprefix("Value error, ")
    if name in _SECRET_BEARING:
        return f"{where}: {reason}"
    return f"{where}: {reason} (got {problem['input']!r})"


def setting_env_names() -> list[str]:
    """The environment variable of every declared setting, for docs and their test."""
    return [ENV_PREFIX + name.upper() for name in Settings.model_fields]
