"""Reactions on posts and the caller's bookmarks."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from forum.models.reactions import REACTIONS
from forum.schemas.moderation import HandlePath
from forum.schemas.people import (
    BookmarkOut,
    BookmarkPath,
    Bookmarks,
    Directory,
    DirectoryQuery,
    MemberProfile,
    NewBookmark,
    PageOnly,
    ReactionPath,
    Reactions,
)
from forum.schemas.threads import PostPath
from forum.services import people, reactions
from forum.services.context import Ctx
from forum.web.access import access
from forum.web.api import serialise
from forum.web.api.base import Endpoint, ctx_of, no_content, ok


async def _reactions(ctx: Ctx, post_id: int) -> dict[str, Any]:
    found = await reactions.reactors(ctx, post_id)
    return {
        "post_id": found.post.id,
        "reactions": [
            {
                "kind": kind,
                "emoji": emoji,
                "name": name,
                "count": len(found.who[kind]),
                "mine": kind in found.mine,
                "members": [serialise.member_ref(m) for m in found.who[kind]],
            }
            for kind, emoji, name in REACTIONS
        ],
    }


@access("policy")
async def get_reactions(request: Request, params: PostPath) -> Response:
    ctx = ctx_of(request)
    return ok(await _reactions(ctx, params.post_id))


@access("policy")
async def add_reaction(request: Request, params: ReactionPath) -> Response:
    ctx = ctx_of(request)
    await reactions.react(ctx, params.post_id, params.kind, True)
    return ok(await _reactions(ctx, params.post_id))


@access("policy")
async def remove_reaction(request: Request, params: ReactionPath) -> Response:
    ctx = ctx_of(request)
    await reactions.react(ctx, params.post_id, params.kind, False)
    return ok(await _reactions(ctx, params.post_id))


@access("member")
async def list_bookmarks(request: Request, query: PageOnly) -> Response:
    ctx = ctx_of(request)
    found = await reactions.bookmarks(ctx, query.page)
    return ok(
        {
            "bookmarks": [
                {
                    "post": serialise.post(b.post, ctx.actor),
                    "created_at": serialise.iso(b.created_at),
                }
                for b in found.rows
            ],
            "page": found.page,
            "more": found.more,
        }
    )


@access("policy")
async def add_bookmark(request: Request, body: NewBookmark) -> Response:
    ctx = ctx_of(request)
    post = await reactions.bookmark(ctx, body.post_id, True)
    mark = await reactions.bookmark_of(ctx, post.id)
    return ok({"post": serialise.post(post, ctx.actor), "created_at": serialise.iso(mark)}, 201)


@access("policy")
async def remove_bookmark(request: Request, params: BookmarkPath) -> Response:
    await reactions.bookmark(ctx_of(request), params.post_id, False)
    return no_content()


@access("member")
async def member_directory(request: Request, query: DirectoryQuery) -> Response:
    found = await people.directory(ctx_of(request), query.q, query.page)
    return ok(
        {
            "members": [
                {
                    "handle": m.handle,
                    "display_name": m.display_name,
                    "pronouns": m.pronouns,
                    "created_at": serialise.iso(m.created_at),
                }
                for m in found.members
            ],
            "page": found.page,
            "more": found.more,
        }
    )


@access("member")
async def member_profile(request: Request, params: HandlePath) -> Response:
    ctx = ctx_of(request)
    found = await people.profile(ctx, params.handle.lstrip("@"))
    m = found.member
    return ok(
        {
            "handle": m.handle,
            "display_name": m.display_name,
            "pronouns": m.pronouns,
            "bio": m.bio,
            "role": m.role,
            "created_at": serialise.iso(m.created_at),
            "recent_posts": [serialise.post(p, ctx.actor) for p in found.recent],
            "shared_caucuses": [{"slug": c.slug, "name": c.name} for c in found.caucuses],
        }
    )


ENDPOINTS = [
    Endpoint(
        "GET",
        "/members",
        member_directory,
        "Active members by handle; `q` finds handles and names",
        tag="members",
        query=DirectoryQuery,
        response=Directory,
        errors=[400, 401, 403],
    ),
    Endpoint(
        "GET",
        "/members/{handle}",
        member_profile,
        "A member's profile as the caller may see it",
        tag="members",
        description="Recent posts are those the caller may read; caucuses only those both "
        "sit in, so no caucus membership is told to anyone outside it.",
        params=HandlePath,
        response=MemberProfile,
        errors=[401, 403, 404],
    ),
    Endpoint(
        "GET",
        "/posts/{post_id}/reactions",
        get_reactions,
        "A post's reactions: each kind with its count and who reacted",
        tag="reactions",
        params=PostPath,
        response=Reactions,
        errors=[404],
    ),
    Endpoint(
        "POST",
        "/posts/{post_id}/reactions/{kind}",
        add_reaction,
        "React to a post (doing it twice changes nothing)",
        tag="reactions",
        description="Kinds: " + ", ".join(f"`{k}` ({n})" for k, _, n in REACTIONS) + ". "
        "Not on hidden or deleted posts, nor in locked threads.",
        params=ReactionPath,
        response=Reactions,
        errors=[400, 401, 403, 404, 429],
        signed_in=True,
    ),
    Endpoint(
        "DELETE",
        "/posts/{post_id}/reactions/{kind}",
        remove_reaction,
        "Take back one's reaction to a post",
        tag="reactions",
        params=ReactionPath,
        response=Reactions,
        errors=[400, 401, 403, 404, 429],
        signed_in=True,
    ),
    Endpoint(
        "GET",
        "/bookmarks",
        list_bookmarks,
        "The caller's bookmarked posts they may still read, newest first",
        tag="bookmarks",
        query=PageOnly,
        response=Bookmarks,
        errors=[400, 401, 403],
        signed_in=True,
    ),
    Endpoint(
        "POST",
        "/bookmarks",
        add_bookmark,
        "Bookmark a post (doing it twice changes nothing)",
        tag="bookmarks",
        body=NewBookmark,
        response=BookmarkOut,
        status=201,
        errors=[400, 401, 403, 404],
        signed_in=True,
    ),
    Endpoint(
        "DELETE",
        "/bookmarks/{post_id}",
        remove_bookmark,
        "Take a post off the caller's bookmarks",
        tag="bookmarks",
        params=BookmarkPath,
        status=204,
        errors=[401, 404],
        signed_in=True,
    ),
]
