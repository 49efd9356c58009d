"""Facilitation: flags, the review queue, and accountable actions with reasons.

Every act requires a reason, goes to the append-only log (in its caucus's log for caucus
channels), is announced live, and tells the member it concerns. Flags in a caucus channel go to
that caucus's conveners only; the policy's review scope keeps them from anyone else.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise.expressions import F

from forum import limits, policy
from forum.errors import Forbidden, Invalid, NotFound
from forum.models import Channel, Flag, Member, ModerationAction, Post, ReviewItem, Thread
from forum.models.moderation import FLAG_REASONS
from forum.policy import Action, Actor
from forum.realtime.events import Tx, unit_of_work
from forum.services import access, moderation_log, notifications, search_index
from forum.services.context import Ctx

REASON_LABELS = {
    "harassment": "harassment or abuse",
    "discriminatory": "discriminatory",
    "off_topic": "off-topic",
    "spam": "spam",
    "other": "other",
}
MAX_SLOW_MODE = limits.MAX_SLOW_MODE


def _reason(text: str) -> str:
    text = " ".join(text.split())
    if not text:
        raise Invalid(fields={"reason": "Give a reason: the member and the log will show it."})
    if len(text) > limits.MAX_REASON:
        raise Invalid(fields={"reason": f"A reason has at most {limits.MAX_REASON:,} characters."})
    return text


def _post_label(post: Post) -> str:
    author = post.author.handle if post.author else "a former member"
    return f"post by @{author} in “{post.thread.title}”"


def _caucus_of(thread: Thread) -> int | None:
    return thread.channel.caucus_id


# ---- flags and the review queue ------------------------------------------------------------


async def flag(ctx: Ctx, post_id: int, reason: str, note: str = "") -> ReviewItem:
    """Any member who reads a post may flag it; repeat flags join its one open review item."""
    post = await access.post_for(ctx, post_id)
    policy.require(ctx.actor, Action.FLAG, post)
    if reason not in FLAG_REASONS:
        raise Invalid(fields={"reason": "Choose a reason."})
    note = note.strip()[: limits.MAX_NOTE]
    if reason == "other" and not note:
        raise Invalid(fields={"note": "Say what is wrong when the reason is “other”."})
    thread: Thread = post.thread
    async with unit_of_work(ctx.services.publish) as tx:
        item = (
            await ReviewItem.filter(post_id=post.id, kind="flag", status="open")
            .using_db(tx.conn)
            .first()
        )
        if item is None:
            item = await ReviewItem.create(
                kind="flag", post_id=post.id, caucus_id=_caucus_of(thread), using_db=tx.conn
            )
            await _review_changed(tx, item.caucus_id)
        elif (
            await Flag.filter(item_id=item.id, reporter_id=ctx.actor.member_id)
            .using_db(tx.conn)
            .exists()
        ):
            raise Invalid("You have already flagged this post; it is waiting for review.")
        await Flag.create(
            item=item,
            post_id=post.id,
            reporter_id=ctx.actor.member_id,
            reason=reason,
            note=note,
            using_db=tx.conn,
        )
        await ReviewItem.filter(id=item.id).using_db(tx.conn).update(flag_count=F("flag_count") + 1)
    return item


async def open_count(actor: Actor) -> int | None:
    """How many open review items wait for this actor; None for one who reviews nothing."""
    if not policy.can(actor, Action.REVIEW):
        return None
    return await ReviewItem.filter(policy.review_scope(actor), status="open").count()


async def _review_changed(tx: Tx, caucus_id: int | None) -> None:
    """Tell each reviewer of an item's queue (site moderators, or the caucus's conveners) how
    many open items now wait for them, on their own topic: the header count follows live."""
    reviewers = await Member.filter(policy.moderation.reviewers(caucus_id)).using_db(tx.conn)
    actors = await notifications.actors_for(reviewers)
    for member_id, actor in actors.items():
        count = (
            await ReviewItem.filter(policy.review_scope(actor), status="open")
            .using_db(tx.conn)
            .count()
        )
        await tx.emit("member", member_id, "review.changed", {"review_open": count})


async def queue(ctx: Ctx, status: str = "open") -> list[ReviewItem]:
    """Review items this actor reviews: open ones oldest first, or resolved ones newest first."""
    scope = policy.review_scope(ctx.actor)
    if not policy.can(ctx.actor, Action.REVIEW):
        raise Forbidden("The review queue is for facilitators and caucus conveners.")
    status = "resolved" if status == "resolved" else "open"
    order = ("created_at", "id") if status == "open" else ("-created_at", "-id")
    items = (
        await ReviewItem.filter(scope, status=status)
        .order_by(*order)
        .limit(100)
        .select_related(
            "post__thread__channel", "post__author", "subject", "claimed_by", "resolved_by"
        )
    )
    flags = await Flag.filter(item_id__in=[i.id for i in items]).order_by("created_at", "id")
    by_item: dict[int, list[Flag]] = {}
    for f in flags:
        by_item.setdefault(f.item_id, []).append(f)
    for item in items:
        item.flag_list = by_item.get(item.id, [])
        item.reasons = sorted({REASON_LABELS.get(f.reason, f.reason) for f in item.flag_list})
    return list(items)


async def _item_for(ctx: Ctx, item_id: int) -> ReviewItem:
    if not 0 < item_id < 2**31:
        raise NotFound()
    item = (
        await ReviewItem.filter(id=item_id)
        .select_related("post__thread__channel", "post__author")
        .first()
    )
    if item is None or not policy.can(ctx.actor, Action.MODERATE, item):
        raise NotFound()
    return item


async def claim(ctx: Ctx, item_id: int) -> ReviewItem:
    item = await _item_for(ctx, item_id)
    if item.status != "open":
        raise Invalid("This item is already resolved.")
    item.claimed_by_id = ctx.actor.member_id
    await item.save(update_fields=["claimed_by_id"])
    return item


async def resolve(ctx: Ctx, item_id: int, resolution: str, reason: str) -> ReviewItem:
    """Close a review item by acting or dismissing, with a reason; flaggers learn the outcome."""
    item = await _item_for(ctx, item_id)
    if item.status != "open":
        raise Invalid("This item is already resolved.")
    if resolution not in ("actioned", "dismissed"):
        raise Invalid(fields={"resolution": "Choose: acted on, or dismissed."})
    reason = _reason(reason)
    async with unit_of_work(ctx.services.publish) as tx:
        await _close_item(tx, ctx, item, resolution, reason)
    return item


async def _close_item(tx: Tx, ctx: Ctx, item: ReviewItem, resolution: str, reason: str) -> None:
    item.status = "resolved"
    item.resolution = resolution
    item.resolution_reason = reason
    item.resolved_by_id = ctx.actor.member_id
    item.resolved_at = datetime.now(UTC)
    await item.save(using_db=tx.conn)
    await _review_changed(tx, item.caucus_id)
    outcome = "acted on" if resolution == "actioned" else "dismissed"
    if item.kind == "flag":
        reporters = (
            await Flag.filter(item_id=item.id)
            .using_db(tx.conn)
            .values_list("reporter_id", flat=True)
        )
        for reporter in {r for r in reporters if r}:
            await notifications.notify(
                tx,
                int(reporter),  # type: ignore[call-overload]
                "flag_outcome",
                f"Your flag was reviewed and {outcome}: {reason}",
                f"/p/{item.post_id}" if item.post_id else "/",
                actor_id=ctx.actor.member_id,
                caucus_id=item.caucus_id,
            )
    elif item.kind == "appeal":
        member_id = item.subject_id
        if member_id is None and item.post_id is not None:
            authors = (
                await Post.filter(id=item.post_id)
                .using_db(tx.conn)
                .values_list("author_id", flat=True)
            )
            member_id = authors[0] if authors else None  # type: ignore[assignment]
        if member_id:
            await notifications.notify(
                tx,
                member_id,
                "moderation",
                f"Your appeal was reviewed and {outcome}: {reason}",
                f"/p/{item.post_id}" if item.post_id else "/",
                actor_id=ctx.actor.member_id,
                caucus_id=item.caucus_id,
            )


async def _resolve_open_flags(tx: Tx, ctx: Ctx, post: Post, reason: str) -> None:
    items = await ReviewItem.filter(post_id=post.id, kind="flag", status="open").using_db(tx.conn)
    for item in items:
        await _close_item(tx, ctx, item, "actioned", reason)


# ---- actions on posts ----------------------------------------------------------------------


async def post_for_moderation(ctx: Ctx, post_id: int) -> Post:
    """The post for its moderation page: its moderators, or its author appealing."""
    post = await access.post_for(ctx, post_id)
    policy.require(ctx.actor, Action.OPEN_MODERATION, post)
    return post


async def _moderated_post(ctx: Ctx, post_id: int) -> Post:
    post = await access.post_for(ctx, post_id)
    policy.require(ctx.actor, Action.MODERATE, post)
    return post


async def hide(ctx: Ctx, post_id: int, reason: str) -> Post:
    post = await _moderated_post(ctx, post_id)
    reason = _reason(reason)
    if post.hidden:
        raise Invalid("This post is already hidden.")
    if post.deleted:
        raise Invalid("This post was deleted by its author.")
    thread: Thread = post.thread
    async with unit_of_work(ctx.services.publish) as tx:
        post.hidden = True
        post.hidden_reason = reason
        await post.save(update_fields=["hidden", "hidden_reason"], using_db=tx.conn)
        await search_index.unindex_post(tx.conn, post.id)
        await moderation_log.record(
            tx.conn,
            ctx,
            "hide_post",
            reason,
            caucus_id=_caucus_of(thread),
            thread_id=thread.id,
            post_id=post.id,
            label=_post_label(post),
        )
        await _resolve_open_flags(tx, ctx, post, reason)
        if post.author_id and post.author_id != ctx.actor.member_id:
            await notifications.notify(
                tx,
                post.author_id,
                "moderation",
                f"A post of yours was hidden: {reason}",
                f"/p/{post.id}",
                actor_id=ctx.actor.member_id,
                thread=thread,
                post_id=post.id,
            )
        await tx.emit("thread", thread.id, "post.hidden", {"post_id": post.id})
    return post


async def restore(ctx: Ctx, post_id: int, reason: str) -> Post:
    post = await _moderated_post(ctx, post_id)
    reason = _reason(reason)
    if not post.hidden:
        raise Invalid("This post is not hidden.")
    thread: Thread = post.thread
    async with unit_of_work(ctx.services.publish) as tx:
        post.hidden = False
        post.hidden_reason = ""
        await post.save(update_fields=["hidden", "hidden_reason"], using_db=tx.conn)
        await search_index.index_post(tx.conn, post, thread.title)
        await moderation_log.record(
            tx.conn,
            ctx,
            "restore_post",
            reason,
            caucus_id=_caucus_of(thread),
            thread_id=thread.id,
            post_id=post.id,
            label=_post_label(post),
        )
        # Restoring settles the post's open items: its appeal is granted, its flags dismissed
        # (the post stands), each flagger and the author told why.
        items = await ReviewItem.filter(post_id=post.id, status="open").using_db(tx.conn)
        for item in items:
            await _close_item(
                tx, ctx, item, "actioned" if item.kind == "appeal" else "dismissed", reason
            )
        if post.author_id and post.author_id != ctx.actor.member_id:
            await notifications.notify(
                tx,
                post.author_id,
                "moderation",
                f"A post of yours was restored: {reason}",
                f"/p/{post.id}",
                actor_id=ctx.actor.member_id,
                thread=thread,
                post_id=post.id,
            )
        await tx.emit("thread", thread.id, "post.restored", {"post_id": post.id})
    return post


async def appeal_of_post(post: Post) -> ReviewItem | None:
    """The appeal made against a post's hiding, if any (a post is appealed once)."""
    return await ReviewItem.filter(post_id=post.id, kind="appeal").order_by("-created_at").first()


