"""Threads, their nested posts (materialised path), revisions and read markers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from forum.models.ids import PublicIdModel, random_id_field

if TYPE_CHECKING:
    from forum.models.channels import Channel
    from forum.models.members import Member
    from forum.models.statements import Statement

# Each level of the materialised path is this many base-36 digits: 1.6 million siblings a level.
PATH_SEGMENT = 4
MAX_DEPTH = 200


class Thread(PublicIdModel):
    # Foreign key columns, typed for the checker (tortoise sets them).
    channel_id: int
    author_id: int | None
    statement_id: int | None
    id = random_id_field()
    channel: fields.ForeignKeyRelation[Channel] = fields.ForeignKeyField(
        "forum.Channel", related_name="threads", on_delete=fields.CASCADE
    )
    title = fields.CharField(max_length=300)
    author: fields.ForeignKeyNullableRelation[Member] = fields.ForeignKeyField(
        "forum.Member", related_name="threads", on_delete=fields.SET_NULL, null=True
    )
    # Set when the thread discusses a statement; `seeded` marks the statement's own thread.
    statement: fields.ForeignKeyNullableRelation[Statement] = fields.ForeignKeyField(
        "forum.Statement", related_name="threads", on_delete=fields.SET_NULL, null=True
    )
    seeded = fields.BooleanField(default=False)
    pinned = fields.BooleanField(default=False)
    locked = fields.BooleanField(default=False)
    slow_mode_seconds = fields.IntField(default=0)
    # Counters move in the same transaction as the posts they count.
    post_count = fields.IntField(default=0)
    root_children = fields.IntField(default=0)
    last_post_id = fields.IntField(default=0)
    # The number (`Post.seq`) of the latest post: what read markers compare, as ids are random.
    last_post_seq = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_activity_at = fields.DatetimeField(auto_now_add=True)
    event_seq = fields.BigIntField(default=0)

    class Meta:
        table = "thread"
        indexes = (("channel_id", "pinned", "last_activity_at"),)


class Post(PublicIdModel):
    # Foreign key columns, typed for the checker (tortoise sets them).
    thread_id: int
    parent_id: int | None
    author_id: int | None
    # Set when a page builds the tree (not columns): replies in reading order, and marks.
    replies: list[Post]
    is_new: bool
    continues: bool
    id = random_id_field()
    thread: fields.ForeignKeyRelation[Thread] = fields.ForeignKeyField(
        "forum.Thread", related_name="posts", on_delete=fields.CASCADE
    )
    parent: fields.ForeignKeyNullableRelation[Post] = fields.ForeignKeyField(
        "forum.Post", related_name="children", on_delete=fields.SET_NULL, null=True
    )
    # Sorting by path gives the tree in reading order: a post, then its replies, oldest first.
    path = fields.CharField(max_length=PATH_SEGMENT * (MAX_DEPTH + 1))
    depth = fields.IntField(default=0)
    # The post's number in its thread, 1 up in order of writing: "new since you last read"
    # compares these (ids are random and say nothing of order).
    seq = fields.IntField(default=0)
    child_count = fields.IntField(default=0)
    author: fields.ForeignKeyNullableRelation[Member] = fields.ForeignKeyField(
        "forum.Member", related_name="posts", on_delete=fields.SET_NULL, null=True
    )
    body = fields.TextField()
    html = fields.TextField()
    renderer_version = fields.IntField(default=1)
    statement_version = fields.IntField(null=True)
    client_key = fields.CharField(max_length=64, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    edited_at = fields.DatetimeField(null=True)
    hidden = fields.BooleanField(default=False)
    hidden_reason = fields.TextField(null=True)
    deleted = fields.BooleanField(default=False)
    # Reaction counts ("agree:3 heart:1"), kept in step with Reaction rows in the same
    # transaction, so a page shows them with the posts' own query.
    reaction_counts = fields.CharField(max_length=200, default="")

    class Meta:
        table = "post"
        unique_together = (("thread", "path"), ("author", "client_key"))


class PostRevision(PublicIdModel):
    # Foreign key columns, typed for the checker (tortoise sets them).
    post_id: int
    id = random_id_field()
    post: fields.ForeignKeyRelation[Post] = fields.ForeignKeyField(
        "forum.Post", related_name="revisions", on_delete=fields.CASCADE
    )
    body = fields.TextField()
    created_at = fields.DatetimeField()

    class Meta:
        table = "post_revision"


class ReadMarker(Model):
    # Foreign key columns, typed for the checker (tortoise sets them).
    member_id: int
    thread_id: int
    id = fields.IntField(primary_key=True)
    member: fields.ForeignKeyRelation[Model] = fields.ForeignKeyField(
        "forum.Member", related_name="read_markers", on_delete=fields.CASCADE
    )
    thread: fields.ForeignKeyRelation[Thread] = fields.ForeignKeyField(
        "forum.Thread", related_name="read_markers", on_delete=fields.CASCADE
    )
    # The number (`Post.seq`) of the latest post the member has seen in the thread.
    last_read_seq = fields.IntField(default=0)

    class Meta:
        table = "read_marker"
        unique_together = (("member", "thread"),)


class Draft(Model):
    """A reply being written, kept for its author so it follows them across devices: one per
    member, thread and post answered (`parent_key` 0: the thread itself). Posting the reply
    removes it; the thread's readers never see it."""

    # Foreign key columns, typed for the checker (tortoise sets them).
    member_id: int
    thread_id: int
    id = fields.IntField(primary_key=True)
    member: fields.ForeignKeyRelation[Model] = fields.ForeignKeyField(
        "forum.Member", related_name="drafts", on_delete=fields.CASCADE
    )
    thread: fields.ForeignKeyRelation[Thread] = fields.ForeignKeyField(
        "forum.Thread", related_name="drafts", on_delete=fields.CASCADE
    )
    parent_key = fields.IntField(default=0)
    body = fields.TextField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "draft"
        unique_together = (("member", "thread", "parent_key"),)
