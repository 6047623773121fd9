"""`paperfeed subscribers`, `paperfeed digest`, `paperfeed worker` and `paperfeed bounces`."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import orjson
import typer

from paperfeed import services
from paperfeed.cli.app import app, console, fail, out, ready_engine, shown, styled
from paperfeed.config import get_settings

subscribers_app = typer.Typer(
    help="Email subscribers: add (sends the confirmation), list, remove.", no_args_is_help=True
)
digest_app = typer.Typer(help="Email digests: preview and send.", no_args_is_help=True)
app.add_typer(subscribers_app, name="subscribers")
app.add_typer(digest_app, name="digest")

FrequencyOption = Annotated[str, typer.Option(help="`daily` or `weekly`.")]


def _check_frequency(frequency: str) -> None:
    if frequency not in ("daily", "weekly"):
        raise fail("--frequency must be daily or weekly", 2)


@subscribers_app.command("add")
def subscribers_add(
    email: Annotated[str, typer.Argument(help="The address.", show_default=False)],
    frequency: FrequencyOption = "daily",
    topic: Annotated[
        str | None,
        typer.Option(help="A search query: a topic digest instead of trending papers."),
    ] = None,
    for_you: Annotated[
        bool,
        typer.Option(
            "--for-you", help="The recommendations of the account that uses EMAIL instead."
        ),
    ] = False,
) -> None:
    """Subscribe EMAIL and send it the confirmation link (nothing else is sent before)."""
    from paperfeed.mail.subscriptions import SubscriptionError, send_confirmation, subscribe
    from paperfeed.mail.transport import MailConfigError, MailError, make_sender

    _check_frequency(frequency)
    settings = get_settings()
    engine = ready_engine()
    if topic is not None and for_you:
        raise fail("give --topic or --for-you, not both", 2)
    kind = "topic" if topic is not None else ("for_you" if for_you else "trending")
    try:
        sender = make_sender(settings)
        sub, needs_confirmation = subscribe(engine, email, frequency, kind, topic or "")
    except (SubscriptionError, MailConfigError) as error:
        raise fail(str(error), 2) from None
    if not needs_confirmation:
        if sub.active:
            console.print(shown(f"{sub.email} is already subscribed ({sub.phrase})."))
            return
        raise fail(
            f"{sub.email} is suppressed (bounces or a complaint): no confirmation sent; "
            "`paperfeed subscribers unsuppress` allows mail to it again"
        )
    try:
        send_confirmation(settings, sender, sub)
    except MailError as error:
        raise fail(
            f"the subscription is stored but the confirmation was not sent: {error}"
        ) from None
    finally:
        sender.close()
    console.print(shown(f"Confirmation sent to {sub.email} ({sub.phrase})."), highlight=False)


@subscribers_app.command("list")
def subscribers_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Every subscription with its state (pending, active, suppressed, unsubscribed)."""
    from paperfeed.mail.subscriptions import list_subscriptions

    engine = ready_engine()
    subs = list_subscriptions(engine)
    suppressed = services.suppressed_addresses(engine)
    rows = [_listed(s.as_dict(), s.email in suppressed) for s in subs]
    if as_json:
        sys.stdout.write(orjson.dumps(rows).decode() + "\n")
        return
    if not rows:
        out.print("No subscribers yet.")
        return
    for row in rows:
        topic = f" {row['query']!r}" if row["query"] else ""
        line = f"{row['email']}  {row['kind']}{topic}  {row['frequency']}  {row['status']}"
        out.print(shown(line), highlight=False)


def _listed(row: dict[str, object], suppressed: bool) -> dict[str, object]:
    # Nothing is sent to a suppressed address (a hard bounce, a complaint, a 5xx), so its
    # subscriptions are not active whatever their own state says; `stats` does not count them.
    if suppressed and row["status"] != "unsubscribed":
        row = {**row, "status": "suppressed"}
    return {**row, "suppressed": suppressed}


@subscribers_app.command("remove")
def subscribers_remove(
    email: Annotated[str, typer.Argument(help="The address.", show_default=False)],
) -> None:
    """Delete EMAIL with all its subscriptions and digest history."""
    from paperfeed.mail.subscriptions import SubscriptionError, remove_subscriber

    try:
        count = remove_subscriber(ready_engine(), email)
    except SubscriptionError as error:
        raise fail(str(error), 2) from None
    if count == 0:
        raise fail(f"no subscriber {email}")
    console.print(shown(f"Removed {email} ({count} subscription{'s' if count != 1 else ''})."))


@subscribers_app.command("unsuppress")
def subscribers_unsuppress(
    email: Annotated[str, typer.Argument(help="The address.", show_default=False)],
) -> None:
    """Allow mail to EMAIL again after a bounce, complaint or 5xx suppressed it."""
    from paperfeed.mail.bounces import unsuppress
    from paperfeed.mail.subscriptions import SubscriptionError

    try:
        found = unsuppress(ready_engine(), email)
    except SubscriptionError as error:
        raise fail(str(error), 2) from None
    console.print(shown(f"{email} {'can receive mail again' if found else 'was not suppressed'}."))


