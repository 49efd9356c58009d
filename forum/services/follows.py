"""Following: members watch or mute threads and channels, and are told of what follows.

Watching a thread tells of new replies to the thread itself (a reply to a post already tells
that post's author); watching a channel tells of new threads in it. Starting a thread or
replying follows it, unless the member muted it. Muting says "never tell me of activity here";
mentions still reach a member who muted (a mention is addressed to them).

Who may follow, and who is told, is the policy's (forum.policy.follows), asked at the moment of
telling: a follow left behind by a lost seat or a suspension tells nothing. Telling followers
costs a fixed number of queries per post, however many they are.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError

from forum import policy
from forum.db import sql_for
from forum.errors import Invalid
from forum.models import Channel, Follow, Member, Thread
from forum.models.follows import LEVELS
from forum.models.ids import new_id
from forum.policy import Action
from forum.realtime.events import Tx
from forum.services import access, notifications
from forum.services.context import Ctx

# "none" takes the row away (neither watching nor muted).
CHOICES = (*LEVELS, "none")
# The Following page lists at most this many of each.
LIST_LIMIT = 200


def clean_level(level: str) -> str:
    if level not in CHOICES:
        raise Invalid(fields={"level": "One of: watching, muted, none."})
    return level


async def _set(member_id: int, level: str, *, thread_id: int = 0, channel_id: int = 0) -> None:
    where: dict[str, Any] = {"thread_id": thread_id} if thread_id else {"channel_id": channel_id}
    if level == "none":
        await Follow.filter(member_id=member_id, **where).delete()
        return
    muted = level == "muted"
    changed = await Follow.filter(member_id=member_id, **where).update(muted=muted)
    if not changed:
        # Two clicks at once: the second meets the first's row, then sets it as it wanted.
        with contextlib.suppress(IntegrityError):
            await Follow.create(member_id=member_id, muted=muted, **where)
            return
        await Follow.filter(member_id=member_id, **where).update(muted=muted)


async def follow_thread(ctx: Ctx, thread_id: int, level: str) -> Thread:
    """Watch, mute or stop following a thread the actor reads (404 for one they do not)."""
    thread = await access.thread_for(ctx, thread_id)
    policy.require(ctx.actor, Action.FOLLOW, thread)
    level = clean_level(level)
    assert ctx.actor.member_id is not None
    await _set(ctx.actor.member_id, level, thread_id=thread.id)
    return thread


async def follow_channel(ctx: Ctx, slug: str, level: str) -> Channel:
    """Watch, mute or stop following a channel the actor reads (404 for one they do not)."""
    channel = await access.channel_by_slug(ctx, slug)
    policy.require(ctx.actor, Action.FOLLOW, channel)
    level = clean_level(level)
    assert ctx.actor.member_id is not None
    await _set(ctx.actor.member_id, level, channel_id=channel.id)
    return channel


async def _level(member_id: int, where: dict[str, Any]) -> str:
    muted = await Follow.filter(member_id=member_id, **where).values_list("muted", flat=True)
    if not muted:
        return "none"
    return "muted" if muted[0] else "watching"


async def thread_level(ctx: Ctx, thread_id: int) -> str:
    """The actor's level for a thread they may follow: watching, muted or none."""
    thread = await access.thread_for(ctx, thread_id)
    policy.require(ctx.actor, Action.FOLLOW, thread)
    assert ctx.actor.member_id is not None
    return await _level(ctx.actor.member_id, {"thread_id": thread.id})


async def channel_level(ctx: Ctx, slug: str) -> str:
    """The actor's level for a channel they may follow: watching, muted or none."""
    channel = await access.channel_by_slug(ctx, slug)
    policy.require(ctx.actor, Action.FOLLOW, channel)
    assert ctx.actor.member_id is not None
    return await _level(ctx.actor.member_id, {"channel_id": channel.id})


