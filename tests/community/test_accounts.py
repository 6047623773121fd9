"""Accounts, passwords, password reset and rate limits at the service level, on both backends
(RELIABILITY 16 and 17)."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta
from importlib.resources import files

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, func, insert, select

from paperfeed.community import accounts, passwords
from paperfeed.community.accounts import AccountError
from paperfeed.community.ratelimit import (
    LOGIN_LIMIT,
    RESET_LIMIT_PER_ADDRESS,
    RateLimited,
    check_and_record,
    client_address,
    parse_trusted_proxies,
    prune,
)
from paperfeed.community.sessions import session_user, start_session
from paperfeed.config import get_settings
from paperfeed.store.community_schema import one_time_tokens, rate_events, users
from paperfeed.store.engine import write_transaction
from tests.factories import PASSWORD, register_user

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def stored_hash(engine: Engine, pk: int) -> str:
    with engine.connect() as conn:
        return str(conn.execute(select(users.c.password_hash).where(users.c.pk == pk)).scalar())


# --- passwords ------------------------------------------------------------------------------


def test_the_common_list_is_the_top_3000_of_djangos_lower_cased() -> None:
    data = files("paperfeed.community").joinpath("common-passwords.txt.gz").read_bytes()
    lines = gzip.decompress(data).decode().splitlines()
    assert len(lines) == 3000 == len(passwords.common_passwords())
    assert lines[:4] == ["123456", "123456789", "qwerty", "password"]


@pytest.mark.parametrize("length", [8, 9, 64, 65, 128, 1024])
def test_lengths_from_8_to_1024_are_accepted(length: int) -> None:
    password = ("Tulip-river-" * 100)[:length]
    passwords.check_policy(password)


@pytest.mark.parametrize("password", ["", "short", "7chars!", "x" * 1025])
def test_too_short_and_too_long_are_refused(password: str) -> None:
    with pytest.raises(passwords.PasswordRejected, match=r"at (least|most)"):
        passwords.check_policy(password)


@pytest.mark.parametrize(
    "password", ["password", "12345678", "iloveyou", "PassWord1", "qwertyuiop"]
)
def test_common_passwords_are_refused_whatever_the_case(password: str) -> None:
    with pytest.raises(passwords.PasswordRejected, match="too common"):
        passwords.check_policy(password)


def test_the_username_is_not_a_password() -> None:
    with pytest.raises(passwords.PasswordRejected, match="username"):
        passwords.check_policy("Grace-Hopper", username="grace-hopper", email="g@example.org")


def test_hashes_are_argon2id_salted_and_verify() -> None:
    first, second = passwords.hash_password(PASSWORD), passwords.hash_password(PASSWORD)
    assert first.startswith("$argon2id$") and second.startswith("$argon2id$")
    assert first != second
    assert passwords.verify_password(first, PASSWORD)
    assert not passwords.verify_password(first, PASSWORD + "!")
    assert not passwords.verify_password("not a hash", PASSWORD)


# --- registration and log in ----------------------------------------------------------------


def test_register_stores_an_argon2id_hash_and_a_lower_cased_email(engine: Engine) -> None:
    user = register_user(engine, email=" Ada@Example.org ")
    assert user.email == "ada@example.org"
    assert not user.is_admin and not user.suspended
    assert stored_hash(engine, user.pk).startswith("$argon2id$")
    assert PASSWORD not in stored_hash(engine, user.pk)


def test_duplicates_get_clear_messages(engine: Engine) -> None:
    register_user(engine)
    with pytest.raises(AccountError, match="username is taken") as taken:
        accounts.register(engine, "ADA", "other@example.org", PASSWORD)
    assert taken.value.field == "username"
    with pytest.raises(AccountError, match="email address exists") as exists:
        accounts.register(engine, "ada2", "ADA@example.ORG", PASSWORD)
    assert exists.value.field == "email"


@pytest.mark.parametrize(
    ("username", "email", "field"),
    [
        ("a", "a@example.org", "username"),
        ("has space", "a@example.org", "username"),
        ("<script>", "a@example.org", "username"),
        ("admin", "a@example.org", "username"),
        ("ada", "not-an-address", "email"),
        ("ada", "a@b", "email"),
        ("ada", "ada@example.org", None),
    ],
)
def test_bad_usernames_and_addresses_are_refused(
    engine: Engine, username: str, email: str, field: str | None
) -> None:
    if field is None:
        assert accounts.register(engine, username, email, PASSWORD).username == username
        return
    with pytest.raises(AccountError) as refused:
        accounts.register(engine, username, email, PASSWORD)
    assert refused.value.field == field


def test_unknown_user_and_wrong_password_get_the_same_error_and_the_same_work(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    register_user(engine)
    verified: list[str] = []
    real_verify = passwords.verify_password

    def counting_verify(stored: str, password: str) -> bool:
        verified.append(stored)
        return real_verify(stored, password)

    monkeypatch.setattr(passwords, "verify_password", counting_verify)
    with pytest.raises(AccountError) as wrong:
        accounts.authenticate(engine, "ada", "not the password")
    with pytest.raises(AccountError) as unknown:
        accounts.authenticate(engine, "nobody", "not the password")
    assert str(wrong.value) == str(unknown.value) == accounts.LOGIN_FAILED
    # One argon2 verification each: the unknown account is checked against a dummy hash.
    assert len(verified) == 2 and all(h.startswith("$argon2id$") for h in verified)


def test_log_in_by_username_any_case_or_email(engine: Engine) -> None:
    user = register_user(engine)
    for login in ("ada", "ADA", "ada@example.org", " Ada@Example.org "):
        assert accounts.authenticate(engine, login, PASSWORD).pk == user.pk


def test_a_hash_with_old_parameters_is_replaced_at_log_in(engine: Engine) -> None:
    user = register_user(engine)
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
    with write_transaction(engine) as conn:
        conn.execute(users.update().where(users.c.pk == user.pk).values(password_hash=weak))
    assert passwords.needs_rehash(weak)
    accounts.authenticate(engine, "ada", PASSWORD)
    renewed = stored_hash(engine, user.pk)
    assert renewed != weak and not passwords.needs_rehash(renewed)
    assert passwords.verify_password(renewed, PASSWORD)


def test_a_suspended_account_cannot_log_in_and_loses_its_sessions(engine: Engine) -> None:
    user = register_user(engine)
    token = start_session(engine, user.pk)
    suspended = accounts.set_suspended(engine, user.pk, True)
    assert suspended.suspended
    assert session_user(engine, token) is None
    with pytest.raises(AccountError, match="suspended"):
        accounts.authenticate(engine, "ada", PASSWORD)
    accounts.set_suspended(engine, user.pk, False)
    assert accounts.authenticate(engine, "ada", PASSWORD).pk == user.pk


# --- rate limits ----------------------------------------------------------------------------


def test_the_11th_login_to_an_account_from_one_address_is_refused_until_the_window_slides(
    engine: Engine,
) -> None:
    register_user(engine)
    for _ in range(LOGIN_LIMIT):
        with pytest.raises(AccountError):
            accounts.log_in(engine, "ada", "wrong", "192.0.2.7", now=T0)
    with pytest.raises(RateLimited) as limited:
        accounts.log_in(engine, "ADA", PASSWORD, "192.0.2.7", now=T0)  # even the right one
    assert limited.value.retry_after == 300
    later = T0 + timedelta(minutes=5, seconds=1)
    assert accounts.log_in(engine, "ada", PASSWORD, "192.0.2.7", now=later).username == "ada"


def test_strangers_guessing_from_other_addresses_cannot_lock_the_owner_out(
    engine: Engine,
) -> None:
    register_user(engine)
    for stranger in ("192.0.2.1", "192.0.2.2", "2001:db8::66"):
        for _ in range(LOGIN_LIMIT):
            with pytest.raises(AccountError):
                accounts.log_in(engine, "ada", "wrong", stranger, now=T0)
        with pytest.raises(RateLimited):  # each stranger is stopped at the 11th
            accounts.log_in(engine, "ada@example.org", "wrong", stranger, now=T0)
    owner = accounts.log_in(engine, "ada", PASSWORD, "198.51.100.20", now=T0)
    assert owner.username == "ada"


def test_a_limited_name_does_not_tell_which_address_is_its_accounts(engine: Engine) -> None:
    register_user(engine)
    for attempt in range(LOGIN_LIMIT):
        with pytest.raises(AccountError):
            accounts.log_in(engine, "ada", "wrong", f"192.0.2.{attempt}", now=T0)
    # Ten failures on the username, from ten addresses: its address and a stranger's answer
    # alike from an eleventh (a bucket per account would say "limited" for ada's address only).
    for login in ("ada@example.org", "nobody@example.org", "ada"):
        with pytest.raises(AccountError, match=accounts.LOGIN_FAILED):
            accounts.log_in(engine, login, "wrong", "203.0.113.9", now=T0)


def test_the_11th_login_from_one_address_is_refused(engine: Engine) -> None:
    for attempt in range(LOGIN_LIMIT):
        with pytest.raises(AccountError):
            accounts.log_in(engine, f"user{attempt}", "wrong", "198.51.100.7", now=T0)
    with pytest.raises(RateLimited):
        accounts.log_in(engine, "someone-else", "wrong", "198.51.100.7", now=T0)
    with pytest.raises(AccountError):  # another address is not limited
        accounts.log_in(engine, "someone-else", "wrong", "198.51.100.8", now=T0)


def test_sliding_window_and_retry_after(engine: Engine) -> None:
    window = timedelta(minutes=10)
    for minute in (0, 2, 4):
        check_and_record(engine, "demo", "k", 3, window, now=T0 + timedelta(minutes=minute))
    with pytest.raises(RateLimited) as limited:
        check_and_record(engine, "demo", "k", 3, window, now=T0 + timedelta(minutes=5))
    assert limited.value.retry_after == 5 * 60  # until the first attempt leaves the window
    check_and_record(engine, "demo", "other key", 3, window, now=T0 + timedelta(minutes=5))
    check_and_record(engine, "other kind", "k", 3, window, now=T0 + timedelta(minutes=5))
    # Refused attempts are not counted: the window reopens when the first one ages out.
    check_and_record(engine, "demo", "k", 3, window, now=T0 + timedelta(minutes=10, seconds=1))
    with pytest.raises(ValueError, match="at most"):
        check_and_record(engine, "demo", "k", 3, timedelta(days=30))


def test_prune_removes_old_attempts(engine: Engine) -> None:
    with write_transaction(engine) as conn:
        for days in (0, 3, 8, 30):
            row = {"kind": "demo", "key": f"k{days}", "at": T0 - timedelta(days=days)}
            conn.execute(insert(rate_events).values(row))
    assert prune(engine, now=T0) == 2
    with engine.connect() as conn:
        keys = set(conn.execute(select(rate_events.c.key)).scalars())
    assert keys == {"k0", "k3"}


def test_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy() -> None:
    xff = "203.0.113.9, 10.0.0.2"
    assert client_address("198.51.100.1", xff, []) == "198.51.100.1"
    trusted = parse_trusted_proxies("10.0.0.0/8, 127.0.0.1")
    assert client_address("198.51.100.1", xff, trusted) == "198.51.100.1"  # peer not trusted
    assert client_address("127.0.0.1", xff, trusted) == "203.0.113.9"  # both proxies skipped
    # A client cannot plant an address to the left: the first untrusted hop from the right wins.
    assert client_address("127.0.0.1", "1.1.1.1, 203.0.113.9", trusted) == "203.0.113.9"
    assert client_address("127.0.0.1", "garbage", trusted) == "127.0.0.1"
    assert client_address("127.0.0.1", None, trusted) == "127.0.0.1"
    with pytest.raises(ValueError, match="not an IP"):
        parse_trusted_proxies("10.0.0.0/8, proxy.local")


# --- password reset -------------------------------------------------------------------------


def test_reset_mail_only_for_a_known_address_and_the_token_is_stored_hashed(
    engine: Engine,
) -> None:
    register_user(engine)
    settings = get_settings()
    assert accounts.request_password_reset(engine, settings, "nobody@example.org", "ip") is None
    mail = accounts.request_password_reset(engine, settings, " ADA@example.org", "ip")
    assert mail is not None
    assert mail.message["To"] == "ada@example.org"
    body = mail.message.get_content()
    token = body.split("/reset/", 1)[1].split()[0]
    assert f"{settings.base_url}/reset/{token}" in body
    with engine.connect() as conn:
        stored = conn.execute(select(one_time_tokens)).one()
    assert stored.purpose == "password_reset" and token not in stored.token_hash
    assert len(stored.token_hash) == 64


def reset_token(engine: Engine, now: datetime = T0) -> str:
    mail = accounts.request_password_reset(engine, get_settings(), "ada@example.org", "ip", now=now)
    assert mail is not None
    return mail.message.get_content().split("/reset/", 1)[1].split()[0]


def test_reset_sets_the_password_once_and_ends_every_session(engine: Engine) -> None:
    user = register_user(engine)
    sessions = [start_session(engine, user.pk) for _ in range(2)]
    token = reset_token(engine, now=datetime.now(UTC))
    assert accounts.reset_token_user(engine, token) == user
    with pytest.raises(AccountError, match="too common"):
        accounts.confirm_password_reset(engine, token, "password")
    accounts.confirm_password_reset(engine, token, "a brand new passphrase")
    assert all(session_user(engine, s) is None for s in sessions)
    assert accounts.authenticate(engine, "ada", "a brand new passphrase").pk == user.pk
    with pytest.raises(AccountError, match="not valid"):
        accounts.confirm_password_reset(engine, token, "yet another passphrase")
    assert accounts.authenticate(engine, "ada", "a brand new passphrase").pk == user.pk


def test_a_reset_token_expires_after_an_hour(engine: Engine) -> None:
    register_user(engine)
    token = reset_token(engine, now=T0)
    assert accounts.reset_token_user(engine, token, now=T0 + timedelta(minutes=59)) is not None
    expired = T0 + timedelta(hours=1, seconds=1)
    assert accounts.reset_token_user(engine, token, now=expired) is None
    with pytest.raises(AccountError, match="not valid"):
        accounts.confirm_password_reset(engine, token, "a brand new passphrase", now=expired)
    assert accounts.authenticate(engine, "ada", PASSWORD)


def test_forged_tokens_fail(engine: Engine) -> None:
    register_user(engine)
    token = reset_token(engine, now=datetime.now(UTC))
    for forged in ("", "x", token[:-1], token + "A", token.upper()):
        with pytest.raises(AccountError, match="not valid"):
            accounts.confirm_password_reset(engine, forged, "a brand new passphrase")


def test_reset_requests_have_a_daily_cap_per_address(engine: Engine) -> None:
    register_user(engine)
    settings = get_settings()
    for address in ("ada@example.org", "nobody@example.org"):
        for hour in range(RESET_LIMIT_PER_ADDRESS):
            moment = T0 + timedelta(hours=hour)
            accounts.request_password_reset(engine, settings, address, "ip", now=moment)
        with pytest.raises(RateLimited):
            accounts.request_password_reset(engine, settings, address, "ip", now=T0)
    with engine.connect() as conn:
        issued = conn.execute(select(func.count()).select_from(one_time_tokens)).scalar()
    assert issued == RESET_LIMIT_PER_ADDRESS
    next_day = T0 + timedelta(days=1, hours=RESET_LIMIT_PER_ADDRESS)
    assert accounts.request_password_reset(engine, settings, "ada@example.org", "ip", now=next_day)


def test_concurrent_attempts_never_exceed_the_limit(engine: Engine) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def attempt(_: int) -> bool:
        try:
            check_and_record(engine, "race", "one key", 10, timedelta(minutes=5), now=T0)
        except RateLimited:
            return False
        return True

    with ThreadPoolExecutor(max_workers=8) as pool:
        allowed = list(pool.map(attempt, range(30)))
    assert allowed.count(True) == 10
    with engine.connect() as conn:
        recorded = conn.execute(select(func.count()).select_from(rate_events)).scalar()
    assert recorded == 10


def test_a_new_session_clears_the_accounts_expired_ones(engine: Engine) -> None:
    from paperfeed.store.community_schema import sessions

    user = register_user(engine)
    old = {"token_hash": "0" * 64, "user_pk": user.pk, "created_at": T0, "expires_at": T0}
    with write_transaction(engine) as conn:
        conn.execute(insert(sessions).values(old))
    token = start_session(engine, user.pk)
    with engine.connect() as conn:
        hashes = list(conn.execute(select(sessions.c.token_hash)).scalars())
    assert len(hashes) == 1 and hashes != ["0" * 64]
    assert session_user(engine, token) == user


def test_api_token_use_is_stamped_at_most_once_a_minute(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from paperfeed.community import sessions
    from paperfeed.store.community_schema import api_tokens

    user = register_user(engine)
    token = sessions.create_api_token(engine, user.pk, "script")
    clock = [T0]
    monkeypatch.setattr(sessions, "_now", lambda: clock[0])

    def stamped() -> datetime | None:
        with engine.connect() as conn:
            value = conn.execute(select(api_tokens.c.last_used_at)).scalar()
        if value is None or value.tzinfo:
            return value
        return value.replace(tzinfo=UTC)  # SQLite gives back naive UTC

    assert stamped() is None
    assert sessions.api_token_user(engine, token) == user
    assert stamped() == T0
    clock[0] = T0 + timedelta(seconds=30)
    assert sessions.api_token_user(engine, token) == user
    assert stamped() == T0
    clock[0] = T0 + timedelta(minutes=2)
    assert sessions.api_token_user(engine, token) == user
    assert stamped() == T0 + timedelta(minutes=2)
    assert sessions.api_token_user(engine, token + "x") is None
