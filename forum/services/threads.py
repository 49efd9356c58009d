"""Reading a thread: one ordered query per page of the nested tree, whatever its size.

A page costs: the thread (with channel, caucus and statement), the reader's marker, the posts
(with authors), and at most one write (the marker). With the session and the reader's caucus
seats that is six queries for 10 posts or 10,000.
"""

from __future__ import annotations

from copy import copy
from dataclasses import dataclass, field
from functools import cached_property

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient

from forum import policy
from forum.db import sql_for
from forum.errors import NotFound
from forum.models import (
    Caucus,
    Channel,
    Member,
    ModerationAction,
    Post,
    ReadMarker,
    Statement,
    Thread,
)
from forum.models.threads import MAX_DEPTH, PATH_SEGMENT
from forum.policy import Action
from forum.services import access, notifications, post_rows
from forum.services.context import Ctx
from forum.services.joined import JoinedQuery, Part
from forum.services.post_rows import PostRow
from forum.services.reactions import MARKS_SQL, NO_MARKS, Marks, parse_marks

PAGE = 50


def thread_max_path() -> str:
    """The longest path a post can have: a cursor longer than this points nowhere."""
    return "z" * PATH_SEGMENT * (MAX_DEPTH + 1)


# Replies nest visually this many levels below the page's top; deeper ones continue on a page
# of their own ("continue this thread").
VISIBLE_DEPTH = 6


@dataclass
class ThreadPage:
    """One page of a thread for one reader. The rows are shared with every other reader of the
    same page (never change them); what is new to this reader is worked out from their marker."""

    thread: Thread
    shared: post_rows.CachedRows
    rows: list[PostRow]
    statement: Statement | None
    next_cursor: str | None
    depth_limit: int
    me: int | None
    focus: PostRow | None = None
    # The number (`seq`) of the last post this reader had seen: later numbers are new to them.
    last_read_seq: int = 0
    topics: list[tuple[str, int]] = field(default_factory=list)
    # The reader's own unsent reply to the thread ("" when none).
    draft: str = ""
    # Why the thread is locked or slowed: the log entry that did it ("lock", "slow_mode").
    notes: dict[str, ModerationAction] = field(default_factory=dict)
    # The reader's own reactions and bookmarks on this page's posts.
    marks: Marks = field(default_factory=Marks)
    # The reader had never opened this thread: nothing on it is "new since your last visit"
    # (there was none), so no post is marked new and no divider is drawn.
    first_visit: bool = False
    # The reader's following of the thread: "watching", "muted" or "none".
    follow: str = "none"

    @property
    def base_depth(self) -> int:
        return self.focus.depth if self.focus else 0

    def is_new(self, row: PostRow) -> bool:
        return (
            self.me is not None
            and not self.first_visit
            and row.seq > self.last_read_seq
            and row.author_id != self.me
        )

    @cached_property
    def first_unread_id(self) -> int | None:
        return next((row.id for row in self.rows if self.is_new(row)), None)

    @cached_property
    def roots(self) -> list[PostRow]:
        return self.shared.roots(self.rows)

    def replies(self, row: PostRow) -> list[PostRow]:
        return self.shared.children.get(row.id, [])

    def continues(self, row: PostRow) -> bool:
        return row.depth >= self.depth_limit and row.child_count > 0 and not self.replies(row)

    @cached_property
    def posts(self) -> list[PostRow]:
        """This reader's own copies of the rows, marked, with their thread (for the API)."""
        copies: dict[int, PostRow] = {}
        out = []
        for row in self.rows:
            post = copy(row)
            post.thread = self.thread
            post.is_new = self.is_new(row)
            post.continues = self.continues(row)
            post.replies = []
            parent = copies.get(row.parent_id) if row.parent_id is not None else None
            if parent is not None:
                parent.replies.append(post)
            copies[row.id] = post
            out.append(post)
        return out


