"""Notifications and search."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from forum import policy
from forum.limits import MAX_ID
from forum.schemas.inbox import (
    MarkRead,
    Notifications,
    NotificationsQuery,
    SearchQuery,
    SearchResults,
    Unread,
)
from forum.services import notifications, search_index
from forum.web.access import access
from forum.web.api import serialise
from forum.web.api.base import Endpoint, ctx_of, ok


@access("signed-in")
async def list_notifications(request: Request, query: NotificationsQuery) -> Response:
    ctx = ctx_of(request)
    items = await notifications.list_for(ctx, query.before)
    more = len(items) == notifications.PAGE
    return ok(
        {
            "notifications": [serialise.notification(n) for n in items],
            "unread": ctx.member.unread_notifications if ctx.member else 0,
            "next": items[-1].id if items and more else None,
        }
    )


@access("signed-in")
async def mark_notifications_read(request: Request, body: MarkRead) -> Response:
    ctx = ctx_of(request)
    # Ids that cannot exist match nothing: no need to refuse them.
    ids = None if body.ids is None else [i for i in body.ids if 0 < i <= MAX_ID]
    unread = await notifications.mark_read(ctx, ids)
    return ok({"unread": unread})


@access("anyone")
async def search(request: Request, query: SearchQuery) -> Response:
    ctx = ctx_of(request)
    hits: list[search_index.Hit] = []
    more = False
    if query.q.strip():
        hits, more = await search_index.search(
            query.q, policy.visible_channels(ctx.actor), query.page
        )
    return ok(
        {"q": query.q, "page": query.page, "hits": [serialise.hit(h) for h in hits], "more": more}
    )


ENDPOINTS = [
    Endpoint(
        "GET",
        "/notifications",
        list_notifications,
        "The caller's notifications, newest first",
        tag="inbox",
        query=NotificationsQuery,
        response=Notifications,
        errors=[400, 401],
        signed_in=True,
    ),
    Endpoint(
        "POST",
        "/notifications/read",
        mark_notifications_read,
        "Mark notifications read (these ids, or all of them)",
        tag="inbox",
        body=MarkRead,
        response=Unread,
        errors=[400, 401, 403, 413],
        signed_in=True,
    ),
    Endpoint(
        "GET",
        "/search",
        search,
        "Search the posts the caller may read",
        tag="inbox",
        query=SearchQuery,
        response=SearchResults,
        errors=[400],
    ),
]
