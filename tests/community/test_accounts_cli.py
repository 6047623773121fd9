"""`paperfeed users ...` through Typer's CliRunner, on both backends."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner, Result

from paperfeed.cli import app
from paperfeed.community import accounts
from paperfeed.community.sessions import api_token_user, session_user, start_session

PASSWORD = "correct horse battery staple"


def run(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(app, list(args), input=stdin, prog_name="paperfeed")


def said(result: Result) -> str:
    return " ".join(result.stderr.split())


def test_the_first_admin_is_added_from_the_command_line(engine: Engine) -> None:
    result = run(
        "users",
        "add",
        "root-ada",
        "Ada@Example.org",
        "--admin",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    assert "created admin root-ada <ada@example.org>" in said(result)
    user = accounts.authenticate(engine, "root-ada", PASSWORD)
    assert user.is_admin and user.email == "ada@example.org"
    plain = run("users", "add", "bob", "bob@example.org", "--password-stdin", stdin=PASSWORD)
    assert plain.exit_code == 0 and "created user bob" in said(plain)
    assert not accounts.authenticate(engine, "bob", PASSWORD).is_admin


def test_add_refuses_bad_input_with_the_reason(engine: Engine) -> None:
    weak = run("users", "add", "ada", "ada@example.org", "--password-stdin", stdin="password\n")
    assert weak.exit_code == 1 and "too common" in said(weak)
    no_terminal = run("users", "add", "ada", "ada@example.org")
    assert no_terminal.exit_code == 2 and "--password-stdin" in said(no_terminal)
    run("users", "add", "ada", "ada@example.org", "--password-stdin", stdin=PASSWORD)
    duplicate = run("users", "add", "Ada", "x@example.org", "--password-stdin", stdin=PASSWORD)
    assert duplicate.exit_code == 1 and "username is taken" in said(duplicate)


def test_list_suspend_unsuspend_and_token(engine: Engine) -> None:
    run("users", "add", "ada", "ada@example.org", "--admin", "--password-stdin", stdin=PASSWORD)
    run("users", "add", "bob", "bob@example.org", "--password-stdin", stdin=PASSWORD)
    listed = run("users", "list", "--json")
    assert listed.exit_code == 0
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert all(row["created_at"].endswith("+00:00") for row in rows)  # UTC, and says so
    assert [(r["username"], r["admin"], r["suspended"]) for r in rows] == [
        ("ada", True, False),
        ("bob", False, False),
    ]
    bob = accounts.authenticate(engine, "bob", PASSWORD)
    session = start_session(engine, bob.pk)
    token = run("users", "token", "bob", "--name", "nightly script")
    assert token.exit_code == 0 and token.stdout.startswith("pf_")
    api_token = token.stdout.strip()
    assert api_token_user(engine, api_token) == bob

    assert run("users", "suspend", "bob").exit_code == 0
    lines = run("users", "list").stdout.splitlines()
    assert lines[0].split()[:5] == ["username", "email", "role", "suspended", "created"]
    listing = [line.split()[:4] for line in lines[1:]]
    assert listing == [
        ["ada", "ada@example.org", "admin", "no"],
        ["bob", "bob@example.org", "user", "yes"],
    ]
    assert session_user(engine, session) is None and api_token_user(engine, api_token) is None
    refused = run("users", "token", "bob")  # it would not work: no token is printed
    assert refused.exit_code == 1 and "bob is suspended" in said(refused)
    assert not refused.stdout.startswith("pf_")
    assert run("users", "unsuspend", "bob").exit_code == 0
    assert api_token_user(engine, api_token) is not None
    assert accounts.authenticate(engine, "bob", PASSWORD).pk == bob.pk

    missing = run("users", "suspend", "nobody")
    assert missing.exit_code == 1 and "no account named 'nobody'" in said(missing)


def test_add_prompts_for_the_password_twice_at_a_terminal(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from paperfeed.cli import users_cmd

    monkeypatch.setattr(users_cmd, "_interactive", lambda: True)
    mismatch = run("users", "add", "ada", "ada@example.org", stdin=f"{PASSWORD}\nother\n")
    assert mismatch.exit_code != 0 and "do not match" in mismatch.output
    result = run(
        "users", "add", "ada", "ada@example.org", "--admin", stdin=f"{PASSWORD}\n{PASSWORD}\n"
    )
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    assert accounts.authenticate(engine, "ada", PASSWORD).is_admin
