"""Reading a thread, replying, and a post's edits, deletion and history."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from forum import policy
from forum.services import access as fetch
from forum.services import posting, threads
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
    query_cursor,
    query_int,
)
from forum.web.api.openapi import CURSOR, ID, STRING, array, nullable, obj, op, param, query, ref
from forum.web.forms import text_field


@access("policy")
async def get_thread(request: Request) -> Response:
    ctx = ctx_of(request)
    thread_id = path_id(request, "thread_id")
    after = query_cursor(request, "after")
    focus = query_int(request, "focus", default=None)
    page = await threads.thread_page(ctx, thread_id, after=after, focus_id=focus)
    views = policy.PostViews(ctx.actor, page.thread)
    return ok(
        {
            "thread": serialise.thread(page.thread),
            "statement": serialise.statement(page.statement) if page.statement else None,
            "posts": [serialise.post(p, ctx.actor, views.of(p)) for p in page.posts],
            "next": page.next_cursor,
            "first_unread_id": page.first_unread_id,
            "focus_id": page.focus.id if page.focus else None,
        }
    )


# "policy": the thread (or channel) may be hidden from the caller, which is a 404, not a 403.
@access("policy")
async def create_post(request: Request) -> Response:
    ctx = ctx_of(request)
    data = await json_body(request)
    thread_id = path_id(request, "thread_id")
    body = text_field(data, "body")
    parent_id = int_field(data, "parent_id")
    key = text_field(data, "key", required=False, limit=64)
    made = await posting.reply(ctx, thread_id, body, parent_id, key)
    post = await fetch.post_for(ctx, made.id)
    return ok(serialise.post(post, ctx.actor), status=201)


@access("policy")
async def get_post(request: Request) -> Response:
    ctx = ctx_of(request)
    post = await fetch.post_for(ctx, path_id(request, "post_id"))
    return ok(serialise.post(post, ctx.actor))


@access("policy")
async def edit_post(request: Request) -> Response:
    ctx = ctx_of(request)
    data = await json_body(request)
    post = await posting.edit(ctx, path_id(request, "post_id"), text_field(data, "body"))
    return ok(serialise.post(post, ctx.actor))


@access("policy")
async def delete_post(request: Request) -> Response:
    ctx = ctx_of(request)
    check_unsafe(request)
    await posting.delete(ctx, path_id(request, "post_id"))
    return no_content()


@access("policy")
async def post_revisions(request: Request) -> Response:
    ctx = ctx_of(request)
    post, revisions = await posting.revisions(ctx, path_id(request, "post_id"))
    return ok(
        {
            "post": serialise.post(post, ctx.actor),
            "current_body": post.body,
            "revisions": [serialise.revision(r) for r in revisions],
        }
    )


NEW_POST = obj(
    {
        "body": {"type": "string", "minLength": 1, "maxLength": 50_000},
        "parent_id": {**ID, "description": "The post this replies to (same thread)."},
        "key": {
            "type": "string",
            "pattern": "^[A-Za-z0-9_-]{1,64}$",
            "description": "Client-made idempotency key: a retry returns the same post.",
        },
    },
    required=["body"],
)
EDIT = obj({"body": {"type": "string", "minLength": 1, "maxLength": 50_000}})

ENDPOINTS = [
    Endpoint(
        "GET",
        "/threads/{thread_id}",
        get_thread,
        op(
            "A thread and a page of its posts in reading order",
            tag="threads",
            description="Posts come in tree order (sort by `path`), each with its `depth`. "
            "Pass `next` back as `after` for the following page. Replies nested deeper than "
            "the page shows are marked `continues`: read them with `focus` set to that post.",
            ok=obj(
                {
                    "thread": ref("Thread"),
                    "statement": nullable(ref("Statement")),
                    "posts": array(ref("Post")),
                    "next": nullable(CURSOR),
                    "first_unread_id": nullable(ID),
                    "focus_id": nullable(ID),
                }
            ),
            errors=[400, 404],
            params=[
                param("ThreadId"),
                query("after", CURSOR, "The `next` cursor of the previous page."),
                query("focus", ID, "Show only this post and its replies (a branch)."),
            ],
        ),
    ),
    Endpoint(
        "POST",
        "/threads/{thread_id}/posts",
        create_post,
        op(
            "Reply to a thread or to a post in it",
            tag="threads",
            description="With a `key` already used by the caller for this thread, the post "
            "made then is returned instead of a duplicate.",
            ok=ref("Post"),
            status=201,
            errors=[400, 401, 403, 404, 413, 429],
            signed_in=True,
            params=[param("ThreadId")],
            body=NEW_POST,
        ),
    ),
    Endpoint(
        "GET",
        "/posts/{post_id}",
        get_post,
        op("One post", tag="threads", ok=ref("Post"), errors=[404], params=[param("PostId")]),
    ),
    Endpoint(
        "PATCH",
        "/posts/{post_id}",
        edit_post,
        op(
            "Edit one's post (the earlier text is kept as a revision)",
            tag="threads",
            ok=ref("Post"),
            errors=[400, 401, 403, 404, 413],
            signed_in=True,
            params=[param("PostId")],
            body=EDIT,
        ),
    ),
    Endpoint(
        "DELETE",
        "/posts/{post_id}",
        delete_post,
        op(
            "Delete one's post (its place in the tree and its replies stay)",
            tag="threads",
            ok=None,
            status=204,
            errors=[401, 403, 404],
            signed_in=True,
            params=[param("PostId")],
        ),
    ),
    Endpoint(
        "GET",
        "/posts/{post_id}/revisions",
        post_revisions,
        op(
            "A post's edit history, newest first",
            tag="threads",
            ok=obj(
                {
                    "post": ref("Post"),
                    "current_body": {**STRING, "description": "The current markdown source."},
                    "revisions": array(ref("Revision")),
                }
            ),
            errors=[401, 403, 404],
            params=[param("PostId")],
        ),
    ),
]
