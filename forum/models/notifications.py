"""Notifications: what a member is told about, and whether they have read it."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from forum.models.ids import PublicIdModel, random_id_field

KINDS = (
    "reply",
    "mention",
    "moderation",
    "warning",
    "caucus",
    "flag_outcome",
    "decision",
    "report",
    # A new reply in a followed thread, or a new thread in a followed channel.
    "following",
)


class Notification(PublicIdModel):
    # Foreign key columns, typed for the checker (tortoise sets them).
    member_id: int
    actor_id: int | None
    thread_id: int | None
    post_id: int | None
    caucus_id: int | None
    id = random_id_field()
    member: fields.ForeignKeyRelation[Model] = fields.ForeignKeyField(
        "forum.Member", related_name="notifications", on_delete=fields.CASCADE
    )
    kind = fields.CharField(max_length=16)
    actor: fields.ForeignKeyNullableRelation[Model] = fields.ForeignKeyField(
        "forum.Member", related_name="notifications_caused", on_delete=fields.SET_NULL, null=True
    )
    thread: fields.ForeignKeyNullableRelation[Model] = fields.ForeignKeyField(
        "forum.Thread", related_name="notifications", on_delete=fields.CASCADE, null=True
    )
    post: fields.ForeignKeyNullableRelation[Model] = fields.ForeignKeyField(
        "forum.Post", related_name="notifications", on_delete=fields.CASCADE, null=True
    )
    # Set for anything about a caucus, so leaving it can take these away.
    caucus: fields.ForeignKeyNullableRelation[Model] = fields.ForeignKeyField(
        "forum.Caucus", related_name="notifications", on_delete=fields.CASCADE, null=True
    )
    text = fields.CharField(max_length=500)
    url = fields.CharField(max_length=300, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    read = fields.BooleanField(default=False)
    # Email: "new" until the mail pass looks at it once its batching window has passed; then
    # "mailed" (sent alone or in a batch or digest), "held" (waits for a digest) or "skipped"
    # (read on the site first, mail off, or no confirmed address).
    mail_state = fields.CharField(max_length=8, default="new")

    class Meta:
        table = "notification"
        # The inbox is read newest first, by time: ids are random.
        indexes = (
            ("member_id", "read"),
            ("member_id", "created_at"),
            ("mail_state", "created_at"),
        )
