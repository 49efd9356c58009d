"""Notification email: the batch pass (what arrived in the last minutes, one email per member)
and the digest pass (daily and weekly), both safe with several app processes.

Posting never sends mail: it writes Notification rows (mail_state "new"). Every app process runs
these passes periodically (`forum.mail.notifier`). A pass claims members by locking their
`mail_settings` rows (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so two processes take disjoint
members; SQLite has one writer at a time), and in that same transaction writes one outbox
message per member and marks what it mailed. A process killed mid-pass rolls back: the next pass
does it again, nothing is mailed twice. The locks are on `mail_settings`, never on `member`, so a
pass does not hold up posting (which updates the member's unread counter).

What an email may say about each notification is the policy's
(`policy.notifications.email_view`): caucus and report notices become neutral lines.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from forum import policy
from forum.db import sql_for
from forum.mail import compose
from forum.mail.outbox import domain_of, enqueue
from forum.mail.reply_tokens import reply_address
from forum.models import MailSettings, Member, Notification, Post, Statement, Thread
from forum.policy import Action, Actor
from forum.policy.notifications import EMAIL_CAUCUS, EMAIL_FULL, EMAIL_REPORT
from forum.services import mail_prefs
from forum.services.notifications import actors_for
from forum.settings import Settings

# Members handled per transaction: small, because on SQLite a transaction holds the process's
# only connection, and every request waits for it to end.
CHUNK = 25

NEUTRAL = {
    EMAIL_REPORT: "Your report has an update",
    EMAIL_CAUCUS: "New activity in one of your caucuses",
    "caucus-news": "There is news in one of your caucuses",
}


@dataclass
class Item:
    """One line of an email, already cut down to what the policy lets it say."""

    view: str
    topic: str
    headline: str
    url: str
    thread_id: int | None = None
    post_id: int | None = None
    post_text: str = ""
    post_html: str = ""
    reply_to: str = ""


@dataclass
class Letter:
    """One email for one member."""

    member: Member
    items: list[Item]
    cadence: str  # "immediately", "daily" or "weekly"
    statements: list[Item] = field(default_factory=list)


def _now() -> datetime:
    return datetime.now(UTC)


def _lock_clause(conn: BaseDBAsyncClient) -> str:
    return " FOR UPDATE SKIP LOCKED" if conn.capabilities.dialect == "postgres" else ""


async def _ensure_rows(member_ids: Iterable[int]) -> None:
    """A settings row for each member (holding the defaults), so there is a row to lock."""
    wanted = set(member_ids)
    if not wanted:
        return
    have = set(
        await MailSettings.filter(member_id__in=list(wanted)).values_list("member_id", flat=True)
    )
    missing = sorted(wanted - have)
    if missing:
        await MailSettings.bulk_create(
            [MailSettings(member_id=mid) for mid in missing], ignore_conflicts=True
        )


async def _claim(conn: BaseDBAsyncClient, where: str, params: list[Any]) -> list[MailSettings]:
    """Lock up to CHUNK settings rows matching `where` for this transaction; the others'
    locked rows are skipped."""
    sql = (
        f"SELECT id FROM mail_settings WHERE {where} ORDER BY member_id LIMIT {CHUNK}"
        f"{_lock_clause(conn)}"
    )
    rows = await conn.execute_query_dict(sql_for(conn, sql), params)
    ids = [row["id"] for row in rows]
    if not ids:
        return []
    return list(await MailSettings.filter(id__in=ids).using_db(conn))


# ---- what each notification becomes ------------------------------------------------------------


async def _items_for(
    settings: Settings,
    notes: Sequence[Notification],
    actors: dict[int, Actor],
    conn: BaseDBAsyncClient,
    *,
    with_posts: bool,
) -> dict[str, Item]:
    """The email line for each notification (keyed by notification id as text), or none for a
    notification the member can no longer read."""
    thread_ids = {n.thread_id for n in notes if n.thread_id}
    threads = {
        t.id: t
        for t in await Thread.filter(id__in=list(thread_ids))
        .select_related("channel")
        .using_db(conn)
    }
    posts: dict[int, Post] = {}
    if with_posts:
        post_ids = {n.post_id for n in notes if n.post_id}
        posts = {p.id: p for p in await Post.filter(id__in=list(post_ids)).using_db(conn)}
    base = settings.base_url
    out: dict[str, Item] = {}
    for note in notes:
        topic = mail_prefs.topic_of(note.kind) or "moderation"
        thread = threads.get(note.thread_id) if note.thread_id else None
        thread_caucus = thread.channel.caucus_id if thread is not None else None
        view = policy.notifications.email_view(note.kind, note.caucus_id, thread_caucus)
        if view != EMAIL_FULL:
            # Neutral: nothing from the notification, a link that names nothing.
            key = "caucus-news" if note.kind == "caucus" and view == EMAIL_CAUCUS else view
            out[str(note.id)] = Item(view, topic, NEUTRAL[key], f"{base}/notifications")
            continue
        actor = actors[note.member_id]
        if thread is not None and not policy.can(actor, Action.READ, thread):
            continue
        item = Item(view, topic, note.text, base + note.url if note.url.startswith("/") else base)
        if thread is not None:
            item.thread_id = thread.id
        post = posts.get(note.post_id) if note.post_id else None
        if post is not None and thread is not None and not post.hidden and not post.deleted:
            item.post_id = post.id
            item.post_text = post.body
            # The site's own links are relative (mentions, permalinks): absolute in a mail.
            item.post_html = post.html.replace('href="/', f'href="{base}/')
            if policy.can(actor, Action.REPLY, thread):
                item.reply_to = reply_address(settings, post.id, note.member_id)
        out[str(note.id)] = item
    return out


# ---- composing --------------------------------------------------------------------------------


def _collapse(items: list[Item]) -> list[Item]:
    """Open items as they are; each neutral line once (a list of identical lines would only
    count caucus activity for whoever reads over a shoulder)."""
    seen: set[str] = set()
    out = []
    for item in items:
        if item.view != EMAIL_FULL:
            if item.headline in seen:
                continue
            seen.add(item.headline)
        out.append(item)
    return out


def _headers(settings: Settings, letter: Letter, group: str) -> dict[str, str]:
    domain = domain_of(settings.base_url)
    url = mail_prefs.unsubscribe_url(
        settings.base_url, settings.secret_key, letter.member.id, group
    )
    headers = {
        "List-Unsubscribe": f"<{url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "Auto-Submitted": "auto-generated",
    }
    items = letter.items
    threads = {i.thread_id for i in items}
    if (
        letter.cadence == "immediately"
        and items
        and not letter.statements
        and all(i.view == EMAIL_FULL for i in items)
        and len(threads) == 1
        and None not in threads
    ):
        # Every email about one open thread points at the same root, so mail clients thread
        # them. Caucus threads never get one: their id would be in the header.
        root = f"<thread-{threads.pop()}@{domain}>"
        headers["In-Reply-To"] = root
        headers["References"] = root
    # A reply address only when the email is about exactly one open post the member may
    # answer: in a batch of several, which post a reply answers would be a guess.
    if letter.cadence == "immediately" and len(items) == 1 and items[0].reply_to:
        headers["Reply-To"] = items[0].reply_to
    return headers


def _subject(settings: Settings, letter: Letter) -> str:
    site = settings.email_from_name or "forum"
    if letter.cadence != "immediately":
        return f"Your {letter.cadence} digest from {site}"
    everything = letter.items + letter.statements
    if len(everything) == 1:
        # One line, whatever the notification's text holds (a header cannot carry a newline).
        return " ".join(everything[0].headline.split())[:200]
    return f"{len(everything)} new notifications from {site}"


async def _enqueue(settings: Settings, conn: BaseDBAsyncClient, letter: Letter) -> None:
    letter.items = _collapse(letter.items)
    topics = {i.topic for i in letter.items + letter.statements}
    if letter.cadence == "immediately":
        group = topics.pop() if len(topics) == 1 else "immediately"
    else:
        group = letter.cadence
    subject = _subject(settings, letter)
    unsubscribe = mail_prefs.unsubscribe_url(
        settings.base_url, settings.secret_key, letter.member.id, group
    )
    text, html = compose.render(
        "notice" if letter.cadence == "immediately" else "digest",
        subject=subject,
        site_name=settings.email_from_name or "forum",
        base_url=settings.base_url,
        items=letter.items,
        statements=letter.statements,
        cadence=letter.cadence,
        unsubscribe_url=unsubscribe,
        unsubscribe_what=mail_prefs.group_label(group),
        preferences_url=f"{settings.base_url}/account#email",
    )
    await enqueue(
        conn,
        kind="notify" if letter.cadence == "immediately" else "digest",
        to=letter.member.email or "",
        subject=subject,
        text=text,
        html=html,
        headers=_headers(settings, letter, group),
        member_id=letter.member.id,
        domain=domain_of(settings.base_url),
    )


# ---- statements -------------------------------------------------------------------------------


async def _statement_items(
    settings: Settings, since: datetime, until: datetime, conn: BaseDBAsyncClient
) -> list[tuple[datetime, Thread | None, Item]]:
    """New statements in (since, until], each with its thread (to ask the policy per member)."""
    rows = (
        await Statement.filter(created_at__gt=since, created_at__lte=until)
        .order_by("created_at")
        .using_db(conn)
    )
    threads = {
        t.statement_id: t
        for t in await Thread.filter(statement_id__in=[s.id for s in rows])
        .select_related("channel")
        .using_db(conn)
    }
    out = []
    for statement in rows:
        thread = threads.get(statement.id)
        url = f"{settings.base_url}/t/{thread.id}" if thread else settings.base_url
        item = Item(EMAIL_FULL, "statement", f"New statement: {statement.title}", url)
        out.append((statement.created_at, thread, item))
    return out


def _readable(
    found: list[tuple[datetime, Thread | None, Item]], actor: Actor, since: datetime
) -> list[Item]:
    return [
        item
        for created, thread, item in found
        if created > since and (thread is None or policy.can(actor, Action.READ, thread))
    ]


# ---- the batch pass -----------------------------------------------------------------------------


async def mail_batches(settings: Settings, now: datetime | None = None) -> int:
    """Mail what is due at once: notifications older than the batching window and still unread
    (plus new statements for members who want those at once), one email per member. Returns
    the number of emails written to the outbox."""
    now = now or _now()
    cutoff = now - timedelta(seconds=settings.mail_batch_seconds)
    conn = connections.get("default")
    due = await conn.execute_query_dict(
        sql_for(
            conn,
            "SELECT DISTINCT member_id FROM notification "
            "WHERE mail_state = 'new' AND created_at <= ? LIMIT 2000",
        ),
        [cutoff],
    )
    await _ensure_rows(row["member_id"] for row in due)
    newest = await Statement.filter(created_at__lte=cutoff).order_by("-created_at").first()
    written = 0
    while True:
        async with in_transaction() as tx:
            rows = await _claim(
                tx,
                "(EXISTS (SELECT 1 FROM notification n WHERE n.member_id = mail_settings.member_id"
                " AND n.mail_state = 'new' AND n.created_at <= ?))"
                " OR (statement = 'immediately' AND statements_mailed_at < ?)",
                [cutoff, newest.created_at if newest else datetime.min.replace(tzinfo=UTC)],
            )
            if not rows:
                return written
            written += await _batch_chunk(settings, tx, rows, cutoff)
        await asyncio.sleep(0)  # let waiting requests in between chunks


async def _batch_chunk(
    settings: Settings, conn: BaseDBAsyncClient, rows: list[MailSettings], cutoff: datetime
) -> int:
    prefs = {row.member_id: mail_prefs.cadences_of(row) for row in rows}
    members = {m.id: m for m in await Member.filter(id__in=list(prefs)).using_db(conn)}
    actors = await actors_for(list(members.values()))
    notes = list(
        await Notification.filter(
            member_id__in=list(prefs), mail_state="new", created_at__lte=cutoff
        )
        .order_by("created_at")
        .using_db(conn)
    )
    marks: dict[str, list[int]] = defaultdict(list)
    mailing: dict[int, list[Notification]] = defaultdict(list)
    for note in notes:
        member = members[note.member_id]
        topic = mail_prefs.topic_of(note.kind)
        cadence = prefs[note.member_id].get(topic, "never") if topic else "never"
        if note.read or cadence == "never" or not _reachable(member):
            marks["skipped"].append(note.id)
        elif cadence != "immediately":
            marks["held"].append(note.id)
        else:
            mailing[note.member_id].append(note)
    wanted = [n for group in mailing.values() for n in group]
    items = await _items_for(settings, wanted, actors, conn, with_posts=True)
    # New statements for members who want them at once.
    statement_rows = [r for r in rows if prefs[r.member_id]["statement"] == "immediately"]
    found: list[tuple[datetime, Thread | None, Item]] = []
    if statement_rows:
        since = min(r.statements_mailed_at or cutoff for r in statement_rows)
        found = await _statement_items(settings, since, cutoff, conn)
    written = 0
    for member_id, member in members.items():
        lines = [items[str(n.id)] for n in mailing.get(member_id, []) if str(n.id) in items]
        statements: list[Item] = []
        if prefs[member_id]["statement"] == "immediately" and _reachable(member):
            row = next(r for r in rows if r.member_id == member_id)
            statements = _readable(found, actors[member_id], row.statements_mailed_at or cutoff)
        marks["mailed"].extend(n.id for n in mailing.get(member_id, []))
        if lines or statements:
            await _enqueue(settings, conn, Letter(member, lines, "immediately", statements))
            written += 1
    for state, ids in marks.items():
        if ids:
            await Notification.filter(id__in=ids).using_db(conn).update(mail_state=state)
    if statement_rows:
        await (
            MailSettings.filter(id__in=[r.id for r in statement_rows])
            .using_db(conn)
            .update(statements_mailed_at=cutoff)
        )
    return written


def _reachable(member: Member) -> bool:
    return policy.notifications.may_receive_mail(
        member.status, member.email, member.email_confirmed_at
    )


# ---- the digest pass ----------------------------------------------------------------------------


def digest_slot(settings: Settings, cadence: str, now: datetime) -> datetime:
    """The latest moment at or before `now` when the `cadence` digest is due."""
    slot = now.replace(hour=settings.digest_hour, minute=0, second=0, microsecond=0)
    if slot > now:
        slot -= timedelta(days=1)
    if cadence == "weekly":
        slot -= timedelta(days=(slot.weekday() - settings.digest_weekday) % 7)
    return slot


PERIOD = {"daily": timedelta(days=1), "weekly": timedelta(days=7)}


async def mail_digests(settings: Settings, now: datetime | None = None) -> int:
    """Write each member's daily and weekly digest once per slot; the number written."""
    now = now or _now()
    conn = connections.get("default")
    # Members who can be mailed but have never saved preferences get the defaults' digests.
    missing = await conn.execute_query_dict(
        "SELECT m.id FROM member m WHERE m.email_confirmed_at IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM mail_settings s WHERE s.member_id = m.id)"
    )
    await _ensure_rows(row["id"] for row in missing)
    written = 0
    for cadence in ("daily", "weekly"):
        slot = digest_slot(settings, cadence, now)
        column = f"{cadence}_digest_at"
        wants = " OR ".join(f"{topic} = ?" for topic in mail_prefs.TOPICS)
        while True:
            async with in_transaction() as tx:
                rows = await _claim(
                    tx,
                    f"({column} IS NULL OR {column} < ?) AND ({wants})",
                    [slot, *([cadence] * len(mail_prefs.TOPICS))],
                )
                if not rows:
                    break
                written += await _digest_chunk(settings, tx, rows, cadence, slot)
                # Only rows still before this slot move on (never back, should another
                # process's clock be ahead).
                null: dict[str, Any] = {f"{column}__isnull": True}
                earlier: dict[str, Any] = {f"{column}__lt": slot}
                before = Q(**null) | Q(**earlier)
                await (
                    MailSettings.filter(before, id__in=[r.id for r in rows])
                    .using_db(tx)
                    .update(**{column: slot})
                )
            await asyncio.sleep(0)  # let waiting requests in between chunks
    return written


