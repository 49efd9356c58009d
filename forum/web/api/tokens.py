"""The caller's personal API tokens: list, create (the token is shown once), revoke."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from forum.errors import Invalid
from forum.models import ApiToken
from forum.models.members import TOKEN_SCOPES
from forum.services import tokens
from forum.web.access import access
from forum.web.api.base import (
    Endpoint,
    check_unsafe,
    ctx_of,
    int_field,
    json_body,
    no_content,
    ok,
    path_id,
)
from forum.web.api.openapi import ID, STRING, WHEN, array, nullable, obj, op, ref
from forum.web.api.serialise import iso
from forum.web.forms import text_field

MAX_NAME = tokens.MAX_NAME


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


def scopes_field(data: dict[str, Any], name: str = "scopes") -> list[str]:
    value = data.get(name)
    if value is None:
        return ["read"]
    if (
        not isinstance(value, list)
        or len(value) > len(TOKEN_SCOPES)
        or not all(isinstance(v, str) for v in value)
    ):
        raise Invalid(fields={name: f"A list of scopes: {', '.join(TOKEN_SCOPES)}."})
    return value


@access("signed-in")
async def list_tokens(request: Request) -> Response:
    rows = await tokens.list_mine(ctx_of(request))
    return ok({"tokens": [token(r) for r in rows]})


@access("signed-in")
async def create_token(request: Request) -> Response:
    ctx = ctx_of(request)
    data = await json_body(request)
    name = text_field(data, "name", limit=MAX_NAME)
    secret, row = await tokens.issue(ctx, name, scopes_field(data), int_field(data, "expires_days"))
    return ok({**token(row), "token": secret}, status=201)


@access("signed-in")
async def revoke_token(request: Request) -> Response:
    check_unsafe(request)
    await tokens.revoke(ctx_of(request), path_id(request, "token_id"))
    return no_content()


SCOPE = {"type": "string", "enum": list(TOKEN_SCOPES)}
TOKEN_ID = {"name": "token_id", "in": "path", "required": True, "schema": ID, "example": 1}

ENDPOINTS = [
    Endpoint(
        "GET",
        "/tokens",
        list_tokens,
        op(
            "The caller's API tokens that are not revoked, newest first",
            tag="accounts",
            ok=obj({"tokens": array(ref("Token"))}),
            errors=[401],
            signed_in=True,
        ),
    ),
    Endpoint(
        "POST",
        "/tokens",
        create_token,
        op(
            "Create an API token; the answer holds the token, shown this once only",
            tag="accounts",
            status=201,
            ok=ref("NewToken"),
            errors=[400, 401, 403],
            signed_in=True,
            body=obj(
                {
                    "name": {**STRING, "maxLength": MAX_NAME, "description": "What it is for."},
                    "scopes": {
                        **array(SCOPE, maxItems=len(TOKEN_SCOPES)),
                        "description": "`read` (always included, the default): safe methods "
                        "only; `write`: change things as the caller; `admin`: use the caller's "
                        "site role. A token may create tokens within its own scopes only (403).",
                    },
                    "expires_days": {
                        **nullable({"type": "integer", "minimum": 1}),
                        "maximum": tokens.MAX_DAYS,
                        "description": "Stops working after this many days; null: no end.",
                    },
                },
                required=["name"],
            ),
        ),
    ),
    Endpoint(
        "DELETE",
        "/tokens/{token_id}",
        revoke_token,
        op(
            "Revoke one of the caller's API tokens; it stops working at once",
            tag="accounts",
            ok=None,
            status=204,
            errors=[401, 404],
            signed_in=True,
            params=[TOKEN_ID],
        ),
    ),
]

SCHEMAS: dict[str, Any] = {
    "Token": obj(
        {
            "id": ID,
            "name": STRING,
            "scopes": array(SCOPE),
            "created_at": WHEN,
            "last_used_at": {
                **nullable(WHEN),
                "description": "Updated at most once a minute; null: never used.",
            },
            "expires_at": nullable(WHEN),
            "expired": {"type": "boolean"},
        }
    ),
    "NewToken": {
        "allOf": [
            ref("Token"),
            obj({"token": {**STRING, "description": "The secret: shown this once only."}}),
        ]
    },
}
