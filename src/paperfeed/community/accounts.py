"""Accounts: registration, log in, suspension and password reset by email.

Log in answers the same for an unknown account and a wrong password, and costs the same
(an argon2 verification either way). A password reset is requested by address and answered
the same whether or not an account has it; its token is stored hashed, lasts an hour and
works once. Setting a new password ends every session of the account.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

from sqlalchemy import Connection, Engine, Row, Select, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from paperfeed.community import passwords
from paperfeed.community.ratelimit import (
    DAY,
    LOGIN_LIMIT,
    LOGIN_WINDOW,
    RESET_LIMIT_PER_ADDRESS,
    RESET_LIMIT_PER_IP,
    check_and_record,
)
from paperfeed.community.sessions import token_hash
from paperfeed.community.users import User, get_user
from paperfeed.config import Settings
from paperfeed.store.community_schema import moderation_log, one_time_tokens, sessions, users
from paperfeed.store.engine import write_transaction

USERNAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{1,29}")
EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
MAX_EMAIL = 320
# Names that would read as the site speaking, or clash with pages.
RESERVED = frozenset(
    {"admin", "administrator", "root", "paperfeed", "moderator", "staff", "support", "system"}
    | {"api", "login", "logout", "register", "reset", "account", "anonymous", "null", "none"}
)
LOGIN_FAILED = "The username or password is not right."
SUSPENDED = "This account is suspended."
RESET_PURPOSE = "password_reset"
RESET_LIFETIME = timedelta(hours=1)
RESET_INVALID = "This reset link is not valid: it expired or was already used. Ask for a new one."


class AccountError(ValueError):
    """A refusal to show on the form; ``field`` names the input it is about."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


def _now() -> datetime:
    return datetime.now(UTC)


def normalise_email(email: str) -> str:
    """The stored form of an address: trimmed and lower-cased (one account per address)."""
    return email.strip().lower()


def check_username(username: str) -> str:
    username = username.strip()
    if not USERNAME_RE.fullmatch(username):
        raise AccountError(
            "Usernames have 2 to 30 characters: letters, digits, '.', '-' or '_', "
            "starting with a letter or digit.",
            "username",
        )
    if username.lower() in RESERVED:
        raise AccountError("This username is reserved. Choose another one.", "username")
    return username


def check_email(email: str) -> str:
    email = normalise_email(email)
    if len(email) > MAX_EMAIL or not email.isprintable() or not EMAIL_RE.fullmatch(email):
        raise AccountError("Enter an email address like name@example.org.", "email")
    return email


def register(
    engine: Engine,
    username: str,
    email: str,
    password: str,
    *,
    is_admin: bool = False,
    now: datetime | None = None,
) -> User:
    """Create an account; ``AccountError`` says what is wrong with the input."""
    username, email = check_username(username), check_email(email)
    try:
        passwords.check_policy(password, username=username, email=email)
    except passwords.PasswordRejected as error:
        raise AccountError(str(error), "password") from None
    password_hash = passwords.hash_password(password)
    row = {
        "username": username,
        "email": email,
        "password_hash": password_hash,
        "is_admin": is_admin,
        "created_at": now or _now(),
    }
    try:
        with write_transaction(engine) as conn:
            _refuse_duplicates(conn, username, email)
            pk = conn.execute(insert(users).values(row).returning(users.c.pk)).scalar_one()
            user = get_user(conn, pk)
    except IntegrityError:
        # Two registrations raced for the same name or address; the other one won.
        raise AccountError("This username or email address was just taken.") from None
    assert user is not None
    return user


def _refuse_duplicates(conn: Connection, username: str, email: str) -> None:
    # Usernames are unique whatever their case ("Ada" and "ada" would be confused in comments).
    taken = select(users.c.pk).where(func.lower(users.c.username) == username.lower())
    if conn.execute(taken).first():
        raise AccountError("This username is taken. Choose another one.", "username")
    if conn.execute(select(users.c.pk).where(users.c.email == email)).first():
        raise AccountError(
            "An account with this email address exists. Log in, or reset its password.", "email"
        )


