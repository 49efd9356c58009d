"""The caller's personal API tokens: list, create (the token is shown once), revoke."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from forum.models import ApiToken
from forum.models.members import TOKEN_SCOPES
from forum.schemas.tokens import NewToken, TokenList, TokenMade, TokenPath
from forum.services import tokens
from forum.web.access import access
from forum.web.api.base import Endpoint, ctx_of, no_content, ok
from forum.web.api.serialise import iso


def token(row: ApiToken) -> dict[str, Any]:
    """A token as its owner sees it: never the secret, which is shown once at creation."""
    return {
        "id": row.id,
        "name": row.label,
        "scopes": [s for s in TOKEN_SCOPES if s in row.scopes.split()],
        "created_at": iso(row.created_at),
        "last_used_at": iso(row.last_used_at),
        "expires_at": iso(row.expires_at),
        "expired": row.expires_at is not None and row.expires_at <= tokens.now(),
    }


@access("signed-in")
async def list_tokens(request: Request) -> Response:
    rows = await tokens.list_mine(ctx_of(request))
    return ok({"tokens": [token(r) for r in rows]})


@access("signed-in")
async def create_token(request: Request, body: NewToken) -> Response:
    secret, row = await tokens.issue(ctx_of(request), body.name, body.scopes, body.expires_days)
    return ok({**token(row), "token": secret}, status=201)


@access("signed-in")
async def revoke_token(request: Request, params: TokenPath) -> Response:
    await tokens.revoke(ctx_of(request), params.token_id)
    return no_content()


ENDPOINTS = [
    Endpoint(
        "GET",
        "/tokens",
        list_tokens,
        "The caller's API tokens that are not revoked, newest first",
        tag="accounts",
        response=TokenList,
        errors=[401],
        signed_in=True,
    ),
    Endpoint(
        "POST",
        "/tokens",
        create_token,
        "Create an API token; the answer holds the token, shown this once only",
        tag="accounts",
        body=NewToken,
        response=TokenMade,
        status=201,
        errors=[400, 401, 403],
        signed_in=True,
    ),
    Endpoint(
        "DELETE",
        "/tokens/{token_id}",
        revoke_token,
        "Revoke one of the caller's API tokens; it stops working at once",
        tag="accounts",
        params=TokenPath,
        response=None,
        status=204,
        errors=[401, 404],
        signed_in=True,
    ),
]
