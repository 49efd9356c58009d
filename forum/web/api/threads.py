"""Reading a thread, replying, and a post's edits, deletion and history."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from forum import policy
from forum.schemas.threads import (
    DraftInput,
    Drafts,
    DraftSaved,
    EditPost,
    NewPost,
    Post,
    PostPath,
    Revisions,
    ThreadPage,
    ThreadPath,
    ThreadQuery,
)
from forum.services import access as fetch
from forum.services import drafts, posting, threads
from forum.web.access import access
from forum.web.api import serialise
from forum.web.api.base import Endpoint, ctx_of, no_content, ok


@access("policy")
async def get_thread(request: Request, params: ThreadPath, query: ThreadQuery) -> Response:
    ctx = ctx_of(request)
    page = await threads.thread_page(ctx, params.thread_id, after=query.after, focus_id=query.focus)
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
async def create_post(request: Request, params: ThreadPath, body: NewPost) -> Response:
    ctx = ctx_of(request)
    made = await posting.reply(ctx, params.thread_id, body.body, body.parent_id, body.key)
    post = await fetch.post_for(ctx, made.id)
    return ok(serialise.post(post, ctx.actor), status=201)


@access("policy")
async def get_post(request: Request, params: PostPath) -> Response:
    ctx = ctx_of(request)
    post = await fetch.post_for(ctx, params.post_id)
    return ok(serialise.post(post, ctx.actor))


@access("policy")
async def edit_post(request: Request, params: PostPath, body: EditPost) -> Response:
    ctx = ctx_of(request)
    post = await posting.edit(ctx, params.post_id, body.body)
    return ok(serialise.post(post, ctx.actor))


@access("policy")
async def delete_post(request: Request, params: PostPath) -> Response:
    await posting.delete(ctx_of(request), params.post_id)
    return no_content()


@access("policy")
async def post_revisions(request: Request, params: PostPath) -> Response:
    ctx = ctx_of(request)
    post, revisions = await posting.revisions(ctx, params.post_id)
    return ok(
        {
            "post": serialise.post(post, ctx.actor),
            "current_body": post.body,
            "revisions": [serialise.revision(r) for r in revisions],
        }
    )


@access("policy")
async def get_drafts(request: Request, params: ThreadPath) -> Response:
    kept = await drafts.list_for(ctx_of(request), params.thread_id)
    return ok({"drafts": [{"parent_id": key or None, "body": body} for key, body in kept.items()]})


@access("policy")
async def put_draft(request: Request, params: ThreadPath, body: DraftInput) -> Response:
    kept = await drafts.save(ctx_of(request), params.thread_id, body.parent_id, body.body)
    return ok({"kept": kept})


ENDPOINTS = [
    Endpoint(
        "GET",
        "/threads/{thread_id}",
        get_thread,
        "A thread and a page of its posts in reading order",
        tag="threads",
        description="Posts come in tree order (sort by `path`), each with its `depth`. "
        "Pass `next` back as `after` for the following page. Replies nested deeper than "
        "the page shows are marked `continues`: read them with `focus` set to that post.",
        params=ThreadPath,
        query=ThreadQuery,
        response=ThreadPage,
        errors=[400, 404],
    ),
    Endpoint(
        "POST",
        "/threads/{thread_id}/posts",
        create_post,
        "Reply to a thread or to a post in it",
        tag="threads",
        description="With a `key` already used by the caller for this thread, the post "
        "made then is returned instead of a duplicate.",
        params=ThreadPath,
        body=NewPost,
        response=Post,
        status=201,
        errors=[400, 401, 403, 404, 413, 429],
        signed_in=True,
    ),
    Endpoint(
        "GET",
        "/posts/{post_id}",
        get_post,
        "One post",
        tag="threads",
        params=PostPath,
        response=Post,
        errors=[404],
    ),
    Endpoint(
        "PATCH",
        "/posts/{post_id}",
        edit_post,
        "Edit one's post (the earlier text is kept as a revision)",
        tag="threads",
        params=PostPath,
        body=EditPost,
        response=Post,
        errors=[400, 401, 403, 404, 413],
        signed_in=True,
    ),
    Endpoint(
        "DELETE",
        "/posts/{post_id}",
        delete_post,
        "Delete one's post (its place in the tree and its replies stay)",
        tag="threads",
        params=PostPath,
        status=204,
        errors=[401, 403, 404],
        signed_in=True,
    ),
    Endpoint(
        "GET",
        "/posts/{post_id}/revisions",
        post_revisions,
        "A post's edit history, newest first",
        tag="threads",
        params=PostPath,
        response=Revisions,
        errors=[401, 403, 404],
    ),
    Endpoint(
        "GET",
        "/threads/{thread_id}/drafts",
        get_drafts,
        "One's unsent replies in a thread (kept server-side, across devices)",
        tag="threads",
        params=ThreadPath,
        response=Drafts,
        errors=[401, 403, 404],
        signed_in=True,
    ),
    Endpoint(
        "PUT",
        "/threads/{thread_id}/draft",
        put_draft,
        "Keep the reply one is writing (an empty body forgets it)",
        tag="threads",
        description="Posting the reply forgets its draft. Only its author reads a draft.",
        params=ThreadPath,
        body=DraftInput,
        response=DraftSaved,
        errors=[400, 401, 403, 404, 413],
        signed_in=True,
    ),
]
