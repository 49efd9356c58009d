"""Reactions on posts and members' bookmarks.

A post's reaction counts live on the post row (`Post.reaction_counts`), written in the same
transaction as the Reaction rows they count, so a thread page shows them with the posts' own
query; what the reader did themselves (their reactions and bookmarks on the page) is one more
query per page, whatever its size. Each change announces `post.reactions` on the thread's topic:
its readers' pages update the counts live.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tortoise.exceptions import IntegrityError

from forum import policy
from forum.db import sql_for
from forum.errors import Invalid, NotFound
from forum.models import Bookmark, Member, Post, Reaction
from forum.models.reactions import REACTION_KINDS, REACTIONS
from forum.realtime.events import unit_of_work
from forum.services import access
from forum.services.context import Ctx

# Toggles per member: generous for people, a wall for a script flooding a thread with events.
REACT_RATE = "60/minute"
BOOKMARKS_PAGE = 20


def parse_counts(text: str) -> dict[str, int]:
    """ "agree:3 heart:1" -> {"agree": 3, "heart": 1} (unknown or malformed parts are skipped)."""
    out: dict[str, int] = {}
    for part in (text or "").split():
        kind, _, n = part.partition(":")
        if kind in REACTION_KINDS and n.isdigit() and int(n) > 0:
            out[kind] = int(n)
    return out


def format_counts(counts: dict[str, int]) -> str:
    return " ".join(f"{kind}:{counts[kind]}" for kind in REACTION_KINDS if counts.get(kind))


def check_kind(kind: str) -> str:
    if kind not in REACTION_KINDS:
        names = ", ".join(REACTION_KINDS)
        raise Invalid(
            f"There is no reaction called that. Choose one of: {names}.",
            {"kind": f"Choose one of: {names}."},
        )
    return kind


@dataclass(frozen=True)
class Marks:
    """What one reader did to the posts of one page: their reactions and their bookmarks."""

    reacted: dict[int, frozenset[str]] = field(default_factory=dict)
    bookmarked: frozenset[int] = frozenset()

    def mine(self, post_id: int) -> frozenset[str]:
        return self.reacted.get(post_id, frozenset())


NO_MARKS = Marks()

# A reader's marks in one thread as one text column of the thread page's query
# (forum.services.threads): "post:kind" for a reaction, "post:" for a bookmark, space-separated.
MARKS_SQL = (
    "SELECT {agg}(x.m, ' ') AS marks FROM ("
    "SELECT CAST(post_id AS TEXT) || ':' || kind AS m FROM reaction "
    "WHERE member_id = ? AND thread_id = ? "
    "UNION ALL SELECT CAST(post_id AS TEXT) || ':' AS m FROM bookmark "
    "WHERE member_id = ? AND thread_id = ?) x"
)


def parse_marks(text: str | None) -> Marks:
    """The marks that MARKS_SQL gathered (NO_MARKS for none)."""
    if not text:
        return NO_MARKS
    reacted: dict[int, set[str]] = {}
    bookmarked: set[int] = set()
    for item in text.split():
        post, _, kind = item.partition(":")
        if not post.isdigit():
            continue
        if kind:
            reacted.setdefault(int(post), set()).add(kind)
        else:
            bookmarked.add(int(post))
    return Marks({k: frozenset(v) for k, v in reacted.items()}, frozenset(bookmarked))


@dataclass
class ReactionState:
    post: Post
    counts: dict[str, int]
    mine: frozenset[str]


async def react(ctx: Ctx, post_id: int, kind: str, on: bool) -> ReactionState:
    """Add (`on`) or take back the actor's reaction of `kind` to a post. Doing what is already
    done changes nothing and announces nothing."""
    check_kind(kind)
    post = await access.post_for(ctx, post_id)
    policy.posts.check_react(ctx.actor, post)
    member_id = ctx.actor.member_id
    assert member_id is not None
    await ctx.services.throttle.hit(
        REACT_RATE,
        "react",
        str(member_id),
        message="You are reacting very fast. Try again in a moment.",
    )
    async with unit_of_work(ctx.services.publish) as tx:
        # Lock the post row first, so two reactions at once count each other.
        await tx.conn.execute_query(
            sql_for(tx.conn, "UPDATE post SET reaction_counts = reaction_counts WHERE id = ?"),
            [post.id],
        )
        existing = (
            await Reaction.filter(post_id=post.id, member_id=member_id, kind=kind)
            .using_db(tx.conn)
            .exists()
        )
        changed = existing != on
        if changed and on:
            await Reaction.create(
                post_id=post.id,
                member_id=member_id,
                kind=kind,
                thread_id=post.thread_id,
                using_db=tx.conn,
            )
        elif changed:
            await (
                Reaction.filter(post_id=post.id, member_id=member_id, kind=kind)
                .using_db(tx.conn)
                .delete()
            )
        rows = (
            await Reaction.filter(post_id=post.id)
            .using_db(tx.conn)
            .values_list("kind", "member_id")
        )
        counts: dict[str, int] = {}
        mine: set[str] = set()
        for k, who in rows:
            counts[str(k)] = counts.get(str(k), 0) + 1
            if who == member_id:
                mine.add(str(k))
        text = format_counts(counts)
        if changed:
            post.reaction_counts = text
            await post.save(update_fields=["reaction_counts"], using_db=tx.conn)
            await tx.emit(
                "thread",
                post.thread_id,
                "post.reactions",
                {
                    "post_id": post.id,
                    "counts": parse_counts(text),
                    "member_id": member_id,
                    "kind": kind,
                    "on": on,
                },
            )
    return ReactionState(post, parse_counts(text), frozenset(mine))


async def toggle(ctx: Ctx, post_id: int, kind: str) -> ReactionState:
    """The page's button: react, or take the reaction back when it is already there."""
    check_kind(kind)
    member_id = ctx.actor.member_id
    on = member_id is None or not await Reaction.exists(
        post_id=post_id, member_id=member_id, kind=kind
    )
    return await react(ctx, post_id, kind, on)


