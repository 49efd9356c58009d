"""Facilitation: flags, the review queue, acts on posts, threads and members (each with its
reason), appeals, and the moderation log.

Who reviews and moderates what is the policy's: facilitators and admins the open channels, a
caucus's conveners that caucus. Caucus posts answer 404 to everyone outside the caucus.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from forum.schemas.moderation import (
    Appeal,
    Appealed,
    Flagged,
    FlagPost,
    HandlePath,
    ItemPath,
    LogEntries,
    Resolve,
    ReviewQuery,
    ReviewQueue,
    ThreadAct,
    WithReason,
)
from forum.schemas.threads import Post, PostPath, ThreadPath
from forum.services import moderation, moderation_log
from forum.web.access import access
from forum.web.api import serialise
from forum.web.api.base import Endpoint, ctx_of, no_content, ok, require_signed_in

# ---- flags and the review queue ---------------------------------------------------------------


@access("policy")
async def flag_post(request: Request, params: PostPath, body: FlagPost) -> Response:
    await moderation.flag(ctx_of(request), params.post_id, body.reason, body.note)
    return ok({"post_id": params.post_id, "reason": body.reason}, status=201)


@access("policy")
async def review_queue(request: Request, query: ReviewQuery) -> Response:
    ctx = ctx_of(request)
    require_signed_in(ctx)
    items = await moderation.queue(ctx, query.status)
    return ok(
        {"status": query.status, "items": [serialise.review_item(i, ctx.actor) for i in items]}
    )


@access("policy")
async def claim_item(request: Request, params: ItemPath) -> Response:
    await moderation.claim(ctx_of(request), params.item_id)
    return no_content()


@access("policy")
async def resolve_item(request: Request, params: ItemPath, body: Resolve) -> Response:
    await moderation.resolve(ctx_of(request), params.item_id, body.resolution, body.reason)
    return no_content()


# ---- posts ------------------------------------------------------------------------------------


@access("policy")
async def hide_post(request: Request, params: PostPath, body: WithReason) -> Response:
    ctx = ctx_of(request)
    post = await moderation.hide(ctx, params.post_id, body.reason)
    return ok(serialise.post(post, ctx.actor))


@access("policy")
async def restore_post(request: Request, params: PostPath, body: WithReason) -> Response:
    ctx = ctx_of(request)
    post = await moderation.restore(ctx, params.post_id, body.reason)
    return ok(serialise.post(post, ctx.actor))


@access("policy")
async def appeal_post(request: Request, params: PostPath, body: Appeal) -> Response:
    await moderation.appeal_post(ctx_of(request), params.post_id, body.note)
    return ok({"post_id": params.post_id}, status=201)


# ---- threads and members ----------------------------------------------------------------------


@access("policy")
async def moderate_thread(request: Request, params: ThreadPath, body: ThreadAct) -> Response:
    await moderation.act_on_thread(
        ctx_of(request),
        params.thread_id,
        body.action,
        body.reason,
        seconds=body.seconds,
        channel_slug=body.channel,
    )
    return no_content()


@access("policy")
async def warn_member(request: Request, params: HandlePath, body: WithReason) -> Response:
    await moderation.warn(ctx_of(request), params.handle.lstrip("@"), body.reason)
    return no_content()


# ---- the log ----------------------------------------------------------------------------------


@access("member")
async def moderation_log_entries(request: Request) -> Response:
    ctx = ctx_of(request)
    require_signed_in(ctx)
    entries = await moderation_log.entries(ctx, limit=200)
    return ok({"entries": [serialise.log_entry(e) for e in entries]})


# ---- the table --------------------------------------------------------------------------------

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
        "Flag a post for review",
        tag="moderation",
        description="Flags on an open channel's post go to the facilitators; on a caucus "
        "post, to that caucus's conveners only. One flag per member while it waits.",
        params=PostPath,
        body=FlagPost,
        response=Flagged,
        status=201,
        errors=MOD_ERRORS,
        signed_in=True,
    ),
    Endpoint(
        "GET",
        "/review",
        review_queue,
        "The review queue: open items oldest first, or resolved ones newest first",
        tag="moderation",
        description="Facilitators and admins review open channels' items; conveners their "
        "caucuses' items. Nobody sees the items of a caucus they do not convene.",
        query=ReviewQuery,
        response=ReviewQueue,
        errors=[400, 401, 403],
        signed_in=True,
    ),
    Endpoint(
        "POST",
        "/review/{item_id}/claim",
        claim_item,
        "Claim a review item",
        tag="moderation",
        params=ItemPath,
        status=204,
        errors=[400, 401, 404],
        signed_in=True,
    ),
    Endpoint(
        "POST",
        "/review/{item_id}/resolve",
        resolve_item,
        "Resolve a review item: acted on, or dismissed, with a reason",
        tag="moderation",
        params=ItemPath,
        body=Resolve,
        status=204,
        errors=[400, 401, 404, 413],
        signed_in=True,
    ),
    Endpoint(
        "POST",
        "/posts/{post_id}/hide",
        hide_post,
        "Hide a post, with a reason (its moderators)",
        tag="moderation",
        description="Readers see the notice and reason instead of the text; its author "
        "still reads it and is told. Resolves the post's open flags. " + NOT_YOURS,
        params=PostPath,
        body=WithReason,
        response=Post,
        errors=MOD_ERRORS,
        signed_in=True,
    ),
    Endpoint(
        "POST",
        "/posts/{post_id}/restore",
        restore_post,
        "Restore a hidden post, with a reason (its moderators)",
        tag="moderation",
        description="Resolves the post's open appeal. " + NOT_YOURS,
        params=PostPath,
        body=WithReason,
        response=Post,
        errors=MOD_ERRORS,
        signed_in=True,
    ),
    Endpoint(
        "POST",
        "/posts/{post_id}/appeal",
        appeal_post,
        "Appeal the hiding of one's post (once)",
        tag="moderation",
        params=PostPath,
        body=Appeal,
        response=Appealed,
        status=201,
        errors=MOD_ERRORS,
        signed_in=True,
    ),
    Endpoint(
        "POST",
        "/threads/{thread_id}/moderation",
        moderate_thread,
        "Lock, unlock, pin, unpin, set slow mode, or move a thread, with a reason",
        tag="moderation",
        description="Threads move only between open channels. 403 for an open thread the "
        "caller does not moderate; 404 for a caucus thread outside their caucuses.",
        params=ThreadPath,
        body=ThreadAct,
        status=204,
        errors=MOD_ERRORS,
        signed_in=True,
    ),
    Endpoint(
        "POST",
        "/members/{handle}/warn",
        warn_member,
        "Warn a member privately (facilitators and admins)",
        tag="moderation",
        description="The member is notified; the log records that a warning was given, and why.",
        params=HandlePath,
        body=WithReason,
        status=204,
        errors=MOD_ERRORS,
        signed_in=True,
    ),
    Endpoint(
        "GET",
        "/moderation/log",
        moderation_log_entries,
        "The moderation log of the open channels, newest first (every active member)",
        tag="moderation",
        description="Each act with who, what (a label, never a hidden post's text) and "
        "why. A caucus's acts are in its own log: GET /caucuses/{slug}/log.",
        response=LogEntries,
        errors=[401],
        signed_in=True,
    ),
]
