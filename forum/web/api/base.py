"""What every API endpoint shares: its declaration (route, models, documentation) and input parsing.

An `Endpoint` is one row of a module's `ENDPOINTS` table, next to its handler. It names the path,
query, body and response models (`forum.schemas`); the same row validates the request before the
handler runs and documents the operation in /api/v1/openapi.json, so neither can drift:

    Endpoint("POST", "/tokens", create_token, "Create a personal API token", tag="tokens",
             body=NewToken, response=TokenMade, status=201, errors=[400, 401], signed_in=True)

    @access("signed-in")
    async def create_token(request: Request, body: NewToken) -> Response: ...

The handler receives what was declared as keyword arguments: `params` (path model; a value that
does not fit answers 404), `query` (400 with `fields`), `body` (a JSON object, strictly typed; 400
with `fields`). Unsafe methods (POST, PATCH, PUT, DELETE) are refused first to anonymous callers
(401) and to cookie sessions without the X-CSRF-Token header (403). A new module lists its rows in
`ENDPOINTS` and is added to `MODULES` in `forum/web/api/__init__.py`. A decorator between the
row and the handler (such as `@access`) must pass keyword arguments through.

Handlers call one service and serialise with `serialise`; domain errors raised by services
become JSON errors in `forum.web.errors`; nothing here decides who may do what.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from forum import policy
from forum.errors import Invalid, NotFound
from forum.limits import MAX_ID
from forum.policy import Action
from forum.schemas.base import Input, Output
from forum.schemas.parse import from_json, from_path, from_query
from forum.services.context import Ctx
from forum.web.forms import check_csrf

Handler = Callable[..., Awaitable[Response]]
View = Callable[[Request], Awaitable[Response]]
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")


@dataclass(frozen=True)
class Endpoint:
    """One operation of the API: its route, its models, and the words that document it.

    `path` is relative to /api/v1 and uses OpenAPI's `{name}` templates, which Starlette reads the
    same way; `params` must name exactly those. `response` is the success body at `status` (None:
    no content, e.g. 204); `also` adds other success statuses; `errors` lists the error statuses
    worth naming (every operation also documents a `default` error)."""

    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    description: str = ""
    params: type[Input] | None = None
    query: type[Input] | None = None
    body: type[Input] | None = None
    body_required: bool = True
    response: type[Output] | None = None
    status: int = 200
    also: Mapping[int, type[Output]] = field(default_factory=dict)
    errors: Sequence[int] = ()
    signed_in: bool = False
    # An unsafe operation anyone may call (asking for a reset link, following an emailed
    # link): no 401 first. A cookie session still needs the CSRF header.
    anonymous: bool = False

    def view(self) -> View:
        """The route's endpoint: checks and parses what this row declares, then the handler.
        It carries the handler's name and `@access` declaration."""
        handler = self.handler

        @functools.wraps(handler)
        async def run(request: Request) -> Response:
            args: dict[str, Any] = {}
            if self.method in UNSAFE and self.anonymous:
                ctx = ctx_of(request)
                if ctx.session is not None:
                    check_csrf(ctx, request.headers.get("x-csrf-token", ""))
            elif self.method in UNSAFE:
                check_unsafe(request)
            if self.params is not None:
                args["params"] = from_path(self.params, request.path_params)
            if self.query is not None:
                args["query"] = from_query(self.query, request.query_params)
            if self.body is not None:
                args["body"] = await _body(request, self.body, self.body_required)
            return await handler(request, **args)

        return run


async def _body(request: Request, model: type[Input], required: bool) -> Input:
    raw = await request.body()
    if not required and not raw.strip():
        return model()
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise Invalid("Send a JSON object with Content-Type: application/json.")
    return from_json(model, raw)


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