@dataclass
class Reactors:
    post: Post
    counts: dict[str, int]
    mine: frozenset[str]
    # kind -> the members who reacted so, in the order they did
    who: dict[str, list[Member]]


async def reactors(ctx: Ctx, post_id: int) -> Reactors:
    """Who reacted to a post, by kind: read by the active members who read the post (a caucus
    post's, by its members), never by anyone else."""
    post = await access.post_for(ctx, post_id)
    policy.posts.check_see_reactors(ctx.actor, post)
    rows = await Reaction.filter(post_id=post.id).select_related("member").order_by("created_at")
    who: dict[str, list[Member]] = {kind: [] for kind in REACTION_KINDS}
    for row in rows:
        if row.kind in who:
            who[row.kind].append(row.member)
    mine = frozenset(r.kind for r in rows if r.member_id == ctx.actor.member_id)
    counts = {kind: len(members) for kind, members in who.items() if members}
    return Reactors(post, counts, mine, who)


def reaction_names() -> list[dict[str, Any]]:
    return [{"kind": k, "emoji": e, "name": n} for k, e, n in REACTIONS]


# ---- bookmarks ----------------------------------------------------------------------------------


async def bookmark(ctx: Ctx, post_id: int, on: bool) -> Post:
    """Bookmark a post the actor reads (`on`), or take the bookmark away. Idempotent."""
    post = await access.post_for(ctx, post_id)
    member_id = ctx.actor.member_id
    if on:
        policy.posts.check_bookmark(ctx.actor, post)
        assert member_id is not None
        if not await Bookmark.exists(member_id=member_id, post_id=post.id):
            # Two clicks at once: the second meets the first's row, which is what it wanted.
            with contextlib.suppress(IntegrityError):
                await Bookmark.create(
                    member_id=member_id, post_id=post.id, thread_id=post.thread_id
                )
    else:
        policy.require(ctx.actor, policy.Action.USE_ACCOUNT)
        await Bookmark.filter(member_id=member_id, post_id=post.id).delete()
    return post


async def toggle_bookmark(ctx: Ctx, post_id: int) -> tuple[Post, bool]:
    member_id = ctx.actor.member_id
    on = member_id is None or not await Bookmark.exists(member_id=member_id, post_id=post_id)
    return await bookmark(ctx, post_id, on), on


@dataclass
class BookmarkPage:
    rows: list[Bookmark]
    page: int
    more: bool


async def bookmarks(ctx: Ctx, page: int = 1) -> BookmarkPage:
    """The actor's bookmarks, newest first, of posts they may still read (a post in a caucus
    they left is not listed; its bookmark comes back if they return)."""
    policy.members.check_active_member(ctx.actor)
    if page < 1:
        raise NotFound()
    query = (
        Bookmark.filter(member_id=ctx.actor.member_id)
        .filter(policy.posts.visible_posts(ctx.actor, "post__"))
        .select_related("post__thread__channel", "post__author")
        .order_by("-created_at", "-id")
        .offset((page - 1) * BOOKMARKS_PAGE)
        .limit(BOOKMARKS_PAGE + 1)
    )
    rows = list(await query)
    return BookmarkPage(rows[:BOOKMARKS_PAGE], page, len(rows) > BOOKMARKS_PAGE)


async def bookmark_of(ctx: Ctx, post_id: int) -> datetime | None:
    """When the actor bookmarked a post (None: not bookmarked)."""
    row = await Bookmark.filter(member_id=ctx.actor.member_id, post_id=post_id).first()
    return row.created_at if row else None
