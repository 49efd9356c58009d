"""Caucuses: the list, founding, a caucus's page, its members' self-government, and its log.

What a caller may know of a caucus is the policy's, through the services: a caucus they may not
know of answers 404 exactly like a missing slug, whatever their site role.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from forum import policy
from forum.errors import Invalid, NotFound
from forum.policy import Action
from forum.services import access as fetch
from forum.services import accounts, caucuses, moderation_log
from forum.web.access import access
from forum.web.api import serialise
from forum.web.api.base import (
    Endpoint,
    check_unsafe,
    ctx_of,
    json_body,
    no_content,
    ok,
    path_slug,
    require_signed_in,
)
from forum.web.api.openapi import BOOL, INT, STRING, array, obj, op, ref
from forum.web.forms import text_field

MAX_HANDLE = 64


def bool_field(data: dict[str, Any], name: str, *, default: bool) -> bool:
    value = data.get(name)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise Invalid(fields={name: "This field must be true or false."})
    return value


async def optional_json(request: Request) -> dict[str, Any]:
    """The JSON object of an unsafe request whose body may be left out altogether."""
    check_unsafe(request)
    if not (await request.body()).strip():
        return {}
    return await json_body(request)


def path_handle(request: Request) -> str:
    handle = str(request.path_params.get("handle", "")).lstrip("@")
    if not handle or len(handle) > MAX_HANDLE:
        raise NotFound()
    return handle


# ---- the list and founding --------------------------------------------------------------------


@access("member")
async def list_caucuses(request: Request) -> Response:
    ctx = ctx_of(request)
    require_signed_in(ctx)
    rows = await caucuses.listing(ctx)
    return ok({"caucuses": [serialise.caucus(c, ctx.actor) for c in rows]})


@access("member")
async def found_caucus(request: Request) -> Response:
    ctx = ctx_of(request)
    data = await json_body(request)
    caucus = await caucuses.found(
        ctx,
        text_field(data, "name", required=False, limit=1000),
        text_field(data, "description", required=False, limit=10_000),
        listed=bool_field(data, "listed", default=True),
        join_policy=text_field(data, "join_policy", required=False, limit=16) or "request",
    )
    # The founder's seat is new: show the caucus as they see it from now on.
    founder = await accounts.load_actor(ctx.member)
    return ok(serialise.caucus(caucus, founder), status=201)


# ---- one caucus -------------------------------------------------------------------------------


@access("policy")
async def get_caucus(request: Request) -> Response:
    ctx = ctx_of(request)
    view = await caucuses.view(ctx, path_slug(request))
    return ok(serialise.caucus_view(view, ctx.actor))


@access("policy")
async def caucus_members(request: Request) -> Response:
    ctx = ctx_of(request)
    view = await caucuses.view(ctx, path_slug(request))
    # Those who know of the caucus but sit outside it are refused (403); the rest never got here.
    policy.require(ctx.actor, Action.READ_MEMBERS, view.caucus)
    return ok(serialise.caucus_members(view, ctx.actor))


@access("policy")
async def caucus_log(request: Request) -> Response:
    ctx = ctx_of(request)
    caucus = await fetch.caucus_by_slug(ctx, path_slug(request))
    # A caucus's log is read where its member list is: by its active members.
    policy.require(ctx.actor, Action.READ_MEMBERS, caucus)
    entries = await moderation_log.entries(ctx, caucus_id=caucus.id, limit=200)
    return ok({"entries": [serialise.log_entry(e) for e in entries]})


# ---- seats ------------------------------------------------------------------------------------


@access("policy")
async def join_caucus(request: Request) -> Response:
    ctx = ctx_of(request)
    data = await optional_json(request)
    note = text_field(data, "note", required=False, limit=500)
    await caucuses.request_join(ctx, path_slug(request), note)
    return no_content()


@access("policy")
async def leave_caucus(request: Request) -> Response:
    check_unsafe(request)
    await caucuses.leave(ctx_of(request), path_slug(request))
    return no_content()


@access("policy")
async def accept_invitation(request: Request) -> Response:
    check_unsafe(request)
    await caucuses.accept_invitation(ctx_of(request), path_slug(request))
    return no_content()


@access("policy")
async def step_down(request: Request) -> Response:
    check_unsafe(request)
    await caucuses.step_down(ctx_of(request), path_slug(request))
    return no_content()


@access("policy")
async def invite_member(request: Request) -> Response:
    ctx = ctx_of(request)
    data = await json_body(request)
    handle = text_field(data, "handle", required=False, limit=MAX_HANDLE + 1).strip().lstrip("@")
    await caucuses.decide(ctx, path_slug(request), handle, "invite")
    return no_content()


async def _decide(request: Request, verb: str) -> Response:
    check_unsafe(request)
    await caucuses.decide(ctx_of(request), path_slug(request), path_handle(request), verb)
    return no_content()


@access("policy")
async def admit_member(request: Request) -> Response:
    return await _decide(request, "admit")


@access("policy")
async def decline_member(request: Request) -> Response:
    return await _decide(request, "decline")


@access("policy")
async def appoint_member(request: Request) -> Response:
    return await _decide(request, "appoint")


@access("policy")
async def remove_member(request: Request) -> Response:
    return await _decide(request, "remove")


@access("policy")
async def archive_caucus(request: Request) -> Response:
    ctx = ctx_of(request)
    data = await json_body(request)
    reason = text_field(data, "reason", required=False, limit=10_000)
    await caucuses.archive(ctx, path_slug(request), reason)
    return no_content()


# ---- the document -----------------------------------------------------------------------------

SLUG = {
    "name": "slug",
    "in": "path",
    "required": True,
    "description": "The caucus's slug (it carries a random part: no address is guessable).",
    "schema": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,79}$"},
}
HANDLE = {
    "name": "handle",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^@?[A-Za-z0-9][A-Za-z0-9_-]{1,31}$"},
}
SEAT = {"type": "string", "enum": ["convener", "member"]}


def nullable_enum(*values: str) -> dict[str, Any]:
    """One of these strings, or null (the enum must list null too)."""
    return {"type": ["string", "null"], "enum": [*values, None]}


MEMBERS_ONLY = (
    "Answers 404 to whoever may not know the caucus exists, exactly as for a missing slug, and "
    "403 to those who know of it (a listed caucus) but are not its active members. Site roles "
    "give nothing here."
)
FOUND = obj(
    {
        "name": {"type": "string", "minLength": 1, "maxLength": 80},
        "description": {"type": "string", "maxLength": 2000},
        "listed": {
            **BOOL,
            "default": True,
            "description": "Listed: active members see its name, description and size. "
            "Unlisted: invisible to everyone outside it.",
        },
        "join_policy": {
            "type": "string",
            "enum": ["request", "invite"],
            "default": "request",
            "description": "request: members ask and a convener admits; invite: by invitation.",
        },
    },
    required=["name"],
)
JOIN = obj(
    {"note": {"type": "string", "maxLength": 500, "description": "For the conveners."}},
    required=[],
)
INVITE = obj({"handle": {"type": "string", "minLength": 1, "maxLength": 33}})
ARCHIVE = obj(
    {
        "reason": {
            "type": "string",
            "minLength": 1,
            "maxLength": 2000,
            "description": "The caucus's members read it in their log.",
        }
    }
)


def _seat_op(summary: str, description: str, errors: list[int], **extra: Any) -> dict[str, Any]:
    return op(
        summary,
        tag="caucuses",
        description=description,
        ok=None,
        status=204,
        errors=errors,
        signed_in=True,
        params=[SLUG, *extra.pop("params", [])],
        **extra,
    )


ENDPOINTS = [
    Endpoint(
        "GET",
        "/caucuses",
        list_caucuses,
        op(
            "The caucuses the caller may know of",
            tag="caucuses",
            description="Listed caucuses that are not archived, and those the caller sits in, "
            "asked to join or was invited to. Site roles see no more than this.",
            ok=obj({"caucuses": array(ref("Caucus"))}),
            errors=[401],
            signed_in=True,
        ),
    ),
    Endpoint(
        "POST",
        "/caucuses",
        found_caucus,
        op(
            "Found a caucus (the caller becomes its first convener)",
            tag="caucuses",
            description="A name is refused only when a caucus the caller may know of has it.",
            ok=ref("Caucus"),
            status=201,
            errors=[400, 401, 403, 413],
            signed_in=True,
            body=FOUND,
        ),
    ),
    Endpoint(
        "GET",
        "/caucuses/{slug}",
        get_caucus,
        op(
            "One caucus as the caller may see it",
            tag="caucuses",
            description="`channels` only for its members. 404 for a caucus the caller may not "
            "know of, exactly as for a missing slug.",
            ok=ref("CaucusDetail"),
            errors=[404],
            params=[SLUG],
        ),
    ),
    Endpoint(
        "GET",
        "/caucuses/{slug}/members",
        caucus_members,
        op(
            "A caucus's members; for its conveners also requests to join and invitations",
            tag="caucuses",
            description=MEMBERS_ONLY,
            ok=ref("CaucusMembers"),
            errors=[403, 404],
            params=[SLUG],
        ),
    ),
    Endpoint(
        "GET",
        "/caucuses/{slug}/log",
        caucus_log,
        op(
            "A caucus's moderation log, newest first (its members only)",
            tag="caucuses",
            description=MEMBERS_ONLY,
            ok=obj({"entries": array(ref("LogEntry"))}),
            errors=[403, 404],
            params=[SLUG],
        ),
    ),
    Endpoint(
        "POST",
        "/caucuses/{slug}/join",
        join_caucus,
        _seat_op(
            "Ask to join a caucus",
            "For caucuses that admit by request; its conveners are told. 400 for a caucus "
            "that admits by invitation only.",
            [400, 401, 403, 404, 413],
            body=JOIN,
            body_required=False,
        ),
    ),
    Endpoint(
        "POST",
        "/caucuses/{slug}/leave",
        leave_caucus,
        _seat_op(
            "Leave a caucus, withdraw a request, or decline an invitation",
            "A last convener appoints another first (400).",
            [400, 401, 403, 404],
        ),
    ),
    Endpoint(
        "POST",
        "/caucuses/{slug}/accept",
        accept_invitation,
        _seat_op("Accept an invitation and join", "400 without an invitation.", [400, 401, 404]),
    ),
    Endpoint(
        "POST",
        "/caucuses/{slug}/step-down",
        step_down,
        _seat_op(
            "Step down as convener (another convener must remain)",
            "Conveners only.",
            [400, 401, 403, 404],
        ),
    ),
    Endpoint(
        "POST",
        "/caucuses/{slug}/invite",
        invite_member,
        _seat_op(
            "Invite a member by handle (conveners)",
            "400 when there is no such active member, or they are in the caucus or waiting.",
            [400, 401, 403, 404, 413],
            body=INVITE,
        ),
    ),
    Endpoint(
        "POST",
        "/caucuses/{slug}/members/{handle}/admit",
        admit_member,
        _seat_op(
            "Admit a member who asked to join (conveners)",
            "400 when they have not asked.",
            [400, 401, 403, 404],
            params=[HANDLE],
        ),
    ),
    Endpoint(
        "POST",
        "/caucuses/{slug}/members/{handle}/decline",
        decline_member,
        _seat_op(
            "Decline a request to join (conveners)",
            "400 when they have not asked.",
            [400, 401, 403, 404],
            params=[HANDLE],
        ),
    ),
    Endpoint(
        "POST",
        "/caucuses/{slug}/members/{handle}/appoint",
        appoint_member,
        _seat_op(
            "Appoint a member convener (conveners)",
            "400 unless they are a member and not yet a convener.",
            [400, 401, 403, 404],
            params=[HANDLE],
        ),
    ),
    Endpoint(
        "DELETE",
        "/caucuses/{slug}/members/{handle}",
        remove_member,
        _seat_op(
            "Remove a member, request or invitation (conveners)",
            "The removal of a member is written in the caucus's log. A caucus keeps at least "
            "one convener (400).",
            [400, 401, 403, 404],
            params=[HANDLE],
        ),
    ),
    Endpoint(
        "POST",
        "/caucuses/{slug}/archive",
        archive_caucus,
        _seat_op(
            "Archive a caucus (site admins, for a caucus they may know of)",
            "Its channels become read-only; the act and its reason go to the caucus's own log.",
            [400, 401, 403, 404, 413],
            body=ARCHIVE,
        ),
    ),
]

_CAUCUS_PROPS: dict[str, Any] = {
    "slug": STRING,
    "name": STRING,
    "description": STRING,
    "listed": BOOL,
    "join_policy": {"type": "string", "enum": ["request", "invite"]},
    "archived": BOOL,
    "member_count": {
        **INT,
        "description": "Shown to its members, and to those who know of it when it is listed.",
    },
}
_CAUCUS_REQUIRED = ["slug", "name", "description", "listed", "join_policy", "archived", "my_seat"]
_SEAT_MEMBER = {"handle": STRING, "display_name": STRING}

SCHEMAS: dict[str, Any] = {
    "Caucus": obj(
        {
            **_CAUCUS_PROPS,
            "my_seat": {
                **nullable_enum("convener", "member", "waiting"),
                "description": "The caller's seat; `waiting`: asked to join or invited "
                "(GET /caucuses/{slug} says which).",
            },
        },
        required=_CAUCUS_REQUIRED,
    ),
    "CaucusDetail": obj(
        {
            **_CAUCUS_PROPS,
            "my_seat": nullable_enum("convener", "member", "requested", "invited"),
            "channels": {**array(ref("ChannelRef")), "description": "For its members only."},
            "can": obj(
                {"join": BOOL, "leave": BOOL, "govern": BOOL, "archive": BOOL},
                description="What the caller may do: ask to join; leave (or withdraw); admit, "
                "decline, invite, remove and appoint; archive (site admins).",
            ),
        },
        required=[*_CAUCUS_REQUIRED, "can"],
    ),
    "CaucusMembers": obj(
        {
            "members": array(obj({**_SEAT_MEMBER, "role": SEAT})),
            "requests": {
                **array(obj({**_SEAT_MEMBER, "note": STRING})),
                "description": "Requests to join, with their notes: for conveners only.",
            },
            "invited": {
                **array(obj(_SEAT_MEMBER)),
                "description": "Invited, not yet joined: for conveners only.",
            },
        },
        required=["members"],
    ),
}
