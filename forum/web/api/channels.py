"""Open channels, the threads in a channel, and starting a thread."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from forum.schemas.channels import (
    Channel,
    ChannelList,
    ChannelPath,
    NewThread,
    PageQuery,
    Thread,
    ThreadList,
)
from forum.services import access as fetch
from forum.services import channels, posting
from forum.web.access import access
from forum.web.api import serialise
from forum.web.api.base import Endpoint, ctx_of, ok


@access("anyone")
async def list_channels(request: Request) -> Response:
    ctx = ctx_of(request)
    rows = await channels.open_channels(ctx)
    return ok({"channels": [serialise.channel(c) for c in rows]})


@access("policy")
async def get_channel(request: Request, params: ChannelPath) -> Response:
    channel = await fetch.channel_by_slug(ctx_of(request), params.slug)
    return ok(serialise.channel(channel))


@access("policy")
async def list_threads(request: Request, params: ChannelPath, query: PageQuery) -> Response:
    ctx = ctx_of(request)
    channel, rows, more = await channels.thread_list(ctx, params.slug, query.page)
    return ok(
        {
            "channel": serialise.channel(channel),
            "threads": [serialise.thread_row(row, channel) for row in rows],
            "page": query.page,
            "more": more,
        }
    )


# "policy": the thread (or channel) may be hidden from the caller, which is a 404, not a 403.
@access("policy")
async def start_thread(request: Request, params: ChannelPath, body: NewThread) -> Response:
    ctx = ctx_of(request)
    made = await posting.start_thread(ctx, params.slug, body.title, body.body, body.key)
    thread = await fetch.thread_for(ctx, made.id)
    if ctx.member is not None and thread.author_id == ctx.member.id:
        thread.author = ctx.member
    return ok(serialise.thread(thread), status=201)


ENDPOINTS = [
    Endpoint(
        "GET",
        "/channels",
        list_channels,
        "The organisation's open channels the caller may read",
        tag="channels",
        response=ChannelList,
    ),
    Endpoint(
        "GET",
        "/channels/{slug}",
        get_channel,
        "One channel",
        tag="channels",
        params=ChannelPath,
        response=Channel,
        errors=[404],
    ),
    Endpoint(
        "GET",
        "/channels/{slug}/threads",
        list_threads,
        "Threads in a channel, pinned first, then by latest activity",
        tag="channels",
        params=ChannelPath,
        query=PageQuery,
        response=ThreadList,
        errors=[400, 404],
    ),
    Endpoint(
        "POST",
        "/channels/{slug}/threads",
        start_thread,
        "Start a thread",
        tag="channels",
        description="With a `key` already used by the caller, the thread made then is "
        "returned instead of a duplicate.",
        params=ChannelPath,
        body=NewThread,
        response=Thread,
        status=201,
        errors=[400, 401, 403, 404, 413, 429],
        signed_in=True,
    ),
]