async def appeal_post(ctx: Ctx, post_id: int, note: str) -> ReviewItem:
    """The author of a hidden post may appeal it once, with a note, into the review queue."""
    post = await access.post_for(ctx, post_id)
    policy.require(ctx.actor, Action.APPEAL, post)
    note = note.strip()
    if not note:
        raise Invalid(fields={"note": "Say why the post should be restored."})
    if await ReviewItem.filter(post_id=post.id, kind="appeal").exists():
        raise Invalid("You have already appealed this post.")
    thread: Thread = post.thread
    async with unit_of_work(ctx.services.publish) as tx:
        item = await ReviewItem.create(
            kind="appeal",
            post_id=post.id,
            note=note[: limits.MAX_NOTE],
            caucus_id=_caucus_of(thread),
            using_db=tx.conn,
        )
        await _review_changed(tx, item.caucus_id)
    return item


@dataclass(frozen=True)
class Suspension:
    """What a suspended member is told: why, since and until when, and whether they have
    appealed this suspension yet (each suspension may be appealed once)."""

    reason: str
    since: datetime | None
    until: datetime | None
    appealed_at: datetime | None


async def suspension_of(member: Member) -> Suspension:
    since = await _suspended_since(member)
    appeal = await _appeal_of_suspension(member, since)
    return Suspension(
        reason=member.suspension_reason or "",
        since=since,
        until=member.suspended_until,
        appealed_at=appeal.created_at if appeal else None,
    )


