"""Moderation pages: the public log (and, later, flags, the review queue and actions)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from forum.errors import Unauthenticated
from forum.services import moderation_log
from forum.services.context import Ctx
from forum.web.access import access
from forum.web.templating import render


@access("member")
async def log_page(request: Request) -> Response:
    ctx: Ctx = request.state.ctx
    if not ctx.actor.is_member:
        raise Unauthenticated()
    entries = await moderation_log.entries(ctx, limit=200)
    return render(request, "moderation_log.html", {"entries": entries, "caucus": None})
