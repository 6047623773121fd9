"""Web load benchmark: real HTTP against ``paperfeed serve`` over a store of realistic days.

The store is made from the real corpus (``bench/make_arxiv_snapshot.py``'s ids and records):
``--records`` papers, ``--per-day`` listings a day ending today, a few percent with imported
upvotes, trending recomputed. A small asyncio HTTP/1.1 keep-alive client of our own (httpx
costs more CPU per request than the server under test) then runs, for each page of the mix
and ``/healthz`` (the floor) in the same run:

- latency: one connection, requests back to back (p50/p99 of the round trip on loopback,
  which is the server's time plus a few tens of µs);
- throughput: ``--clients`` connections at once for ``--seconds``.

Then the same mix while a bulk ingest of ``--ingest-records`` more papers runs, with upvotes
POSTed through the site: errors and the slowest write are reported.

    .venv/bin/python bench/web_load.py --records 1000000 --cpus 0,1
    .venv/bin/python bench/web_load.py --records 100000 --database-url postgresql://... --workers 2
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make `bench.*` importable
    sys.path.insert(0, str(ROOT))

from bench.make_arxiv_snapshot import arxiv_id, corpus_records  # noqa: E402
from paperfeed.domain import PaperRecord  # noqa: E402
from paperfeed.ingest.service import run_ingest  # noqa: E402
from paperfeed.store import migrate  # noqa: E402
from paperfeed.store.engine import make_engine  # noqa: E402

OUT = ROOT / "bench" / "out"
SESSION_COOKIE = "__Host-paperfeed_session"


class RealisticDays:
    """An ingest Source: ``records`` real papers (repeated), ``per_day`` listed a day, the last
    day ``last``; one in 20 with imported upvotes (a skewed count, as Hugging Face's are)."""

    def __init__(self, records: int, per_day: int, last: date, start: int = 0) -> None:
        self.records, self.per_day, self.last, self.start = records, per_day, last, start
        self.size, self._done = None, 0
        self.label = self.key = f"web-load-{start}-{records}-{per_day}-{last}"

    def items(self, cursor: str | None) -> Iterator[PaperRecord]:
        rng = random.Random(self.start)
        days = -(-(self.start + self.records) // self.per_day)
        for n, raw in zip(
            range(self.start, self.start + self.records), corpus_records(), strict=False
        ):
            self._done += 1
            upvotes = int(rng.paretovariate(1.2)) if rng.random() < 0.05 else None
            yield PaperRecord(
                id=arxiv_id(n),
                title=str(raw["title"]),
                abstract=str(raw["abstract"]),
                authors=list(raw["authors"]),
                categories=[c for c in raw["categories"] if len(c) <= 64],
                featured_day=self.last - timedelta(days=days - 1 - n // self.per_day),
                upvotes=upvotes,
            )

    def position(self) -> int:
        return self._done


def build(url: str, records: int, per_day: int) -> None:
    engine = make_engine(url)
    migrate.upgrade(engine)
    started = time.perf_counter()
    source = RealisticDays(records, per_day, datetime.now(UTC).date())
    run_ingest(engine, source, batch_size=5000)  # type: ignore[arg-type]
    print(f"store ready: {records:,} papers ({time.perf_counter() - started:.0f} s)", flush=True)
    engine.dispose()
    _paperfeed(url, "trending", "--recompute", "--limit", "1")


def _env(url: str) -> dict[str, str]:
    return {**os.environ, "PAPERFEED_DATABASE_URL": url, "PAPERFEED_DATA_DIR": str(OUT)}


def _paperfeed(url: str, *args: str) -> None:
    command = [sys.executable, "-m", "paperfeed", *args]
    subprocess.run(command, env=_env(url), check=True, stdout=subprocess.DEVNULL)


def prepare_users(url: str) -> tuple[str, str]:
    """A session cookie (the signed-in home page) and an API token (upvotes)."""
    from sqlalchemy import insert

    from paperfeed.community.sessions import create_api_token, start_session
    from paperfeed.store.community_schema import users
    from paperfeed.store.engine import write_transaction

    engine = make_engine(url)
    name = f"bench{time.time_ns()}"
    row = {"username": name[:40], "email": f"{name}@example.org", "password_hash": "-"}
    with write_transaction(engine) as conn:
        created = datetime.now(UTC) - timedelta(days=30)  # old enough to vote
        values = {**row, "is_admin": False, "created_at": created}
        user = conn.execute(insert(users).values(values).returning(users.c.pk)).scalar_one()
    return start_session(engine, user), create_api_token(engine, user, "bench")


class Client:
    """One HTTP/1.1 keep-alive connection: just enough protocol for this benchmark."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, headers: str = "", body: bytes = b"") -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}"
        if body:
            head += f"Content-Length: {len(body)}\r\n"
        self.writer.write(head.encode() + b"\r\n" + body)
        status_line = await self.reader.readline()
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        await self.reader.readexactly(length)
        return int(status_line.split()[1])


def pages(day: date, paper: str, cookie: str) -> dict[str, tuple[str, str]]:
    week = f"{day.isocalendar()[0]}-W{day.isocalendar()[1]:02d}"
    signed_in = f"Cookie: {SESSION_COOKIE}={cookie}\r\n"
    return {
        "healthz": ("/healthz", ""),
        "home": ("/", ""),
        "trending": ("/trending", ""),
        "day": (f"/date/{(day - timedelta(days=1)).isoformat()}", ""),
        "week": (f"/week/{week}", ""),
        "paper": (f"/papers/{paper}", ""),
        "search": ("/search?q=attention+for+long+documents", ""),
        "home signed in": ("/", signed_in),
    }


async def latency(port: int, path: str, headers: str, n: int) -> list[float]:
    client = Client("127.0.0.1", port)
    times = []
    for _ in range(n):
        started = time.perf_counter()
        status = await client.request("GET", path, headers)
        times.append(time.perf_counter() - started)
        assert status == 200, (path, status)
    return times


async def throughput(port: int, path: str, headers: str, clients: int, seconds: float) -> dict:
    done, errors, stop = [0], [0], time.perf_counter() + seconds

    async def one() -> None:
        client = Client("127.0.0.1", port)
        while time.perf_counter() < stop:
            status = await client.request("GET", path, headers)
            done[0] += 1
            errors[0] += status != 200

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(clients)))
    return {"rps": done[0] / (time.perf_counter() - started), "errors": errors[0]}


def summary(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1] * 1000, 2),
    }


async def measure(port: int, mix: dict[str, tuple[str, str]], args: argparse.Namespace) -> dict:
    results: dict[str, dict[str, float]] = {}
    for name, (path, headers) in mix.items():
        await latency(port, path, headers, 20)  # warm: the first render, the pool, the caches
        times = await latency(port, path, headers, args.requests)
        results[name] = {
            **summary(times),
            **await throughput(port, path, headers, args.clients, args.seconds),
        }
        print(name, results[name], flush=True)
    floor = results["healthz"]["p50_ms"]
    for name in results:
        results[name]["x_healthz"] = round(results[name]["p50_ms"] / floor, 2)
    return results


async def during_ingest(
    port: int, mix: dict[str, tuple[str, str]], token: str, paper: str, args: argparse.Namespace
) -> dict:
    """The mix, round robin on ``--clients`` connections, plus upvotes, while ingest runs."""
    ingest = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--ingest-only",
            "--records",
            str(args.ingest_records),
            "--start",
            str(args.records),
            "--database-url",
            args.database_url,
            "--per-day",
            str(args.per_day),
        ],
        env=_env(args.database_url),
    )
    errors, slowest, count = [0], {"read": 0.0, "write": 0.0}, [0]
    paths = list(mix.values())

    async def reader(index: int) -> None:
        client = Client("127.0.0.1", port)
        while ingest.poll() is None:
            path, headers = paths[(index + count[0]) % len(paths)]
            started = time.perf_counter()
            status = await client.request("GET", path, headers)
            slowest["read"] = max(slowest["read"], time.perf_counter() - started)
            errors[0] += status != 200
            count[0] += 1

    async def voter() -> None:
        client = Client("127.0.0.1", port)
        auth = f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        want = True
        while ingest.poll() is None:
            body = json.dumps({"upvoted": want}).encode()
            started = time.perf_counter()
            status = await client.request("POST", f"/api/papers/{paper}/upvote", auth, body)
            slowest["write"] = max(slowest["write"], time.perf_counter() - started)
            errors[0] += status != 200
            count[0] += 1
            want = not want
            await asyncio.sleep(0.05)

    started = time.perf_counter()
    await asyncio.gather(*(reader(i) for i in range(args.clients)), voter())
    return {
        "seconds": round(time.perf_counter() - started, 1),
        "requests": count[0],
        "errors": errors[0],
        "slowest_read_ms": round(slowest["read"] * 1000, 1),
        "slowest_write_ms": round(slowest["write"] * 1000, 1),
        "ingest_exit": ingest.returncode,
    }


def serve(args: argparse.Namespace, port: int) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "paperfeed",
        "serve",
        "--port",
        str(port),
        "--workers",
        str(args.workers),
    ]
    if args.cpus:
        command = ["taskset", "-c", args.cpus, *command]
    env = {**_env(args.database_url), "PAPERFEED_COUNT_VIEWS": "false"}
    env["PAPERFEED_PAGE_CACHE_SECONDS"] = str(args.page_cache_seconds)
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    for _ in range(600):
        try:
            asyncio.run(latency(port, "/healthz", "", 1))
            return process
        except (OSError, AssertionError):
            time.sleep(0.1)
    raise SystemExit("paperfeed serve did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--per-day", type=int, default=1000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--cpus", default="", help="taskset CPU list for the server, e.g. 0,1")
    parser.add_argument("--port", type=int, default=8590)
    parser.add_argument("--requests", type=int, default=500, help="latency requests per page")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--ingest-records", type=int, default=50_000)
    parser.add_argument(
        "--page-cache-seconds", type=int, default=60, help="0: the baseline without the cache"
    )
    parser.add_argument("--pages", nargs="*", default=None, help="only these pages of the mix")
    parser.add_argument("--no-ingest", action="store_true", help="skip the run during ingest")
    parser.add_argument("--ingest-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--start", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.database_url = args.database_url or f"sqlite:///{OUT / f'web-{args.records}.db'}"
    OUT.mkdir(parents=True, exist_ok=True)
    if args.ingest_only:  # the bulk ingest that runs beside the load
        engine = make_engine(args.database_url)
        source = RealisticDays(args.records, args.per_day, datetime.now(UTC).date(), args.start)
        run_ingest(engine, source, batch_size=5000)  # type: ignore[arg-type]
        return
    from paperfeed.store.papers import count_papers

    engine = make_engine(args.database_url)
    migrate.upgrade(engine)
    with engine.connect() as conn:
        stored = count_papers(conn)
    if stored < args.records:
        build(args.database_url, args.records, args.per_day)
    cookie, token = prepare_users(args.database_url)
    paper = arxiv_id(args.records - 10)
    server = serve(args, args.port)
    try:
        mix = pages(datetime.now(UTC).date(), paper, cookie)
        if args.pages:
            mix = {name: mix[name] for name in ["healthz", *args.pages]}
        result = {"steady": asyncio.run(measure(args.port, mix, args))}
        if not args.no_ingest:
            result["during_ingest"] = asyncio.run(during_ingest(args.port, mix, token, paper, args))
    finally:
        server.terminate()
        server.wait()
    setup = {"records": args.records, "workers": args.workers, "cpus": args.cpus}
    print(json.dumps({**setup, "cache_s": args.page_cache_seconds, **result}, indent=1))


if __name__ == "__main__":
    main()