async def _suspended_since(member: Member) -> datetime | None:
    """When the current suspension began: the latest suspension in the log."""
    act = (
        await ModerationAction.filter(subject_id=member.id, action="suspend", caucus_id=None)
        .order_by("-created_at")
        .first()
    )
    return act.created_at if act else None


async def _appeal_of_suspension(member: Member, since: datetime | None) -> ReviewItem | None:
    query = ReviewItem.filter(subject_id=member.id, kind="appeal", post_id=None)
    if since is not None:
        query = query.filter(created_at__gte=since)
    return await query.order_by("-created_at").first()


APPEAL_TOKEN_SECONDS = 3600


def appeal_token(secret: str, member_id: int, moment: datetime | None = None) -> str:
    """A token the suspended page carries in its appeal form, so a member who has just given
    their password need not give it again: their id and an expiry, signed with the secret."""
    expires = int((moment or datetime.now(UTC)).timestamp()) + APPEAL_TOKEN_SECONDS
    body = f"{member_id}.{expires}"
    mac = hmac.new(secret.encode(), f"appeal:{body}".encode(), hashlib.sha256).hexdigest()[:32]
    return f"{body}.{mac}"


def appeal_token_member(secret: str, token: str) -> int | None:
    """The member id a valid, unexpired appeal token names; None otherwise."""
    parts = token.split(".")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit() or len(token) > 80:
        return None
    body = f"{parts[0]}.{parts[1]}"
    mac = hmac.new(secret.encode(), f"appeal:{body}".encode(), hashlib.sha256).hexdigest()[:32]
    if not hmac.compare_digest(mac, parts[2]):
        return None
    if int(parts[1]) < datetime.now(UTC).timestamp():
        return None
    return int(parts[0])


