"""Notifications and search."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from forum import limits
from forum.schemas.base import Id, Input, Output, Page, Query, When
from forum.schemas.channels import ChannelRef


class Notification(Output):
    id: Id
    kind: str
    text: str
    url: str
    thread_id: int | None
    post_id: int | None
    read: bool
    created_at: When


class Notifications(Output):
    notifications: list[Notification]
    unread: int
    next: Id | None = Field(description="Pass as `before` for older notifications.")


class Unread(Output):
    unread: int


class SearchHit(Output):
    post_id: Id
    thread_id: Id
    thread_title: str
    channel: ChannelRef
    author_handle: str | None
    created_at: When | None
    snippet_html: str = Field(description="Escaped text with <mark> around matches.")
    url: str


class SearchResults(Output):
    q: str
    page: int
    hits: list[SearchHit]
    more: bool


# ---- input ------------------------------------------------------------------------------------


class NotificationsQuery(Input):
    before: Id | None = Field(None, description="Only notifications older than this id.")


class MarkRead(Input):
    # Ids that cannot exist match nothing: they are dropped, not refused.
    ids: (
        Annotated[
            list[int], Field(max_length=limits.MAX_IDS, description="Leave out to mark all read.")
        ]
        | None
    ) = None


class SearchQuery(Input):
    q: Query = ""
    page: Page = 1