# The thread, its channel, caucus, statement and author, and the reader's read marker.
THREAD_QUERY = JoinedQuery(
    [
        Part(Thread, "t"),
        Part(Channel, "c", "channel"),
        Part(Caucus, "k", "channel.caucus"),
        Part(Statement, "s", "statement"),
        Part(Member, "a", "author"),
        Part(None, "r", extra=("id", "last_read_seq")),
        # The reader's unsent reply to the thread (see forum.services.drafts), in the same query.
        Part(None, "d", extra=("body",)),
        # Whether the reader follows or muted the thread (forum.services.follows): no row, 0, 1.
        Part(None, "f", extra=("muted",)),
        # The reader's reactions and bookmarks in the thread (reactions.MARKS_SQL): one row
        # always, so the join cannot multiply the thread's.
        Part(None, "m", extra=("marks",)),
    ],
    "thread t JOIN channel c ON c.id = t.channel_id "
    "LEFT JOIN caucus k ON k.id = c.caucus_id "
    "LEFT JOIN statement s ON s.id = t.statement_id "
    "LEFT JOIN member a ON a.id = t.author_id "
    "LEFT JOIN read_marker r ON r.thread_id = t.id AND r.member_id = ? "
    "LEFT JOIN draft d ON d.thread_id = t.id AND d.member_id = ? AND d.parent_key = 0 "
    "LEFT JOIN follow f ON f.thread_id = t.id AND f.member_id = ? "
    f"LEFT JOIN ({MARKS_SQL}) m ON 1 = 1",
    "t.id = ?",
    words={"sqlite": {"agg": "group_concat"}, "postgres": {"agg": "string_agg"}},
)


def thread_query_params(member_id: int | None, thread_id: int) -> list[int]:
    """THREAD_QUERY's parameters, in the order of its placeholders: the reader (marker, draft,
    follow, marks) and the thread (0: nobody signed in)."""
    me = member_id or 0
    return [me, me, me, me, thread_id, me, thread_id, thread_id]


async def thread_page(
    ctx: Ctx, thread_id: int, after: str | None = None, focus_id: int | None = None
) -> ThreadPage:
    if not 0 < thread_id < 2**31:
        raise NotFound()
    member_id = ctx.actor.member_id
    found_thread, marker = await THREAD_QUERY.first(thread_query_params(member_id, thread_id))
    thread = found_thread if isinstance(found_thread, Thread) else None
    if thread is None or not policy.can(ctx.actor, Action.READ, thread):
        raise NotFound()
    last_read = int(marker.get("last_read_seq") or 0)

    focus = None
    prefix = None
    depth_limit = VISIBLE_DEPTH
    if after is not None and (len(after) > len(thread_max_path()) or not after.isalnum()):
        raise NotFound()
    if focus_id is not None:
        found = await post_rows.page_rows(thread.id, thread.event_seq, MAX_DEPTH, 1, focus=focus_id)
        if not found.rows:
            raise NotFound()
        focus = found.rows[0]
        prefix = focus.path
        depth_limit = focus.depth + VISIBLE_DEPTH
    shared = await post_rows.page_rows(
        thread.id, thread.event_seq, depth_limit, PAGE + 1, after=after or None, prefix=prefix
    )
    next_cursor = shared.rows[PAGE - 1].path if len(shared.rows) > PAGE else None

    if member_id is not None and thread.last_post_seq > last_read:
        await mark_read(member_id, thread.id, thread.last_post_seq)
    if ctx.member is not None and ctx.member.unread_notifications:
        # Opening a thread settles the notifications that pointed to it.
        unread = await notifications.read_thread(ctx.member.id, thread.id)
        if unread is not None:
            ctx.member.unread_notifications = unread
    rows = shared.rows[:PAGE]
    marks = NO_MARKS
    if policy.can(ctx.actor, Action.TAKE_PART):
        marks = parse_marks(marker.get("marks"))
    statement = thread.statement if thread.statement_id else None
    topics = [(f"thread:{thread.id}", thread.event_seq)]
    if ctx.member is not None:
        topics.append((f"member:{ctx.member.id}", ctx.member.event_seq))
    return ThreadPage(
        draft=str(marker.get("body") or ""),
        follow=_follow_level(marker.get("muted")),
        notes=await moderation_notes(thread),
        thread=thread,
        shared=shared,
        rows=rows,
        statement=statement,
        next_cursor=next_cursor,
        depth_limit=depth_limit,
        me=member_id,
        focus=focus,
        last_read_seq=last_read,
        topics=topics,
        marks=marks,
        # No marker row: this reader never opened the thread (the marker's id comes with the
        # thread's query, so knowing this costs nothing).
        first_visit=member_id is not None and marker.get("id") is None,
    )


