"""Alembic environment: runs against the connection paperfeed hands over, or the settings' URL."""

from __future__ import annotations

from typing import Any

from alembic import context

from paperfeed.config import get_settings
from paperfeed.store.embeddings_schema import HNSW_INDEX_PREFIX
from paperfeed.store.engine import make_engine
from paperfeed.store.schema import LEXICAL_OBJECTS, metadata


def _managed_elsewhere(name: str | None) -> bool:
    # The lexical index is raw SQL (FTS5 tables, a generated tsvector column), and the per-model
    # pgvector HNSW indexes are created by the indexer when a model is first used: neither is
    # in metadata, so Alembic must not try to drop them.
    return name in LEXICAL_OBJECTS or bool(name and name.startswith(HNSW_INDEX_PREFIX))


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    return not _managed_elsewhere(name)


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    return not _managed_elsewhere(name)


def _configure(connection: Any) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        include_object=include_object,
        include_name=include_name,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def run() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    # `-x url=...`, else the URL the caller's Config names (migrate.alembic_config), else settings.
    url = context.get_x_argument(as_dictionary=True).get("url")
    url = url or context.config.get_main_option("sqlalchemy.url")
    engine = make_engine(url or get_settings().resolved_database_url())
    try:
        with engine.connect() as conn:
            _configure(conn)
            with context.begin_transaction():
                context.run_migrations()
            conn.commit()
    finally:
        engine.dispose()


run()
