"""STARTTLS with AUTH, and SMTPS, against a real aiosmtpd with a certificate made by openssl."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from paperfeed.config import Settings
from paperfeed.mail.transport import MailError, make_sender
from tests.mail.smtp_server import SmtpRecorder, free_port

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


@pytest.fixture
def certificate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ssl.SSLContext:
    """A self-signed certificate for localhost that the sender is told to trust."""
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def _authenticator(
    server: Any, session: Any, envelope: Any, mechanism: str, data: Any
) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"bot", b"p@ss:word")
    return AuthResult(success=ok)


def _started(**tls: Any) -> tuple[SmtpRecorder, int, Controller]:
    """A recording SMTP server on loopback, started, with the given TLS options."""
    recorder, port = SmtpRecorder(), free_port()
    controller = Controller(
        recorder,
        hostname="127.0.0.1",
        port=port,
        server_hostname="localhost",
        ready_timeout=10,
        **tls,
    )
    controller.start()
    return recorder, port, controller


@pytest.fixture
def starttls_server(certificate: ssl.SSLContext) -> Iterator[tuple[SmtpRecorder, int]]:
    recorder, port, controller = _started(
        tls_context=certificate,
        require_starttls=True,
        authenticator=_authenticator,
        auth_required=True,
        auth_require_tls=True,
    )
    yield recorder, port
    controller.stop()


def _message() -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@example.org", "b@example.org", "hi"
    message.set_content("over TLS")
    return message


def test_starttls_and_login(starttls_server: tuple[SmtpRecorder, int]) -> None:
    recorder, port = starttls_server
    url = f"smtp://bot:p%40ss%3Aword@localhost:{port}?starttls=1&timeout=10"
    sender = make_sender(Settings(smtp_url=url))
    sender.send(_message())
    sender.close()
    assert [r.rcpt for r in recorder.accepted()] == ["b@example.org"]


def test_wrong_password_and_missing_starttls_are_refused(
    starttls_server: tuple[SmtpRecorder, int],
) -> None:
    _, port = starttls_server
    for url in (
        f"smtp://bot:wrong@localhost:{port}?starttls=1&timeout=5",
        f"smtp://localhost:{port}?timeout=5",  # the server requires STARTTLS
    ):
        with pytest.raises(MailError) as caught:
            make_sender(Settings(smtp_url=url)).send(_message())
        # The server's or the configuration's problem, never the recipient's.
        assert caught.value.server_problem and not caught.value.permanent


def test_smtps(certificate: ssl.SSLContext) -> None:
    recorder, port, controller = _started(ssl_context=certificate)
    try:
        sender = make_sender(Settings(smtp_url=f"smtps://localhost:{port}?timeout=10"))
        sender.send(_message())
        sender.close()
    finally:
        controller.stop()
    assert len(recorder.accepted()) == 1


def test_untrusted_certificate_is_refused(
    starttls_server: tuple[SmtpRecorder, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, port = starttls_server
    monkeypatch.delenv("SSL_CERT_FILE")
    with pytest.raises(MailError, match=r"CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
        make_sender(Settings(smtp_url=f"smtp://bot:x@localhost:{port}?starttls=1")).send(_message())
