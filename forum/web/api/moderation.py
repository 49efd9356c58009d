"""Facilitation: flags, the review queue, acts on posts, threads and members (each with its
reason), appeals, and the moderation log.

Who reviews and moderates what is the policy's: facilitators and admins the open channels, a
caucus's conveners that caucus. Caucus posts answer 404 to everyone outside the caucus.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from forum.errors import Invalid, NotFound
from forum.models.moderation import FLAG_REASONS
from forum.services import moderation, moderation_log
from forum.services.moderation import MAX_SLOW_MODE, THREAD_ACTIONS
from forum.web.access import access
from forum.web.api import serialise
from forum.web.api.base import (
    Endpoint,
    check_unsafe,
    ctx_of,
    int_field,
    json_body,
    no_content,
    ok,
    path_id,
    require_signed_in,
)
from forum.web.api.caucuses import nullable_enum
from forum.web.api.openapi import (
    ID,
    INT,
    STRING,
    WHEN,
    array,
    nullable,
    obj,
    op,
    param,
    query,
    ref,
)
from forum.web.forms import text_field

MAX_REASON = 10_000
STATUSES = ("open", "resolved")


def _reason(data: dict[str, Any]) -> str:
    """The reason as sent ("" when missing: the service names the field)."""
    return text_field(data, "reason", required=False, limit=MAX_REASON)


# ---- flags and the review queue ---------------------------------------------------------------


@access("policy")
async def flag_post(request: Request) -> Response:
    ctx = ctx_of(request)
    data = await json_body(request)
    post_id = path_id(request, "post_id")
    reason = text_field(data, "reason", required=False, limit=32)
    note = text_field(data, "note", required=False, limit=MAX_REASON)
    await moderation.flag(ctx, post_id, reason, note)
    return ok({"post_id": post_id, "reason": reason}, status=201)


@access("policy")
async def review_queue(request: Request) -> Response:
    ctx = ctx_of(request)
    require_signed_in(ctx)
    status = request.query_params.get("status") or "open"
    if status not in STATUSES:
        raise Invalid(fields={"status": "open or resolved."})
    items = await moderation.queue(ctx, status)
    return ok({"status": status, "items": [serialise.review_item(i, ctx.actor) for i in items]})


@access("policy")
async def claim_item(request: Request) -> Response:
    check_unsafe(request)
    await moderation.claim(ctx_of(request), path_id(request, "item_id"))
    return no_content()


@access("policy")
async def resolve_item(request: Request) -> Response:
    ctx = ctx_of(request)
    data = await json_body(request)
    item_id = path_id(request, "item_id")
    resolution = text_field(data, "resolution", required=False, limit=32)
    await moderation.resolve(ctx, item_id, resolution, _reason(data))
    return no_content()


# ---- posts ------------------------------------------------------------------------------------


@access("policy")
async def hide_post(request: Request) -> Response:
    ctx = ctx_of(request)
    data = await json_body(request)
    post = await moderation.hide(ctx, path_id(request, "post_id"), _reason(data))
    return ok(serialise.post(post, ctx.actor))


@access("policy")
async def restore_post(request: Request) -> Response:
    ctx = ctx_of(request)
    data = await json_body(request)
    post = await moderation.restore(ctx, path_id(request, "post_id"), _reason(data))
    return ok(serialise.post(post, ctx.actor))


@access("policy")
async def appeal_post(request: Request) -> Response:
    ctx = ctx_of(request)
    data = await json_body(request)
    post_id = path_id(request, "post_id")
    note = text_field(data, "note", required=False, limit=MAX_REASON)
    await moderation.appeal_post(ctx, post_id, note)
    return ok({"post_id": post_id}, status=201)


# ---- threads and members ----------------------------------------------------------------------


@access("policy")
async def moderate_thread(request: Request) -> Response:
    ctx = ctx_of(request)
    data = await json_body(request)
    thread_id = path_id(request, "thread_id")
    await moderation.act_on_thread(
        ctx,
        thread_id,
        text_field(data, "action", required=False, limit=32),
        _reason(data),
        seconds=int_field(data, "seconds"),
        channel_slug=text_field(data, "channel", required=False, limit=80),
    )
    return no_content()


@access("policy")
async def warn_member(request: Request) -> Response:
    ctx = ctx_of(request)
    data = await json_body(request)
    handle = str(request.path_params.get("handle", "")).lstrip("@")
    if not handle or len(handle) > 64:
        raise NotFound()
    await moderation.warn(ctx, handle, _reason(data))
    return no_content()


# ---- the log ----------------------------------------------------------------------------------


@access("member")
async def moderation_log_entries(request: Request) -> Response:
    ctx = ctx_of(request)
    require_signed_in(ctx)
    entries = await moderation_log.entries(ctx, limit=200)
    return ok({"entries": [serialise.log_entry(e) for e in entries]})


# ---- the document -----------------------------------------------------------------------------

REASON = {
    "type": "string",
    "minLength": 1,
    "maxLength": 2000,
    "description": "Why: the member concerned and the log show it.",
}
WITH_REASON = obj({"reason": REASON})
ITEM_ID = {"name": "item_id", "in": "path", "required": True, "schema": ID, "example": 1}
HANDLE = {
    "name": "handle",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^@?[A-Za-z0-9][A-Za-z0-9_-]{1,31}$"},
}
FLAG = obj(
    {
        "reason": {"type": "string", "enum": list(FLAG_REASONS)},
        "note": {
            "type": "string",
            "maxLength": 2000,
            "description": "What is wrong; required when the reason is `other`.",
        },
    },
    required=["reason"],
)
FLAGGED = obj({"post_id": ID, "reason": {"type": "string", "enum": list(FLAG_REASONS)}})
RESOLVE = obj(
    {
        "resolution": {"type": "string", "enum": ["actioned", "dismissed"]},
        "reason": {**REASON, "description": "Flaggers (or the appellant) are told."},
    }
)
APPEAL = obj(
    {
        "note": {
            "type": "string",
            "minLength": 1,
            "maxLength": 2000,
            "description": "Why it should be restored.",
        }
    }
)
THREAD_ACT = obj(
    {
        "action": {"type": "string", "enum": list(THREAD_ACTIONS)},
        "reason": REASON,
        "seconds": {
            "type": "integer",
            "minimum": 0,
            "maximum": MAX_SLOW_MODE,
            "description": "slow_mode: seconds between a member's posts (0 turns it off).",
        },
        "channel": {
            "type": "string",
            "maxLength": 80,
            "description": "move: the slug of the open channel to move the thread to.",
        },
    },
    required=["action", "reason"],
)
MOD_ERRORS = [400, 401, 403, 404, 413]
NOT_YOURS = (
    "403 for a post in an open channel the caller reads but does not moderate; 404, as for a "
    "missing id, for a caucus post outside the caller's caucuses."
)

ENDPOINTS = [
    Endpoint(
        "POST",
        "/posts/{post_id}/flags",
        flag_post,
        op(
            "Flag a post for review",
            tag="moderation",
            description="Flags on an open channel's post go to the facilitators; on a caucus "
            "post, to that caucus's conveners only. One flag per member while it waits.",
            ok=FLAGGED,
            status=201,
            errors=MOD_ERRORS,
            signed_in=True,
            params=[param("PostId")],
            body=FLAG,
        ),
    ),
    Endpoint(
        "GET",
        "/review",
        review_queue,
        op(
            "The review queue: open items oldest first, or resolved ones newest first",
            tag="moderation",
            description="Facilitators and admins review open channels' items; conveners their "
            "caucuses' items. Nobody sees the items of a caucus they do not convene.",
            ok=obj(
                {
                    "status": {"type": "string", "enum": list(STATUSES)},
                    "items": array(ref("ReviewItem")),
                }
            ),
            errors=[400, 401, 403],
            signed_in=True,
            params=[query("status", {"type": "string", "enum": list(STATUSES)})],
        ),
    ),
    Endpoint(
        "POST",
        "/review/{item_id}/claim",
        claim_item,
        op(
            "Claim a review item",
            tag="moderation",
            ok=None,
            status=204,
            errors=[400, 401, 404],
            signed_in=True,
            params=[ITEM_ID],
        ),
    ),
    Endpoint(
        "POST",
        "/review/{item_id}/resolve",
        resolve_item,
        op(
            "Resolve a review item: acted on, or dismissed, with a reason",
            tag="moderation",
            ok=None,
            status=204,
            errors=[400, 401, 404, 413],
            signed_in=True,
            params=[ITEM_ID],
            body=RESOLVE,
        ),
    ),
    Endpoint(
        "POST",
        "/posts/{post_id}/hide",
        hide_post,
        op(
            "Hide a post, with a reason (its moderators)",
            tag="moderation",
            description="Readers see the notice and reason instead of the text; its author "
            "still reads it and is told. Resolves the post's open flags. " + NOT_YOURS,
            ok=ref("Post"),
            errors=MOD_ERRORS,
            signed_in=True,
            params=[param("PostId")],
            body=WITH_REASON,
        ),
    ),
    Endpoint(
        "POST",
        "/posts/{post_id}/restore",
        restore_post,
        op(
            "Restore a hidden post, with a reason (its moderators)",
            tag="moderation",
            description="Resolves the post's open appeal. " + NOT_YOURS,
            ok=ref("Post"),
            errors=MOD_ERRORS,
            signed_in=True,
            params=[param("PostId")],
            body=WITH_REASON,
        ),
    ),
    Endpoint(
        "POST",
        "/posts/{post_id}/appeal",
        appeal_post,
        op(
            "Appeal the hiding of one's post (once)",
            tag="moderation",
            ok=obj({"post_id": ID}),
            status=201,
            errors=MOD_ERRORS,
            signed_in=True,
            params=[param("PostId")],
            body=APPEAL,
        ),
    ),
    Endpoint(
        "POST",
        "/threads/{thread_id}/moderation",
        moderate_thread,
        op(
            "Lock, unlock, pin, unpin, set slow mode, or move a thread, with a reason",
            tag="moderation",
            description="Threads move only between open channels. 403 for an open thread the "
            "caller does not moderate; 404 for a caucus thread outside their caucuses.",
            ok=None,
            status=204,
            errors=MOD_ERRORS,
            signed_in=True,
            params=[param("ThreadId")],
            body=THREAD_ACT,
        ),
    ),
    Endpoint(
        "POST",
        "/members/{handle}/warn",
        warn_member,
        op(
            "Warn a member privately (facilitators and admins)",
            tag="moderation",
            description="The member is notified; the log records that a warning was given, "
            "and why.",
            ok=None,
            status=204,
            errors=MOD_ERRORS,
            signed_in=True,
            params=[HANDLE],
            body=WITH_REASON,
        ),
    ),
    Endpoint(
        "GET",
        "/moderation/log",
        moderation_log_entries,
        op(
            "The moderation log of the open channels, newest first (every active member)",
            tag="moderation",
            description="Each act with who, what (a label, never a hidden post's text) and "
            "why. A caucus's acts are in its own log: GET /caucuses/{slug}/log.",
            ok=obj({"entries": array(ref("LogEntry"))}),
            errors=[401],
            signed_in=True,
        ),
    ),
]

SCHEMAS = {
    "ReviewItem": obj(
        {
            "id": ID,
            "kind": {"type": "string", "enum": ["flag", "appeal"]},
            "status": {"type": "string", "enum": list(STATUSES)},
            "flag_count": INT,
            "reasons": array({"type": "string", "enum": list(FLAG_REASONS)}),
            "flag_notes": {**array(STRING), "description": "Flaggers' notes (not who wrote them)."},
            "post": {
                **nullable(ref("Post")),
                "description": "The post flagged or appealed; null for a suspension appeal.",
            },
            "subject": {
                **nullable(ref("MemberRef")),
                "description": "The suspended member of a suspension appeal.",
            },
            "note": {**STRING, "description": "The appeal's note."},
            "claimed_by": nullable(ref("MemberRef")),
            "resolution": nullable_enum("actioned", "dismissed"),
            "resolution_reason": nullable(STRING),
            "resolved_by": nullable(ref("MemberRef")),
            "created_at": WHEN,
            "resolved_at": nullable(WHEN),
        }
    ),
    "LogEntry": obj(
        {
            "id": ID,
            "action": {**STRING, "examples": ["hide_post", "lock", "warn", "caucus_remove"]},
            "actor": nullable(ref("MemberRef")),
            "target_label": {**STRING, "description": "What was acted on, e.g. a thread title."},
            "thread_id": nullable(INT),
            "post_id": nullable(INT),
            "reason": STRING,
            "created_at": WHEN,
        }
    ),
}
