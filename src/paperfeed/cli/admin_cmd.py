"""`paperfeed stats` and `paperfeed serve`."""

from __future__ import annotations

import socket
import sys
from typing import Annotated

import orjson
import typer

from paperfeed import services
from paperfeed.cli.app import app, console, fail, out, ready_engine, shown
from paperfeed.config import use_served_address


@app.command()
def stats(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Counts: papers, authors, users, votes, comments, subscribers, embedded papers, schema."""
    result = services.stats(ready_engine()).as_dict()
    if as_json:
        sys.stdout.write(orjson.dumps(result).decode() + "\n")
        return
    for key, value in result.items():
        out.print(f"{key:>16}: {shown(value)}", highlight=False)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
) -> None:
    """Serve the web site and the JSON API."""
    import uvicorn

    if not 1 <= port <= 65535:
        raise fail(f"--port must be 1 to 65535, not {port}", 2)
    _refuse_an_address_in_use(host, port)
    base_url = use_served_address(host, port)
    ready_engine()
    console.print(f"paperfeed on http://{host}:{port}/ (links use {base_url})", highlight=False)
    uvicorn.run(
        "paperfeed.web.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
    )


def _refuse_an_address_in_use(host: str, port: int) -> None:
    """Say that serve cannot listen before saying where it listens (uvicorn says so after)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as error:
        raise fail(f"--host {host}: {error.strerror}", 2) from None
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind(address)
        except OSError as error:
            raise fail(f"cannot listen on {host}:{port}: {error.strerror}") from None
