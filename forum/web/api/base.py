"""What every API endpoint shares: its declaration (route + OpenAPI operation) and input parsing.

Handlers parse input here, call one service, and serialise with `serialise`. Domain errors raised
by services become JSON errors in `forum.web.errors`; nothing here decides who may do what.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from forum import policy
from forum.errors import Invalid, NotFound
from forum.models.threads import MAX_DEPTH, PATH_SEGMENT
from forum.policy import Action
from forum.services.context import Ctx
from forum.web.forms import check_csrf, read_json

Handler = Callable[[Request], Awaitable[Response]]

MAX_ID = 2**31 - 1
# Cursors are materialised post paths: base-36 digits, PATH_SEGMENT a level, MAX_DEPTH + 1 levels.
CURSOR_CHARS = frozenset("0123456789abcdefghijklmnopqrstuvwxyz")
MAX_CURSOR = PATH_SEGMENT * (MAX_DEPTH + 1)


@dataclass(frozen=True)
class Endpoint:
    """One operation of the API: the route that serves it and the OpenAPI text that documents it.

    `path` is relative to /api/v1 and uses OpenAPI's `{name}` templates, which Starlette reads the
    same way. `operation` is the OpenAPI Operation object (see `openapi.op`)."""

    method: str
    path: str
    handler: Handler
    operation: dict[str, Any] = field(default_factory=dict)


def ctx_of(request: Request) -> Ctx:
    ctx: Ctx = request.state.ctx
    return ctx


def ok(data: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(data, status_code=status)


def no_content() -> Response:
    return Response(status_code=204)


# ---- identity ---------------------------------------------------------------------------------


def require_signed_in(ctx: Ctx) -> None:
    """401 for anonymous callers (before the CSRF check would give them a confusing 403)."""
    policy.require(ctx.actor, Action.USE_ACCOUNT)


async def json_body(request: Request) -> dict[str, Any]:
    """The JSON object of an unsafe request: signed in first, then CSRF (cookie sessions), then
    the body itself."""
    ctx = ctx_of(request)
    require_signed_in(ctx)
    return await read_json(request)


def check_unsafe(request: Request) -> None:
    """For unsafe requests without a body (DELETE): signed in, and the CSRF header for cookies."""
    ctx = ctx_of(request)
    require_signed_in(ctx)
    check_csrf(ctx, request.headers.get("x-csrf-token", ""))


# ---- path and query ---------------------------------------------------------------------------


def parse_id(value: object) -> int | None:
    """A positive 32-bit id from text, or None."""
    text = str(value)
    if not text.isascii() or not text.isdigit() or len(text) > 10:
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None


def path_id(request: Request, name: str) -> int:
    """An id in the path; anything that is not one is simply not found."""
    number = parse_id(request.path_params.get(name, ""))
    if number is None:
        raise NotFound()
    return number


def path_slug(request: Request, name: str = "slug") -> str:
    slug = str(request.path_params.get(name, ""))
    if not slug or len(slug) > 80:
        raise NotFound()
    return slug


def query_int(
    request: Request, name: str, *, default: int | None, low: int = 1, high: int = MAX_ID
) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    text = raw.strip()
    if not (text.isascii() and text.isdigit() and len(text) <= 10 and low <= int(text) <= high):
        raise Invalid(fields={name: f"A whole number from {low} to {high}."})
    return int(text)


def query_text(request: Request, name: str, *, limit: int) -> str:
    value = request.query_params.get(name, "")
    if len(value) > limit:
        raise Invalid(fields={name: f"At most {limit} characters."})
    return value


def query_cursor(request: Request, name: str = "after") -> str | None:
    value = request.query_params.get(name)
    if not value:
        return None
    if len(value) > MAX_CURSOR or not set(value) <= CURSOR_CHARS:
        raise Invalid(fields={name: "Use the `next` value of the previous page."})
    return value


# ---- JSON fields ------------------------------------------------------------------------------


def int_field(data: dict[str, Any], name: str) -> int | None:
    """An optional integer field (true/false and 1.0 are not integers)."""
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid(fields={name: "This field must be an integer."})
    return value


def id_list_field(data: dict[str, Any], name: str, *, limit: int = 200) -> list[int] | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or len(value) > limit:
        raise Invalid(fields={name: f"A list of at most {limit} ids."})
    ids: list[int] = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int):
            raise Invalid(fields={name: "Every id must be an integer."})
        if 0 < item <= MAX_ID:
            ids.append(item)  # ids that cannot exist match nothing; no need to refuse them
    return ids


def datetime_field(data: dict[str, Any], name: str) -> datetime | None:
    """An optional ISO 8601 date or date-time; without an offset it is taken as UTC."""
    value = data.get(name)
    if value is None:
        return None
    message = "An ISO 8601 date-time, e.g. 2024-05-01T12:00:00Z."
    if not isinstance(value, str) or len(value) > 64:
        raise Invalid(fields={name: message})
    try:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise Invalid(fields={name: message}) from None
