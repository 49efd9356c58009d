"""The append-only moderation log: every act with who, what, target, reason and time."""

from __future__ import annotations

from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from forum import limits, policy
from forum.models import CaucusMembership, Member, ModerationAction
from forum.services.context import Ctx


async def record(
    conn: BaseDBAsyncClient,
    ctx: Ctx,
    action: str,
    reason: str,
    *,
    caucus_id: int | None = None,
    thread_id: int | None = None,
    post_id: int | None = None,
    subject: Member | None = None,
    label: str = "",
) -> ModerationAction:
    return await ModerationAction.create(
        actor_id=ctx.member.id if ctx.member else None,
        action=action,
        reason=reason[: limits.MAX_REASON],
        caucus_id=caucus_id,
        thread_id=thread_id,
        post_id=post_id,
        subject_id=subject.id if subject else None,
        target_label=label[:400],
        using_db=conn,
    )


async def record_in_caucuses(
    conn: BaseDBAsyncClient, ctx: Ctx, action: str, reason: str, member: Member
) -> None:
    """A site-wide act on a member is also written where each of their caucuses reads it, so a
    caucus learns what happened to its member without anyone outside learning of the caucus."""
    caucus_ids = (
        await CaucusMembership.filter(member_id=member.id, status="active")
        .using_db(conn)
        .values_list("caucus_id", flat=True)
    )
    for caucus_id in caucus_ids:
        await record(
            conn,
            ctx,
            action,
            reason,
            caucus_id=int(caucus_id),  # type: ignore[call-overload]
            subject=member,
            label=f"@{member.handle} (site-wide)",
        )


async def entries(ctx: Ctx, *, caucus_id: int | None = None, limit: int = 100) -> list[Any]:
    """The log as this actor may read it, newest first; `caucus_id` narrows to one caucus."""
    query = ModerationAction.filter(policy.visible_log(ctx.actor))
    if caucus_id is not None:
        query = query.filter(caucus_id=caucus_id)
    else:
        query = query.filter(caucus_id__isnull=True)
    return (
        await query.order_by("-created_at", "-id").limit(limit).select_related("actor", "subject")
    )
