"""Search and notifications."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from forum import policy
from forum.schemas.inbox import SearchQuery
from forum.schemas.parse import from_query
from forum.services import notifications, search_index
from forum.services.context import Ctx
from forum.web.access import access
from forum.web.forms import read_form
from forum.web.templating import render


@access("anyone")
async def search(request: Request) -> Response:
    ctx: Ctx = request.state.ctx
    query = from_query(SearchQuery, request.query_params)  # the API's limits (400 beyond them)
    q, page = query.q, query.page
    hits: list[search_index.Hit] = []
    more = False
    if q.strip():
        hits, more = await search_index.search(q, policy.visible_channels(ctx.actor), page)
    return render(request, "search.html", {"q": q, "hits": hits, "more": more, "page": page})


@access("signed-in")
async def notifications_page(request: Request) -> Response:
    ctx: Ctx = request.state.ctx
    items = await notifications.list_for(ctx)
    return render(request, "notifications.html", {"items": items})


@access("signed-in")
async def mark_read(request: Request) -> Response:
    ctx: Ctx = request.state.ctx
    form = await read_form(request)
    ids = [int(v) for v in form["ids"].split(",") if v.isdigit() and len(v) < 12] or None
    await notifications.mark_read(ctx, ids)
    target = (
        form["next"]
        if form["next"].startswith("/") and not form["next"].startswith("//")
        else "/notifications"
    )
    return RedirectResponse(target, status_code=303)
