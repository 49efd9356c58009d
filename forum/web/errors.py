"""Domain errors and HTTP errors, mapped in one place to error pages or JSON error bodies.

Messages are fixed per status so nothing about the request (ids, names, caucuses) leaks back.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from forum.errors import DomainError, Invalid, RateLimited

log = logging.getLogger("forum.web")

TITLES = {
    400: ("Bad request", "The request could not be understood."),
    401: ("Please sign in", "Please sign in first."),
    403: ("Not allowed", "You are not allowed to do that."),
    404: ("Not found", "There is nothing here, or you cannot see it."),
    405: ("Method not allowed", "That address does not accept this kind of request."),
    409: ("Conflict", "That conflicts with the current state."),
    413: ("Too large", "What you sent is too large."),
    415: ("Unsupported", "That content type is not accepted here."),
    429: ("Slow down", "Too many attempts. Please wait a moment and try again."),
    500: ("Something went wrong", "Something went wrong on our side. Nothing you did caused it."),
}


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def error_response(
    request: Request,
    status: int,
    message: str | None = None,
    *,
    code: str | None = None,
    fields: dict[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    title, default = TITLES.get(status, ("Error", "That request could not be completed."))
    text = message or default
    if wants_json(request):
        body: dict[str, Any] = {"code": code or _code(status), "message": text}
        if fields:
            body["fields"] = fields
        return JSONResponse({"error": body}, status_code=status, headers=headers)
    # Imported late: templating imports policy, and error pages must work even if it failed.
    from forum.web.templating import render

    if not hasattr(request.state, "ctx"):
        from forum.web.middleware import anonymous_ctx

        request.state.ctx = anonymous_ctx(request)
    response = render(
        request,
        "error.html",
        {"status": status, "title": title, "message": text, "fields": fields or {}},
        status=status,
    )
    if headers:
        response.headers.update(headers)
    return response


def _code(status: int) -> str:
    return {
        400: "invalid",
        401: "unauthenticated",
        403: "forbidden",
        404: "not_found",
        405: "method_not_allowed",
        409: "conflict",
        413: "too_large",
        415: "unsupported_media_type",
        429: "rate_limited",
        500: "server_error",
    }.get(status, "error")


async def domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    if exc.status == 401 and not wants_json(request) and request.method == "GET":
        from urllib.parse import quote

        from starlette.responses import RedirectResponse

        return RedirectResponse("/login?next=" + quote(request.url.path), status_code=303)
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
    fields = exc.fields if isinstance(exc, Invalid) else None
    return error_response(
        request, exc.status, exc.message, code=exc.code, fields=fields, headers=headers
    )


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    # Starlette's own detail strings are generic, but use ours so every 404 reads the same.
    return error_response(request, exc.status_code, headers=exc.headers)


async def server_error(request: Request, exc: Exception) -> Response:
    from forum.web.telemetry import route_template

    # The route's template, not its path: a path can name a caucus (/c/<slug>) or a person.
    log.exception(
        "unhandled error on %s %s (request %s)",
        request.method,
        route_template(request.scope),
        request.scope.get("forum.request_id", "-"),
        exc_info=exc,
    )
    return error_response(request, 500)


HANDLERS: dict[Any, Any] = {
    DomainError: domain_error,
    HTTPException: http_error,
    Exception: server_error,
}


async def too_large(request: Request, exc: Exception) -> Response:
    return error_response(request, 413)
