"""Writing posts: start a thread, reply, edit, delete. One transaction each, events inside it."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F

from forum import limits, policy, renderer
from forum.db import sql_for
from forum.errors import Invalid, RateLimited, Unprocessable
from forum.models import Channel, Member, Post, PostRevision, ReadMarker, Statement, Thread
from forum.models.ids import new_id
from forum.models.threads import MAX_DEPTH, PATH_SEGMENT
from forum.policy import Action
from forum.realtime.events import Tx, unit_of_work
from forum.rendering import RENDERER_VERSION, RenderedPost
from forum.services import (
    access,
    accounts,
    drafts,
    follows,
    mentions,
    notifications,
    search_index,
    threads,
)
from forum.services.context import Ctx

MAX_BODY = limits.MAX_BODY
MAX_TITLE = limits.MAX_TITLE
# Only this many mentions in one post link and notify.
MAX_MENTIONS = 50
TOO_SLOW_TO_RENDER = (
    "This text takes too long to format: try fewer links, brackets or tables. Your text is kept."
)
DUPLICATE_WINDOW = timedelta(minutes=2)
NEW_MEMBER_DAYS = 3
# The members whose text this process is formatting now. One text at a time per member: the
# render workers are shared by everyone, and a post waiting behind others spends its own time
# limit waiting, so one member's burst of slow texts would otherwise fill every worker and get
# other members' ordinary posts refused as too slow.
_formatting: set[int] = set()
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def path_segment(n: int) -> str:
    """The n-th child's fixed-width base-36 segment: sorting paths sorts siblings by age."""
    if not 0 <= n < 36**PATH_SEGMENT:
        raise Invalid("This conversation has too many replies in one place.")
    out = ""
    for _ in range(PATH_SEGMENT):
        n, digit = divmod(n, 36)
        out = _DIGITS[digit] + out
    return out


def now() -> datetime:
    return datetime.now(UTC)


def clean_body(body: str) -> str:
    body = body.replace("\r\n", "\n").strip()
    if not body:
        raise Invalid(fields={"body": "Write something first: the post is empty."})
    if len(body) > MAX_BODY:
        raise Invalid(fields={"body": f"A post has at most {MAX_BODY:,} characters."})
    return body


def clean_title(title: str) -> str:
    title = " ".join(title.split())
    if not title:
        raise Invalid(fields={"title": "Give the thread a title."})
    if len(title) > MAX_TITLE:
        raise Invalid(fields={"title": f"A title has at most {MAX_TITLE} characters."})
    return title


def clean_key(key: str | None) -> str | None:
    key = (key or "").strip()
    if not key:
        return None
    if len(key) > limits.MAX_KEY or not all(c.isalnum() or c in "-_" for c in key):
        raise Invalid(fields={"key": "A client key has at most 64 letters, digits, - or _."})
    return key


async def _mentionable(handles: list[str]) -> dict[str, Member]:
    if not handles:
        return {}
    members = await Member.filter(handle_key__in=handles[:MAX_MENTIONS], status="active")
    return {m.handle_key: m for m in members}


@dataclasses.dataclass(frozen=True)
class Rendered:
    """A post rendered for its channel: the HTML, the members it mentions, and the groups it
    addresses (forum.services.mentions)."""

    post: RenderedPost
    mentioned: dict[str, Member]
    groups: dict[str, mentions.Group]


async def _render(ctx: Ctx, body: str, channel: Channel, previous: str | None = None) -> Rendered:
    """The post's HTML, the members it mentions and the groups it addresses, rendered before
    any transaction opens.

    Rendering runs in a worker process with a time limit, so a hostile text neither stalls the
    event loop nor holds the database's write lock. The first render links every mention; in
    the rare case that one of them is not an active member, or when it addresses a group, it
    renders again with exactly what is linked.
    """
    settings = ctx.settings
    member_id = ctx.actor.member_id
    if member_id is not None and member_id in _formatting:
        raise RateLimited(
            int(settings.render_timeout_seconds) + 1,
            "Your previous text is still being formatted. Your text is kept: try again in a "
            "moment.",
        )
    if member_id is not None:
        _formatting.add(member_id)
    try:
        return await _render_now(ctx, body, channel, previous)
    finally:
        _formatting.discard(member_id)


