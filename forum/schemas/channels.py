"""Channels, the threads listed in them, and starting a thread."""

from __future__ import annotations

from pydantic import Field

from forum.schemas.accounts import MemberRef
from forum.schemas.base import Body, Id, Input, Key, Output, Page, Slug, Title, When


class ChannelRef(Output):
    slug: str
    name: str


class Channel(Output):
    slug: str
    name: str
    description: str
    public: bool = Field(description="Readable without signing in.")
    archived: bool
    caucus_id: int | None
    thread_count: int


class Thread(Output):
    id: Id
    title: str
    channel: ChannelRef | None
    author: MemberRef | None
    statement_id: int | None
    seeded: bool = Field(description="The thread a statement seeds.")
    pinned: bool
    locked: bool
    slow_mode_seconds: int
    post_count: int
    last_post_id: int
    created_at: When
    last_activity_at: When


class ThreadRow(Thread):
    unread: bool = Field(description="Never opened by the caller.")
    new_posts: bool = Field(description="Posts since the caller last read.")


class ChannelList(Output):
    channels: list[Channel]


class ThreadList(Output):
    channel: Channel
    threads: list[ThreadRow]
    page: int
    more: bool = Field(description="Whether page+1 has threads.")


# ---- input ------------------------------------------------------------------------------------


class ChannelPath(Input):
    slug: Slug


class PageQuery(Input):
    page: Page = 1


class NewThread(Input):
    """The new-thread form and POST /channels/{slug}/threads."""

    title: Title
    body: Body
    key: Key | None = None
    MESSAGES = {"key": "A client key has at most 64 letters, digits, - or _."}
