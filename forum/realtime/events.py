"""The outbox: events written in the transaction of the change they announce.

Each topic's sequence counter lives on the row that owns the topic (`thread.event_seq`,
`channel.event_seq`, `member.event_seq`). Incrementing it is an UPDATE of that row inside the
writing transaction, so a second writer to the same topic waits for the first to commit: the
numbers have no holes and commit order equals sequence order, on SQLite and PostgreSQL alike.
The broker is told only after the commit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from forum.db import sql_for
from forum.models import Event

TOPIC_TABLES = {
    "thread": "thread",
    "channel": "channel",
    "member": "member",
    # A confidential case: its reporter and handlers only (policy.reports).
    "case": "report",
}

Publish = Callable[[dict[str, Any]], Awaitable[None]]


def topic_name(kind: str, ident: int) -> str:
    return f"{kind}:{ident}"


def parse_topic(topic: str) -> tuple[str, int] | None:
    """("thread", 42) for "thread:42"; None for anything malformed or of an unknown kind."""
    kind, sep, ident = topic.partition(":")
    if not sep or kind not in TOPIC_TABLES or not ident.isdigit() or len(ident) > 12:
        return None
    return kind, int(ident)


def event_message(event: Event) -> dict[str, Any]:
    return {
        "id": event.id,
        "topic": event.topic,
        "seq": event.seq,
        "kind": event.kind,
        "data": event.payload,
    }


@dataclass
class Tx:
    """A unit of work: the connection to write with, and the events to publish after commit."""

    conn: BaseDBAsyncClient
    events: list[Event] = field(default_factory=list)

    async def emit(self, kind: str, ident: int, event_kind: str, data: dict[str, Any]) -> Event:
        table = TOPIC_TABLES[kind]
        rows = await self.conn.execute_query_dict(
            sql_for(
                self.conn,
                f"UPDATE {table} SET event_seq = event_seq + 1 WHERE id = ? RETURNING event_seq",
            ),
            [ident],
        )
        if not rows:
            raise LookupError(f"no {kind} {ident} to announce on")
        event = await Event.create(
            topic=topic_name(kind, ident),
            seq=int(rows[0]["event_seq"]),
            kind=event_kind,
            payload=data,
            created_at=datetime.now(UTC),
            using_db=self.conn,
        )
        self.events.append(event)
        return event

    async def emit_to_members(
        self,
        sets: str,
        params: list[Any],
        event_kind: str,
        member_ids: Iterable[int],
        payload: Callable[[int, dict[str, Any]], dict[str, Any]],
    ) -> dict[int, dict[str, Any]]:
        """One event on each of several members' topics, in two statements however many they
        are. `sets` (with `params`) is further SQL for the same UPDATE of their rows (say, a
        counter to bump); `payload(member_id, row)` makes each event's data from the updated
        row (its `id`, `event_seq` and `unread_notifications`). Returns the rows by member id.
        (The events' own `id` is left unset: only access events need one, see
        forum.realtime.hub.)"""
        ids = sorted(set(member_ids))
        if not ids:
            return {}
        holes = ", ".join("?" for _ in ids)
        extra = f", {sets}" if sets else ""
        rows = await self.conn.execute_query_dict(
            sql_for(
                self.conn,
                f"UPDATE member SET event_seq = event_seq + 1{extra} WHERE id IN ({holes}) "
                "RETURNING id, event_seq, unread_notifications",
            ),
            [*params, *ids],
        )
        found = {int(row["id"]): row for row in rows}
        moment = datetime.now(UTC)
        events = []
        for member_id, row in sorted(found.items()):
            events.append(
                Event(
                    topic=topic_name("member", member_id),
                    seq=int(row["event_seq"]),
                    kind=event_kind,
                    payload=payload(member_id, row),
                    created_at=moment,
                )
            )
        if events:
            await Event.bulk_create(events, using_db=self.conn)
            self.events.extend(events)
        return found


@asynccontextmanager
async def unit_of_work(publish: Publish | None) -> AsyncIterator[Tx]:
    """One transaction; on commit, each event is handed to `publish` in sequence order."""
    async with in_transaction() as conn:
        tx = Tx(conn)
        yield tx
    if publish is not None:
        for event in tx.events:
            await publish(event_message(event))


async def prune(older_than_days: int) -> int:
    """Delete events older than the retention period; returns how many went. A socket that
    asks to replay from before the oldest kept event is told to reset (reload its page)."""
    cutoff = datetime.now(UTC) - timedelta(days=older_than_days)
    return await Event.filter(created_at__lt=cutoff).delete()