async def level_in_channel(ctx: Ctx, channel: Channel) -> str:
    """The actor's level for a channel already fetched for them ("none" for whoever may not
    follow it)."""
    if not policy.can(ctx.actor, Action.FOLLOW, channel):
        return "none"
    assert ctx.actor.member_id is not None
    return await _level(ctx.actor.member_id, {"channel_id": channel.id})


@dataclass
class Following:
    """What a member follows and mutes, as far as they may still read it."""

    threads: list[Follow]
    channels: list[Follow]


async def following(ctx: Ctx) -> Following:
    """The actor's follows of threads and channels they read now, newest first."""
    policy.members.check_active_member(ctx.actor)
    rows = await (
        Follow.filter(member_id=ctx.actor.member_id)
        .filter(policy.follows.visible_follows(ctx.actor))
        .select_related("thread__channel__caucus", "channel__caucus")
        .order_by("-created_at", "-id")
        .limit(2 * LIST_LIMIT)
    )
    threads = [
        r for r in rows if r.thread is not None and policy.can(ctx.actor, Action.FOLLOW, r.thread)
    ]
    channels = [
        r for r in rows if r.channel is not None and policy.can(ctx.actor, Action.FOLLOW, r.channel)
    ]
    return Following(threads[:LIST_LIMIT], channels[:LIST_LIMIT])


# ---- inside the posting transaction -------------------------------------------------------------


async def follow_own(conn: BaseDBAsyncClient, member_id: int, thread_id: int) -> None:
    """Starting or replying to a thread follows it; a member who muted it stays muted. One
    statement."""
    await conn.execute_query(
        sql_for(
            conn,
            "INSERT INTO follow (id, member_id, thread_id, muted, created_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        ),
        [new_id(), member_id, thread_id, False, datetime.now(UTC)],
    )


async def _tell(
    tx: Tx,
    thread: Thread,
    follower_ids: Iterable[int],
    text: str,
    url: str,
    *,
    actor_id: int | None,
    post_id: int | None,
) -> list[int]:
    ids = sorted(set(follower_ids))
    if not ids:
        return []
    members = await Member.filter(id__in=ids, status="active").using_db(tx.conn)
    actors = await notifications.actors_for(members)
    allowed = [mid for mid, actor in actors.items() if policy.follows.may_be_told(actor, thread)]
    return await notifications.notify_many(
        tx, allowed, "following", text, url, actor_id=actor_id, thread=thread, post_id=post_id
    )


async def tell_thread_followers(
    tx: Tx, thread: Thread, post_id: int, author_id: int, author: str, told: set[int]
) -> list[int]:
    """A new reply to the thread itself: its watchers hear of it (not the author, not those
    already told of this post as a mention or a reply to them)."""
    watchers = await (
        Follow.filter(thread_id=thread.id, muted=False)
        .using_db(tx.conn)
        .values_list("member_id", flat=True)
    )
    ids = {int(m) for m in watchers} - told - {author_id}  # type: ignore[call-overload]
    return await _tell(
        tx,
        thread,
        ids,
        f"@{author} replied in “{thread.title}”, which you follow",
        f"/t/{thread.id}#p{post_id}",
        actor_id=author_id,
        post_id=post_id,
    )


async def tell_channel_followers(
    tx: Tx,
    thread: Thread,
    post_id: int | None,
    author_id: int | None,
    author: str | None,
    told: set[int],
) -> list[int]:
    """A new thread in a channel (`thread.channel` loaded): the channel's watchers hear of it.
    With no author it is a published statement's thread."""
    watchers = await (
        Follow.filter(channel_id=thread.channel_id, muted=False)
        .using_db(tx.conn)
        .values_list("member_id", flat=True)
    )
    ids = {int(m) for m in watchers} - told - {author_id}  # type: ignore[call-overload]
    where = thread.channel.name
    text = (
        f"@{author} started “{thread.title}” in {where}, which you follow"
        if author
        else f"New statement “{thread.title}” in {where}, which you follow"
    )
    return await _tell(
        tx, thread, ids, text, f"/t/{thread.id}", actor_id=author_id, post_id=post_id
    )
