"""Open channels, the threads in a channel, and starting a thread."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from forum.services import access as fetch
from forum.services import channels, posting
from forum.web.access import access
from forum.web.api import serialise
from forum.web.api.base import Endpoint, ctx_of, json_body, ok, path_slug, query_int
from forum.web.api.openapi import BOOL, INT, array, obj, op, param, ref
from forum.web.forms import text_field


@access("anyone")
async def list_channels(request: Request) -> Response:
    ctx = ctx_of(request)
    rows = await channels.open_channels(ctx)
    return ok({"channels": [serialise.channel(c) for c in rows]})


@access("policy")
async def get_channel(request: Request) -> Response:
    channel = await fetch.channel_by_slug(ctx_of(request), path_slug(request))
    return ok(serialise.channel(channel))


@access("policy")
async def list_threads(request: Request) -> Response:
    ctx = ctx_of(request)
    page = query_int(request, "page", default=1, high=10_000) or 1
    channel, rows, more = await channels.thread_list(ctx, path_slug(request), page)
    return ok(
        {
            "channel": serialise.channel(channel),
            "threads": [serialise.thread_row(row, channel) for row in rows],
            "page": page,
            "more": more,
        }
    )


# "policy": the thread (or channel) may be hidden from the caller, which is a 404, not a 403.
@access("policy")
async def start_thread(request: Request) -> Response:
    ctx = ctx_of(request)
    slug = path_slug(request)
    data = await json_body(request)
    title = text_field(data, "title", limit=1000)
    body = text_field(data, "body")
    key = text_field(data, "key", required=False, limit=64)
    made = await posting.start_thread(ctx, slug, title, body, key)
    thread = await fetch.thread_for(ctx, made.id)
    if ctx.member is not None and thread.author_id == ctx.member.id:
        thread.author = ctx.member
    return ok(serialise.thread(thread), status=201)


NEW_THREAD = obj(
    {
        "title": {"type": "string", "minLength": 1, "maxLength": 200},
        "body": {"type": "string", "minLength": 1, "maxLength": 50_000},
        "key": {
            "type": "string",
            "pattern": "^[A-Za-z0-9_-]{1,64}$",
            "description": "Client-made idempotency key: a retry returns the same thread.",
        },
    },
    required=["title", "body"],
)

ENDPOINTS = [
    Endpoint(
        "GET",
        "/channels",
        list_channels,
        op(
            "The organisation's open channels the caller may read",
            tag="channels",
            ok=obj({"channels": array(ref("Channel"))}),
        ),
    ),
    Endpoint(
        "GET",
        "/channels/{slug}",
        get_channel,
        op(
            "One channel",
            tag="channels",
            ok=ref("Channel"),
            errors=[404],
            params=[param("ChannelSlug")],
        ),
    ),
    Endpoint(
        "GET",
        "/channels/{slug}/threads",
        list_threads,
        op(
            "Threads in a channel, pinned first, then by latest activity",
            tag="channels",
            ok=obj(
                {
                    "channel": ref("Channel"),
                    "threads": array(ref("ThreadRow")),
                    "page": INT,
                    "more": {**BOOL, "description": "Whether page+1 has threads."},
                }
            ),
            errors=[400, 404],
            params=[param("ChannelSlug"), param("Page")],
        ),
    ),
    Endpoint(
        "POST",
        "/channels/{slug}/threads",
        start_thread,
        op(
            "Start a thread",
            tag="channels",
            ok=ref("Thread"),
            status=201,
            errors=[400, 401, 403, 404, 413, 429],
            signed_in=True,
            params=[param("ChannelSlug")],
            body=NEW_THREAD,
        ),
    ),
]
