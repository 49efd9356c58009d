"""Notifications: who is told of what, only ever about things they can read."""

from __future__ import annotations

from collections.abc import Sequence

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q

from forum import policy
from forum.db import sql_for
from forum.models import CaucusMembership, Follow, Member, Notification, Thread
from forum.models.ids import distinct_ids
from forum.policy import Action, Actor
from forum.realtime.events import Tx
from forum.services.context import Ctx

PAGE = 50
# notify_many tells at most this many members per statement.
NOTIFY_SLICE = 1000


async def actors_for(members: Sequence[Member]) -> dict[int, Actor]:
    """Actors for several members at once (one query for all their caucus seats)."""
    seats: dict[int, dict[int, str]] = {m.id: {} for m in members}
    pending: dict[int, set[int]] = {m.id: set() for m in members}
    if members:
        rows = await CaucusMembership.filter(member_id__in=list(seats)).values_list(
            "member_id", "caucus_id", "role", "status"
        )
        for member_id, caucus_id, role, status in rows:
            if status == "active":
                seats[member_id][caucus_id] = role
            else:
                pending[member_id].add(caucus_id)
    return {
        m.id: Actor(
            member_id=m.id,
            handle=m.handle,
            role=m.role,
            status=m.status,
            seats=seats[m.id],
            pending_seats=frozenset(pending[m.id]),
        )
        for m in members
    }


async def who_can_read(thread: Thread, members: Sequence[Member]) -> set[int]:
    actors = await actors_for(members)
    return {mid for mid, actor in actors.items() if policy.can(actor, Action.READ, thread)}


async def _bump(conn: BaseDBAsyncClient, member_id: int) -> int:
    rows = await conn.execute_query_dict(
        sql_for(
            conn,
            "UPDATE member SET unread_notifications = unread_notifications + 1 "
            "WHERE id = ? RETURNING unread_notifications",
        ),
        [member_id],
    )
    return int(rows[0]["unread_notifications"]) if rows else 0


async def notify(
    tx: Tx,
    member_id: int,
    kind: str,
    text: str,
    url: str,
    *,
    actor_id: int | None = None,
    thread: Thread | None = None,
    post_id: int | None = None,
    caucus_id: int | None = None,
) -> Notification | None:
    """Tell a member, unless it concerns a caucus they are no longer in: then nothing is
    written and nothing is counted (a caucus's own membership notices also reach members who
    asked to join or were invited)."""
    if thread is not None and caucus_id is None:
        caucus_id = thread.channel.caucus_id
    if caucus_id is not None:
        statuses = policy.notifications.seat_statuses_told(kind)
        seated = (
            await CaucusMembership.filter(
                caucus_id=caucus_id, member_id=member_id, status__in=statuses
            )
            .using_db(tx.conn)
            .exists()
        )
        if not seated:
            return None
    note = await Notification.create(
        member_id=member_id,
        kind=kind,
        text=text[:500],
        url=url[:300],
        actor_id=actor_id,
        thread_id=thread.id if thread else None,
        post_id=post_id,
        caucus_id=caucus_id,
        using_db=tx.conn,
    )
    unread = await _bump(tx.conn, member_id)
    await tx.emit(
        "member", member_id, "notification.created", {"notification_id": note.id, "unread": unread}
    )
    return note


async def list_for(ctx: Ctx, before: int | None = None) -> list[Notification]:
    policy.require(ctx.actor, Action.USE_ACCOUNT)
    visible = policy.notifications.filter_notifications(ctx.actor)
    query = Notification.filter(visible, member_id=ctx.actor.member_id)
    if before:
        # Ids are random: "older than `before`" is older than that notification's time (ties
        # broken by id, as the list is ordered), found among one's own notifications only.
        cursor = await Notification.filter(member_id=ctx.actor.member_id, id=before).first()
        if cursor is None:
            return []
        query = query.filter(
            Q(created_at__lt=cursor.created_at) | Q(created_at=cursor.created_at, id__lt=cursor.id)
        )
    return await query.select_related("actor").order_by("-created_at", "-id").limit(PAGE)


async def mark_read(ctx: Ctx, ids: Sequence[int] | None = None) -> int:
    """Mark some (or all) of one's notifications read; returns the new unread count."""
    policy.require(ctx.actor, Action.USE_ACCOUNT)
    member_id = ctx.actor.member_id
    query = Notification.filter(member_id=member_id, read=False)
    if ids is not None:
        query = query.filter(id__in=list(ids)[:200])
    await query.update(read=True)
    return await recount(member_id)  # type: ignore[arg-type]


