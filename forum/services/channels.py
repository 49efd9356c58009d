"""Channels and the thread lists inside them."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from forum import limits, policy
from forum.errors import Invalid
from forum.models import Channel, ReadMarker, Thread
from forum.policy import Action
from forum.services import access
from forum.services.context import Ctx

THREADS_PER_PAGE = 30
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:60] or "channel"


async def open_channels(ctx: Ctx) -> list[Channel]:
    """The organisation's open channels this actor may read (caucus channels are listed on
    their caucus's page)."""
    scope = policy.visible_channels(ctx.actor)
    return await Channel.filter(scope.q(), caucus_id__isnull=True).order_by("name")


async def create_channel(
    ctx: Ctx | None, name: str, slug: str = "", description: str = "", public: bool = False
) -> Channel:
    """Admins create open channels. `ctx` None is the operator at the command line."""
    if ctx is not None:
        policy.require(ctx.actor, Action.CREATE_CHANNEL)
    name = " ".join(name.split())
    errors: dict[str, str] = {}
    if not name or len(name) > limits.MAX_NAME:
        errors["name"] = f"A name has 1 to {limits.MAX_NAME} characters."
    slug = (slug or slugify(name)).strip().lower()
    if not SLUG_RE.match(slug):
        errors["slug"] = "Use lowercase letters, digits and -."
    elif await Channel.exists(slug=slug):
        errors["slug"] = "A channel with this address exists."
    if errors:
        raise Invalid(fields=errors)
    return await Channel.create(
        name=name, slug=slug, description=description.strip()[:2000], public=public
    )


@dataclass
class ThreadRow:
    thread: Thread
    unread: bool
    new_posts: bool


async def thread_list(ctx: Ctx, slug: str, page: int = 1) -> tuple[Channel, list[ThreadRow], bool]:
    channel = await access.channel_by_slug(ctx, slug)
    page = max(1, min(page, 10_000))
    threads = (
        await Thread.filter(channel_id=channel.id)
        .order_by("-pinned", "-last_activity_at", "-id")
        .offset((page - 1) * THREADS_PER_PAGE)
        .limit(THREADS_PER_PAGE + 1)
        .select_related("author", "statement")
    )
    more = len(threads) > THREADS_PER_PAGE
    threads = threads[:THREADS_PER_PAGE]
    return channel, await with_unread(ctx, threads), more


async def with_unread(ctx: Ctx, threads: list[Thread]) -> list[ThreadRow]:
    markers: dict[int, int] = {}
    if ctx.actor.member_id is not None and threads:
        rows = await ReadMarker.filter(
            member_id=ctx.actor.member_id, thread_id__in=[t.id for t in threads]
        ).values_list("thread_id", "last_read_seq")
        markers = {int(t): int(p) for t, p in rows}
    out = []
    for t in threads:
        seen = markers.get(t.id)
        signed_in = ctx.actor.member_id is not None
        out.append(
            ThreadRow(
                thread=t,
                unread=signed_in and seen is None,
                new_posts=signed_in and seen is not None and t.last_post_seq > seen,
            )
        )
    return out


async def recent_threads(ctx: Ctx, limit: int = 15) -> list[ThreadRow]:
    """The latest activity across every open channel the actor reads (home page)."""
    scope = policy.visible_channels(ctx.actor)
    threads = (
        await Thread.filter(scope.q("channel__"), channel__caucus_id__isnull=True)
        .order_by("-last_activity_at", "-id")
        .limit(limit)
        .select_related("channel", "author", "statement")
    )
    return await with_unread(ctx, threads)