def log_in(
    engine: Engine, login: str, password: str, ip: str, *, now: datetime | None = None
) -> User:
    """Check the rate limits (per login name and client address, and per client address),
    then the password. Raises ``RateLimited`` (the 11th attempt in 5 minutes) or
    ``AccountError``.

    No limit counts an account's attempts from every address together: strangers' wrong
    guesses would then lock its owner out (renewably, every 5 minutes). And the limit is keyed
    by the name as typed, not by the account it names: a username and its email address fill
    separate buckets, so a full bucket never tells which address goes with which name.
    """
    login = login.strip()[:MAX_EMAIL]
    name_key = f"{ip} {login.lower()}"
    check_and_record(engine, "login_name", name_key, LOGIN_LIMIT, LOGIN_WINDOW, now=now)
    check_and_record(engine, "login_ip", ip, LOGIN_LIMIT, LOGIN_WINDOW, now=now)
    return authenticate(engine, login, password)


def authenticate(engine: Engine, login: str, password: str) -> User:
    """The account with username or email ``login`` if ``password`` is its password."""
    with engine.connect() as conn:
        row = _credentials(conn, login)
    if row is None or len(password) > passwords.MAX_LENGTH:
        passwords.dummy_verify(password[: passwords.MAX_LENGTH])
        raise AccountError(LOGIN_FAILED)
    if not passwords.verify_password(row.password_hash, password):
        raise AccountError(LOGIN_FAILED)
    if passwords.needs_rehash(row.password_hash):
        _set_password_hash(engine, row.pk, passwords.hash_password(password))
    with engine.connect() as conn:
        user = get_user(conn, row.pk)
    assert user is not None
    if user.suspended:
        raise AccountError(SUSPENDED)
    return user


def _credentials(conn: Connection, login: str) -> Row[Any, Any] | None:
    """The pk and hash of the account whose username (any case) or email is ``login``."""
    login = login.strip().lower()
    if not login.isprintable():  # PostgreSQL refuses NUL in text; no account has one anyway
        return None
    query = select(users.c.pk, users.c.password_hash).where(
        (func.lower(users.c.username) == login) | (users.c.email == login)
    )
    return conn.execute(query).first()


def _set_password_hash(engine: Engine, user_pk: int, password_hash: str) -> None:
    with write_transaction(engine) as conn:
        conn.execute(update(users).where(users.c.pk == user_pk).values(password_hash=password_hash))


def change_password(
    engine: Engine, user: User, current: str, new: str, *, keep_session: str | None = None
) -> None:
    """Set a new password after checking the current one; ends the account's other sessions."""
    # A borrowed session must not become a way to guess the password: same limit as log in.
    # Per account is right here: only someone signed in as the owner can fill it.
    key = f"user:{user.pk}"
    check_and_record(engine, "password_change", key, LOGIN_LIMIT, LOGIN_WINDOW)
    try:
        authenticate(engine, user.username, current)
    except AccountError:
        raise AccountError("The current password is not right.", "current_password") from None
    _check_new_password(new, user)
    password_hash = passwords.hash_password(new)
    with write_transaction(engine) as conn:
        conn.execute(update(users).where(users.c.pk == user.pk).values(password_hash=password_hash))
        others = sessions.c.user_pk == user.pk
        if keep_session:
            others &= sessions.c.token_hash != token_hash(keep_session)
        conn.execute(sessions.delete().where(others))


def _check_new_password(password: str, user: User) -> None:
    try:
        passwords.check_policy(password, username=user.username, email=user.email)
    except passwords.PasswordRejected as error:
        raise AccountError(str(error), "password") from None


def set_suspended(
    engine: Engine,
    user_pk: int,
    suspended: bool,
    *,
    actor_pk: int | None = None,
    reason: str = "",
    now: datetime | None = None,
) -> User:
    """Suspend (ending every session) or reinstate an account, and log who did it and why.

    The one way to (un)suspend: the CLI calls it directly, ``/admin`` through
    ``moderation.set_user_suspended`` (which checks the actor first)."""
    now = now or _now()
    with write_transaction(engine) as conn:
        user = get_user(conn, user_pk)
        if user is None:
            raise AccountError("There is no such account.")
        values = {"suspended_at": now if suspended else None}
        conn.execute(update(users).where(users.c.pk == user_pk).values(values))
        if suspended:
            conn.execute(sessions.delete().where(sessions.c.user_pk == user_pk))
        log_row = {
            "actor_pk": actor_pk,
            "action": "suspend" if suspended else "unsuspend",
            "target_kind": "user",
            "target": user.username,
            "detail": reason.strip(),
            "created_at": now,
        }
        conn.execute(insert(moderation_log).values(log_row))
        changed = get_user(conn, user_pk)
    assert changed is not None
    return changed