@digest_app.command("preview")
def digest_preview(
    frequency: Annotated[
        str | None,
        typer.Option(
            help="`daily` or `weekly` (default: the subscriber's own with --email, else daily).",
            show_default=False,
        ),
    ] = None,
    email: Annotated[
        str | None, typer.Option(help="Preview what this subscriber would get now.")
    ] = None,
    html: Annotated[bool, typer.Option("--html", help="Print the HTML part.")] = False,
) -> None:
    """Print the digest that would be sent now (a trending one, or EMAIL's), sending nothing."""
    from paperfeed.mail.preview import PreviewError, preview_message

    if frequency is not None:
        _check_frequency(frequency)
    try:
        message = preview_message(ready_engine(), get_settings(), frequency, email)
    except PreviewError as error:
        raise fail(str(error)) from None
    part = message.get_body(("html",) if html else ("plain",))
    out.print(f"Subject: {shown(message['Subject'])}", highlight=False, markup=False)
    body = part.get_content() if part is not None else ""
    sys.stdout.write("\n" + shown(body, lines=True) + "\n")


@digest_app.command("send")
def digest_send(
    frequency: Annotated[str, typer.Option(help="`daily` or `weekly`.", show_default=False)],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would be sent; change nothing.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Create this period's digests (at most one per subscription) and send what is due."""
    from paperfeed.mail import outbox
    from paperfeed.mail.transport import MailConfigError, make_sender

    _check_frequency(frequency)
    settings = get_settings()
    engine = ready_engine()
    if dry_run:
        due = outbox.due_digests(engine, settings, frequency)
        rows = [{"email": s.email, "kind": s.kind, "papers": len(p)} for s, p in due]
        if as_json:
            sys.stdout.write(orjson.dumps(rows).decode() + "\n")
            return
        for row in rows:
            line = f"{row['email']}  {row['kind']}  {row['papers']} papers"
            out.print(shown(line), highlight=False)
        out.print(f"{sum(1 for r in rows if r['papers'])} digest(s) would be sent.")
        return
    try:
        sender = make_sender(settings)
    except MailConfigError as error:
        raise fail(str(error), 2) from None
    created = outbox.enqueue(engine, settings, frequency)
    sent = outbox.send_due(engine, settings, sender, more_senders=lambda: make_sender(settings))
    result = {**created.as_dict(), **sent.as_dict()}
    if as_json:
        sys.stdout.write(orjson.dumps(result).decode() + "\n")
    else:
        out.print(
            f"{created.period}: {created.created} new digest(s); sent {sent.sent}, "
            f"retry later {sent.retried}, failed {sent.failed}, skipped {sent.skipped}.",
            highlight=False,
        )
    for problem in sent.errors[:20]:
        console.print(f"not sent: {shown(problem)}", highlight=False, markup=False)
    if sent.server_problem:
        raise fail(f"{sent.server_problem} (the rest is sent by the next run)")


@app.command()
def worker(
    once: Annotated[bool, typer.Option("--once", help="Run one tick and exit.")] = False,
) -> None:
    """Run the schedules: digests at DIGEST_HOUR (UTC), a daily arXiv harvest (HARVEST_SETS)."""
    from paperfeed.jobs.worker import TickReport, run
    from paperfeed.mail.transport import MailConfigError, make_sender

    settings = get_settings()
    engine = ready_engine()
    try:
        make_sender(settings).close()
    except MailConfigError as error:
        raise fail(str(error), 2) from None

    def report(result: TickReport) -> None:
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        sys.stdout.write(orjson.dumps({"at": stamp, **result.as_dict()}).decode() + "\n")
        sys.stdout.flush()

    if not once:
        console.print(f"paperfeed worker: digests at {settings.digest_hour:02d}:00 UTC")
    run(engine, settings, lambda: make_sender(settings), once=once, on_tick=report)


@app.command()
def bounces(
    files: Annotated[
        list[Path],
        typer.Argument(help="DSN / ARF report files (multipart/report), or - for stdin."),
    ],
) -> None:
    """Feed bounce and complaint reports: hard bounces and complaints suppress the address."""
    from paperfeed.mail.bounces import BounceReportError, feed_report

    settings = get_settings()
    engine = ready_engine()
    problems = 0
    for path in files:
        try:
            data = sys.stdin.buffer.read() if str(path) == "-" else path.read_bytes()
            results = feed_report(engine, data, settings.soft_bounce_limit)
        except (OSError, BounceReportError) as error:
            console.print(styled("error:", "bold red", f"{path}: {error}"), highlight=False)
            problems += 1
            continue
        for event, state in results:
            out.print(shown(f"{event.email}: {event.kind} -> {state}"), highlight=False)
    if problems:
        raise typer.Exit(1)
