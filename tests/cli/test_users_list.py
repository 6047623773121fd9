"""`paperfeed users list` shows what its help says: username, email, role, suspended, created."""

from __future__ import annotations

from datetime import UTC, datetime

from typer.testing import CliRunner, Result

from paperfeed.cli import app
from tests.test_cli import run

PASSWORD = "correct horse battery staple\n"


def test_the_table_has_role_suspended_and_created_columns(store: Result) -> None:
    for username, flags in (("ada", ["--admin"]), ("bob", [])):
        args = ["users", "add", username, f"{username}@example.org", *flags, "--password-stdin"]
        added = CliRunner().invoke(app, args, input=PASSWORD, prog_name="paperfeed")
        assert added.exit_code == 0, added.output
    assert run("users", "suspend", "bob").exit_code == 0
    result = run("users", "list")
    assert result.exit_code == 0, result.output
    header, *lines = [line.split("  ") for line in result.stdout.splitlines()]
    header = [cell.strip() for cell in header if cell.strip()]
    assert header == ["username", "email", "role", "suspended", "created (UTC)"]
    rows = [[cell.strip() for cell in line if cell.strip()] for line in lines]
    assert [row[:4] for row in rows] == [
        ["ada", "ada@example.org", "admin", "no"],
        ["bob", "bob@example.org", "user", "yes"],
    ]
    for row in rows:
        created = datetime.strptime(row[4], "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
        assert abs((datetime.now(UTC) - created).total_seconds()) < 120, row  # now, in UTC


def test_no_accounts_says_so(store: Result) -> None:
    result = run("users", "list")
    assert result.exit_code == 0, result.output
    assert result.stdout == "No accounts yet.\n"