async def _render_now(ctx: Ctx, body: str, channel: Channel, previous: str | None) -> Rendered:
    settings = ctx.settings
    try:
        rendered = await renderer.render(
            body,
            previous=previous,
            limit=settings.render_timeout_seconds,
            workers=settings.render_workers,
        )
        mentioned = await _mentionable(rendered.mentions)
        # A member's handle is theirs: a group of the same name is not addressed by it.
        groups = mentions.addressable(
            ctx.actor, channel, (n for n in rendered.names if n not in mentioned)
        )
        if set(mentioned) != set(rendered.mentions) or groups:
            again = await renderer.render(
                body,
                mentionable=list(mentioned),
                groups={name: g.href for name, g in groups.items()},
                limit=settings.render_timeout_seconds,
                workers=settings.render_workers,
            )
            rendered = dataclasses.replace(rendered, html=again.html)
    except renderer.RenderFailed:
        raise Unprocessable(fields={"body": TOO_SLOW_TO_RENDER}) from None
    return Rendered(rendered, mentioned, groups)


async def _as_now(ctx: Ctx) -> Ctx:
    """The request's context with its actor read again from the database.

    Rendering happens before the write and may take seconds (as long as the text makes it), so
    the rules are asked again after it, of the author as they are now: a seat lost, a
    suspension, a lock, a hide or a delete that committed meanwhile is respected."""
    member = await Member.get_or_none(id=ctx.actor.member_id) if ctx.actor.member_id else None
    actor = await accounts.load_actor(member, ctx.token_scopes if ctx.via_token else None)
    return dataclasses.replace(ctx, actor=actor)


def _member_rate(ctx: Ctx) -> str:
    """Members in their first days post (and edit) at a stricter rate."""
    member = ctx.member
    assert member is not None
    new_member = now() - member.created_at < timedelta(days=NEW_MEMBER_DAYS)
    return ctx.settings.new_member_post_rate if new_member else ctx.settings.post_rate


async def _check_pace(ctx: Ctx, thread: Thread, body: str) -> None:
    """Posting limits: a per-member rate (stricter in the first days), slow mode per thread,
    and the same text twice in a short window."""
    member = ctx.member
    assert member is not None
    rate = _member_rate(ctx)
    message = "You are posting very fast. Your text is kept: try again in a moment."
    if thread.slow_mode_seconds and not policy.can(ctx.actor, Action.MODERATE, thread):
        last = (
            await Post.filter(thread_id=thread.id, author_id=member.id)
            .order_by("-created_at")
            .first()
            .values_list("created_at", flat=True)
        )
        if last is not None:
            wait = thread.slow_mode_seconds - (now() - last).total_seconds()  # type: ignore[operator]
            if wait > 0:
                raise RateLimited(
                    int(wait) + 1,
                    f"Slow mode is on in this thread: one post every {thread.slow_mode_seconds} "
                    "seconds each. Your text is kept.",
                )
    since = now() - DUPLICATE_WINDOW
    if await Post.filter(
        author_id=member.id, thread_id=thread.id, body=body, created_at__gte=since, deleted=False
    ).exists():
        raise Invalid(fields={"body": "You just posted this same text here."})
    await ctx.services.throttle.hit(rate, "post", str(member.id), message=message)


async def _allocate_path(conn: BaseDBAsyncClient, thread: Thread, parent: Post | None) -> str:
    """Take the next child number under the parent (or the thread) by an UPDATE inside the
    transaction, so two concurrent replies never get the same path."""
    if parent is None:
        rows = await conn.execute_query_dict(
            sql_for(
                conn,
                "UPDATE thread SET root_children = root_children + 1 WHERE id = ? "
                "RETURNING root_children",
            ),
            [thread.id],
        )
        return path_segment(int(rows[0]["root_children"]) - 1)
    rows = await conn.execute_query_dict(
        sql_for(
            conn, "UPDATE post SET child_count = child_count + 1 WHERE id = ? RETURNING child_count"
        ),
        [parent.id],
    )
    return parent.path + path_segment(int(rows[0]["child_count"]) - 1)


