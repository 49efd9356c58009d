"""Following: a member watches a thread or a channel (told of new replies or new threads), or
mutes it (told of nothing but mentions). One row per (member, thread) and per (member, channel).

A row says nothing about access: who may follow, and who is told, is asked of the policy
(forum.policy.follows) each time, so a row left behind by a lost seat or a suspension never
tells anyone anything."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields

from forum.models.ids import PublicIdModel, random_id_field

if TYPE_CHECKING:
    from forum.models.channels import Channel
    from forum.models.members import Member
    from forum.models.threads import Thread

# What a row means: "watching" (notify me) or "muted" (never notify me of activity).
LEVELS = ("watching", "muted")


class Follow(PublicIdModel):
    # Foreign key columns, typed for the checker (tortoise sets them).
    member_id: int
    thread_id: int | None
    channel_id: int | None
    id = random_id_field()
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "forum.Member", related_name="follows", on_delete=fields.CASCADE
    )
    # Exactly one of thread and channel is set.
    thread: fields.ForeignKeyNullableRelation[Thread] = fields.ForeignKeyField(
        "forum.Thread", related_name="follows", on_delete=fields.CASCADE, null=True
    )
    channel: fields.ForeignKeyNullableRelation[Channel] = fields.ForeignKeyField(
        "forum.Channel", related_name="follows", on_delete=fields.CASCADE, null=True
    )
    muted = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "follow"
        # Thread (or channel) first: posting asks "who follows this thread?".
        unique_together = (("thread", "member"), ("channel", "member"))
        indexes = (("member_id", "created_at"),)

    @property
    def level(self) -> str:
        return "muted" if self.muted else "watching"
