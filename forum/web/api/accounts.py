"""The caller's own account."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from forum import policy
from forum.policy import Action
from forum.schemas.accounts import Me
from forum.web.access import access
from forum.web.api import serialise
from forum.web.api.base import Endpoint, ctx_of, ok


@access("signed-in")
async def get_me(request: Request) -> Response:
    ctx = ctx_of(request)
    policy.require(ctx.actor, Action.USE_ACCOUNT)
    assert ctx.member is not None
    return ok(serialise.me(ctx.member))


ENDPOINTS = [
    Endpoint(
        "GET",
        "/me",
        get_me,
        "The signed-in member",
        tag="accounts",
        response=Me,
        errors=[401],
        signed_in=True,
    ),
]