async def recount(member_id: int, conn: BaseDBAsyncClient | None = None) -> int:
    """Count the unread notifications the member may see (as `list_for` filters them)."""
    caucus_ids = (
        await CaucusMembership.filter(member_id=member_id)
        .using_db(conn)
        .values_list("caucus_id", flat=True)
    )
    visible = policy.notifications.visible_notifications(caucus_ids)  # type: ignore[arg-type]
    unread = (
        await Notification.filter(visible, member_id=member_id, read=False).using_db(conn).count()
    )
    await Member.filter(id=member_id).using_db(conn).update(unread_notifications=unread)
    return unread


async def forget_caucus(conn: BaseDBAsyncClient, member_id: int, caucus_id: int) -> None:
    """Someone leaving a caucus keeps no notification about it, and follows none of its
    threads or channels (each notice also asks the policy, so this is tidiness, not the gate)."""
    await Notification.filter(member_id=member_id, caucus_id=caucus_id).using_db(conn).delete()
    follows = await (
        Follow.filter(member_id=member_id)
        .filter(Q(thread__channel__caucus_id=caucus_id) | Q(channel__caucus_id=caucus_id))
        .using_db(conn)
        .values_list("id", flat=True)
    )
    if follows:
        await Follow.filter(id__in=list(follows)).using_db(conn).delete()
    await recount(member_id, conn)


async def read_thread(member_id: int, thread_id: int) -> int | None:
    """Mark a member's notifications about a thread read; returns their new unread count, or
    None when there were none to mark."""
    changed = await Notification.filter(
        member_id=member_id, thread_id=thread_id, read=False
    ).update(read=True)
    return await recount(member_id) if changed else None


async def notify_many(
    tx: Tx,
    member_ids: Sequence[int],
    kind: str,
    text: str,
    url: str,
    *,
    actor_id: int | None,
    thread: Thread,
    post_id: int | None = None,
) -> list[int]:
    """`notify` for many members about one thread, in a fixed number of statements however
    many they are: the caucus seat check, one insert, one counter update and one insert of
    events. Callers pass only members the policy lets be told; a caucus thread's notices still
    reach only its active members (checked here again, as `notify` does). Returns who was told."""
    ids = sorted(set(member_ids))
    caucus_id = thread.channel.caucus_id
    if ids and caucus_id is not None:
        statuses = policy.notifications.seat_statuses_told(kind)
        seated = await (
            CaucusMembership.filter(caucus_id=caucus_id, member_id__in=ids, status__in=statuses)
            .using_db(tx.conn)
            .values_list("member_id", flat=True)
        )
        ids = sorted(set(ids) & {int(i) for i in seated})  # type: ignore[call-overload]
    told: list[int] = []
    # In slices, so a thread with thousands of followers stays within a statement's limit of
    # parameters (PostgreSQL: 32,767): a few statements per thousand members told.
    for start in range(0, len(ids), NOTIFY_SLICE):
        told += await _notify_slice(
            tx, ids[start : start + NOTIFY_SLICE], kind, text, url, actor_id, thread, post_id
        )
    return told


async def _notify_slice(
    tx: Tx,
    ids: list[int],
    kind: str,
    text: str,
    url: str,
    actor_id: int | None,
    thread: Thread,
    post_id: int | None,
) -> list[int]:
    caucus_id = thread.channel.caucus_id
    notes = [
        Notification(
            id=note_id,
            member_id=member_id,
            kind=kind,
            text=text[:500],
            url=url[:300],
            actor_id=actor_id,
            thread_id=thread.id,
            post_id=post_id,
            caucus_id=caucus_id,
        )
        for note_id, member_id in zip(distinct_ids(len(ids)), ids, strict=True)
    ]
    await Notification.bulk_create(notes, using_db=tx.conn)
    note_of = {n.member_id: n.id for n in notes}
    told = await tx.emit_to_members(
        "unread_notifications = unread_notifications + 1",
        [],
        "notification.created",
        note_of,
        lambda member_id, row: {
            "notification_id": note_of[member_id],
            "unread": int(row["unread_notifications"]),
        },
    )
    return sorted(told)
