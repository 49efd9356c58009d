"""Members as other members meet them: profiles and the directory.

Nothing here shows a caucus a viewer could not read the member list of: a profile lists only
the caucuses the viewer sits in too (`policy.members.shared_seats`), and the directory shows no
caucus at all.
"""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.expressions import Q

from forum import policy
from forum.errors import NotFound
from forum.models import Caucus, CaucusMembership, Member, Post
from forum.policy import Action
from forum.services import accounts
from forum.services.context import Ctx

RECENT_POSTS = 10
DIRECTORY_PAGE = 50


@dataclass
class Profile:
    member: Member
    recent: list[Post]
    caucuses: list[Caucus]


async def profile(ctx: Ctx, handle: str) -> Profile:
    """A member's profile as the viewer may see it: their recent posts the viewer reads (not
    hidden or deleted), and the caucuses both sit in."""
    policy.require(ctx.actor, Action.SEE_PROFILE)
    member = await accounts.member_by_handle(handle)
    if not policy.can(ctx.actor, Action.SEE_PROFILE, member):
        raise NotFound()
    recent = await (
        Post.filter(author_id=member.id, hidden=False, deleted=False)
        .filter(policy.posts.visible_posts(ctx.actor))
        .select_related("thread__channel", "author")
        .order_by("-created_at")
        .limit(RECENT_POSTS)
    )
    shared: list[Caucus] = []
    seats = policy.members.shared_seats(ctx.actor)
    if seats is not None:
        rows = await (
            CaucusMembership.filter(seats, member_id=member.id)
            .select_related("caucus")
            .order_by("caucus__name")
        )
        shared = [row.caucus for row in rows]
    return Profile(member, list(recent), shared)


@dataclass
class Directory:
    members: list[Member]
    query: str
    page: int
    more: bool


async def directory(ctx: Ctx, query: str = "", page: int = 1) -> Directory:
    """Active members by handle, optionally those whose handle or name contains `query`."""
    policy.members.check_see_directory(ctx.actor)
    words = " ".join(query.split())
    found = Member.filter(policy.members.directory_members())
    if words:
        found = found.filter(
            Q(handle_key__contains=words.lstrip("@").lower()) | Q(display_name__icontains=words)
        )
    rows = list(
        await found.order_by("handle_key")
        .offset((page - 1) * DIRECTORY_PAGE)
        .limit(DIRECTORY_PAGE + 1)
    )
    return Directory(rows[:DIRECTORY_PAGE], words, page, len(rows) > DIRECTORY_PAGE)
