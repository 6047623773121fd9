"""Digest rendering throughput: complete digest emails (10 papers, text + HTML, signed links,
headers) built and serialised to bytes per second. Goal: at least 1,000 a second.

    .venv/bin/python bench/digest_render.py [--digests 5000]

What one render is: the work ``send_due`` does per outbox row besides SMTP and the database —
two signed links (HMAC), both Jinja templates, the headers and the quoted-printable MIME
body (``mail.mime``: the bytes smtplib sends). Paper rows are loaded once, as in a send run.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from digest_common import fresh_store  # bench/ is on sys.path when run
from paperfeed.config import Settings
from paperfeed.mail.digest import PaperCache, build_raw
from paperfeed.mail.preview import sample_subscription


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--digests", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="paperfeed-bench-"))
    engine = fresh_store(f"sqlite:///{folder / 'bench.db'}", 500)
    settings = Settings(
        base_url="https://papers.example.org", secret_key="bench-secret", data_dir=folder
    )
    cache = PaperCache()
    with engine.connect() as conn:
        pool = cache.get(conn, list(range(1, 501)))
    subs = [sample_subscription("daily") for _ in range(10)]
    now = datetime.now(UTC)
    rates = []
    for _ in range(args.rounds):
        start = time.perf_counter()
        size = 0
        for i in range(args.digests):
            chosen = pool[(i * 7) % 490 : (i * 7) % 490 + 10]
            message = build_raw(settings, subs[i % 10], "2026-11-25", chosen, now)
            size += len(message.data)
        elapsed = time.perf_counter() - start
        rates.append(args.digests / elapsed)
        print(f"{args.digests} digests in {elapsed:.2f} s: {args.digests / elapsed:,.0f}/s")
    print(
        f"median {statistics.median(rates):,.0f} digests/s; {size / args.digests / 1024:.1f} KiB "
        f"each; Python {platform.python_version()} on {platform.machine()}"
    )


if __name__ == "__main__":
    main()