@dataclass(frozen=True, slots=True)
class ResetMail:
    """A reset message ready to send (after the response, so timing tells nothing)."""

    message: EmailMessage


def request_password_reset(
    engine: Engine, settings: Settings, email: str, ip: str, *, now: datetime | None = None
) -> ResetMail | None:
    """The reset mail for the account with ``email``, or None if there is no such account.

    The caller answers the same either way. Raises ``RateLimited`` past the daily caps (per
    address, whether or not it has an account, and per client address).
    """
    now = now or _now()
    email = normalise_email(email)[:MAX_EMAIL]
    check_and_record(engine, "reset_ip", ip, RESET_LIMIT_PER_IP, DAY, now=now)
    check_and_record(engine, "reset_address", email, RESET_LIMIT_PER_ADDRESS, DAY, now=now)
    if not email.isprintable():
        return None
    with engine.connect() as conn:
        row = conn.execute(select(users.c.pk).where(users.c.email == email)).first()
        user = get_user(conn, row.pk) if row else None
    if user is None or user.suspended:
        return None
    token = secrets.token_urlsafe(32)
    record = {
        "token_hash": token_hash(token),
        "purpose": RESET_PURPOSE,
        "user_pk": user.pk,
        "expires_at": now + RESET_LIFETIME,
    }
    with write_transaction(engine) as conn:
        conn.execute(insert(one_time_tokens).values(record))
    return ResetMail(reset_message(settings, user, token))


def reset_message(settings: Settings, user: User, token: str) -> EmailMessage:
    from paperfeed.mail.transport import transactional_from

    link = f"{settings.base_url.rstrip('/')}/reset/{token}"
    message = EmailMessage()
    message["From"] = transactional_from(settings)
    message["To"] = user.email
    message["Subject"] = "Reset your paperfeed password"
    message.set_content(
        f"Hello {user.username},\n\n"
        "Someone (hopefully you) asked to reset the password of your paperfeed account.\n"
        f"Open this link within an hour to choose a new password:\n\n{link}\n\n"
        "The link works once. If you did not ask for it, ignore this message: your password "
        "stays as it is.\n"
    )
    return message


def send_reset_mail(settings: Settings, mail: ResetMail) -> None:
    """Send through the configured transport (SMTP, or the console when none is set)."""
    from paperfeed.mail.transport import make_sender

    sender = make_sender(settings)
    try:
        sender.send(mail.message)
    finally:
        sender.close()


def reset_token_user(engine: Engine, token: str, *, now: datetime | None = None) -> User | None:
    """The account a still-valid reset ``token`` belongs to (the token stays unused)."""
    with engine.connect() as conn:
        row = conn.execute(_valid_token(token, now or _now())).first()
        return get_user(conn, row.user_pk) if row else None


def _valid_token(token: str, now: datetime) -> Select[tuple[int]]:
    return select(one_time_tokens.c.user_pk).where(
        one_time_tokens.c.token_hash == token_hash(token),
        one_time_tokens.c.purpose == RESET_PURPOSE,
        one_time_tokens.c.used_at.is_(None),
        one_time_tokens.c.expires_at > now,
    )


def confirm_password_reset(
    engine: Engine, token: str, new_password: str, *, now: datetime | None = None
) -> User:
    """Set the new password with a valid reset token, use the token up, end all sessions."""
    now = now or _now()
    user = reset_token_user(engine, token, now=now)
    if user is None:
        raise AccountError(RESET_INVALID)
    _check_new_password(new_password, user)
    password_hash = passwords.hash_password(new_password)
    with write_transaction(engine) as conn:
        # Using the token up is the guard: of two concurrent confirms, one changes nothing.
        used = conn.execute(
            update(one_time_tokens)
            .where(one_time_tokens.c.token_hash == token_hash(token))
            .where(one_time_tokens.c.used_at.is_(None), one_time_tokens.c.expires_at > now)
            .values(used_at=now)
        )
        if used.rowcount != 1:
            raise AccountError(RESET_INVALID)
        conn.execute(update(users).where(users.c.pk == user.pk).values(password_hash=password_hash))
        conn.execute(sessions.delete().where(sessions.c.user_pk == user.pk))
        # Other reset links sent before this one are now pointless: retire them too.
        conn.execute(
            update(one_time_tokens)
            .where(one_time_tokens.c.user_pk == user.pk, one_time_tokens.c.used_at.is_(None))
            .where(one_time_tokens.c.purpose == RESET_PURPOSE)
            .values(used_at=now)
        )
    return user
