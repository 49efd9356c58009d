"""Flags, the review queue, acts with reasons, appeals, and the moderation log."""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import Field

from forum import limits
from forum.models.moderation import FLAG_REASONS
from forum.schemas.accounts import MemberRef
from forum.schemas.base import Choice, Handle, Id, Input, Note, Output, Reason, When
from forum.schemas.threads import Post
from forum.services.moderation import THREAD_ACTIONS

Status = Literal["open", "resolved"]
FlagReason = Literal["harassment", "discriminatory", "off_topic", "spam", "other"]
assert get_args(FlagReason) == FLAG_REASONS, "the flag reasons are the model's"


class ReviewItem(Output):
    id: Id
    kind: Literal["flag", "appeal"]
    status: Status
    flag_count: int
    reasons: list[FlagReason]
    flag_notes: list[str] = Field(description="Flaggers' notes (not who wrote them).")
    post: Post | None = Field(
        description="The post flagged or appealed; null for a suspension appeal."
    )
    subject: MemberRef | None = Field(description="The suspended member of a suspension appeal.")
    note: str = Field(description="The appeal's note.")
    claimed_by: MemberRef | None
    resolution: Literal["actioned", "dismissed"] | None
    resolution_reason: str | None
    resolved_by: MemberRef | None
    created_at: When
    resolved_at: When | None


class ReviewQueue(Output):
    status: Status
    items: list[ReviewItem]


class LogEntry(Output):
    id: Id
    action: str = Field(examples=["hide_post", "lock", "warn", "caucus_remove"])
    actor: MemberRef | None
    target_label: str = Field(description="What was acted on, e.g. a thread title.")
    thread_id: int | None
    post_id: int | None
    reason: str
    created_at: When


class LogEntries(Output):
    entries: list[LogEntry]


class Flagged(Output):
    post_id: Id
    reason: FlagReason


class Appealed(Output):
    post_id: Id


# ---- input ------------------------------------------------------------------------------------


class ItemPath(Input):
    item_id: Id


class HandlePath(Input):
    handle: Handle


class ReviewQuery(Input):
    status: Status = "open"


class FlagPost(Input):
    """The flag form and POST /posts/{post_id}/flags."""

    reason: Choice = Field(
        "",
        json_schema_extra={"enum": list(FLAG_REASONS)},
        description="One of the listed reasons (the service names a wrong one).",
    )
    note: Note = Field("", description="What is wrong; required when the reason is `other`.")


class WithReason(Input):
    """Hiding or restoring a post, warning a member: the act's reason."""

    reason: Reason = ""


class Resolve(Input):
    resolution: Choice = Field("", json_schema_extra={"enum": ["actioned", "dismissed"]})
    reason: Reason = Field("", description="Flaggers (or the appellant) are told.")


class Appeal(Input):
    note: Note = Field("", description="Why it should be restored.")


class ThreadAct(Input):
    """The thread-moderation form and POST /threads/{thread_id}/moderation."""

    action: Choice = Field("", json_schema_extra={"enum": list(THREAD_ACTIONS)})
    reason: Reason = ""
    seconds: int | None = Field(
        None,
        ge=0,
        le=limits.MAX_SLOW_MODE,
        description="slow_mode: seconds between a member's posts (0 turns it off).",
    )
    channel: str = Field(
        "",
        max_length=limits.MAX_SLUG,
        description="move: the slug of the open channel to move the thread to.",
    )
