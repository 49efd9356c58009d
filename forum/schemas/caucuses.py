"""Caucuses: founding, a caucus as the caller may see it, its seats."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from forum import limits
from forum.schemas.base import CLEAN, Description, Handle, Input, Name, Output, Slug
from forum.schemas.channels import ChannelRef

Seat = Literal["convener", "member"]
JoinPolicy = Literal["request", "invite"]


class CaucusFacts(Output):
    """What the list and the caucus page both show of a caucus."""

    slug: str
    name: str
    description: str
    listed: bool
    join_policy: JoinPolicy
    archived: bool
    member_count: int = Field(
        0, description="Shown to its members, and to those who know of it when it is listed."
    )


class Caucus(CaucusFacts):
    my_seat: Literal["convener", "member", "waiting"] | None = Field(
        description="The caller's seat; `waiting`: asked to join or invited "
        "(GET /caucuses/{slug} says which)."
    )


class CaucusCan(Output):
    """What the caller may do: ask to join; leave (or withdraw); admit, decline, invite, remove
    and appoint; archive (site admins)."""

    join: bool
    leave: bool
    govern: bool
    archive: bool


class CaucusDetail(CaucusFacts):
    my_seat: Literal["convener", "member", "requested", "invited"] | None
    channels: list[ChannelRef] = Field(default_factory=list, description="For its members only.")
    can: CaucusCan


class CaucusList(Output):
    caucuses: list[Caucus]


class SeatMember(Output):
    handle: str
    display_name: str


class MemberSeat(SeatMember):
    role: Seat


class JoinRequestSeat(SeatMember):
    note: str


class CaucusMembers(Output):
    members: list[MemberSeat]
    requests: list[JoinRequestSeat] = Field(
        default_factory=list, description="Requests to join, with their notes: for conveners only."
    )
    invited: list[SeatMember] = Field(
        default_factory=list, description="Invited, not yet joined: for conveners only."
    )


# ---- input ------------------------------------------------------------------------------------


class CaucusPath(Input):
    slug: Slug = Field(
        description="The caucus's slug (it carries a random part: no address is guessable)."
    )


class SeatPath(CaucusPath):
    handle: Handle


class FoundCaucus(Input):
    """The founding form and POST /caucuses."""

    name: Name = ""
    description: Description = ""
    listed: bool = Field(
        True,
        description="Listed: active members see its name, description and size. "
        "Unlisted: invisible to everyone outside it.",
    )
    join_policy: JoinPolicy = Field(
        "request",
        description="request: members ask and a convener admits; invite: by invitation.",
    )
    MESSAGES = {"join_policy": "Choose how members join: by request or by invitation."}


class JoinNote(Input):
    note: Annotated[
        str, Field(max_length=limits.MAX_JOIN_NOTE, description="For the conveners."), CLEAN
    ] = ""


class Invite(Input):
    handle: Annotated[str, Field(max_length=limits.MAX_HANDLE_INPUT), CLEAN] = ""


class ArchiveCaucus(Input):
    reason: Annotated[
        str,
        Field(
            max_length=limits.MAX_REASON,
            description="The caucus's members read it in their log.",
        ),
        CLEAN,
    ] = ""
