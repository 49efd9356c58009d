"""Statements the organisation publishes: listing, publishing (admins and publisher tokens), and
every version of one."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from forum.importers import StatementData
from forum.schemas.statements import (
    Published,
    PublishStatement,
    StatementList,
    StatementPath,
    StatementVersions,
)
from forum.services import access as fetch
from forum.services import statements
from forum.web.access import access
from forum.web.api import serialise
from forum.web.api.base import Endpoint, ctx_of, ok


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
async def publish_statement(request: Request, body: PublishStatement) -> Response:
    ctx = ctx_of(request)
    statement = StatementData(
        title=body.title,
        body=body.body,
        author=body.author,
        source_url=body.source_url or None,
        published_at=body.published_at,
        external_id=body.external_id or None,
        caption=body.caption or None,
    )
    channel = body.channel or statements.DEFAULT_CHANNEL
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
async def statement_versions(request: Request, params: StatementPath) -> Response:
    ctx = ctx_of(request)
    statement, thread, versions = await statements.versions(ctx, params.statement_id)
    return ok(
        {
            "statement": serialise.statement(statement),
            "thread": serialise.thread(thread),
            "versions": [serialise.statement_version(v.version, v.diff) for v in versions],
        }
    )


ENDPOINTS = [
    Endpoint(
        "GET",
        "/statements",
        list_statements,
        "Published statements the caller may read, newest first",
        tag="statements",
        response=StatementList,
    ),
    Endpoint(
        "POST",
        "/statements",
        publish_statement,
        "Publish a statement, or amend it (admins and publisher tokens)",
        tag="statements",
        description="201 when created. The same `external_id` or `source_url` finds the "
        "earlier statement: a changed text becomes a new version (200, `amended`), the "
        "same text changes nothing (200, `unchanged`).",
        body=PublishStatement,
        response=Published,
        status=201,
        also={200: Published},
        errors=[400, 401, 403, 413, 422],
        signed_in=True,
    ),
    Endpoint(
        "GET",
        "/statements/{statement_id}/versions",
        statement_versions,
        "Every version of a statement, newest first, each with its diff from the one before",
        tag="statements",
        params=StatementPath,
        response=StatementVersions,
        errors=[404],
    ),
]
