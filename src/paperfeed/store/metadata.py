"""The one ``MetaData`` every table of the store registers on.

It sits below all the schema modules (papers in ``schema``, the community's, the mail's, the
dense index's, "for you"'s), so each can register its tables without importing another;
``schema`` imports them all, so ``schema.metadata`` holds every table (Alembic compares it).
"""

from __future__ import annotations

from sqlalchemy import MetaData

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)
