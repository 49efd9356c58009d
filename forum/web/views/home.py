"""The home page and small pages with no service of their own."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from forum.web.access import access


@access("anyone")
async def health(request: Request) -> Response:
    return PlainTextResponse("ok")
