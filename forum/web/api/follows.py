"""Following: watch or mute a thread or a channel, and list what one follows."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from forum.schemas.channels import ChannelPath
from forum.schemas.follows import FollowBody, FollowingOut, FollowState
from forum.schemas.threads import ThreadPath
from forum.services import follows
from forum.web.access import access as rule
from forum.web.api import serialise
from forum.web.api.base import Endpoint, ctx_of, no_content, ok

_ABOUT = (
    "Only an active member who reads the thread or channel may follow it; anything else is "
    "404, as for a missing one. A follow of a caucus's thread or channel ends with one's seat. "
    "Mentions (of you, or of a group you are in) reach you even where you muted."
)


@rule("member")
async def list_following(request: Request) -> Response:
    ctx = ctx_of(request)
    found = await follows.following(ctx)
    return ok(
        {
            "threads": [
                {
                    "thread": serialise.thread(f.thread),  # type: ignore[arg-type]
                    "level": f.level,
                    "since": serialise.iso(f.created_at),
                }
                for f in found.threads
            ],
            "channels": [
                {
                    "channel": serialise.channel(f.channel),  # type: ignore[arg-type]
                    "level": f.level,
                    "since": serialise.iso(f.created_at),
                }
                for f in found.channels
            ],
        }
    )


@rule("policy")
async def get_thread_follow(request: Request, params: ThreadPath) -> Response:
    return ok({"level": await follows.thread_level(ctx_of(request), params.thread_id)})


@rule("policy")
async def put_thread_follow(request: Request, params: ThreadPath, body: FollowBody) -> Response:
    await follows.follow_thread(ctx_of(request), params.thread_id, body.level)
    return ok({"level": body.level})


@rule("policy")
async def delete_thread_follow(request: Request, params: ThreadPath) -> Response:
    await follows.follow_thread(ctx_of(request), params.thread_id, "none")
    return no_content()


@rule("policy")
async def get_channel_follow(request: Request, params: ChannelPath) -> Response:
    return ok({"level": await follows.channel_level(ctx_of(request), params.slug)})


@rule("policy")
async def put_channel_follow(request: Request, params: ChannelPath, body: FollowBody) -> Response:
    await follows.follow_channel(ctx_of(request), params.slug, body.level)
    return ok({"level": body.level})


@rule("policy")
async def delete_channel_follow(request: Request, params: ChannelPath) -> Response:
    await follows.follow_channel(ctx_of(request), params.slug, "none")
    return no_content()


ENDPOINTS = [
    Endpoint(
        "GET",
        "/following",
        list_following,
        "The threads and channels the caller follows or muted, newest first",
        tag="following",
        description="Only those the caller may read now.",
        response=FollowingOut,
        errors=[401, 403],
        signed_in=True,
    ),
    Endpoint(
        "GET",
        "/threads/{thread_id}/follow",
        get_thread_follow,
        "Whether the caller watches or muted a thread",
        tag="following",
        params=ThreadPath,
        response=FollowState,
        errors=[401, 403, 404],
        signed_in=True,
    ),
    Endpoint(
        "PUT",
        "/threads/{thread_id}/follow",
        put_thread_follow,
        "Watch or mute a thread",
        tag="following",
        description="Watching tells of new replies to the thread itself (a reply to your "
        "post tells you anyway). Starting or replying to a thread watches it, unless you "
        "muted it. " + _ABOUT,
        params=ThreadPath,
        body=FollowBody,
        response=FollowState,
        errors=[400, 401, 403, 404],
        signed_in=True,
    ),
    Endpoint(
        "DELETE",
        "/threads/{thread_id}/follow",
        delete_thread_follow,
        "Stop watching (or muting) a thread",
        tag="following",
        params=ThreadPath,
        status=204,
        errors=[401, 403, 404],
        signed_in=True,
    ),
    Endpoint(
        "GET",
        "/channels/{slug}/follow",
        get_channel_follow,
        "Whether the caller watches or muted a channel",
        tag="following",
        params=ChannelPath,
        response=FollowState,
        errors=[401, 403, 404],
        signed_in=True,
    ),
    Endpoint(
        "PUT",
        "/channels/{slug}/follow",
        put_channel_follow,
        "Watch or mute a channel",
        tag="following",
        description="Watching a channel tells of each new thread in it (not of every reply). "
        + _ABOUT,
        params=ChannelPath,
        body=FollowBody,
        response=FollowState,
        errors=[400, 401, 403, 404],
        signed_in=True,
    ),
    Endpoint(
        "DELETE",
        "/channels/{slug}/follow",
        delete_channel_follow,
        "Stop watching (or muting) a channel",
        tag="following",
        params=ChannelPath,
        status=204,
        errors=[401, 403, 404],
        signed_in=True,
    ),
]
