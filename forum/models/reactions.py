"""Reactions on posts and members' bookmarks: one row per (member, post, kind) and per
(member, post). Both follow their post's visibility: who may see one is decided by who may read
the post (forum.policy.posts), never by the row itself."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields

from forum.models.ids import PublicIdModel, random_id_field

if TYPE_CHECKING:
    from forum.models.members import Member
    from forum.models.threads import Post

# The fixed set of reactions, in the order they are shown: (kind, emoji, name for screen readers).
REACTIONS: tuple[tuple[str, str, str], ...] = (
    ("agree", "👍", "Agree"),
    ("heart", "❤️", "Love"),
    ("thanks", "🙏", "Thanks"),
    ("solidarity", "✊", "Solidarity"),
    ("thinking", "🤔", "Thinking"),
)
REACTION_KINDS: tuple[str, ...] = tuple(kind for kind, _, _ in REACTIONS)


class Reaction(PublicIdModel):
    # Foreign key columns, typed for the checker (tortoise sets them).
    post_id: int
    member_id: int
    id = random_id_field()
    post: fields.ForeignKeyRelation[Post] = fields.ForeignKeyField(
        "forum.Post", related_name="reactions", on_delete=fields.CASCADE
    )
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "forum.Member", related_name="reactions", on_delete=fields.CASCADE
    )
    kind = fields.CharField(max_length=16)
    # The post's thread, copied here so a thread page reads its reader's reactions in the
    # thread's own query (forum.services.threads), however long the thread.
    thread_id = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "reaction"
        unique_together = (("post", "member", "kind"),)
        indexes = (("member_id", "thread_id"),)


class Bookmark(PublicIdModel):
    # Foreign key columns, typed for the checker (tortoise sets them).
    post_id: int
    member_id: int
    id = random_id_field()
    post: fields.ForeignKeyRelation[Post] = fields.ForeignKeyField(
        "forum.Post", related_name="bookmarks", on_delete=fields.CASCADE
    )
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "forum.Member", related_name="bookmarks", on_delete=fields.CASCADE
    )
    thread_id = fields.IntField(default=0)  # as Reaction.thread_id
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "bookmark"
        unique_together = (("member", "post"),)
        indexes = (("member_id", "created_at"), ("member_id", "thread_id"))