async def has_read_anything(ctx: Ctx) -> bool:
    """Whether the member has opened any thread yet (the home page welcomes those who have
    not, instead of calling everything new)."""
    member_id = ctx.actor.member_id
    if member_id is None:
        return False
    return await ReadMarker.exists(member_id=member_id)


def _follow_level(muted: object) -> str:
    if muted is None:
        return "none"
    return "muted" if muted in (True, 1, "1", "t", "true") else "watching"


async def moderation_notes(thread: Thread) -> dict[str, ModerationAction]:
    """The acts behind a thread's standing state (locked, slow mode), for its page: one query,
    and none for a thread that is neither."""
    wanted = [
        a for a, on in (("lock", thread.locked), ("slow_mode", thread.slow_mode_seconds)) if on
    ]
    if not wanted:
        return {}
    acts = (
        await ModerationAction.filter(thread_id=thread.id, action__in=wanted)
        .order_by("-created_at")
        .limit(20)
        .select_related("actor")
    )
    notes: dict[str, ModerationAction] = {}
    for act in acts:
        notes.setdefault(act.action, act)
    return notes


async def _load_thread(ctx: Ctx, thread_id: int) -> Thread:
    if not 0 < thread_id < 2**31:
        raise NotFound()
    thread = (
        await Thread.filter(id=thread_id)
        .select_related("channel", "channel__caucus", "statement", "author")
        .first()
    )
    if thread is None or not policy.can(ctx.actor, Action.READ, thread):
        raise NotFound()
    return thread


async def permalink(ctx: Ctx, post_id: int) -> str:
    """Where a post lives: the page of the whole thread that shows it (so a new reply is seen
    among the others, not alone), or, deeper than a thread page shows, its own branch."""
    post = await access.post_for(ctx, post_id)
    thread_id = post.thread_id
    if post.depth <= VISIBLE_DEPTH:
        shown_before = Post.filter(
            thread_id=thread_id, depth__lte=VISIBLE_DEPTH, path__lt=post.path
        )
        pages_before = await shown_before.count() // PAGE
        if pages_before == 0:
            return f"/t/{thread_id}#p{post.id}"
        # The page that shows the post starts after the last post of the page before it.
        cursor = (
            await shown_before.order_by("path")
            .offset(pages_before * PAGE - 1)
            .limit(1)
            .values_list("path", flat=True)
        )
        return f"/t/{thread_id}?after={cursor[0]}#p{post.id}"
    parent = post.path[: len(post.path) - PATH_SEGMENT]
    anchor = await Post.filter(thread_id=thread_id, path=parent).first()
    return f"/t/{thread_id}/p/{anchor.id if anchor else post.id}#p{post.id}"


async def mark_read(
    member_id: int, thread_id: int, seq: int, conn: BaseDBAsyncClient | None = None
) -> None:
    """Move a reader's marker forward to the post numbered `seq` (never back). One statement, so
    two tabs opening the same thread at once cannot both try to create the marker."""
    conn = conn or connections.get("default")
    greatest = "GREATEST" if conn.capabilities.dialect == "postgres" else "max"
    sql = sql_for(
        conn,
        "INSERT INTO read_marker (member_id, thread_id, last_read_seq) VALUES (?, ?, ?) "
        "ON CONFLICT (member_id, thread_id) DO UPDATE SET last_read_seq = "
        f"{greatest}(read_marker.last_read_seq, excluded.last_read_seq)",
    )
    await conn.execute_query(sql, [member_id, thread_id, seq])
