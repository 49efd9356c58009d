"""A thread's page, its posts, replying and editing."""

from __future__ import annotations

from pydantic import Field

from forum import limits
from forum.schemas.accounts import MemberRef
from forum.schemas.base import Body, Cursor, Id, Input, Key, Output, When
from forum.schemas.channels import Thread
from forum.schemas.statements import Statement


class PostCan(Output):
    """What the caller may do with it."""

    reply: bool
    edit: bool
    delete: bool
    flag: bool
    moderate: bool


class Post(Output):
    id: Id
    thread_id: Id
    parent_id: int | None
    depth: int
    path: str = Field(description="Sorts posts in reading order (tree order).")
    author: MemberRef | None
    html: str | None = Field(
        description="Rendered text; null when deleted, or hidden from the caller."
    )
    body: str = Field("", description="Markdown source; only for those who may edit.")
    deleted: bool
    hidden: bool
    hidden_reason: str | None = Field(
        None, description="Why moderators hid it; present for hidden posts."
    )
    created_at: When
    edited_at: When | None
    statement_version: int | None
    reply_count: int
    url: str
    continues: bool = Field(
        False, description="Its replies are on the branch page: GET /threads/{id}?focus=ID."
    )
    can: PostCan


class Revision(Output):
    id: Id
    body: str
    created_at: When


class ThreadPage(Output):
    thread: Thread
    statement: Statement | None
    posts: list[Post]
    next: str | None = Field(description="Pass as `after` for the following page.")
    first_unread_id: Id | None
    focus_id: Id | None


class Revisions(Output):
    post: Post
    current_body: str = Field(description="The current markdown source.")
    revisions: list[Revision]


# ---- input ------------------------------------------------------------------------------------


class ThreadPath(Input):
    thread_id: Id


class PostPath(Input):
    post_id: Id


class ThreadQuery(Input):
    after: Cursor | None = None
    focus: Id | None = Field(None, description="Show only this post and its replies (a branch).")
    MESSAGES = {"after": "Use the `next` value of the previous page."}


class ReplyQuery(Input):
    """The reply page: `to` the post being answered (none: the thread)."""

    to: Id | None = None


class NewPost(Input):
    """The reply form and POST /threads/{thread_id}/posts."""

    body: Body
    parent_id: Id | None = Field(None, description="The post this replies to (same thread).")
    key: Key | None = None
    MESSAGES = {"key": "A client key has at most 64 letters, digits, - or _."}


class EditPost(Input):
    """The edit form and PATCH /posts/{post_id}."""

    body: Body


class DraftInput(Input):
    """PUT /threads/{thread_id}/draft: the text being written (empty: forget the draft)."""

    body: str = Field("", max_length=limits.MAX_BODY, description="Markdown, as typed so far.")
    parent_id: Id | None = Field(None, description="The post being answered; none: the thread.")


class DraftSaved(Output):
    kept: bool = Field(description="False when the text was empty and the draft is gone.")


class DraftOut(Output):
    parent_id: int | None
    body: str


class Drafts(Output):
    drafts: list[DraftOut]
