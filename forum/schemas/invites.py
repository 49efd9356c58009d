"""Invites as admins see them, and the input that makes them."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from forum import limits
from forum.schemas.base import CLEAN, Id, Input, Output, When

Role = Literal["member", "facilitator", "admin"]
State = Literal["usable", "used", "revoked", "expired"]
AT_ONCE = 50


class InviteOut(Output):
    id: Id
    role: Role
    note: str = Field(description="For admins only; never in the invitation email.")
    email: str | None = Field(description="The address it was mailed to (null: a link).")
    state: State
    created_at: When
    created_by: str | None = Field(description="The maker's handle (null: the command line).")
    expires_at: When
    used_by: str | None
    used_at: When | None
    revoked_by: str | None
    revoked_at: When | None
    link: str | None = Field(
        description="The sign-up link of a usable invite (null once used, revoked or expired, "
        "or when it cannot be shown: made before the site's secret key changed)."
    )


class InviteList(Output):
    invites: list[InviteOut]


class Refused(Output):
    line: int = Field(description="Its place in `emails`, from 1.")
    address: str
    reason: str


class InvitesMade(Output):
    invites: list[InviteOut]
    refused: list[Refused] = Field(
        description="Addresses that are not addresses (the others were sent)."
    )


class NewInvites(Input):
    """POST /invites: `count` links, or one invite mailed to each of `emails`."""

    count: Annotated[int, Field(ge=1, le=AT_ONCE)] = 1
    role: Role = "member"
    note: Annotated[str, Field(max_length=limits.MAX_INVITE_NOTE), CLEAN] = ""
    emails: list[Annotated[str, Field(max_length=limits.MAX_EMAIL)]] | None = Field(
        None,
        max_length=AT_ONCE,
        description="Mail one invite to each address (then `count` is not used).",
    )


class InvitePath(Input):
    invite_id: Id
