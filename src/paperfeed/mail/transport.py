"""Sending one email: SMTP from ``PAPERFEED_SMTP_URL``, or stderr when it is empty.

``make_sender(settings).send(message)`` is the whole interface. URL forms:

- ``smtp://user:pass@host:587?starttls=1`` – plain SMTP, upgraded with STARTTLS;
- ``smtps://user:pass@host:465`` – SMTP over TLS from the first byte;
- ``smtp://host:25`` – no TLS, no auth (a local relay).

Query options: ``starttls=1``, ``timeout=SECONDS`` (default ``PAPERFEED_SMTP_TIMEOUT``),
``insecure=1`` (skip certificate checks: only for a test relay). A failure raises
:class:`MailError`, whose ``permanent`` tells a 5xx refusal from a 4xx / network problem.
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
import ssl
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, parseaddr
from typing import Protocol, TextIO
from urllib.parse import parse_qs, unquote, urlsplit

from paperfeed.config import Settings
from paperfeed.mail.mime import RawMessage

log = logging.getLogger(__name__)

# A connection idle longer than this is reopened rather than reused (servers drop idle clients).
_MAX_IDLE_S = 5.0


class MailError(Exception):
    """Sending failed. ``code`` is the SMTP reply code when the server answered one.

    ``permanent``: the server refused this message or recipient for good (5xx after MAIL
    FROM). ``server_problem``: connecting, TLS, login or the sender address failed — nothing
    about the recipient; every other message would fail the same way.
    """

    def __init__(
        self,
        message: str,
        code: int | None = None,
        *,
        permanent: bool = False,
        server_problem: bool = False,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.permanent = permanent and not server_problem
        self.server_problem = server_problem


class MailConfigError(ValueError):
    """``PAPERFEED_SMTP_URL`` cannot be understood."""


class MailSender(Protocol):
    def send(self, message: EmailMessage) -> None: ...

    def send_raw(self, message: RawMessage) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    ssl: bool
    starttls: bool
    username: str | None
    password: str | None
    timeout: float
    verify: bool = True


def parse_smtp_url(url: str, default_timeout: float = 30.0) -> SmtpConfig:
    """Read ``smtp://`` / ``smtps://`` URLs into a config, with a clear error when malformed."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise MailConfigError(
            f"SMTP URL must start with smtp:// or smtps://, got {parts.scheme or 'nothing'}://"
        )
    if not parts.hostname:
        raise MailConfigError("SMTP URL has no host, e.g. smtp://user:pass@mail.example.org:587")
    try:
        port = parts.port
    except ValueError as error:
        raise MailConfigError(f"SMTP URL has a bad port: {error}") from None
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}

    def flag(name: str) -> bool:
        return query.get(name, "0").lower() in ("1", "true", "yes", "on")

    use_ssl = parts.scheme == "smtps"
    try:
        timeout = float(query.get("timeout", default_timeout))
    except ValueError:
        raise MailConfigError("SMTP URL timeout must be a number of seconds") from None
    return SmtpConfig(
        host=parts.hostname,
        port=port or (465 if use_ssl else 25),
        ssl=use_ssl,
        starttls=flag("starttls") and not use_ssl,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        timeout=timeout,
        verify=not flag("insecure"),
    )


def _classify(error: Exception, connecting: bool = False) -> MailError:
    found = _describe(error)
    if connecting or isinstance(error, smtplib.SMTPSenderRefused):
        return MailError(
            f"cannot send through the mail server: {found}", found.code, server_problem=True
        )
    return found


def _describe(error: Exception) -> MailError:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        code = max(codes) if codes else None
        return MailError(f"recipient refused: {error.recipients}", code, permanent=_is_5xx(code))
    if isinstance(error, smtplib.SMTPResponseException):
        code = error.smtp_code
        text = (
            error.smtp_error.decode("utf-8", "replace")
            if isinstance(error.smtp_error, bytes)
            else str(error.smtp_error)
        )
        return MailError(f"SMTP server answered {code} {text}", code, permanent=_is_5xx(code))
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return MailError(f"SMTP server closed the connection: {error}")
    if isinstance(error, (OSError, smtplib.SMTPException)):
        return MailError(f"SMTP failure: {error.__class__.__name__}: {error}")
    return MailError(str(error))