async def appeal_suspension(ctx: Ctx, member: Member, note: str) -> ReviewItem:
    """A suspended member may appeal each suspension once (they proved who they are)."""
    note = note.strip()
    if not note:
        raise Invalid(fields={"note": "Say why the suspension should be lifted."})
    if member.status != "suspended":
        raise Invalid("This account is not suspended.")
    if await _appeal_of_suspension(member, await _suspended_since(member)) is not None:
        raise Invalid("You have already appealed this suspension.")
    async with unit_of_work(ctx.services.publish) as tx:
        item = await ReviewItem.create(
            kind="appeal", subject_id=member.id, note=note[: limits.MAX_NOTE], using_db=tx.conn
        )
        await _review_changed(tx, None)
    return item


async def close_suspension_appeals(tx: Tx, ctx: Ctx, member_id: int, reason: str) -> None:
    """Lifting a suspension grants its open appeal (the member is told the reason)."""
    items = await ReviewItem.filter(
        subject_id=member_id, kind="appeal", post_id=None, status="open"
    ).using_db(tx.conn)
    for item in items:
        await _close_item(tx, ctx, item, "actioned", reason)


# ---- actions on threads --------------------------------------------------------------------


THREAD_ACTIONS = ("lock", "unlock", "pin", "unpin", "slow_mode", "move")