async def _insert_post(
    tx: Tx,
    ctx: Ctx,
    thread: Thread,
    parent: Post | None,
    body: str,
    key: str | None,
    html: str,
    statement_version: int | None,
) -> Post:
    conn = tx.conn
    member = ctx.member
    assert member is not None
    path = await _allocate_path(conn, thread, parent)
    moment = now()
    # The id is chosen here (random, see forum.models.ids) so the thread's counters, the post's
    # number in the thread and its latest post move in one statement before the insert.
    post_id = new_id()
    rows = await conn.execute_query_dict(
        sql_for(
            conn,
            "UPDATE thread SET post_count = post_count + 1, last_post_seq = last_post_seq + 1, "
            "last_post_id = ?, last_activity_at = ? WHERE id = ? RETURNING last_post_seq",
        ),
        [post_id, moment, thread.id],
    )
    seq = int(rows[0]["last_post_seq"])
    post = await Post.create(
        id=post_id,
        thread_id=thread.id,
        parent_id=parent.id if parent else None,
        path=path,
        depth=(parent.depth + 1) if parent else 0,
        seq=seq,
        author_id=member.id,
        body=body,
        html=html,
        renderer_version=RENDERER_VERSION,
        statement_version=statement_version,
        client_key=key,
        created_at=moment,
        using_db=conn,
    )
    if post.id != post_id:  # the id was taken and the insert chose another
        await Thread.filter(id=thread.id).using_db(conn).update(last_post_id=post.id)
    post.author = member
    await search_index.index_post(conn, post, thread.title)
    # One's own post is never "new" to oneself: move the author's read marker past it, unless
    # they had unread posts before it (then those stay unread).
    if (
        thread.last_post_seq == 0
        or await ReadMarker.filter(
            member_id=member.id, thread_id=thread.id, last_read_seq__gte=thread.last_post_seq
        )
        .using_db(conn)
        .exists()
    ):
        await threads.mark_read(member.id, thread.id, seq, conn)
    data = {
        "post_id": post.id,
        "parent_id": post.parent_id,
        "path": post.path,
        "depth": post.depth,
        "author_id": member.id,
        "key": key,
    }
    await tx.emit("thread", thread.id, "post.created", data)
    await tx.emit(
        "channel",
        thread.channel_id,
        "thread.activity",
        {"thread_id": thread.id, "post_id": post.id},
    )
    return post


async def _existing_by_key(ctx: Ctx, key: str | None) -> Post | None:
    if key is None or ctx.member is None:
        return None
    return await Post.filter(author_id=ctx.member.id, client_key=key).first()


async def _notify_for_post(
    tx: Tx,
    ctx: Ctx,
    thread: Thread,
    post: Post,
    parent: Post | None,
    mentioned: dict[str, Member],
    already: set[int] | None = None,
    groups: Iterable[mentions.Group] = (),
    followers: str | None = None,
) -> None:
    """Mentions (of members and of groups), replies and follows notify only members who can
    read the thread, never the author, and each member once per post: a mention, else a reply
    to them, else (`followers`: "thread" for a reply to the thread, "channel" for a new thread)
    as one who follows it."""
    me = ctx.actor.member_id
    told: set[int] = set(already or ())
    targets: list[tuple[Member, str]] = []
    for member in mentioned.values():
        if member.id != me and member.id not in told:
            targets.append((member, "mention"))
            told.add(member.id)
    if parent is not None and parent.author_id not in (None, me) and parent.author_id not in told:
        parent_author = await Member.get_or_none(id=parent.author_id, status="active")
        if parent_author is not None:
            targets.append((parent_author, "reply"))
            told.add(parent_author.id)
    await _notify_targets(tx, ctx, thread, post, targets)
    groups = list(groups)
    if groups:
        told |= await mentions.tell(tx, thread, post.id, me, ctx.actor.handle, groups, told)
    if followers is not None and me is not None:
        tell = (
            follows.tell_channel_followers
            if followers == "channel"
            else follows.tell_thread_followers
        )
        await tell(tx, thread, post.id, me, ctx.actor.handle, told)


