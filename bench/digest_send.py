"""Digest delivery: 10,000 confirmed subscribers through a local SMTP server. Goal: ≤ 60 s.

    .venv/bin/python bench/digest_send.py [--subscribers 10000] [--database-url URL]

The SMTP server is aiosmtpd in its own process on 127.0.0.1 (accepting every message, as a
local relay would). Timed in this process, as ``paperfeed digest send`` runs them: creating
the outbox rows (composing every digest, one transaction per 500 subscriptions) and sending
them (lease, send-time checks, render, SMTP over one reused connection, commit ``sent`` per
message). The server's count of received messages is checked against the subscribers.
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from digest_common import confirmed_subscribers, fresh_store  # bench/ is on sys.path when run
from paperfeed.config import Settings
from paperfeed.mail import outbox
from paperfeed.mail.transport import make_sender


def serve(port: int, count_file: str) -> None:
    """The SMTP sink (run in a child process): counts messages, writes the count on SIGTERM."""
    from aiosmtpd.controller import Controller

    class Sink:
        received = 0

        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
            Sink.received += 1
            return "250 OK"

    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()

    def stop(*_: object) -> None:
        controller.stop()
        Path(count_file).write_text(str(Sink.received))
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    print("ready", flush=True)
    signal.pause()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--papers", type=int, default=500)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--connections", type=int, default=1, help="SMTP_CONNECTIONS")
    parser.add_argument("--serve", nargs=2, metavar=("PORT", "COUNT_FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(int(args.serve[0]), args.serve[1])
        return
    folder = Path(tempfile.mkdtemp(prefix="paperfeed-bench-"))
    url = args.database_url or f"sqlite:///{folder / 'bench.db'}"
    engine = fresh_store(url, args.papers)
    confirmed_subscribers(engine, args.subscribers)
    port, count_file = free_port(), folder / "count"
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(port), str(count_file)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None and server.stdout.readline().strip() == "ready"
    settings = Settings(
        base_url="https://papers.example.org",
        secret_key="bench-secret",
        data_dir=folder,
        smtp_url=f"smtp://127.0.0.1:{port}",
        smtp_connections=args.connections,
    )
    try:
        start = time.perf_counter()
        created = outbox.enqueue(engine, settings, "daily")
        composed = time.perf_counter()
        sent = outbox.send_due(
            engine, settings, make_sender(settings), more_senders=lambda: make_sender(settings)
        )
        finished = time.perf_counter()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    received = int(count_file.read_text())
    assert created.created == args.subscribers, created
    assert sent.sent == args.subscribers == received, (sent, received)
    backend = engine.dialect.name
    print(
        f"{args.subscribers:,} subscribers ({backend}): outbox rows in {composed - start:.1f} s, "
        f"sent in {finished - composed:.1f} s, total {finished - start:.1f} s "
        f"({args.subscribers / (finished - start):,.0f} digests/s); server received {received:,}; "
        f"{args.connections} SMTP connections; Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs"
    )


if __name__ == "__main__":
    main()
