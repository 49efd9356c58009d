"""Caucuses: the list, founding, a caucus's page, its members' self-government, and its log.

What a caller may know of a caucus is the policy's, through the services: a caucus they may not
know of answers 404 exactly like a missing slug, whatever their site role.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from forum import policy
from forum.policy import Action
from forum.schemas.caucuses import (
    ArchiveCaucus,
    Caucus,
    CaucusDetail,
    CaucusList,
    CaucusMembers,
    CaucusPath,
    FoundCaucus,
    Invite,
    JoinNote,
    SeatPath,
)
from forum.schemas.moderation import LogEntries
from forum.services import access as fetch
from forum.services import accounts, caucuses, moderation_log
from forum.web.access import access
from forum.web.api import serialise
from forum.web.api.base import Endpoint, Handler, ctx_of, no_content, ok, require_signed_in

# ---- the list and founding --------------------------------------------------------------------


@access("member")
async def list_caucuses(request: Request) -> Response:
    ctx = ctx_of(request)
    require_signed_in(ctx)
    rows = await caucuses.listing(ctx)
    return ok({"caucuses": [serialise.caucus(c, ctx.actor) for c in rows]})


@access("member")
async def found_caucus(request: Request, body: FoundCaucus) -> Response:
    ctx = ctx_of(request)
    caucus = await caucuses.found(
        ctx, body.name, body.description, listed=body.listed, join_policy=body.join_policy
    )
    # The founder's seat is new: show the caucus as they see it from now on.
    founder = await accounts.load_actor(ctx.member)
    return ok(serialise.caucus(caucus, founder), status=201)


# ---- one caucus -------------------------------------------------------------------------------


@access("policy")
async def get_caucus(request: Request, params: CaucusPath) -> Response:
    ctx = ctx_of(request)
    view = await caucuses.view(ctx, params.slug)
    return ok(serialise.caucus_view(view, ctx.actor))


@access("policy")
async def caucus_members(request: Request, params: CaucusPath) -> Response:
    ctx = ctx_of(request)
    view = await caucuses.view(ctx, params.slug)
    # Those who know of the caucus but sit outside it are refused (403); the rest never got here.
    policy.require(ctx.actor, Action.READ_MEMBERS, view.caucus)
    return ok(serialise.caucus_members(view, ctx.actor))


@access("policy")
async def caucus_log(request: Request, params: CaucusPath) -> Response:
    ctx = ctx_of(request)
    caucus = await fetch.caucus_by_slug(ctx, params.slug)
    # A caucus's log is read where its member list is: by its active members.
    policy.require(ctx.actor, Action.READ_MEMBERS, caucus)
    entries = await moderation_log.entries(ctx, caucus_id=caucus.id, limit=200)
    return ok({"entries": [serialise.log_entry(e) for e in entries]})


# ---- seats ------------------------------------------------------------------------------------


@access("policy")
async def join_caucus(request: Request, params: CaucusPath, body: JoinNote) -> Response:
    await caucuses.request_join(ctx_of(request), params.slug, body.note)
    return no_content()


@access("policy")
async def leave_caucus(request: Request, params: CaucusPath) -> Response:
    await caucuses.leave(ctx_of(request), params.slug)
    return no_content()


@access("policy")
async def accept_invitation(request: Request, params: CaucusPath) -> Response:
    await caucuses.accept_invitation(ctx_of(request), params.slug)
    return no_content()


@access("policy")
async def step_down(request: Request, params: CaucusPath) -> Response:
    await caucuses.step_down(ctx_of(request), params.slug)
    return no_content()


@access("policy")
async def invite_member(request: Request, params: CaucusPath, body: Invite) -> Response:
    handle = body.handle.strip().lstrip("@")
    await caucuses.decide(ctx_of(request), params.slug, handle, "invite")
    return no_content()


async def _decide(request: Request, seat: SeatPath, verb: str) -> Response:
    handle = seat.handle.lstrip("@")
    await caucuses.decide(ctx_of(request), seat.slug, handle, verb)
    return no_content()


@access("policy")
async def admit_member(request: Request, params: SeatPath) -> Response:
    return await _decide(request, params, "admit")


@access("policy")
async def decline_member(request: Request, params: SeatPath) -> Response:
    return await _decide(request, params, "decline")


@access("policy")
async def appoint_member(request: Request, params: SeatPath) -> Response:
    return await _decide(request, params, "appoint")


@access("policy")
async def remove_member(request: Request, params: SeatPath) -> Response:
    return await _decide(request, params, "remove")


@access("policy")
async def archive_caucus(request: Request, params: CaucusPath, body: ArchiveCaucus) -> Response:
    await caucuses.archive(ctx_of(request), params.slug, body.reason)
    return no_content()


# ---- the table --------------------------------------------------------------------------------

MEMBERS_ONLY = (
    "Answers 404 to whoever may not know the caucus exists, exactly as for a missing slug, and "
    "403 to those who know of it (a listed caucus) but are not its active members. Site roles "
    "give nothing here."
)


def _seat(
    method: str,
    path: str,
    handler: Handler,
    summary: str,
    description: str,
    errors: list[int],
    **extra: Any,
) -> Endpoint:
    """An act on a seat: signed in, answers 204."""
    extra.setdefault("params", CaucusPath)
    return Endpoint(
        method,
        path,
        handler,
        summary,
        tag="caucuses",
        description=description,
        status=204,
        errors=errors,
        signed_in=True,
        **extra,
    )


ENDPOINTS = [
    Endpoint(
        "GET",
        "/caucuses",
        list_caucuses,
        "The caucuses the caller may know of",
        tag="caucuses",
        description="Listed caucuses that are not archived, and those the caller sits in, "
        "asked to join or was invited to. Site roles see no more than this.",
        response=CaucusList,
        errors=[401],
        signed_in=True,
    ),
    Endpoint(
        "POST",
        "/caucuses",
        found_caucus,
        "Found a caucus (the caller becomes its first convener)",
        tag="caucuses",
        description="A name is refused only when a caucus the caller may know of has it.",
        body=FoundCaucus,
        response=Caucus,
        status=201,
        errors=[400, 401, 403, 413],
        signed_in=True,
    ),
    Endpoint(
        "GET",
        "/caucuses/{slug}",
        get_caucus,
        "One caucus as the caller may see it",
        tag="caucuses",
        description="`channels` only for its members. 404 for a caucus the caller may not "
        "know of, exactly as for a missing slug.",
        params=CaucusPath,
        response=CaucusDetail,
        errors=[404],
    ),
    Endpoint(
        "GET",
        "/caucuses/{slug}/members",
        caucus_members,
        "A caucus's members; for its conveners also requests to join and invitations",
        tag="caucuses",
        description=MEMBERS_ONLY,
        params=CaucusPath,
        response=CaucusMembers,
        errors=[403, 404],
    ),
    Endpoint(
        "GET",
        "/caucuses/{slug}/log",
        caucus_log,
        "A caucus's moderation log, newest first (its members only)",
        tag="caucuses",
        description=MEMBERS_ONLY,
        params=CaucusPath,
        response=LogEntries,
        errors=[403, 404],
    ),
    _seat(
        "POST",
        "/caucuses/{slug}/join",
        join_caucus,
        "Ask to join a caucus",
        "For caucuses that admit by request; its conveners are told. 400 for a caucus "
        "that admits by invitation only.",
        [400, 401, 403, 404, 413],
        body=JoinNote,
        body_required=False,
    ),
    _seat(
        "POST",
        "/caucuses/{slug}/leave",
        leave_caucus,
        "Leave a caucus, withdraw a request, or decline an invitation",
        "A last convener appoints another first (400).",
        [400, 401, 403, 404],
    ),
    _seat(
        "POST",
        "/caucuses/{slug}/accept",
        accept_invitation,
        "Accept an invitation and join",
        "400 without an invitation.",
        [400, 401, 404],
    ),
    _seat(
        "POST",
        "/caucuses/{slug}/step-down",
        step_down,
        "Step down as convener (another convener must remain)",
        "Conveners only.",
        [400, 401, 403, 404],
    ),
    _seat(
        "POST",
        "/caucuses/{slug}/invite",
        invite_member,
        "Invite a member by handle (conveners)",
        "400 when there is no such active member, or they are in the caucus or waiting.",
        [400, 401, 403, 404, 413],
        body=Invite,
    ),
    _seat(
        "POST",
        "/caucuses/{slug}/members/{handle}/admit",
        admit_member,
        "Admit a member who asked to join (conveners)",
        "400 when they have not asked.",
        [400, 401, 403, 404],
        params=SeatPath,
    ),
    _seat(
        "POST",
        "/caucuses/{slug}/members/{handle}/decline",
        decline_member,
        "Decline a request to join (conveners)",
        "400 when they have not asked.",
        [400, 401, 403, 404],
        params=SeatPath,
    ),
    _seat(
        "POST",
        "/caucuses/{slug}/members/{handle}/appoint",
        appoint_member,
        "Appoint a member convener (conveners)",
        "400 unless they are a member and not yet a convener.",
        [400, 401, 403, 404],
        params=SeatPath,
    ),
    _seat(
        "DELETE",
        "/caucuses/{slug}/members/{handle}",
        remove_member,
        "Remove a member, request or invitation (conveners)",
        "The removal of a member is written in the caucus's log. A caucus keeps at least "
        "one convener (400).",
        [400, 401, 403, 404],
        params=SeatPath,
    ),
    _seat(
        "POST",
        "/caucuses/{slug}/archive",
        archive_caucus,
        "Archive a caucus (site admins, for a caucus they may know of)",
        "Its channels become read-only; the act and its reason go to the caucus's own log.",
        [400, 401, 403, 404, 413],
        body=ArchiveCaucus,
    ),
]