async def act_on_thread(
    ctx: Ctx,
    thread_id: int,
    action: str,
    reason: str,
    seconds: int | None = None,
    channel_slug: str = "",
) -> Thread:
    thread = await access.thread_for(ctx, thread_id)
    policy.require(ctx.actor, Action.MODERATE, thread)
    if action not in THREAD_ACTIONS:
        raise Invalid(fields={"action": "Unknown action."})
    reason = _reason(reason)
    changes: dict[str, Any] = {}
    data: dict[str, Any] = {"thread_id": thread.id}
    label = f"thread “{thread.title}”"
    if action in ("lock", "unlock"):
        if thread.locked == (action == "lock"):
            raise Invalid(f"This thread is already {'locked' if thread.locked else 'unlocked'}.")
        changes["locked"] = action == "lock"
    elif action in ("pin", "unpin"):
        if thread.pinned == (action == "pin"):
            raise Invalid(f"This thread is already {'pinned' if thread.pinned else 'unpinned'}.")
        changes["pinned"] = action == "pin"
    elif action == "slow_mode":
        if seconds is None or not 0 <= seconds <= MAX_SLOW_MODE:
            raise Invalid(fields={"seconds": "Seconds between posts: 0 (off) to 86,400."})
        changes["slow_mode_seconds"] = seconds
        data["seconds"] = seconds
        label += f" ({seconds} s)" if seconds else " (off)"
    else:
        target = await Channel.get_or_none(slug=channel_slug[:80], caucus_id=None)
        if (
            thread.channel.caucus_id is not None
            or target is None
            or not policy.can(ctx.actor, Action.READ, target)
        ):
            raise Invalid(fields={"channel": "Threads move only between open channels."})
        if target.id == thread.channel_id:
            raise Invalid(fields={"channel": "The thread is already in that channel."})
        changes["channel_id"] = target.id
        data["channel_id"] = target.id
        label += f" to {target.name}"
    async with unit_of_work(ctx.services.publish) as tx:
        await Thread.filter(id=thread.id).using_db(tx.conn).update(**changes)
        if action == "move":
            await (
                Channel.filter(id=thread.channel_id)
                .using_db(tx.conn)
                .update(thread_count=F("thread_count") - 1)
            )
            await (
                Channel.filter(id=changes["channel_id"])
                .using_db(tx.conn)
                .update(thread_count=F("thread_count") + 1)
            )
        await moderation_log.record(
            tx.conn,
            ctx,
            action,
            reason,
            caucus_id=_caucus_of(thread),
            thread_id=thread.id,
            label=label,
        )
        await tx.emit("thread", thread.id, f"thread.{action}", data)
    for key, value in changes.items():
        setattr(thread, key, value)
    return thread


async def warn(ctx: Ctx, handle: str, reason: str) -> Member:
    """A private notice to a member; the log records that a warning was given and why."""
    from forum.services.accounts import member_by_handle

    policy.require(ctx.actor, Action.SUSPEND)
    member = await member_by_handle(handle)
    policy.require(ctx.actor, Action.SUSPEND, member)
    reason = _reason(reason)
    async with unit_of_work(ctx.services.publish) as tx:
        await notifications.notify(
            tx,
            member.id,
            "warning",
            f"A facilitator warned you: {reason}",
            "/moderation/log",
            actor_id=ctx.actor.member_id,
        )
        await moderation_log.record(
            tx.conn, ctx, "warn", reason, subject=member, label=f"@{member.handle}"
        )
    return member