async def _notify_targets(
    tx: Tx, ctx: Ctx, thread: Thread, post: Post, targets: list[tuple[Member, str]]
) -> None:
    if not targets:
        return
    me = ctx.actor.member_id
    readers = await notifications.who_can_read(thread, [m for m, _ in targets])
    who = f"@{ctx.actor.handle}"
    # One set of statements per kind, however many are mentioned (notifications.notify_many).
    for kind, text in (
        ("mention", f"{who} mentioned you in “{thread.title}”"),
        ("reply", f"{who} replied to you in “{thread.title}”"),
    ):
        ids = [m.id for m, k in targets if k == kind and m.id in readers]
        if ids:
            await notifications.notify_many(
                tx,
                ids,
                kind,
                text,
                f"/t/{thread.id}#p{post.id}",
                actor_id=me,
                thread=thread,
                post_id=post.id,
            )


async def start_thread(
    ctx: Ctx, channel_slug: str, title: str, body: str, key: str | None = None
) -> Thread:
    channel = await access.channel_by_slug(ctx, channel_slug)
    policy.require(ctx.actor, Action.START_THREAD, channel)
    title = clean_title(title)
    body = clean_body(body)
    key = clean_key(key)
    existing = await _existing_by_key(ctx, key)
    if existing is not None:
        if existing.parent_id is not None or existing.path != path_segment(0):
            raise Invalid(fields={"key": "This client key was used for another post."})
        return await Thread.get(id=existing.thread_id)
    await ctx.services.throttle.hit(
        ctx.settings.post_rate,
        "post",
        str(ctx.actor.member_id),
        message="You are posting very fast. Your text is kept.",
    )
    rendered = await _render(ctx, body, channel)
    ctx = await _as_now(ctx)
    channel = await access.channel_by_slug(ctx, channel_slug)
    policy.require(ctx.actor, Action.START_THREAD, channel)
    async with unit_of_work(ctx.services.publish) as tx:
        thread = await Thread.create(
            channel_id=channel.id, title=title, author_id=ctx.actor.member_id, using_db=tx.conn
        )
        thread.channel = channel
        await (
            Channel.filter(id=channel.id)
            .using_db(tx.conn)
            .update(thread_count=F("thread_count") + 1)
        )
        post = await _insert_post(tx, ctx, thread, None, body, key, rendered.post.html, None)
        await tx.emit("channel", channel.id, "thread.created", {"thread_id": thread.id})
        await _notify_for_post(
            tx,
            ctx,
            thread,
            post,
            None,
            rendered.mentioned,
            groups=rendered.groups.values(),
            followers="channel",
        )
        if ctx.actor.member_id is not None:
            await follows.follow_own(tx.conn, ctx.actor.member_id, thread.id)
    return thread


async def reply(
    ctx: Ctx, thread_id: int, body: str, parent_id: int | None = None, key: str | None = None
) -> Post:
    thread = await access.thread_for(ctx, thread_id)
    policy.require(ctx.actor, Action.REPLY, thread)
    body = clean_body(body)
    key = clean_key(key)
    existing = await _existing_by_key(ctx, key)
    if existing is not None:
        if existing.thread_id != thread.id:
            raise Invalid(fields={"key": "This client key was used for another post."})
        return existing
    parent: Post | None = None
    if parent_id is not None:
        parent = await Post.get_or_none(id=parent_id) if 0 < parent_id < 2**31 else None
        if parent is None or parent.thread_id != thread.id:
            raise Invalid(fields={"parent_id": "That post is not in this thread."})
        if parent.deleted:
            raise Invalid(fields={"parent_id": "That post was deleted; reply to the thread."})
        if parent.depth >= MAX_DEPTH:
            raise Invalid(fields={"parent_id": "This conversation is nested too deeply."})
    await _check_pace(ctx, thread, body)
    statement_version: int | None = None
    if thread.statement_id is not None:
        versions = await Statement.filter(id=thread.statement_id).values_list("version", flat=True)
        statement_version = int(versions[0]) if versions else None  # type: ignore[call-overload]
    rendered = await _render(ctx, body, thread.channel)
    ctx = await _as_now(ctx)
    thread = await access.thread_for(ctx, thread_id)
    policy.require(ctx.actor, Action.REPLY, thread)
    try:
        async with unit_of_work(ctx.services.publish) as tx:
            post = await _insert_post(
                tx, ctx, thread, parent, body, key, rendered.post.html, statement_version
            )
            await _notify_for_post(
                tx,
                ctx,
                thread,
                post,
                parent,
                rendered.mentioned,
                groups=rendered.groups.values(),
                # A reply to a post tells that post's author; one to the thread its followers.
                followers="thread" if parent is None else None,
            )
            if ctx.actor.member_id is not None:
                await drafts.forget(tx.conn, ctx.actor.member_id, thread.id, parent_id)
                await follows.follow_own(tx.conn, ctx.actor.member_id, thread.id)
    except IntegrityError:
        # The same key raced in from a retried submit: return the post that won.
        again = await _existing_by_key(ctx, key)
        if again is None:
            raise
        return again
    return post


