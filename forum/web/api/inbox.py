"""Notifications and search."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from forum import policy
from forum.services import notifications, search_index
from forum.web.access import access
from forum.web.api import serialise
from forum.web.api.base import (
    Endpoint,
    ctx_of,
    id_list_field,
    json_body,
    ok,
    query_int,
    query_text,
)
from forum.web.api.openapi import BOOL, ID, INT, array, nullable, obj, op, param, query, ref

MAX_QUERY = 200


@access("signed-in")
async def list_notifications(request: Request) -> Response:
    ctx = ctx_of(request)
    before = query_int(request, "before", default=None)
    items = await notifications.list_for(ctx, before)
    more = len(items) == notifications.PAGE
    return ok(
        {
            "notifications": [serialise.notification(n) for n in items],
            "unread": ctx.member.unread_notifications if ctx.member else 0,
            "next": items[-1].id if items and more else None,
        }
    )


@access("signed-in")
async def mark_notifications_read(request: Request) -> Response:
    ctx = ctx_of(request)
    data = await json_body(request)
    unread = await notifications.mark_read(ctx, id_list_field(data, "ids"))
    return ok({"unread": unread})


@access("anyone")
async def search(request: Request) -> Response:
    ctx = ctx_of(request)
    q = query_text(request, "q", limit=MAX_QUERY)
    page = query_int(request, "page", default=1, high=10_000) or 1
    hits: list[search_index.Hit] = []
    more = False
    if q.strip():
        hits, more = await search_index.search(q, policy.visible_channels(ctx.actor), page)
    return ok({"q": q, "page": page, "hits": [serialise.hit(h) for h in hits], "more": more})


ENDPOINTS = [
    Endpoint(
        "GET",
        "/notifications",
        list_notifications,
        op(
            "The caller's notifications, newest first",
            tag="inbox",
            ok=obj(
                {
                    "notifications": array(ref("Notification")),
                    "unread": INT,
                    "next": {
                        **nullable(ID),
                        "description": "Pass as `before` for older notifications.",
                    },
                }
            ),
            errors=[400, 401],
            signed_in=True,
            params=[query("before", ID, "Only notifications older than this id.")],
        ),
    ),
    Endpoint(
        "POST",
        "/notifications/read",
        mark_notifications_read,
        op(
            "Mark notifications read (these ids, or all of them)",
            tag="inbox",
            ok=obj({"unread": INT}),
            errors=[400, 401, 403, 413],
            signed_in=True,
            body=obj(
                {"ids": array(ID, maxItems=200, description="Leave out to mark all read.")},
                required=[],
            ),
        ),
    ),
    Endpoint(
        "GET",
        "/search",
        search,
        op(
            "Search the posts the caller may read",
            tag="inbox",
            ok=obj(
                {
                    "q": {"type": "string"},
                    "page": INT,
                    "hits": array(ref("SearchHit")),
                    "more": BOOL,
                }
            ),
            errors=[400],
            params=[
                query("q", {"type": "string", "maxLength": MAX_QUERY}, "Words to find."),
                param("Page"),
            ],
        ),
    ),
]
