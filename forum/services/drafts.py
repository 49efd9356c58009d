"""Drafts: a reply being written, kept server-side for its author so it follows them from
the phone to the laptop. Only someone who may reply to the thread keeps a draft in it, and only
its author ever reads it back."""

from __future__ import annotations

from datetime import UTC, datetime

from tortoise.backends.base.client import BaseDBAsyncClient

from forum import limits, policy
from forum.errors import Invalid
from forum.models import Draft, Post, Thread
from forum.policy import Action
from forum.services import access
from forum.services.context import Ctx


async def _thread_for_drafting(ctx: Ctx, thread_id: int, parent_id: int | None) -> Thread:
    thread = await access.thread_for(ctx, thread_id)
    policy.require(ctx.actor, Action.REPLY, thread)
    if parent_id is not None:
        parent = await Post.get_or_none(id=parent_id) if 0 < parent_id < 2**31 else None
        if parent is None or parent.thread_id != thread.id:
            raise Invalid(fields={"parent_id": "That post is not in this thread."})
    return thread


async def save(ctx: Ctx, thread_id: int, parent_id: int | None, body: str) -> bool:
    """Keep (or, for an empty text, forget) the actor's draft; True when one is kept."""
    thread = await _thread_for_drafting(ctx, thread_id, parent_id)
    member_id = ctx.actor.member_id
    assert member_id is not None
    key = parent_id or 0
    if len(body) > limits.MAX_BODY:
        raise Invalid(fields={"body": f"At most {limits.MAX_BODY:,} characters."})
    if not body.strip():
        await Draft.filter(member_id=member_id, thread_id=thread.id, parent_key=key).delete()
        return False
    moment = datetime.now(UTC)
    updated = await Draft.filter(member_id=member_id, thread_id=thread.id, parent_key=key).update(
        body=body, updated_at=moment
    )
    if not updated:
        await Draft.update_or_create(
            {"body": body, "updated_at": moment},
            member_id=member_id,
            thread_id=thread.id,
            parent_key=key,
        )
    return True


async def of_thread(ctx: Ctx, thread: Thread) -> dict[int, str]:
    """The actor's drafts in a thread they may reply to, by post answered (0: the thread)."""
    member_id = ctx.actor.member_id
    if member_id is None or not policy.can(ctx.actor, Action.REPLY, thread):
        return {}
    rows = await Draft.filter(member_id=member_id, thread_id=thread.id).values_list(
        "parent_key", "body"
    )
    return {int(key): str(body) for key, body in rows}


async def list_for(ctx: Ctx, thread_id: int) -> dict[int, str]:
    thread = await _thread_for_drafting(ctx, thread_id, None)
    return await of_thread(ctx, thread)


async def forget(
    conn: BaseDBAsyncClient, member_id: int, thread_id: int, parent_id: int | None
) -> None:
    """The reply was posted: its draft goes, in the posting transaction."""
    await (
        Draft.filter(member_id=member_id, thread_id=thread_id, parent_key=parent_id or 0)
        .using_db(conn)
        .delete()
    )
