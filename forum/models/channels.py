"""Channels: the organisation's open ones, and each caucus's private ones."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields

from forum.models.ids import PublicIdModel, random_id_field

if TYPE_CHECKING:
    from forum.models.caucuses import Caucus


class Channel(PublicIdModel):
    # Foreign key columns, typed for the checker (tortoise sets them).
    caucus_id: int | None
    id = random_id_field()
    name = fields.CharField(max_length=80)
    slug = fields.CharField(max_length=80, unique=True)
    description = fields.TextField(default="")
    # Null for the organisation's open channels; set for a caucus's private channel.
    caucus: fields.ForeignKeyNullableRelation[Caucus] = fields.ForeignKeyField(
        "forum.Caucus", related_name="channels", on_delete=fields.CASCADE, null=True
    )
    # Anonymous visitors may read a public open channel (e.g. the organisation's statements).
    public = fields.BooleanField(default=False)
    # Set with its caucus's archival: an archived caucus's channels are read-only.
    archived = fields.BooleanField(default=False)
    # Who may propose decisions in its threads: "members" (all who may reply) or "moderators"
    # (the channel's facilitators, or a caucus's conveners).
    proposers = fields.CharField(max_length=16, default="members")
    created_at = fields.DatetimeField(auto_now_add=True)
    thread_count = fields.IntField(default=0)
    event_seq = fields.BigIntField(default=0)

    class Meta:
        table = "channel"
