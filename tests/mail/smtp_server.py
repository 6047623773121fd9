"""A real SMTP server (aiosmtpd) on loopback for the mail tests, with scripted answers.

``SmtpRecorder.script`` maps a recipient to the replies to give its next DATA commands, in
order ("250 OK", "451 ...", "550 ...", or "drop" to close the connection after DATA without
answering); once a recipient's script is used up, ``default`` applies.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from tests.live_server import free_port


@dataclass
class Received:
    rcpt: str
    message: EmailMessage
    reply: str

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])


@dataclass
class SmtpRecorder:
    default: str = "250 OK"
    # Seconds to wait before answering DATA (a slow server: crash tests land mid-send).
    delay: float = 0.0
    script: dict[str, list[str]] = field(default_factory=dict)
    # Every DATA the server read, whatever it answered.
    seen: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def accepted(self) -> list[Received]:
        """Messages the server took responsibility for (answered 250 or dropped after DATA)."""
        with self.lock:
            return [r for r in self.seen if r.reply.startswith("250") or r.reply == "drop"]

    def accepted_for(self, rcpt: str) -> list[Received]:
        return [r for r in self.accepted() if r.rcpt == rcpt]

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        rcpt = envelope.rcpt_tos[0]
        with self.lock:
            queue = self.script.get(rcpt)
            reply = queue.pop(0) if queue else self.default
            self.seen.append(Received(rcpt, message, reply))
        if reply == "drop":
            server.transport.close()
            return "250 OK (never sent)"
        return reply


@contextmanager
def smtp_server(recorder: SmtpRecorder | None = None) -> Iterator[tuple[SmtpRecorder, int]]:
    recorder = recorder or SmtpRecorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port, ready_timeout=10)
    controller.start()
    try:
        yield recorder, port
    finally:
        controller.stop()
