"""The mail transport against a real SMTP server on loopback."""

from __future__ import annotations

import io
from email.message import EmailMessage

import pytest

from paperfeed.config import Settings
from paperfeed.mail.transport import (
    ConsoleSender,
    MailConfigError,
    MailError,
    SmtpSender,
    make_sender,
    parse_smtp_url,
    transactional_from,
)
from tests.mail.smtp_server import SmtpRecorder, smtp_server


def _message(to: str = "reader@example.org") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "noreply@example.org"
    message["To"] = to
    message["Subject"] = "Hello"
    message["Message-ID"] = "<one@example.org>"
    message.set_content("body text")
    return message


def test_url_forms() -> None:
    cfg = parse_smtp_url("smtp://u%40x:p%3Ass@mail.example.org:587?starttls=1&timeout=7")
    assert (cfg.host, cfg.port, cfg.starttls, cfg.ssl) == ("mail.example.org", 587, True, False)
    assert (cfg.username, cfg.password, cfg.timeout) == ("u@x", "p:ss", 7.0)
    ssl_cfg = parse_smtp_url("smtps://mail.example.org")
    assert (ssl_cfg.port, ssl_cfg.ssl, ssl_cfg.starttls) == (465, True, False)
    assert parse_smtp_url("smtp://relay").port == 25
    for bad in ("http://x", "smtp://", "smtp://h:notaport", "smtp://h?timeout=soon"):
        with pytest.raises(MailConfigError):
            parse_smtp_url(bad)


def test_sends_over_smtp_and_reuses_the_connection() -> None:
    with smtp_server() as (recorder, port):
        sender = make_sender(Settings(smtp_url=f"smtp://127.0.0.1:{port}?timeout=5"))
        assert isinstance(sender, SmtpSender)
        sender.send(_message("a@example.org"))
        sender.send(_message("b@example.org"))
        sender.close()
    assert [r.rcpt for r in recorder.accepted()] == ["a@example.org", "b@example.org"]
    assert recorder.accepted()[0].message.get_content().strip() == "body text"


@pytest.mark.parametrize(
    ("reply", "code", "permanent"),
    [("451 4.3.0 try later", 451, False), ("550 5.1.1 no such user", 550, True)],
)
def test_refusals_raise_with_the_code(reply: str, code: int, permanent: bool) -> None:
    with smtp_server(SmtpRecorder(default=reply)) as (_, port):
        sender = make_sender(Settings(smtp_url=f"smtp://127.0.0.1:{port}"))
        with pytest.raises(MailError) as caught:
            sender.send(_message())
    assert caught.value.code == code
    assert caught.value.permanent is permanent


def test_dropped_connection_is_a_temporary_error_and_the_next_send_reconnects() -> None:
    recorder = SmtpRecorder(script={"a@example.org": ["drop"]})
    with smtp_server(recorder) as (_, port):
        sender = make_sender(Settings(smtp_url=f"smtp://127.0.0.1:{port}"))
        with pytest.raises(MailError) as caught:
            sender.send(_message("a@example.org"))
        assert not caught.value.permanent
        sender.send(_message("a@example.org"))
        sender.close()
    assert [r.reply for r in recorder.seen] == ["drop", "250 OK"]


def test_unreachable_server_is_a_clear_error() -> None:
    from tests.mail.smtp_server import free_port

    sender = make_sender(Settings(smtp_url=f"smtp://127.0.0.1:{free_port()}?timeout=2"))
    with pytest.raises(MailError, match="SMTP failure"):
        sender.send(_message())


def test_console_sender_prints_the_message() -> None:
    stream = io.StringIO()
    ConsoleSender(stream).send(_message())
    assert "Subject: Hello" in stream.getvalue()
    assert isinstance(make_sender(Settings(smtp_url="")), ConsoleSender)


def test_console_sender_prints_to_stderr_not_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    make_sender(Settings(smtp_url="")).send(_message())
    printed = capsys.readouterr()
    assert "Subject: Hello" in printed.err
    assert printed.out == ""


def test_transactional_from() -> None:
    assert transactional_from(Settings(base_url="https://papers.example.org")) == (
        "paperfeed <noreply@papers.example.org>"
    )
    assert transactional_from(Settings(mail_transactional_from="X <x@y.org>")) == "X <x@y.org>"
