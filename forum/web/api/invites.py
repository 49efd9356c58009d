"""Invites (admins): list them with what became of each, make them (links, or mailed), revoke."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from forum.schemas.invites import InviteList, InvitePath, InvitesMade, NewInvites
from forum.services import invites
from forum.web.access import access
from forum.web.api.base import Endpoint, ctx_of, no_content, ok
from forum.web.api.serialise import iso


def invite(row: invites.InviteRow) -> dict[str, Any]:
    i = row.invite
    return {
        "id": i.id,
        "role": i.role,
        "note": i.note,
        "email": i.email,
        "state": row.state,
        "created_at": iso(i.created_at),
        "created_by": i.created_by.handle if i.created_by else None,
        "expires_at": iso(i.expires_at),
        "used_by": i.used_by.handle if i.used_by else None,
        "used_at": iso(i.used_at),
        "revoked_by": i.revoked_by.handle if i.revoked_by else None,
        "revoked_at": iso(i.revoked_at),
        "link": row.link,
    }


@access("policy")
async def list_invites(request: Request) -> Response:
    rows = await invites.listing(ctx_of(request))
    return ok({"invites": [invite(r) for r in rows]})


@access("policy")
async def create_invites(request: Request, body: NewInvites) -> Response:
    ctx = ctx_of(request)
    refused: list[dict[str, Any]] = []
    if body.emails is not None:
        mailed = await invites.mail_invites(ctx, "\n".join(body.emails), body.role, body.note)
        batch = mailed.batch
        refused = [{"line": n, "address": a, "reason": r} for n, a, r in mailed.refused]
    else:
        batch = await invites.create_links(ctx, str(body.count), body.role, body.note)
    rows = await invites.batch_rows(ctx, batch or "")
    return ok({"invites": [invite(r) for r in rows], "refused": refused}, status=201)


@access("policy")
async def revoke_invite(request: Request, params: InvitePath) -> Response:
    await invites.revoke(ctx_of(request), params.invite_id)
    return no_content()


ENDPOINTS = [
    Endpoint(
        "GET",
        "/invites",
        list_invites,
        "Every invite, newest first, with its state and, while usable, its link (admins)",
        tag="accounts",
        response=InviteList,
        errors=[401, 403],
        signed_in=True,
    ),
    Endpoint(
        "POST",
        "/invites",
        create_invites,
        "Make `count` invite links, or mail one invite to each of `emails` (admins)",
        tag="accounts",
        description="Addresses that are not addresses are answered in `refused`; the others "
        "are sent. An empty list of addresses, or one with none valid, makes nothing (400 "
        "when empty).",
        body=NewInvites,
        response=InvitesMade,
        status=201,
        errors=[400, 401, 403],
        signed_in=True,
    ),
    Endpoint(
        "DELETE",
        "/invites/{invite_id}",
        revoke_invite,
        "Revoke an unused invite: its link stops working and says it was revoked (admins)",
        tag="accounts",
        params=InvitePath,
        response=None,
        status=204,
        errors=[401, 403, 404, 409],
        signed_in=True,
    ),
]
