"""Service functions shared by the CLI, the web pages and the API (none of them touch SQL)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import Connection, Engine, Table, func, inspect, select

from paperfeed.config import Settings, get_settings
from paperfeed.domain import Paper
from paperfeed.mail.subscriptions import active_subscription_count
from paperfeed.store import migrate, papers
from paperfeed.store.community_schema import comments, users, votes
from paperfeed.store.embeddings import count_embeddings
from paperfeed.store.engine import SQLITE_CACHE_MB, make_engine, sqlite_file
from paperfeed.store.mail_schema import suppressions


class DatabaseNotReady(Exception):
    """The schema is missing or older than this code; `paperfeed db upgrade` fixes it."""


@lru_cache(maxsize=8)
def engine_for(url: str, sqlite_cache_mb: int = SQLITE_CACHE_MB) -> Engine:
    return make_engine(url, sqlite_cache_mb=sqlite_cache_mb)


def get_engine(settings: Settings | None = None) -> Engine:
    settings = settings or get_settings()
    return engine_for(settings.resolved_database_url(), settings.sqlite_cache_mb)


def get_ready_engine(settings: Settings | None = None) -> Engine:
    """The configured database once its schema is current, else DatabaseNotReady.

    Creates nothing: opening an SQLite engine creates the file (and its folder), which a
    command that only reads must not do.
    """
    settings = settings or get_settings()
    require_existing_sqlite_file(settings.resolved_database_url())
    engine = get_engine(settings)
    require_current_schema(engine)
    return engine


def require_existing_sqlite_file(url: str) -> None:
    """DatabaseNotReady when ``url`` names an SQLite file, or a folder of it, that is missing."""
    path = sqlite_file(url)
    if path is None:  # another backend, in memory, or a URI left to SQLite to open
        return
    if not path.parent.is_dir():
        raise DatabaseNotReady(
            f"the folder of the database, {path.parent}, does not exist (check "
            "PAPERFEED_DATABASE_URL or PAPERFEED_DATA_DIR; `paperfeed db upgrade` creates it)"
        )
    if not path.exists():
        raise DatabaseNotReady(
            f"the database {path} does not exist yet; create it with `paperfeed db upgrade` "
            "(or `make run`, which also loads the sample papers)"
        )


def suppressed_addresses(engine: Engine) -> set[str]:
    """Addresses nothing is sent to (hard bounce, complaint, repeated soft bounces, 5xx)."""
    with engine.connect() as conn:
        return set(conn.execute(select(suppressions.c.email)).scalars())


def require_current_schema(engine: Engine) -> None:
    if not migrate.is_current(engine):
        raise DatabaseNotReady(
            f"the database at {engine.url.render_as_string(hide_password=True)} is not at the "
            "current schema; run `paperfeed db upgrade`"
        )


def reset_database(engine: Engine) -> None:
    """Drop every table (including alembic's) and migrate again from empty."""
    with engine.begin() as conn:
        names = inspect(conn).get_table_names()
        if engine.dialect.name == "sqlite":
            # Children before parents: foreign keys stay enforced (the pragma that would turn
            # them off is a no-op inside a transaction), and dropping a table deletes its rows.
            ordered = [t for t, _ in inspect(conn).get_sorted_table_and_fkc_names() if t]
            for name in [*reversed(ordered), *(n for n in names if n not in ordered)]:
                if not name.startswith("papers_fts_"):
                    conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{name}"')
        else:
            for name in names:
                conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{name}" CASCADE')
    migrate.upgrade(engine)


@dataclass(frozen=True, slots=True)
class Stats:
    papers: int
    authors: int
    users: int
    votes: int
    comments: int
    subscribers: int
    embedded: int  # papers with a vector of the configured embedding model (the dense index)
    schema_revision: str | None

    def as_dict(self) -> dict[str, object]:
        return {
            "papers": self.papers,
            "authors": self.authors,
            "users": self.users,
            "votes": self.votes,
            "comments": self.comments,
            "subscribers": self.subscribers,
            "embedded": self.embedded,
            "schema_revision": self.schema_revision,
        }


def stats(engine: Engine) -> Stats:
    def count(conn: Connection, table: Table) -> int:
        return int(conn.execute(select(func.count()).select_from(table)).scalar() or 0)

    with engine.connect() as conn:
        return Stats(
            papers=papers.count_papers(conn),
            authors=papers.count_authors(conn),
            users=count(conn, users),
            votes=count(conn, votes),
            comments=count(conn, comments),
            # Confirmed, active subscriptions of addresses that are not suppressed.
            subscribers=active_subscription_count(conn),
            embedded=count_embeddings(conn, get_settings().embedding_model),
            schema_revision=migrate.current_revision(engine),
        )


def latest_papers(engine: Engine, limit: int = 50) -> list[Paper]:
    with engine.connect() as conn:
        return papers.latest_papers(conn, limit)


def is_empty(engine: Engine) -> bool:
    with engine.connect() as conn:
        return papers.count_papers(conn) == 0