def _is_5xx(code: int | None) -> bool:
    return code is not None and 500 <= code < 600


class SmtpSender:
    """Sends over SMTP, reusing one connection for messages sent in quick succession."""

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config
        self._conn: smtplib.SMTP | None = None
        self._last_used = 0.0

    def _connect(self) -> smtplib.SMTP:
        cfg = self.config
        context = ssl.create_default_context()
        if not cfg.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        conn: smtplib.SMTP
        if cfg.ssl:
            conn = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=cfg.timeout, context=context)
        else:
            conn = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout)
        try:
            conn.ehlo()
            if cfg.starttls:
                conn.starttls(context=context)
                conn.ehlo()
            if cfg.username:
                conn.login(cfg.username, cfg.password or "")
        except BaseException:
            _quiet_close(conn)
            raise
        return conn

    def send(self, message: EmailMessage) -> None:
        self._deliver(lambda conn: conn.send_message(message))

    def send_raw(self, message: RawMessage) -> None:
        """Send prepared bytes (digests: see ``mime``) to their envelope recipient."""
        self._deliver(
            lambda conn: conn.sendmail(message.mail_from, [message.rcpt_to], message.data)
        )

    def _deliver(self, action: Callable[[smtplib.SMTP], object]) -> None:
        if self._conn is not None and time.monotonic() - self._last_used > _MAX_IDLE_S:
            self.close()
        if self._conn is None:
            try:
                self._conn = self._connect()
            except Exception as error:
                raise _classify(error, connecting=True) from error
        try:
            action(self._conn)
        except Exception as error:
            # After any failure the session state is unknown: start the next send afresh.
            self.close()
            raise _classify(error) from error
        self._last_used = time.monotonic()

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.quit()
            except Exception:
                _quiet_close(conn)


def _quiet_close(conn: smtplib.SMTP) -> None:
    with contextlib.suppress(Exception):
        conn.close()


class ConsoleSender:
    """No SMTP configured: print each message (headers and body) for the operator to read.

    On stderr, a development aid beside the logs: stdout stays the command's own output
    (`digest send --json`, the worker's JSON lines), which scripts parse.
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    def send(self, message: EmailMessage) -> None:
        stream = self.stream or sys.stderr
        log.warning(
            "PAPERFEED_SMTP_URL is empty: printing mail instead of sending",
            extra={"to": message.get("To"), "subject": message.get("Subject")},
        )
        stream.write("----- paperfeed mail (not sent: PAPERFEED_SMTP_URL is empty) -----\n")
        stream.write(message.as_string())
        stream.write("\n----- end of mail -----\n")
        stream.flush()

    def send_raw(self, message: RawMessage) -> None:
        import email
        import email.policy

        parsed = email.message_from_bytes(message.data, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.send(parsed)

    def close(self) -> None:
        pass


def make_sender(settings: Settings) -> MailSender:
    """The configured sender: SMTP when ``smtp_url`` is set, else the console."""
    if not settings.smtp_url:
        return ConsoleSender()
    return SmtpSender(parse_smtp_url(settings.smtp_url, settings.smtp_timeout))


def _site_domain(settings: Settings) -> str:
    host = urlsplit(settings.base_url).hostname or "localhost"
    return host if "." in host else f"{host}.localdomain"


def transactional_from(settings: Settings) -> str:
    """From header of one-to-one mail (confirmations, password resets): never a list address."""
    if settings.mail_transactional_from:
        return settings.mail_transactional_from
    return formataddr(("paperfeed", f"noreply@{_site_domain(settings)}"))


def digest_from(settings: Settings) -> str:
    """From header of digests (bulk mail with List-Id / List-Unsubscribe)."""
    if settings.mail_from:
        return settings.mail_from
    return formataddr(("paperfeed digest", f"digest@{_site_domain(settings)}"))


def address_of(header_value: str) -> str:
    """The bare address of a From / To header value."""
    return parseaddr(header_value)[1]


def mail_domain(settings: Settings) -> str:
    """Domain used in Message-IDs and the List-Id."""
    return address_of(digest_from(settings)).rpartition("@")[2] or _site_domain(settings)