async def edit(ctx: Ctx, post_id: int, body: str) -> Post:
    """Authors edit their posts; each earlier text is kept as a revision. Members newly
    mentioned by the edit are notified (those mentioned before are not told twice)."""
    post = await access.post_for(ctx, post_id)
    policy.require(ctx.actor, Action.EDIT, post)
    body = clean_body(body)
    if body == post.body:
        return post
    thread: Thread = post.thread
    await ctx.services.throttle.hit(
        _member_rate(ctx),
        "edit",
        str(ctx.actor.member_id),
        message="You are editing very fast. Your text is kept: try again in a moment.",
    )
    rendered = await _render(ctx, body, thread.channel, previous=post.body)
    ctx = await _as_now(ctx)
    fetched = await access.post_for(ctx, post_id)
    policy.require(ctx.actor, Action.EDIT, fetched)
    post, thread = fetched, fetched.thread
    before = set(rendered.post.previous_names)
    fresh = {h: m for h, m in rendered.mentioned.items() if h not in before}
    fresh_groups = [g for name, g in rendered.groups.items() if name not in before]
    async with unit_of_work(ctx.services.publish) as tx:
        await PostRevision.create(
            post_id=post.id,
            body=post.body,
            created_at=post.edited_at or post.created_at,
            using_db=tx.conn,
        )
        post.body = body
        post.html = rendered.post.html
        post.renderer_version = RENDERER_VERSION
        post.edited_at = now()
        await post.save(
            update_fields=["body", "html", "renderer_version", "edited_at"], using_db=tx.conn
        )
        await search_index.index_post(tx.conn, post, thread.title)
        await tx.emit("thread", thread.id, "post.edited", {"post_id": post.id})
        await _notify_for_post(tx, ctx, thread, post, None, fresh, groups=fresh_groups)
    return post


async def delete(ctx: Ctx, post_id: int) -> Post:
    """Authors delete their own posts: the text goes, the place in the tree and replies stay."""
    post = await access.post_for(ctx, post_id)
    policy.require(ctx.actor, Action.DELETE, post)
    thread: Thread = post.thread
    async with unit_of_work(ctx.services.publish) as tx:
        post.deleted = True
        post.body = ""
        post.html = ""
        await post.save(update_fields=["deleted", "body", "html"], using_db=tx.conn)
        await PostRevision.filter(post_id=post.id).using_db(tx.conn).delete()
        await search_index.unindex_post(tx.conn, post.id)
        await tx.emit("thread", thread.id, "post.deleted", {"post_id": post.id})
    return post


async def for_editing(ctx: Ctx, post_id: int) -> Post:
    """The post, with its source, for its author's edit form only."""
    post = await access.post_for(ctx, post_id)
    policy.require(ctx.actor, Action.EDIT, post)
    return post


async def revisions(ctx: Ctx, post_id: int) -> tuple[Post, list[PostRevision]]:
    post = await access.post_for(ctx, post_id)
    policy.require(ctx.actor, Action.VIEW_HISTORY, post)
    return post, await PostRevision.filter(post_id=post.id).order_by("-created_at", "-id")


def describe(post: Post) -> dict[str, Any]:
    return {"id": post.id, "thread_id": post.thread_id}
