"""Bounce and complaint reports (RFC 3464 DSNs, ARF complaints) and what they do to an address.

The state machine follows PyPI's Warehouse (``warehouse/email/ses``): per address,

- a **hard bounce** (permanent failure, DSN status 5.x.x) or a **complaint** (ARF
  ``feedback-report``) suppresses the address at once;
- a **soft bounce** (transient failure, 4.x.x) adds one to a counter; more than
  ``PAPERFEED_SOFT_BOUNCE_LIMIT`` in a row suppresses the address;
- a **delivery** report resets the counter (the address works after all).

A suppressed address stays suppressed (an operator can remove it with ``paperfeed
subscribers unsuppress``); every report is kept in ``mail_events`` for auditing.
"""

from __future__ import annotations

import email
import email.policy
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage, Message
from typing import Literal

from sqlalchemy import Connection, Engine, delete, insert, select, update

from paperfeed.mail.outbox import is_suppressed, suppress
from paperfeed.mail.subscriptions import SubscriptionError, normalise_email
from paperfeed.store.engine import write_transaction
from paperfeed.store.mail_schema import mail_events, subscribers, suppressions

EventKind = Literal["hard_bounce", "soft_bounce", "complaint", "delivery"]


class BounceReportError(ValueError):
    """The file is not a delivery status notification paperfeed can read."""


@dataclass(frozen=True, slots=True)
class MailEvent:
    email: str
    kind: EventKind
    detail: str


def parse_report(data: bytes) -> list[MailEvent]:
    """Events in one ``multipart/report`` message (DSN or ARF), one per recipient."""
    message = email.message_from_bytes(data, policy=email.policy.default)
    if message.get_content_type() != "multipart/report":
        raise BounceReportError(
            f"expected a multipart/report message, got {message.get_content_type()}"
        )
    report_type = message.get_param("report-type", header="content-type")
    parts = list(message.iter_parts()) if isinstance(message, EmailMessage) else []
    if report_type == "feedback-report":
        return _complaints(parts)
    if report_type != "delivery-status":
        raise BounceReportError(f"unsupported report type {report_type!r}")
    kinds = [p.get_content_type() for p in parts]
    if "message/delivery-status" not in kinds:
        raise BounceReportError("the report has no message/delivery-status part")
    status_part = parts[kinds.index("message/delivery-status")]
    events = []
    for fields in _recipient_blocks(status_part):
        recipient = fields.get("final-recipient") or fields.get("original-recipient")
        action = fields.get("action", "").strip().lower()
        status = fields.get("status", "").strip()
        if not recipient:
            continue
        address = recipient.split(";", 1)[-1].strip().strip("<>")
        try:
            address = normalise_email(address)
        except SubscriptionError:
            continue
        detail = f"action={action} status={status} {fields.get('diagnostic-code', '')}".strip()
        if action == "failed" or status.startswith("5."):
            events.append(
                MailEvent(
                    address,
                    "hard_bounce" if status.startswith("5") or not status else "soft_bounce",
                    detail,
                )
            )
        elif action == "delayed" or status.startswith("4."):
            events.append(MailEvent(address, "soft_bounce", detail))
        elif action in ("delivered", "relayed", "expanded"):
            events.append(MailEvent(address, "delivery", detail))
    if not events:
        raise BounceReportError("the report names no recipient with a known action")
    return events


def _recipient_blocks(part: Message) -> list[dict[str, str]]:
    """The per-recipient field groups of a message/delivery-status part."""
    payload = part.get_payload()
    if isinstance(payload, list):
        # The email package parses the groups into sub-messages; the first is per-message.
        groups = [
            {k.lower(): str(v) for k, v in sub.items()}
            for sub in payload
            if isinstance(sub, Message)
        ]
        return groups[1:] if len(groups) > 1 else groups
    raw = payload if isinstance(payload, str) else bytes(payload or b"").decode("utf-8", "replace")
    blocks = [b for b in raw.replace("\r\n", "\n").split("\n\n") if b.strip()]
    groups = []
    for block in blocks:
        fields: dict[str, str] = {}
        for line in block.split("\n"):
            name, sep, value = line.partition(":")
            if sep:
                fields[name.strip().lower()] = value.strip()
        groups.append(fields)
    return groups[1:] if len(groups) > 1 else groups


def _complaints(parts: Sequence[Message]) -> list[MailEvent]:
    events = []
    for part in parts:
        if part.get_content_type() != "message/feedback-report":
            continue
        for fields in _recipient_blocks(part) or [{}]:
            recipient = fields.get("original-rcpt-to") or fields.get("removal-recipient")
            if not recipient:
                continue
            try:
                address = normalise_email(recipient.split(";", 1)[-1].strip().strip("<>"))
            except SubscriptionError:
                continue
            events.append(MailEvent(address, "complaint", fields.get("feedback-type", "abuse")))
    if not events:
        raise BounceReportError("the complaint names no recipient (Original-Rcpt-To)")
    return events


def apply_event(
    conn: Connection, event: MailEvent, soft_limit: int, now: datetime | None = None
) -> str:
    """Record one event and move the address's state; returns the state afterwards."""
    now = now or datetime.now(UTC)
    conn.execute(
        insert(mail_events).values(
            email=event.email, kind=event.kind, detail=event.detail[:2000], created_at=now
        )
    )
    if event.kind in ("hard_bounce", "complaint"):
        suppress(conn, event.email, event.kind, event.detail, now)
        return "suppressed"
    sub = subscribers.c
    if event.kind == "delivery":
        conn.execute(
            update(subscribers)
            .where(sub.email == event.email)
            .values(soft_bounces=0, last_delivery_at=now)
        )
        return "suppressed" if is_suppressed(conn, event.email) else "ok"
    conn.execute(
        update(subscribers)
        .where(sub.email == event.email)
        .values(soft_bounces=sub.soft_bounces + 1, last_bounce_at=now)
    )
    count = conn.execute(select(sub.soft_bounces).where(sub.email == event.email)).scalar()
    if count is not None and count > soft_limit:
        suppress(conn, event.email, "soft_bounces", f"{count} soft bounces in a row", now)
    return "suppressed" if is_suppressed(conn, event.email) else "ok"


def feed_report(
    engine: Engine, data: bytes, soft_limit: int, now: datetime | None = None
) -> list[tuple[MailEvent, str]]:
    events = parse_report(data)
    with write_transaction(engine) as conn:
        return [(event, apply_event(conn, event, soft_limit, now)) for event in events]


def unsuppress(engine: Engine, address: str) -> bool:
    address = normalise_email(address)
    with write_transaction(engine) as conn:
        done = conn.execute(delete(suppressions).where(suppressions.c.email == address))
        conn.execute(
            update(subscribers).where(subscribers.c.email == address).values(soft_bounces=0)
        )
    return done.rowcount > 0
