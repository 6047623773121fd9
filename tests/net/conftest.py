"""A local HTTP server for network-source tests: recorded files and scripted behaviours.

Routes map a path to a function of the query string that returns a Reply; every request is
recorded with its start and end times so tests can check arXiv's spacing and one-at-a-time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from paperfeed import config

RECORDED = Path(__file__).resolve().parent.parent / "data" / "recorded"


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    trickle: float | None = None  # seconds between single bytes (a slowloris server)
    delay: float = 0.0  # seconds to wait before answering


@dataclass
class Seen:
    path: str
    query: dict[str, str]
    started: float
    ended: float = 0.0


Route = Callable[[dict[str, str]], Reply]


def recorded(name: str, status: int = 200, delay: float = 0.0) -> Reply:
    body = (RECORDED / name).read_bytes()
    kind = "application/json" if name.endswith(".json") else "application/xml"
    return Reply(status, body, {"Content-Type": kind}, delay=delay)


class Server:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.seen: list[Seen] = []
        self.active = 0
        self.max_active = 0
        self._lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"

    def route(self, path: str, fn: Route) -> None:
        self.routes[path] = fn

    def enter(self, seen: Seen) -> None:
        with self._lock:
            self.seen.append(seen)
            self.active += 1
            self.max_active = max(self.max_active, self.active)

    def leave(self, seen: Seen) -> None:
        with self._lock:
            self.active -= 1
            seen.ended = time.monotonic()


def _handler(server: Server) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            seen = Seen(parts.path, query, time.monotonic())
            server.enter(seen)
            try:
                route = server.routes.get(parts.path)
                reply = route(query) if route else Reply(404, b"not found")
                self._send(reply)
            except (BrokenPipeError, ConnectionResetError):
                pass
            finally:
                server.leave(seen)

        def _send(self, reply: Reply) -> None:
            time.sleep(reply.delay)
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.send_header("Connection", "close")
            self.end_headers()
            if reply.trickle is None:
                self.wfile.write(reply.body)
                return
            for index in range(len(reply.body)):
                self.wfile.write(reply.body[index : index + 1])
                self.wfile.flush()
                time.sleep(reply.trickle)

    return Handler


@pytest.fixture
def server() -> Iterator[Server]:
    """A threaded HTTP server on 127.0.0.1 and a free port."""
    instance = Server()
    thread = threading.Thread(target=instance.httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield instance
    instance.httpd.shutdown()
    instance.httpd.server_close()


@pytest.fixture
def net_env(server: Server, monkeypatch: pytest.MonkeyPatch) -> Server:
    """Settings that point every network source at the local server (private URLs allowed)."""
    monkeypatch.setenv("PAPERFEED_ALLOW_PRIVATE_URLS", "1")
    monkeypatch.setenv("PAPERFEED_ARXIV_API_URL", f"{server.url}/api/query")
    monkeypatch.setenv("PAPERFEED_ARXIV_OAI_URL", f"{server.url}/oai")
    monkeypatch.setenv("PAPERFEED_HF_API_URL", server.url)
    monkeypatch.setenv("PAPERFEED_ARXIV_DELAY", "0.01")
    monkeypatch.setenv("PAPERFEED_FETCH_TIMEOUT", "2")
    config.get_settings.cache_clear()
    return server
