"""The `paperfeed` command line: parses arguments, calls services, prints with rich.

Each group of commands lives in its own module; importing them registers them on ``app``.
"""

from __future__ import annotations

from paperfeed.cli import (  # noqa: F401
    admin_cmd,
    db_cmd,
    ingest_cmd,
    mail_cmd,
    search_cmd,
    trending_cmd,
    users_cmd,
)
from paperfeed.cli.app import app


def main() -> None:
    app()
