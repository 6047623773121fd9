"""RELIABILITY 1 (two senders at once) and 2 (SIGKILL loop) with real `paperfeed digest send`
processes, a real SMTP server on loopback, on SQLite and PostgreSQL.

Kills: ``PAPERFEED_TEST_MAIL_KILLS`` (default 25; RELIABILITY.md's 200 with ``-m slow`` via the
slow test below).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from paperfeed.config import Settings
from paperfeed.store.mail_schema import outbox
from tests.conftest import REPO
from tests.mail.conftest import Smtp, confirmed, store_papers

# Import everything, then wait for the gate file: both processes start sending together.
GATED = (
    "import os, sys, time\n"
    "from paperfeed.cli import main\n"
    "while not os.path.exists(sys.argv[1]):\n"
    "    time.sleep(0.001)\n"
    "sys.argv = ['paperfeed'] + sys.argv[2:]\n"
    "main()\n"
)
SEND = ["digest", "send", "--frequency", "daily"]


def sender(gate: Path | None = None) -> subprocess.Popen[bytes]:
    args = (
        [sys.executable, "-c", GATED, str(gate), *SEND]
        if gate
        else [sys.executable, "-m", "paperfeed", *SEND]
    )
    return subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def subscribe_many(engine: Engine, count: int) -> list[str]:
    emails = [f"reader{i:03d}@example.org" for i in range(count)]
    for email in emails:
        confirmed(engine, email)
    return emails


def outbox_rows(engine: Engine) -> list[tuple[str, str, str]]:
    with engine.connect() as conn:
        return [
            (r.email, r.status, r.message_id)
            for r in conn.execute(select(outbox.c.email, outbox.c.status, outbox.c.message_id))
        ]


def test_two_senders_started_together_make_one_digest_per_user(
    engine: Engine, settings: Settings, smtp: Smtp, tmp_path: Path
) -> None:
    """RELIABILITY 1."""
    store_papers(engine, 20)
    emails = subscribe_many(engine, 40)
    gate = tmp_path / "go"
    processes = [sender(gate), sender(gate)]
    time.sleep(1.5)  # both have imported paperfeed and wait at the gate
    gate.touch()
    for process in processes:
        _, err = process.communicate(timeout=180)
        assert process.returncode == 0, err.decode()
    rows = outbox_rows(engine)
    assert sorted(email for email, _, _ in rows) == emails, "one outbox row per user"
    assert {status for _, status, _ in rows} == {"sent"}
    accepted = smtp.recorder.accepted()
    assert sorted(r.rcpt for r in accepted) == emails, "one message per user"
    assert len({r.message_id for r in accepted}) == len(emails)


def kill_loop(engine: Engine, smtp: Smtp, loops: int, rng: random.Random) -> int:
    """Start the sender, SIGKILL it after 0-3 more messages plus a random delay; repeat."""
    kills = 0
    for _ in range(loops):
        before, more = len(smtp.recorder.seen), rng.randint(0, 3)
        process = sender()
        deadline = time.monotonic() + 60
        while process.poll() is None and len(smtp.recorder.seen) < before + more:
            if time.monotonic() > deadline:
                break
            time.sleep(0.002)
        time.sleep(rng.uniform(0, 0.03))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        process.communicate(timeout=60)
        with engine.connect() as conn:
            left = conn.execute(
                select(func.count()).where(outbox.c.status.in_(("queued", "sending")))
            ).scalar_one()
        if left == 0 and len(outbox_rows(engine)) > 0:
            break
    return kills


def crash_test(
    engine: Engine, settings: Settings, smtp: Smtp, users: int, loops: int, seed: int
) -> None:
    store_papers(engine, 12)
    emails = subscribe_many(engine, users)
    smtp.recorder.delay = 0.01
    kills = kill_loop(engine, smtp, loops, random.Random(seed))
    assert kills > 0
    # Recovery as documented: leases of killed senders run out; the next run sends the rest.
    time.sleep(settings.mail_lease_seconds + 0.2)
    process = sender()
    _, err = process.communicate(timeout=300)
    assert process.returncode == 0, err.decode()

    rows = outbox_rows(engine)
    assert sorted(email for email, _, _ in rows) == emails, "one digest per user and period"
    assert {status for _, status, _ in rows} == {"sent"}
    received: dict[str, set[str]] = defaultdict(set)
    copies = Counter()
    for r in smtp.recorder.accepted():
        received[r.rcpt].add(r.message_id)
        copies[r.message_id] += 1
    assert set(received) == set(emails), "every queued digest arrived at least once"
    assert all(len(ids) == 1 for ids in received.values()), "a duplicate shares its Message-ID"
    duplicates = sum(n - 1 for n in copies.values())
    # A duplicate needs a kill between the server's 250 and the commit: at most one per kill.
    print(f"kills={kills} duplicates={duplicates} messages={len(smtp.recorder.seen)}")
    assert duplicates <= kills


def test_sigkill_loop_never_loses_a_digest(
    engine: Engine, settings: Settings, smtp: Smtp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RELIABILITY 2 (PAPERFEED_TEST_MAIL_KILLS loops, default 25)."""
    loops = int(os.environ.get("PAPERFEED_TEST_MAIL_KILLS", "25"))
    monkeypatch.setenv("PAPERFEED_MAIL_LEASE_SECONDS", "1")
    settings = settings.model_copy(update={"mail_lease_seconds": 1.0})
    crash_test(engine, settings, smtp, users=120, loops=loops, seed=2)


@pytest.mark.slow
def test_sigkill_loop_200_times(
    engine: Engine, settings: Settings, smtp: Smtp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RELIABILITY 2 at full length: 200 kills."""
    monkeypatch.setenv("PAPERFEED_MAIL_LEASE_SECONDS", "1")
    settings = settings.model_copy(update={"mail_lease_seconds": 1.0})
    crash_test(engine, settings, smtp, users=600, loops=200, seed=200)
