"""Statements the organisation publishes: each seeds a thread; re-imports amend, never duplicate."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from tortoise.expressions import F

from forum import limits, policy, renderer
from forum.errors import Invalid, NotFound, Unprocessable
from forum.importers import StatementData
from forum.models import Channel, Statement, StatementVersion, Thread
from forum.policy import Action
from forum.realtime.events import unit_of_work
from forum.rendering import diff_html
from forum.services import follows, search_index
from forum.services.context import Ctx, Publish
from forum.settings import Settings

DEFAULT_CHANNEL = "statements"
MAX_BODY = limits.MAX_STATEMENT_BODY
TOO_SLOW_TO_RENDER = (
    "This statement takes too long to format: try fewer links, brackets or tables. "
    "Nothing was published."
)


@dataclass
class Published:
    statement: Statement
    thread: Thread
    outcome: str  # created | amended | unchanged


def _validate(data: StatementData) -> StatementData:
    errors: dict[str, str] = {}
    if not data.title.strip():
        errors["title"] = "A statement needs a title."
    elif len(data.title) > limits.MAX_STATEMENT_TITLE:
        errors["title"] = f"A title has at most {limits.MAX_STATEMENT_TITLE:,} characters."
    if not data.body.strip():
        errors["body"] = "A statement needs a body."
    elif len(data.body) > MAX_BODY:
        errors["body"] = f"A statement has at most {MAX_BODY:,} characters."
    if not (data.author or "").strip():
        errors["author"] = "Say who published the statement (e.g. the Steering Group)."
    if data.source_url and not data.source_url.startswith(("http://", "https://")):
        errors["source_url"] = "The source must be an http(s) address."
    elif data.source_url and len(data.source_url) > limits.MAX_URL:
        errors["source_url"] = f"A source address has at most {limits.MAX_URL:,} characters."
    if data.external_id and len(data.external_id) > limits.MAX_EXTERNAL_ID:
        errors["external_id"] = f"An external id has at most {limits.MAX_EXTERNAL_ID} characters."
    if data.caption and len(data.caption) > limits.MAX_CAPTION:
        errors["caption"] = f"A caption has at most {limits.MAX_CAPTION} characters."
    if data.author and len(data.author.strip()) > limits.MAX_AUTHOR:
        errors["author"] = f"An author's name has at most {limits.MAX_AUTHOR} characters."
    if errors:
        raise Invalid(fields=errors)
    return data


async def _render(body: str, settings: Settings) -> str:
    """A statement's HTML, rendered like a post: in the worker pool, off the event loop, with
    the settings' time limit, and before the write transaction opens (a slow text holds no
    connection or lock). Statements link no @mentions, as before. Too slow: refused (422)."""
    try:
        rendered = await renderer.render(
            body,
            mentionable=(),
            limit=settings.render_timeout_seconds,
            workers=settings.render_workers,
        )
    except renderer.RenderFailed:
        raise Unprocessable(fields={"body": TOO_SLOW_TO_RENDER}) from None
    return rendered.html


async def publish(
    ctx: Ctx | None,
    data: StatementData,
    channel_slug: str = DEFAULT_CHANNEL,
    publish_event: Publish | None = None,
    settings: Settings | None = None,
) -> Published:
    """Publish a statement (admins, publisher tokens, or the operator when `ctx` is None).
    The same external id or source URL updates the existing statement: a changed text becomes
    a new version and the thread shows it as amended.

    Without a ctx (the importer, demo data) `settings` gives the render time limit; without
    either, the defaults do."""
    if ctx is not None:
        policy.require(ctx.actor, Action.PUBLISH_STATEMENT)
        publish_event = ctx.services.publish
        settings = ctx.settings
    data = _validate(data)
    channel = await Channel.get_or_none(slug=channel_slug, caucus_id=None)
    if channel is None:
        raise Invalid(fields={"channel": f"There is no open channel “{channel_slug}”."})
    existing = None
    if data.external_id:
        existing = await Statement.get_or_none(external_id=data.external_id[:300])
    if existing is None and data.source_url:
        existing = await Statement.get_or_none(source_url=data.source_url[:1000])
    if existing is not None:
        return await _amend(existing, data, publish_event, settings or Settings())
    html = await _render(data.body, settings or Settings())
    async with unit_of_work(publish_event) as tx:
        statement = await Statement.create(
            title=data.title.strip(),
            body=data.body,
            html=html,
            caption=(data.caption or None),
            author=(data.author or "").strip()[:120],
            source_url=data.source_url or None,
            external_id=(data.external_id or None),
            published_at=data.published_at or datetime.now(UTC),
            using_db=tx.conn,
        )
        await StatementVersion.create(
            statement=statement,
            version=1,
            title=statement.title,
            body=statement.body,
            using_db=tx.conn,
        )
        thread = await Thread.create(
            channel_id=channel.id,
            title=statement.title,
            statement=statement,
            seeded=True,
            using_db=tx.conn,
        )
        await (
            Channel.filter(id=channel.id)
            .using_db(tx.conn)
            .update(thread_count=F("thread_count") + 1)
        )
        await tx.emit("channel", channel.id, "thread.created", {"thread_id": thread.id})
        thread.channel = channel
        await follows.tell_channel_followers(tx, thread, None, None, None, set())
    return Published(statement, thread, "created")


async def _amend(
    statement: Statement, data: StatementData, publish_event: Publish | None, settings: Settings
) -> Published:
    thread = await Thread.get(statement_id=statement.id, seeded=True)
    if statement.body == data.body and statement.title == data.title.strip():
        return Published(statement, thread, "unchanged")
    # A new title alone keeps the HTML: only a changed text is rendered (outside the transaction).
    html = statement.html if statement.body == data.body else await _render(data.body, settings)
    async with unit_of_work(publish_event) as tx:
        statement.version += 1
        statement.title = data.title.strip()
        statement.body = data.body
        statement.html = html
        if data.caption:
            statement.caption = data.caption
        await statement.save(using_db=tx.conn)
        await StatementVersion.create(
            statement=statement,
            version=statement.version,
            title=statement.title,
            body=statement.body,
            using_db=tx.conn,
        )
        if thread.title != statement.title:
            thread.title = statement.title
            await thread.save(update_fields=["title"], using_db=tx.conn)
            await search_index.retitle(tx.conn, thread.id, thread.title)
        await tx.emit(
            "thread",
            thread.id,
            "statement.amended",
            {"statement_id": statement.id, "version": statement.version},
        )
    return Published(statement, thread, "amended")


@dataclass
class VersionDiff:
    version: StatementVersion
    diff: str


async def versions(ctx: Ctx, statement_id: int) -> tuple[Statement, Thread, list[VersionDiff]]:
    """Every version of a statement, newest first, each with its diff from the one before."""
    if not 0 < statement_id < 2**31:
        raise NotFound()
    thread = (
        await Thread.filter(statement_id=statement_id, seeded=True)
        .select_related("channel", "statement")
        .first()
    )
    if thread is None or not policy.can(ctx.actor, Action.READ, thread):
        raise NotFound()
    rows = await StatementVersion.filter(statement_id=statement_id).order_by("version")
    out: list[VersionDiff] = []
    for before, after in zip([None, *rows[:-1]], rows, strict=True):
        out.append(VersionDiff(after, diff_html(before.body, after.body) if before else ""))
    return thread.statement, thread, list(reversed(out))  # type: ignore[return-value]


async def listing(ctx: Ctx, limit: int = 50) -> list[Thread]:
    """Statement threads the actor may read, newest first."""
    scope = policy.visible_channels(ctx.actor)
    return (
        await Thread.filter(scope.q("channel__"), seeded=True)
        .order_by("-created_at", "-id")
        .limit(limit)
        .select_related("statement", "channel")
    )
