"""Fetch and authorize in one call: nothing else loads a channel, thread, post or caucus by id.

Missing and unreadable raise the same NotFound, so ids and slugs guessed in order reveal nothing.
"""

from __future__ import annotations

from forum import policy
from forum.errors import NotFound
from forum.models import Caucus, Channel, Post, Thread
from forum.policy import Action
from forum.services.context import Ctx

MAX_ID = 2**31 - 1


def _valid_id(value: int) -> bool:
    return 0 < value <= MAX_ID


async def channel_by_slug(ctx: Ctx, slug: str) -> Channel:
    channel = None
    if slug:
        channel = await Channel.filter(slug=slug[:80]).select_related("caucus").first()
    if channel is None or not policy.can(ctx.actor, Action.READ, channel):
        raise NotFound()
    return channel


async def thread_for(ctx: Ctx, thread_id: int, *, with_statement: bool = False) -> Thread:
    if not _valid_id(thread_id):
        raise NotFound()
    related = ["channel__caucus", "statement"] if with_statement else ["channel__caucus"]
    thread = await Thread.filter(id=thread_id).select_related(*related).first()
    if thread is None or not policy.can(ctx.actor, Action.READ, thread):
        raise NotFound()
    return thread


async def post_for(ctx: Ctx, post_id: int) -> Post:
    if not _valid_id(post_id):
        raise NotFound()
    post = await Post.filter(id=post_id).select_related("thread__channel__caucus", "author").first()
    if post is None or not policy.can(ctx.actor, Action.READ, post):
        raise NotFound()
    return post


async def caucus_by_slug(ctx: Ctx, slug: str) -> Caucus:
    caucus = await Caucus.get_or_none(slug=slug[:80]) if slug else None
    if caucus is None or not policy.can(ctx.actor, Action.KNOW, caucus):
        raise NotFound()
    return caucus
