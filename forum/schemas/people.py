"""Reactions, bookmarks and the member directory: the API's shapes and the pages' input."""

from __future__ import annotations

from pydantic import Field

from forum.schemas.accounts import MemberRef
from forum.schemas.base import Choice, Count, Id, Input, Output, Page, Query, When
from forum.schemas.threads import Post


class ReactionPath(Input):
    post_id: Id
    kind: Choice


class ReactForm(Input):
    """A reaction button on a post (the page's form)."""

    kind: Choice = ""


class PageOnly(Input):
    page: Page = 1


class DirectoryQuery(Input):
    q: Query = ""
    page: Page = 1


class ReactionKind(Output):
    kind: str = Field(description="The reaction's name in URLs, e.g. `agree`.")
    emoji: str
    name: str = Field(description="What a screen reader says.")
    count: Count
    mine: bool = Field(description="The caller reacted so.")
    members: list[MemberRef] = Field(description="Who reacted so, in the order they did.")


class Reactions(Output):
    post_id: Id
    reactions: list[ReactionKind]


class BookmarkPath(Input):
    post_id: Id


class NewBookmark(Input):
    post_id: Id


class BookmarkOut(Output):
    post: Post
    created_at: When


class Bookmarks(Output):
    bookmarks: list[BookmarkOut]
    page: int
    more: bool = Field(description="Another page follows (`?page=` + 1).")


class CaucusRef(Output):
    slug: str
    name: str


class MemberCard(Output):
    """A member as the directory lists them."""

    handle: str
    display_name: str
    pronouns: str
    created_at: When


class Directory(Output):
    members: list[MemberCard]
    page: int
    more: bool = Field(description="Another page follows (`?page=` + 1).")


class MemberProfile(Output):
    handle: str
    display_name: str
    pronouns: str
    bio: str = Field(description="Plain text, as the member wrote it.")
    role: str
    created_at: When
    recent_posts: list[Post] = Field(description="Their latest posts the caller may read.")
    shared_caucuses: list[CaucusRef] = Field(
        description="Caucuses the member and the caller both sit in (never any other)."
    )
