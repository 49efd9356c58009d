"""Statements the organisation publishes: listing, publishing (admins and publisher tokens), and
every version of one."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from forum.importers import StatementData
from forum.services import access as fetch
from forum.services import statements
from forum.web.access import access
from forum.web.api import serialise
from forum.web.api.base import Endpoint, ctx_of, datetime_field, json_body, ok, path_id
from forum.web.api.openapi import ID, array, obj, op, ref
from forum.web.forms import text_field


@access("anyone")
async def list_statements(request: Request) -> Response:
    ctx = ctx_of(request)
    rows = await statements.listing(ctx)
    return ok(
        {
            "statements": [
                {"statement": serialise.statement(t.statement), "thread": serialise.thread(t)}  # type: ignore[arg-type]
                for t in rows
            ]
        }
    )


@access("policy")
async def publish_statement(request: Request) -> Response:
    ctx = ctx_of(request)
    data = await json_body(request)
    statement = StatementData(
        title=text_field(data, "title", limit=1000),
        body=text_field(data, "body"),
        author=text_field(data, "author", limit=120),
        source_url=text_field(data, "source_url", required=False, limit=1000) or None,
        published_at=datetime_field(data, "published_at"),
        external_id=text_field(data, "external_id", required=False, limit=300) or None,
        caption=text_field(data, "caption", required=False, limit=300) or None,
    )
    channel = text_field(data, "channel", required=False, limit=80) or statements.DEFAULT_CHANNEL
    published = await statements.publish(ctx, statement, channel)
    thread = await fetch.thread_for(ctx, published.thread.id)
    return ok(
        {
            "statement": serialise.statement(published.statement),
            "thread": serialise.thread(thread),
            "outcome": published.outcome,
        },
        status=201 if published.outcome == "created" else 200,
    )


@access("policy")
async def statement_versions(request: Request) -> Response:
    ctx = ctx_of(request)
    statement, thread, versions = await statements.versions(ctx, path_id(request, "statement_id"))
    return ok(
        {
            "statement": serialise.statement(statement),
            "thread": serialise.thread(thread),
            "versions": [serialise.statement_version(v.version, v.diff) for v in versions],
        }
    )


PUBLISH = obj(
    {
        "title": {"type": "string", "minLength": 1, "maxLength": 300},
        "body": {"type": "string", "minLength": 1, "maxLength": 200_000},
        "author": {
            "type": "string",
            "minLength": 1,
            "maxLength": 120,
            "description": "Who published it, e.g. the Steering Group.",
        },
        "source_url": {
            "type": "string",
            "format": "uri",
            "pattern": "^https?://",
            "maxLength": 1000,
            "description": "The original; the same URL later amends this statement.",
        },
        "published_at": {"type": "string", "format": "date-time"},
        "external_id": {
            "type": "string",
            "maxLength": 300,
            "description": "Your id for it: publishing the same id again amends, never doubles.",
        },
        "caption": {"type": "string", "maxLength": 300},
        "channel": {
            "type": "string",
            "maxLength": 80,
            "description": "The open channel of its thread (default `statements`).",
        },
    },
    required=["title", "body", "author"],
)
PUBLISHED = obj(
    {
        "statement": ref("Statement"),
        "thread": ref("Thread"),
        "outcome": {"type": "string", "enum": ["created", "amended", "unchanged"]},
    }
)

ENDPOINTS = [
    Endpoint(
        "GET",
        "/statements",
        list_statements,
        op(
            "Published statements the caller may read, newest first",
            tag="statements",
            ok=obj(
                {"statements": array(obj({"statement": ref("Statement"), "thread": ref("Thread")}))}
            ),
        ),
    ),
    Endpoint(
        "POST",
        "/statements",
        publish_statement,
        op(
            "Publish a statement, or amend it (admins and publisher tokens)",
            tag="statements",
            description="201 when created. The same `external_id` or `source_url` finds the "
            "earlier statement: a changed text becomes a new version (200, `amended`), the "
            "same text changes nothing (200, `unchanged`).",
            ok=PUBLISHED,
            status=201,
            also={200: PUBLISHED},
            errors=[400, 401, 403, 413],
            signed_in=True,
            body=PUBLISH,
        ),
    ),
    Endpoint(
        "GET",
        "/statements/{statement_id}/versions",
        statement_versions,
        op(
            "Every version of a statement, newest first, each with its diff from the one before",
            tag="statements",
            ok=obj(
                {
                    "statement": ref("Statement"),
                    "thread": ref("Thread"),
                    "versions": array(ref("StatementVersion")),
                }
            ),
            errors=[404],
            params=[
                {"name": "statement_id", "in": "path", "required": True, "schema": ID, "example": 1}
            ],
        ),
    ),
]

SCHEMAS = {
    "StatementVersion": obj(
        {
            "version": {"type": "integer", "minimum": 1},
            "title": {"type": "string"},
            "body": {"type": "string"},
            "diff_html": {"type": "string", "description": "Changes from the version before."},
            "created_at": {"type": "string", "format": "date-time"},
        }
    )
}
