"""Caucuses and their self-governed membership."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from forum.models.ids import PublicIdModel, random_id_field

JOIN_POLICIES = ("request", "invite")
SEAT_ROLES = ("convener", "member")
SEAT_STATUSES = ("requested", "invited", "active")


class Caucus(PublicIdModel):
    id = random_id_field()
    name = fields.CharField(max_length=80)
    # Names are unique only among the caucuses a founder can know of: refusing a name because an
    # unlisted caucus holds it would reveal that caucus. Slugs carry a random part for the same
    # reason, so no address can be guessed from a name.
    name_key = fields.CharField(max_length=80, db_index=True)
    slug = fields.CharField(max_length=100, unique=True)
    description = fields.TextField(default="")
    listed = fields.BooleanField(default=True)
    join_policy = fields.CharField(max_length=16, default="request")
    created_at = fields.DatetimeField(auto_now_add=True)
    archived_at = fields.DatetimeField(null=True)
    member_count = fields.IntField(default=0)

    class Meta:
        table = "caucus"


class CaucusMembership(PublicIdModel):
    # Foreign key columns, typed for the checker (tortoise sets them).
    caucus_id: int
    member_id: int
    decided_by_id: int | None
    id = random_id_field()
    caucus: fields.ForeignKeyRelation[Caucus] = fields.ForeignKeyField(
        "forum.Caucus", related_name="seats", on_delete=fields.CASCADE
    )
    member: fields.ForeignKeyRelation[Model] = fields.ForeignKeyField(
        "forum.Member", related_name="seats", on_delete=fields.CASCADE
    )
    role = fields.CharField(max_length=16, default="member")
    status = fields.CharField(max_length=16, default="requested")
    note = fields.CharField(max_length=500, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    decided_by: fields.ForeignKeyNullableRelation[Model] = fields.ForeignKeyField(
        "forum.Member", related_name="seats_decided", on_delete=fields.SET_NULL, null=True
    )

    class Meta:
        table = "caucus_membership"
        unique_together = (("caucus", "member"),)
        # A member's seats are read with every signed-in request (forum.services.accounts).
        indexes = (("member_id",),)