async def _digest_chunk(
    settings: Settings,
    conn: BaseDBAsyncClient,
    rows: list[MailSettings],
    cadence: str,
    slot: datetime,
) -> int:
    column = f"{cadence}_digest_at"
    floor = slot - PERIOD[cadence]
    # Only rows still before this slot (another process may have done the rest).
    rows = [r for r in rows if getattr(r, column) is None or getattr(r, column) < slot]
    since = {r.member_id: max(getattr(r, column) or floor, floor) for r in rows}
    prefs = {r.member_id: mail_prefs.cadences_of(r) for r in rows}
    members = {m.id: m for m in await Member.filter(id__in=list(prefs)).using_db(conn)}
    reachable = {mid for mid, m in members.items() if _reachable(m)}
    if not reachable:
        return 0
    actors = await actors_for([members[mid] for mid in reachable])
    kinds = [k for k, topic in mail_prefs.KIND_TOPIC.items()]
    notes = list(
        await Notification.filter(
            member_id__in=list(reachable),
            read=False,
            kind__in=kinds,
            mail_state__in=("new", "held"),
            created_at__gt=min(since.values()),
            created_at__lte=slot,
        )
        .order_by("created_at")
        .using_db(conn)
    )
    chosen = [
        n
        for n in notes
        if n.created_at > since[n.member_id]
        and prefs[n.member_id][mail_prefs.KIND_TOPIC[n.kind]] == cadence
    ]
    items = await _items_for(settings, chosen, actors, conn, with_posts=False)
    found: list[tuple[datetime, Thread | None, Item]] = []
    if any(prefs[mid]["statement"] == cadence for mid in reachable):
        found = await _statement_items(settings, min(since.values()), slot, conn)
    by_member: dict[int, list[Notification]] = defaultdict(list)
    for note in chosen:
        by_member[note.member_id].append(note)
    written = 0
    mailed: list[int] = []
    for mid in sorted(reachable):
        lines = [items[str(n.id)] for n in by_member.get(mid, []) if str(n.id) in items]
        statements = (
            _readable(found, actors[mid], since[mid]) if prefs[mid]["statement"] == cadence else []
        )
        if lines or statements:
            await _enqueue(settings, conn, Letter(members[mid], lines, cadence, statements))
            written += 1
            mailed.extend(n.id for n in by_member.get(mid, []))
    if mailed:
        await Notification.filter(id__in=mailed).using_db(conn).update(mail_state="mailed")
    return written
