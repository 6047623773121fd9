"""`paperfeed users ...`: create accounts (the first admin too), list, suspend, API tokens."""

from __future__ import annotations

import sys
from typing import Annotated

import orjson
import typer
from sqlalchemy import Engine, select

from paperfeed.cli.app import app, console, fail, ready_engine, shown
from paperfeed.community.users import User, user_from_row
from paperfeed.store.community_schema import users
from paperfeed.store.engine import as_utc

users_app = typer.Typer(
    help="Accounts: add (admins too), list, suspend, API tokens.", no_args_is_help=True
)
app.add_typer(users_app, name="users")


def _user(engine: Engine, username: str) -> User:
    with engine.connect() as conn:
        row = conn.execute(select(users).where(users.c.username == username)).first()
    if row is None:
        raise fail(f"there is no account named {username!r} (see `paperfeed users list`)")
    return user_from_row(row)


def _interactive() -> bool:
    return sys.stdin.isatty()


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not _interactive():
        raise fail("no terminal to ask for the password: pass it with --password-stdin", 2)
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Argument(help="Login name.", show_default=False)],
    email: Annotated[str, typer.Argument(help="Email address.", show_default=False)],
    admin: Annotated[bool, typer.Option("--admin", help="Make the account an admin.")] = False,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Create an account (prompts for its password). The first admin is created this way."""
    from paperfeed.community.accounts import AccountError, register

    engine = ready_engine()
    password = _read_password(password_stdin)
    try:
        user = register(engine, username, email, password, is_admin=admin)
    except AccountError as error:
        raise fail(str(error)) from None
    role = "admin" if user.is_admin else "user"
    console.print(f"created {role} {shown(user.username)} <{shown(user.email)}>", highlight=False)


@users_app.command("list")
def users_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines.")] = False,
) -> None:
    """List accounts: username, email, role, suspended or not, created."""
    engine = ready_engine()
    with engine.connect() as conn:
        rows = conn.execute(select(users).order_by(users.c.pk)).all()
    listed = list(map(user_from_row, rows))
    if not as_json:
        _print_accounts(listed)
        return
    for user in listed:
        record = {
            "username": user.username,
            "email": user.email,
            "admin": user.is_admin,
            "suspended": user.suspended,
            "created_at": as_utc(user.created_at).isoformat(),
        }
        sys.stdout.write(orjson.dumps(record).decode() + "\n")


def _print_accounts(listed: list[User]) -> None:
    """One aligned line per account under a header; the last column is not padded."""
    if not listed:
        sys.stdout.write("No accounts yet.\n")
        return
    table = [("username", "email", "role", "suspended", "created (UTC)")]
    table += [
        (
            shown(user.username),
            shown(user.email),
            "admin" if user.is_admin else "user",
            "yes" if user.suspended else "no",
            as_utc(user.created_at).strftime("%Y-%m-%d %H:%M"),
        )
        for user in listed
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]) - 1)]
    for row in table:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        sys.stdout.write("  ".join([*cells, row[-1]]) + "\n")


@users_app.command("suspend")
def users_suspend(
    username: Annotated[str, typer.Argument(help="Account to suspend.", show_default=False)],
) -> None:
    """Suspend an account: it cannot log in, its sessions end, and its API tokens stop working
    until it is reinstated."""
    from paperfeed.community.accounts import set_suspended

    engine = ready_engine()
    set_suspended(engine, _user(engine, username).pk, True)
    console.print(f"suspended {shown(username)}", highlight=False)


@users_app.command("unsuspend")
def users_unsuspend(
    username: Annotated[str, typer.Argument(help="Account to reinstate.", show_default=False)],
) -> None:
    """Lift a suspension."""
    from paperfeed.community.accounts import set_suspended

    engine = ready_engine()
    set_suspended(engine, _user(engine, username).pk, False)
    console.print(f"unsuspended {shown(username)}", highlight=False)


@users_app.command("token")
def users_token(
    username: Annotated[str, typer.Argument(help="Account the token acts as.", show_default=False)],
    name: Annotated[str, typer.Option("--name", help="What the token is for.")] = "cli",
) -> None:
    """Print a new API token for scripts (send it as `Authorization: Bearer ...`)."""
    from paperfeed.community.sessions import create_api_token

    engine = ready_engine()
    user = _user(engine, username)
    if user.suspended:  # the token would be refused until then: say so instead of printing it
        raise fail(f"{username} is suspended: `paperfeed users unsuspend {username}` first")
    name = " ".join(name.split())
    if not name or len(name) > 100:
        raise fail("--name must have 1 to 100 characters")
    sys.stdout.write(create_api_token(engine, user.pk, name) + "\n")
