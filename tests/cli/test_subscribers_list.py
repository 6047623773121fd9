"""`paperfeed subscribers list` shows an address suppressed by a hard bounce as suppressed."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import Result

from paperfeed import services
from tests.mail.conftest import confirmed
from tests.mail.test_bounces import dsn
from tests.test_cli import run, stats


def test_a_hard_bounced_address_is_listed_as_suppressed(store: Result, tmp_path: Path) -> None:
    engine = services.get_engine()
    confirmed(engine, "gone@example.org")
    confirmed(engine, "fine@example.org", "weekly")
    report = tmp_path / "bounce.eml"
    report.write_bytes(dsn("gone@example.org", "failed", "5.1.1", "550 5.1.1 no such user"))
    fed = run("bounces", str(report))
    assert fed.exit_code == 0, fed.output
    assert "gone@example.org: hard_bounce -> suppressed" in fed.stdout

    listed = run("subscribers", "list")
    assert listed.exit_code == 0, listed.output
    assert listed.stdout.splitlines() == [
        "fine@example.org  trending  weekly  active",
        "gone@example.org  trending  daily  suppressed",
    ]
    rows = json.loads(run("subscribers", "list", "--json").stdout)
    assert [(r["email"], r["status"], r["suppressed"]) for r in rows] == [
        ("fine@example.org", "active", False),
        ("gone@example.org", "suppressed", True),
    ]
    assert stats()["subscribers"] == 1  # the same count the listing shows as active

    assert run("subscribers", "unsuppress", "gone@example.org").exit_code == 0
    assert "gone@example.org  trending  daily  active" in run("subscribers", "list").stdout
